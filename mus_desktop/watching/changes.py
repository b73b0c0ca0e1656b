"""From file-system events to the folders to rescan, once they have settled.

Events arrive by the thousand during a copy and in odd shapes (an editor's
temporary file renamed over the original, a folder moved in whole), so they
are not acted on one by one. Each event only marks the folder it touches;
a marked folder is rescanned, with the identity rules, once no event has
touched it for a quiet period (a file still being written keeps its folder
waiting), or once it has waited the longest allowed (a copy that never
pauses is scanned in steps, and each later change re-queues what it changes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mus_desktop.library.paths import is_within
from mus_desktop.library.walk import is_audio_name

QUIET_SECONDS = 1.0
"""A folder is rescanned once no event has touched it for this long."""
LONGEST_WAIT_SECONDS = 30.0
"""…or once it has waited this long since its first event, whatever comes in."""


@dataclass
class _Pending:
    first: float
    last: float
    quiet: float


def folder_to_rescan(path: str, is_directory: bool) -> str | None:
    """The folder whose rescan covers an event on `path`, or None when the event
    cannot concern a track (a cover, a playlist, a temporary file being written).

    An audio file's event is its folder's. A folder's event (made, moved in or
    out, deleted) is that folder's own: scanned if it is there, or, if it is
    gone, its tracks are missing unless found elsewhere; its parent, perhaps
    the whole library folder, need not be walked. A path that is gone and not
    named like audio may have been a folder (a delete does not always say), so
    it is taken as one.
    """
    if is_audio_name(path):
        return os.path.dirname(path)
    if is_directory or not os.path.lexists(path):
        return path
    return None  # a file that is not audio: covers are read by the jobs, not scanned


class ChangeBuffer:
    """Folders touched by events, until they are due for a rescan. Thread-safe:
    the event threads add, the watcher takes."""

    def __init__(self, ignored: Sequence[str] = ()) -> None:
        self._ignored = [os.path.normpath(path) for path in ignored]
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def ignores(self, path: str) -> bool:
        """mus's own files (database, cache, logs) when they sit in a library folder."""
        return any(is_within(path, ignored) for ignored in self._ignored)

    def touch(self, folder: str, now: float, quiet: float = QUIET_SECONDS) -> None:
        with self._lock:
            pending = self._pending.get(folder)
            if pending is not None:
                pending.last = now
                pending.quiet = max(pending.quiet, quiet)
                return
            self._pending[folder] = _Pending(now, now, quiet)
        self._wake.set()  # a new folder: the watcher works out its next due time again

    def event(
        self, path: str, is_directory: bool, now: float, quiet: float = QUIET_SECONDS
    ) -> None:
        if self.ignores(path):
            return
        folder = folder_to_rescan(path, is_directory)
        if folder is not None:
            self.touch(folder, now, quiet)

    def take_due(self, now: float) -> list[str]:
        """The folders due for a rescan (taken out of the buffer), outermost only."""
        with self._lock:
            due = [folder for folder, when in self._due_times(now).items() if when <= now]
            for folder in due:
                del self._pending[folder]
        return outermost(due)

    def _due_times(self, now: float) -> dict[str, float]:
        """When each pending folder is due: once no event touched it for its quiet
        period, unless a folder inside it is still busy (a copy made the album's
        folder, then goes on filling it), and at the latest after the longest wait."""
        settled = {f for f, p in self._pending.items() if now - p.last >= p.quiet}
        busy_ancestors = {
            ancestor for folder in self._pending.keys() - settled for ancestor in _ancestors(folder)
        }
        times = {}
        for folder, pending in self._pending.items():
            latest = pending.first + LONGEST_WAIT_SECONDS
            if folder not in settled:
                times[folder] = min(pending.last + pending.quiet, latest)
            elif folder in busy_ancestors:
                times[folder] = latest  # or sooner, once what is inside it settles
            else:
                times[folder] = now
        return times

    def discard_under(self, folders: Iterable[str]) -> None:
        """Forget what is pending under `folders` (gone offline, or removed)."""
        folders = list(folders)
        with self._lock:
            for pending in [p for p in self._pending if any(is_within(p, f) for f in folders)]:
                del self._pending[pending]

    def next_due_in(self, now: float) -> float | None:
        """Seconds until a folder is due (a waiting one is looked at again when a
        busy one inside it is due), or None if nothing is pending."""
        with self._lock:
            times = self._due_times(now)
        return max(0.0, min(times.values()) - now) if times else None

    def wake(self) -> None:
        """End the current `wait` now."""
        self._wake.set()

    def wait(self, timeout: float) -> None:
        """Until a folder is newly marked, or `timeout`."""
        self._wake.wait(timeout)
        self._wake.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def _ancestors(folder: str) -> Iterator[str]:
    parent = os.path.dirname(folder)
    while parent != folder:
        yield parent
        folder, parent = parent, os.path.dirname(parent)


def outermost(folders: Iterable[str]) -> list[str]:
    """`folders` without those inside another of them."""
    kept: list[str] = []
    for folder in sorted(set(folders), key=len):
        if not any(is_within(folder, outer) for outer in kept):
            kept.append(folder)
    return kept
