"""The work behind the track actions (actions/menu.py): Locate, Forget, Move to Trash.

A `TrackWork` lives in the services thread (it touches the database and the
disk, never a widget). The window asked on rows it showed; everything is
checked again here, at the time of the action, because the library and the
disk may have moved on since.

Move to Trash is for a duplicate only, and only when another copy of its
content is really there: this file's content and one other copy's are hashed
again, so a copy deleted or changed since the last scan is not counted, nor one
that is this very file by another name (a symlink to it). The file must be a
regular file under a library folder or a music root. Qt's `QFile.moveToTrash`
puts it in the desktop's trash (on Linux the freedesktop trash of the file's
disk), from where a person can restore it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from PySide6.QtCore import QFile, QObject, Signal, Slot

from mus_desktop.config import Settings
from mus_desktop.gui.words import plural
from mus_desktop.library.access import file_type
from mus_desktop.library.curation import TrackFacts, forget_missing, remove_trashed, track_facts
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import folder_paths
from mus_desktop.library.paths import display_path, is_within
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.files import real_roots
from mus_desktop.processing.hashing import hash_file
from mus_desktop.processing.locate import LocateOutcome, locate_track
from mus_desktop.processing.metadata import open_track_file


class TrackWork(QObject):
    finished = Signal(str)
    """A one-line message for the status bar: what was done."""
    failed = Signal(str)
    """Why nothing (or not everything) was done, in words a person can act on."""
    processRequested = Signal(object)
    """Ids of tracks a job should take (a located track that was unfinished)."""

    def __init__(self, db: Database, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._settings = settings

    @Slot(int, str)
    def locate(self, track_id: int, path: str) -> None:
        try:
            result = locate_track(self._db, self._settings, track_id, path)
        except Exception as exc:  # e.g. the database is locked for longer than its timeout
            self.failed.emit(f"Locate failed: {exc}")
            return
        if result.outcome is not LocateOutcome.LOCATED:
            self.failed.emit(result.message)
            return
        self.finished.emit(result.message)
        if result.needs_processing:
            self.processRequested.emit([track_id])

    @Slot(object)
    def forget(self, track_ids: Sequence[int]) -> None:
        try:
            forgotten = forget_missing(self._db, list(track_ids))
        except Exception as exc:
            self.failed.emit(f"Forget failed: {exc}")
            return
        if not forgotten:
            self.failed.emit("Nothing was forgotten: the tracks are not missing any more")
            return
        message = f"Forgot {plural(forgotten, 'missing track')}; no file was touched"
        others = len(set(track_ids)) - forgotten
        if others:
            message += f" ({plural(others, 'other')} not missing any more)"
        self.finished.emit(message)

    @Slot(object)
    def trash(self, track_ids: Sequence[int]) -> None:
        moved = 0
        refusals: list[str] = []
        try:
            places = self._places()
            for track_id in dict.fromkeys(track_ids):
                refusal = self._trash_one(track_id, places)
                if refusal is None:
                    moved += 1
                else:
                    refusals.append(refusal)
        except Exception as exc:
            refusals.append(f"Move to Trash failed: {exc}")
        if moved:
            message = f"Moved {plural(moved, 'duplicate')} to the trash"
            self.finished.emit("; ".join([message, *refusals]))
        elif refusals:
            self.failed.emit("; ".join(refusals))

    def _places(self) -> tuple[str, ...]:
        """The real paths a file may be trashed from: library folders and music roots."""
        return real_roots([*folder_paths(self._db), *self._settings.music_roots])

    def _trash_one(self, track_id: int, places: tuple[str, ...]) -> str | None:
        """Move one duplicate's file to the trash and forget its track; or why not."""
        facts = track_facts(self._db, track_id)
        if facts is None:
            return f"Track #{track_id} is no longer in the library"
        refusal = self._trash_refusal(facts, places)
        title = display_path(facts.title)
        if refusal is not None:
            return f"Kept '{title}': {refusal}"
        file = QFile(facts.path)
        if not file.moveToTrash():
            return f"Could not move '{title}' to the trash: {file.errorString()}"
        if not remove_trashed(self._db, track_id, facts.path):
            return f"'{title}' is in the trash, but its track changed meanwhile"
        return None

    def _trash_refusal(self, facts: TrackFacts, places: tuple[str, ...]) -> str | None:
        if facts.missing:
            return "its file is missing"
        if facts.content_hash is None or not facts.copies:
            return (
                "no other present file has its exact bytes (a copy with other tags is another file)"
            )
        try:
            st = os.lstat(facts.path)
        except OSError as exc:
            return f"its file cannot be reached ({exc.strerror})"
        if not stat.S_ISREG(st.st_mode):
            return f"its file is {file_type(st.st_mode)}, not a regular file"
        real = os.path.realpath(facts.path)
        if not any(is_within(real, place) for place in places):
            return "its file is not in a library folder"
        if self._content_of(facts.path) != facts.content_hash:
            return "its file changed since it was read"
        if not any(
            os.path.realpath(path) != real and self._content_of(path) == facts.content_hash
            for _, path in facts.copies
        ):
            return "no other copy of its content is there any more: it is the last one"
        return None

    def _content_of(self, path: str) -> str | None:
        """The content hash of the file at `path` now, or None when it cannot be read."""
        try:
            with open_track_file(path, real_roots(self._settings.music_roots)) as checked:
                return hash_file(checked)
        except StageError:
            return None
