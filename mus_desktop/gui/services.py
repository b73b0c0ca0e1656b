"""The window's link to processing: broker, workers, the folder watcher,
import, retry, reconcile, and adding and removing library folders.

`Services` lives in its own QThread, so starting the broker, scanning a
folder or talking to Redis never stalls the window. Requests arrive as queued
slot calls and run one after another in order (an import asked for while the
broker is still starting simply waits for it); results go back by signals.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from mus_desktop.config import Settings
from mus_desktop.gui.folder_watch import FolderWatch
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import add_folders, remove_folder

if TYPE_CHECKING:
    from rq import Queue

    from mus_desktop.runtime.backend import Backend

log = logging.getLogger(__name__)

BROKER_POLL_MS = 2000


@dataclass(frozen=True)
class BrokerState:
    """What the status bar says about processing."""

    text: str
    queued_jobs: int
    reachable: bool


class Services(QObject):
    brokerChanged = Signal(object)
    """BrokerState, at start and every couple of seconds."""
    importFinished = Signal(str, object, object)
    """(folder, ScanReport, AddReport or None) once a folder is scanned, its work
    queued and the folder recorded as a library folder."""
    retryFinished = Signal(int)
    """How many errored tracks went back in the queue."""
    foldersAdded = Signal(object)
    """AddReport of library folders added from the window."""
    folderRemoved = Signal(str, int)
    """(library folder, how many of its tracks were forgotten)."""
    folderChangeFailed = Signal(str)
    """Why a library folder could not be added or removed."""
    failed = Signal(str)
    """Something a person should read (an import or retry that did not happen)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__()
        self._settings = settings
        self._db = db
        self._backend: Backend | None = None
        self._timer: QTimer | None = None
        self.stopping = threading.Event()
        self.folder_watch = FolderWatch(db, settings, lambda: self._queue, self)

    @property
    def _queue(self) -> Queue | None:
        return None if self._backend is None else self._backend.queue

    @Slot()
    def start(self) -> None:
        """Start (or find) the broker and workers, then re-queue lost work."""
        self.brokerChanged.emit(BrokerState("starting the broker…", 0, False))
        # Imported here, in the services thread: rq and redis cost the window's
        # start-up nothing, and a broken processing install still lets it browse.
        try:
            from mus_desktop.processing.queue import BrokerUnreachable
            from mus_desktop.processing.service import reconcile
            from mus_desktop.runtime.backend import start_backend

            self._backend = start_backend(self._settings)
        except Exception as exc:  # an unusable broker must not keep the window from opening
            log.exception("could not start the backend")
            self.brokerChanged.emit(BrokerState(f"processing unavailable: {exc}", 0, False))
            self.folder_watch.start()  # scans still record tracks, processed later
            return
        if self._backend.queue is not None:
            try:
                reconcile(self._db, self._backend.queue, self._settings)
            except BrokerUnreachable as exc:
                self.failed.emit(str(exc))
            except Exception as exc:  # a locked database at start: say so, keep going
                self.failed.emit(f"could not re-queue unfinished tracks: {exc}")
        self._timer = QTimer(self)
        self._timer.setInterval(BROKER_POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        self.poll()
        self.folder_watch.start()

    @Slot()
    def poll(self) -> None:
        backend = self._backend
        if backend is None or self.stopping.is_set():
            return
        reachable = backend.queue is not None
        self.brokerChanged.emit(BrokerState(backend.describe(), backend.queue_depth(), reachable))

    @Slot(str)
    def import_folder(self, folder: str) -> None:
        if self.stopping.is_set():
            return
        try:
            from mus_desktop.processing.service import import_paths

            report = import_paths(self._db, self._queue, [folder], self._settings)
        except Exception as exc:  # e.g. the database is locked for longer than its timeout
            self.failed.emit(f"Import of {folder} failed: {exc}")
            return
        added = None
        if not report.fatal and os.path.isdir(folder):  # followed from then on, as `mus import`
            try:
                added = add_folders(self._db, [folder])
            except Exception as exc:
                self.failed.emit(f"{folder} was imported, but is not followed: {exc}")
        self.importFinished.emit(folder, report, added)

    @Slot(object)
    def add_library_folders(self, folders: Sequence[str]) -> None:
        """Record library folders; the watcher scans and follows them within seconds."""
        if self.stopping.is_set():
            return
        try:
            report = add_folders(self._db, folders)
        except Exception as exc:
            self.folderChangeFailed.emit(f"Could not add the library folder: {exc}")
            return
        self.foldersAdded.emit(report)

    @Slot(str)
    def remove_library_folder(self, folder: str) -> None:
        """Forget a library folder and its tracks; no file is touched."""
        if self.stopping.is_set():
            return
        try:
            forgotten = remove_folder(self._db, folder)
        except Exception as exc:
            self.folderChangeFailed.emit(f"Could not remove {folder}: {exc}")
            return
        self.folderRemoved.emit(folder, forgotten)

    @Slot(object)
    def retry(self, track_ids: Sequence[int] | None) -> None:
        """Re-queue the given errored tracks, or all of them when None."""
        if self.stopping.is_set():
            return
        try:
            from mus_desktop.processing.service import retry_tracks

            count = retry_tracks(self._db, self._queue, track_ids, self._settings)
        except Exception as exc:
            self.failed.emit(f"Retry failed: {exc}")
            return
        if count and self._queue is None:
            self.failed.emit(
                f"{count} track(s) marked for retry; the broker is unreachable, "
                "so they are processed once it is back",
            )
        self.retryFinished.emit(count)

    @Slot()
    def stop(self) -> None:
        """Stop the folder watcher (a scan under way is recorded and queued), then
        our workers (SIGTERM: each finishes its batch) and private broker."""
        self.stopping.set()
        if self._timer is not None:
            self._timer.stop()
        self.folder_watch.stop()
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()


class ServicesThread:
    """Owns the services thread: `start()`, requests through signals, `stop()`."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.thread = QThread()
        self.thread.setObjectName("mus-services")
        self.services = Services(settings, db)
        self.services.moveToThread(self.thread)
        self.thread.started.connect(self.services.start)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Blocks until the current request is done and the backend has stopped."""
        if not self.thread.isRunning():
            return
        self.services.stopping.set()
        QMetaObject.invokeMethod(self.services, "stop", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait()
