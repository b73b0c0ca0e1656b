"""The window's one FolderWatcher, its callbacks turned into Qt signals.

The watcher runs its own thread and calls back from it; each callback queues
what a scan found on the broker there and then emits a signal, which Qt
delivers to the window in the GUI thread. A scan whose tracks could not be
queued says so among its problems (reconcile queues them later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.scanner import ScanReport

if TYPE_CHECKING:
    from rq import Queue

    from mus_desktop.watching.watcher import FolderState, FolderWatcher

log = logging.getLogger(__name__)


class FolderWatch(QObject):
    scanned = Signal(object)
    """ScanReport of every scan the watcher made, once its work is queued."""
    foldersChanged = Signal(object)
    """list[FolderState]: each library folder's watch state, whenever one changes."""
    unavailable = Signal(str)
    """Why the library folders are not watched at all."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        queue: Callable[[], Queue | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._settings = settings
        self._queue = queue
        self._watcher: FolderWatcher | None = None

    def start(self) -> None:
        """Start watching, once; the watcher's thread makes the catch-up scan."""
        if self._watcher is not None:
            return
        try:
            from mus_desktop.watching.watcher import FolderWatcher

            watcher = FolderWatcher(self._db, self._settings, self._on_scanned, self._on_folders)
            watcher.start()
        except Exception as exc:  # a locked database, a broken install: the window still browses
            log.exception("could not start the folder watcher")
            self.unavailable.emit(f"could not start watching: {exc}")
            return
        self._watcher = watcher

    def stop(self) -> None:
        """Stop watching; a scan under way finishes and is queued first."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def rescan_all(self) -> None:
        """A full scan of every library folder, soon; callable from any thread."""
        watcher = self._watcher
        if watcher is not None:
            watcher.rescan_all()

    # -- called from the watcher's thread -------------------------------------------------

    def _on_scanned(self, report: ScanReport) -> None:
        try:
            from mus_desktop.processing.service import queue_scanned

            queue_scanned(report, self._queue(), self._settings)
        except Exception as exc:  # the tracks are recorded; reconcile queues them later
            log.exception("could not queue what a scan of the library folders found")
            report.problems.append(f"could not queue the tracks found: {exc}")
        self.scanned.emit(report)

    def _on_folders(self, states: list[FolderState]) -> None:
        self.foldersChanged.emit(list(states))
