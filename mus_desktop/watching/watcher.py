"""The watcher: every library folder kept current, from one thread.

At start it watches every library folder (events first, so nothing that
happens during the scan is lost), then scans them all for what changed while
nothing watched (the catch-up scan). After that it rescans the folders the
events marked, once they have settled (changes.py), and every library folder
again every MUS_RESCAN_HOURS for what events miss. Every scan goes through
library/scanner.py, so moves, renames, edits and losses follow the identity
rules (docs/architecture.md, "Identity", "Watching").

Every couple of seconds it reads the library folders again: a folder added or
removed (by `mus folders`, the window, an import) is watched or dropped, a
folder whose root went away goes offline (nothing under it is marked
missing), and one whose root is back is scanned and watched again. What it
does is reported through two callbacks, called from its thread: `on_scanned`
with each scan that found something (the caller queues the work and says so)
and `on_folders` with the folders' watch states whenever one changes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import (
    count_present,
    folder_devices,
    offline_reason,
    record_full_scan,
    record_watch_state,
)
from mus_desktop.library.models import WatchMode
from mus_desktop.library.mounts import file_system_of, is_network_or_virtual, left_to_other_hosts
from mus_desktop.library.paths import display_path, is_within
from mus_desktop.library.scanner import ScanReport, scan
from mus_desktop.watching.changes import QUIET_SECONDS, ChangeBuffer
from mus_desktop.watching.events import FolderEvents, is_limit_error, limit_message

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
"""How often the library folders are read again and their roots looked at."""
RESCAN_GAP_SECONDS = 1.0
"""The least time between two rescans of folders events marked: during a long copy,
albums settle one after another, and are scanned a second's worth at a time."""


@dataclass(frozen=True)
class FolderState:
    path: str
    mode: str
    """A WatchMode value, or "off" (MUS_WATCH=off)."""
    error: str | None = None
    """Why it is not followed by events, for a person."""


ScanCallback = Callable[[ScanReport], None]
FoldersCallback = Callable[[list[FolderState]], None]


def planned_mode(folder: str, setting: str) -> tuple[str, str | None]:
    """The mode MUS_WATCH and the folder's file system ask for, and why it is not
    events when it is not."""
    if setting == "off":
        return "off", "MUS_WATCH=off: scanned at start and every MUS_RESCAN_HOURS only"
    if setting == "polling":
        return WatchMode.POLLING.value, "MUS_WATCH=polling"
    if setting == "auto":
        fstype = file_system_of(folder)
        if is_network_or_virtual(fstype):
            return (
                WatchMode.POLLING.value,
                f"on a {fstype} file system, whose changes from other machines raise "
                "no events: polled (MUS_WATCH=events to try events)",
            )
    return WatchMode.EVENTS.value, None


