"""File-system events of the library folders, from watchdog.

One inotify observer holds a watch per library folder (recursive), one polling
observer the folders that are polled. Each folder is watched and unwatched on
its own, so one folder going offline, or running out of inotify watches, leaves
the others as they are. Every event only marks a folder in the ChangeBuffer;
nothing is scanned on this side.

Why watchdog rather than watchfiles: see docs/architecture.md, "Watching".
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from dataclasses import dataclass

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    EventsLostEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from mus_desktop.library.paths import is_within
from mus_desktop.watching.changes import ChangeBuffer

log = logging.getLogger(__name__)

# What can change a track. Opened and closed-without-writing are left out: the
# workers reading a file would otherwise wake the watcher after every job.
_EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
    EventsLostEvent,
]

WATCH_LIMIT_HINT = (
    "raise it with `sudo sysctl fs.inotify.max_user_watches=524288` "
    "(and a line in /etc/sysctl.d/ to keep it)"
)
INSTANCE_LIMIT_HINT = (
    "raise it with `sudo sysctl fs.inotify.max_user_instances=1024` "
    "(and a line in /etc/sysctl.d/ to keep it)"
)


class WatchLimitReached(OSError):
    """No more inotify watches (ENOSPC) or instances (EMFILE) for this user, or
    MUS_WATCH_MAX_FOLDERS reached: the folder is polled instead."""


def limit_message(exc: OSError, cap: int = 0) -> str:
    """Why a folder is polled rather than watched, with what raises the limit."""
    if isinstance(exc, WatchLimitReached) and cap:
        return (
            f"MUS_WATCH_MAX_FOLDERS={cap} folders are watched already: polled instead "
            "(raise the setting)"
        )
    if exc.errno == errno.EMFILE:
        return f"the inotify instance limit is reached: polled instead; {INSTANCE_LIMIT_HINT}"
    return f"the inotify watch limit is reached: polled instead; {WATCH_LIMIT_HINT}"


def is_limit_error(exc: OSError) -> bool:
    return isinstance(exc, WatchLimitReached) or exc.errno in (errno.ENOSPC, errno.EMFILE)


class _UnwatchedFolders(logging.Handler):
    """The folders watchdog could not watch once running, for want of inotify
    watches or instances (a new subfolder past the limit): it only logs them
    ("Unable to watch %r: %s", watchdog/observers/inotify.py), and the rest of
    the tree goes on being watched, so this is how the watcher learns of them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: dict[str, OSError] = {}
        self._lock_found = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and isinstance(args[1], OSError) and is_limit_error(args[1]):
            with self._lock_found:
                self.found[os.fsdecode(args[0])] = args[1]

    def take(self) -> dict[str, OSError]:
        with self._lock_found:
            found, self.found = self.found, {}
        return found


class _ToBuffer(FileSystemEventHandler):
    def __init__(self, buffer: ChangeBuffer, root: str, quiet: float) -> None:
        self._buffer = buffer
        self._root = root
        self._quiet = quiet

    def on_any_event(self, event: FileSystemEvent) -> None:
        now = time.monotonic()
        if isinstance(event, EventsLostEvent):  # the kernel's queue overflowed
            self._buffer.touch(self._root, now, self._quiet)
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                self._buffer.event(os.fsdecode(path), event.is_directory, now, self._quiet)


@dataclass
class _Watch:
    observer: BaseObserver
    watch: ObservedWatch
    folders: int
    """Folders under it counted against MUS_WATCH_MAX_FOLDERS (events only)."""


class FolderEvents:
    """Watches library folders, each by events or by polling, into `buffer`."""

    def __init__(
        self, buffer: ChangeBuffer, poll_seconds: float, max_event_folders: int = 0
    ) -> None:
        self._buffer = buffer
        self._poll_seconds = poll_seconds
        self._cap = max_event_folders
        self._inotify = InotifyObserver()
        self._polling = PollingObserver(timeout=poll_seconds)
        self._watches: dict[str, _Watch] = {}
        self._unwatched = _UnwatchedFolders()
        logging.getLogger(InotifyObserver.__module__).addHandler(self._unwatched)
        self._inotify.start()
        self._polling.start()

    def watch_events(self, folder: str, quiet: float) -> None:
        """Watch `folder` by inotify; raises OSError (WatchLimitReached when out of
        watches) if it cannot be, leaving it unwatched."""
        counted = 0
        if self._cap:
            used = sum(watch.folders for watch in self._watches.values())
            counted = _count_folders(folder, self._cap - used + 1)
            if used + counted > self._cap:
                raise WatchLimitReached(errno.ENOSPC, "MUS_WATCH_MAX_FOLDERS reached")
        try:
            watch = self._inotify.schedule(
                _ToBuffer(self._buffer, folder, quiet), folder, recursive=True, event_filter=_EVENTS
            )
        except OSError as exc:
            if is_limit_error(exc):
                raise WatchLimitReached(exc.errno, exc.strerror) from exc
            raise
        self._watches[folder] = _Watch(self._inotify, watch, counted)

    def watch_polling(self, folder: str) -> float:
        """Poll `folder`; returns the quiet period its events need (a file being
        copied shows up once per poll)."""
        quiet = 1.5 * self._poll_seconds
        watch = self._polling.schedule(
            _ToBuffer(self._buffer, folder, quiet), folder, recursive=True, event_filter=_EVENTS
        )
        self._watches[folder] = _Watch(self._polling, watch, 0)
        return quiet

    def unwatch(self, folder: str) -> None:
        watched = self._watches.pop(folder, None)
        if watched is None:
            return
        try:
            watched.observer.unschedule(watched.watch)
        except (KeyError, OSError):  # its emitter already stopped (its root went away)
            log.debug("watch of %s was already gone", folder)

    def is_alive(self, folder: str) -> bool:
        """Whether the watch of `folder` still delivers events: an emitter stops when
        its root goes away, or when it cannot add a watch for a new subfolder."""
        watched = self._watches.get(folder)
        if watched is None:
            return False
        return any(
            emitter.watch == watched.watch and emitter.is_alive()
            for emitter in watched.observer.emitters
        )

    def out_of_watches(self) -> dict[str, OSError]:
        """Library folders in which a subfolder made after the start could not be
        watched, for want of inotify watches or instances (taken: reported once)."""
        found = self._unwatched.take()
        return {
            folder: next(error for path, error in found.items() if is_within(path, folder))
            for folder in self._watches
            if any(is_within(path, folder) for path in found)
        }

    def stop(self) -> None:
        logging.getLogger(InotifyObserver.__module__).removeHandler(self._unwatched)
        for observer in (self._inotify, self._polling):
            observer.stop()
        for observer in (self._inotify, self._polling):
            if observer.is_alive():
                observer.join(timeout=5)
        self._watches.clear()


def _count_folders(root: str, limit: int) -> int:
    """Folders in the tree under `root` (itself included), counting no further than `limit`."""
    count = 0
    for _ in os.walk(root):
        count += 1
        if count >= limit:
            break
    return count
