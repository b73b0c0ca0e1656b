"""Locate: a person points a missing track at its file.

The track keeps its id, and everything known about it, only when the picked
file is it: the file is opened the careful way a worker opens one
(files.open_checked, with the music roots), hashed with the very function
that gave the track its hashes, and compared. The same content is the same
file. The same audio hash with other content is the same recording retagged
(identity rule 6, by a person's pick): the track takes the file and its tags
are read again. A track hashed before schema 4 holds the plain BLAKE3 of its
file as content hash (hashing.py), which is compared too. Anything else is
said in a sentence and changes nothing: another file, a track whose content
was never read (there is nothing to compare with), a file that cannot be
read, is not a regular file or lies outside the music roots.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mus_desktop.config import Settings
from mus_desktop.library.curation import Relink, relink, track_facts
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import folder_paths, normalized
from mus_desktop.library.paths import display_path, is_within
from mus_desktop.library.walk import FoundFile
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.files import real_roots
from mus_desktop.processing.hashing import hash_digests, plain_hash
from mus_desktop.processing.metadata import open_track_file


class LocateOutcome(Enum):
    LOCATED = "located"
    DIFFERENT_FILE = "different file"
    NOT_MISSING = "not missing"
    NOT_READ = "never read"
    """The track has no content hash: the picked file cannot be compared with it."""
    UNUSABLE = "unusable file"
    """Cannot be read, not a regular file, outside the music roots."""
    GONE = "gone"


@dataclass(frozen=True)
class LocateResult:
    outcome: LocateOutcome
    message: str
    """One line for a person."""
    needs_processing: bool = False
    """The located track is unfinished: a job should take it."""


def locate_track(
    db: Database, settings: Settings, track_id: int, picked_path: str | Path
) -> LocateResult:
    """Relink the missing track `track_id` to the file at `picked_path` if that file
    has the track's content (see the module's docstring)."""
    path = normalized(picked_path)
    name = display_path(os.path.basename(path))
    facts = track_facts(db, track_id)
    if facts is None:
        return LocateResult(LocateOutcome.GONE, "This track is no longer in the library")
    title = display_path(facts.title)
    if not facts.missing:
        return _not_missing(title, facts.path)
    if facts.content_hash is None:
        return LocateResult(
            LocateOutcome.NOT_READ,
            f"Cannot tell whether {name} is '{title}': the track went missing before its "
            "content was read, so there is nothing to compare with",
        )
    try:
        with open_track_file(path, real_roots(settings.music_roots)) as checked:
            st = os.fstat(checked.file.fileno())
            digests = hash_digests(checked)
            # Hashed before schema 4: its content hash is the file's plain BLAKE3.
            legacy = facts.audio_hash is None and plain_hash(checked) == facts.content_hash
            found = FoundFile(path, st.st_dev, st.st_ino, checked.size, checked.mtime_ns)
    except StageError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        return LocateResult(LocateOutcome.UNUSABLE, f"Cannot use {name}: {exc.kind}{detail}")
    new_hashes = (digests.content, digests.audio or "")
    retagged = bool(facts.audio_hash) and digests.audio == facts.audio_hash
    if digests.content == facts.content_hash:
        result = relink(db, track_id, found, facts.content_hash)
    elif legacy or retagged:
        result = relink(db, track_id, found, facts.content_hash, new_hashes, retagged=retagged)
    else:
        return LocateResult(
            LocateOutcome.DIFFERENT_FILE,
            f"{name} is a different file from '{title}' (neither its content nor its audio "
            "is the track's); nothing was changed",
        )
    if result.outcome is Relink.GONE:
        return LocateResult(LocateOutcome.GONE, "This track is no longer in the library")
    if result.outcome is Relink.NOT_MISSING:
        return _not_missing(title, facts.path)
    if result.outcome is Relink.OTHER_CONTENT:
        return LocateResult(
            LocateOutcome.DIFFERENT_FILE,
            f"'{title}' was read again meanwhile and its content changed; nothing was changed",
        )
    message = f"Located '{title}': the track keeps its id and history"
    if retagged and digests.content != facts.content_hash:
        message += "; the same recording with other tags, which are read again"
    if result.replaced is not None:
        message += f" (it takes the place of track #{result.replaced}, which was that file)"
    if not any(is_within(path, folder) for folder in folder_paths(db)):
        message += (
            f"; {display_path(os.path.dirname(path))} is not a library folder, so changes "
            "there are not followed: add it in Library Folders"
        )
    return LocateResult(LocateOutcome.LOCATED, message, result.needs_processing)


def _not_missing(title: str, path: str) -> LocateResult:
    return LocateResult(
        LocateOutcome.NOT_MISSING,
        f"'{title}' is not missing any more: its file is at {display_path(path)}",
    )