class FolderWatcher:
    """Keeps the library folders current until `stop()`; see the module docstring."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        on_scanned: ScanCallback,
        on_folders: FoldersCallback | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._on_scanned = on_scanned
        self._on_folders = on_folders
        ignored = [
            str(settings.db_path),
            f"{settings.db_path}-wal",
            f"{settings.db_path}-shm",
            f"{settings.db_path}-journal",
            str(settings.cache_dir),
            str(settings.runtime_dir),
            str(settings.log_dir),
        ]
        self.buffer = ChangeBuffer(ignored)
        self._events: FolderEvents | None = None
        self._states: dict[str, FolderState] = {}
        self._published: tuple[FolderState, ...] = ()
        """A copy of the states for other threads, replaced whole after each check."""
        self._owed_full_scan: set[str] = set()
        """New, back online, or asked for: scanned in full at the next check."""
        self._reported = False
        self._stop = threading.Event()
        self._rescan_requested = threading.Event()
        self._thread: threading.Thread | None = None
        self.scans = 0
        """Scans made so far (the catch-up and periodic ones included)."""

    # -- control, from any thread ---------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mus-folder-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop watching; a scan under way finishes first."""
        self._stop.set()
        self.buffer.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def rescan_all(self) -> None:
        """Ask for a full scan of every library folder, as soon as the current one ends."""
        self._rescan_requested.set()
        self.buffer.wake()

    def states(self) -> list[FolderState]:
        """The folders' watch states as of the last check (safe from any thread)."""
        return list(self._published)

    # -- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._events = FolderEvents(
                self.buffer, self._settings.poll_seconds, self._settings.watch_max_folders
            )
            self._follow()
        except Exception:
            log.exception("the folder watcher stopped on an error")
            raise
        finally:
            if self._events is not None:
                self._events.stop()

    def _follow(self) -> None:
        """The loop. Each step is guarded: a database busy past its timeout, say,
        costs that step, tried again at the next check, never the watching."""
        self._guarded(self._check_and_catch_up)
        period = self._settings.rescan_hours * 3600
        next_full = time.monotonic() + period if period else None
        next_check = time.monotonic() + CHECK_SECONDS
        next_rescan = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            due_in = self.buffer.next_due_in(now)
            if due_in is not None:
                due_in = max(due_in, next_rescan - now)
            wake = min(x for x in (due_in, next_check - now) if x is not None)
            self.buffer.wait(max(0.0, wake))
            if self._stop.is_set():
                return
            now = time.monotonic()
            due = self.buffer.take_due(now) if now >= next_rescan else []
            if due:
                self._guarded(partial(self._rescan, due))
                next_rescan = time.monotonic() + RESCAN_GAP_SECONDS
            if self._rescan_requested.is_set() or (next_full is not None and now >= next_full):
                self._rescan_requested.clear()
                self._owed_full_scan.update(self._online())
                next_check = now  # now, not in two seconds
                if period:
                    next_full = now + period
            if now >= next_check:
                self._guarded(self._check_and_catch_up)
                next_check = time.monotonic() + CHECK_SECONDS

    @staticmethod
    def _guarded(step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:
            log.exception("the folder watcher's step failed; tried again at the next check")

    def _check_and_catch_up(self) -> None:
        self._owed_full_scan.update(self._check_folders())
        owed = [folder for folder in self._online() if folder in self._owed_full_scan]
        if owed and self._scan(owed, full=True) is not None:
            self._owed_full_scan.difference_update(owed)

    def _online(self) -> list[str]:
        return [
            path for path, state in self._states.items() if state.mode != WatchMode.OFFLINE.value
        ]

    def _check_folders(self) -> list[str]:
        """Bring the watches in line with the library folders and their roots;
        returns the folders to scan in full (new, or back online)."""
        assert self._events is not None
        folders = folder_devices(self._db)
        changed = False
        for gone in [path for path in self._states if path not in folders]:
            self._events.unwatch(gone)
            self.buffer.discard_under([gone])
            del self._states[gone]
            self._owed_full_scan.discard(gone)
            changed = True
        fresh: list[str] = []
        for path, error in self._events.out_of_watches().items():
            if self._states.get(path, FolderState(path, "")).mode == WatchMode.EVENTS.value:
                why = limit_message(error)
                log.warning("%s: %s", display_path(path), why)
                self._events.unwatch(path)
                self._events.watch_polling(path)
                self._set_state(FolderState(path, WatchMode.POLLING.value, why))
                fresh.append(path)  # what the unwatched subfolder got meanwhile
                changed = True
        for path, device in folders.items():
            state = self._states.get(path)
            reason = offline_reason(path, partial(count_present, self._db, path), device)
            elsewhere = None if reason is not None else self._left_to_other_hosts(path)
            if reason is not None or elsewhere is not None:
                if state is None or state.mode != WatchMode.OFFLINE.value:
                    self._events.unwatch(path)
                    self.buffer.discard_under([path])
                    offline = FolderState(path, WatchMode.OFFLINE.value, reason or elsewhere)
                    # Another host's state stays recorded: it is the one following it.
                    self._set_state(offline, record=elsewhere is None)
                    changed = True
                continue
            if state is None or state.mode == WatchMode.OFFLINE.value:
                self._set_state(self._watch(path))
                fresh.append(path)
                changed = True
            elif state.mode in (WatchMode.EVENTS.value, WatchMode.POLLING.value) and not (
                self._events.is_alive(path)
            ):  # its root went away and came back between two checks, or a watch failed
                self._events.unwatch(path)
                self._set_state(self._watch(path))
                fresh.append(path)
                changed = True
        self._published = tuple(self._states.values())
        if changed or not self._reported:  # the first check is told even with no folder
            self._reported = True
            self._notify(self._on_folders, self.states())
        return fresh

    def _watch(self, folder: str) -> FolderState:
        assert self._events is not None
        mode, why = planned_mode(folder, self._settings.watch)
        if mode == WatchMode.EVENTS.value:
            try:
                self._events.watch_events(folder, QUIET_SECONDS)
                return FolderState(folder, mode)
            except OSError as exc:
                if is_limit_error(exc):
                    why = limit_message(exc, self._settings.watch_max_folders)
                else:
                    why = f"cannot watch it ({exc.strerror or exc}): polled instead"
                log.warning("%s: %s", display_path(folder), why)
                mode = WatchMode.POLLING.value
        if mode == WatchMode.POLLING.value:
            try:
                self._events.watch_polling(folder)
            except OSError as exc:
                return FolderState(folder, "off", f"cannot poll it ({exc.strerror or exc})")
        return FolderState(folder, mode, why)

    def _left_to_other_hosts(self, folder: str) -> str | None:
        if not self._db.on_server or self._settings.follow_remote:
            return None
        return left_to_other_hosts(folder)

    def _set_state(self, state: FolderState, *, record: bool = True) -> None:
        if self._states.get(state.path) == state:
            return
        self._states[state.path] = state
        if not record:
            return
        try:
            record_watch_state(self._db, state.path, state.mode, state.error)
        except Exception:  # a busy or full database: the state is only shown, keep going
            log.warning("could not record the watch state of %s", state.path, exc_info=True)

    def _rescan(self, touched: Sequence[str]) -> None:
        """Rescan the folders events touched (one that is gone, as vanished), only
        while their library folder is recorded and online: an unmounted disk's
        events must not mark its tracks missing."""
        targets: list[str] = []
        gone: list[str] = []
        recorded = folder_devices(self._db)  # one removed a moment ago is not scanned back in
        for folder in touched:
            root = next((path for path in self._states if is_within(folder, path)), None)
            if root is None:  # the event was on a library folder itself (made, moved, deleted)
                root = next((path for path in self._states if is_within(path, folder)), None)
                folder = root or folder
            if (
                root is None
                or root not in recorded
                or self._states[root].mode == WatchMode.OFFLINE.value
            ):
                continue
            if offline_reason(root, partial(count_present, self._db, root), recorded[root]):
                continue  # the next check takes it offline
            (targets if os.path.isdir(folder) else gone).append(folder)
        if (targets or gone) and self._scan(targets, vanished=gone) is None:
            now = time.monotonic()
            for folder in targets + gone:  # tried again once they are due again
                self.buffer.touch(folder, now)

    def _scan(
        self, folders: Sequence[str], *, vanished: Sequence[str] = (), full: bool = False
    ) -> ScanReport | None:
        """Scan `folders` and the `vanished` ones (`full`: library folders, whose scan
        time is recorded); None if the database failed: the caller tries again later."""
        try:
            report = scan(
                self._db,
                folders,
                vanished=vanished,
                library_folders_only=True,
                music_roots=self._settings.music_roots,
            )
            if full and not report.fatal:
                record_full_scan(self._db, folders)
        except Exception:
            log.exception("scan of %d folder(s) failed", len(folders))
            return None
        self.scans += 1
        self._notify(self._on_scanned, report)
        return report

    @staticmethod
    def _notify(callback: Callable[[Any], None] | None, value: object) -> None:
        """A callback's failure is logged: it must not end the watching."""
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("a folder watcher callback failed")
