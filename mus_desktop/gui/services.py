"""The window's link to processing: broker, workers, the folder watcher,
import, retry, reconcile, and adding and removing library folders.

`Services` lives in its own QThread, so starting the broker, scanning a
folder or talking to Redis never stalls the window. Requests arrive as queued
slot calls and run one after another in order (an import asked for while the
broker is still starting simply waits for it); results go back by signals.

The broker's state (workers, queued jobs, paused) is read in a thread of its
own (`_StatusThread`), every BROKER_POLL_MS: read in the services thread, the
status bar kept its last count for as long as an import scanned a large
folder, "0 workers" if that was the count at start. Pausing and resuming
happen there too: a click on Pause takes effect at once, not after the scan.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
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
    paused: bool = False
    """Local workers take no jobs (Processing → Pause); queued work waits."""


class _StatusThread(QObject):
    """Runs `poll` every BROKER_POLL_MS, and `apply` when asked, in a thread of its own.

    Both read the backend through the Redis client, which redis-py lets
    threads share; neither waits for a job (see LocalWorkerPool.pause).
    """

    def __init__(self, poll: Callable[[], None], apply: Callable[[], None]) -> None:
        super().__init__()
        self._poll = poll
        self._apply = apply
        self.thread = QThread()
        self.thread.setObjectName("mus-broker-status")
        self.moveToThread(self.thread)
        self.thread.started.connect(self._begin)
        self._timer: QTimer | None = None

    @Slot()
    def _begin(self) -> None:
        self._timer = QTimer(self)
        self._timer.setInterval(BROKER_POLL_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    @Slot()
    def _end(self) -> None:
        if self._timer is not None:  # in its own thread: Qt stops a timer nowhere else
            self._timer.stop()

    @Slot()
    def tick(self) -> None:
        self._poll()

    @Slot()
    def apply(self) -> None:
        self._apply()
        self._poll()

    def start(self) -> None:
        self.thread.start()

    def apply_soon(self) -> None:
        """Run `apply` (then `poll`) in the status thread; returns at once."""
        QMetaObject.invokeMethod(self, "apply", Qt.ConnectionType.QueuedConnection)

    def stop(self) -> None:
        """Returns once a poll under way is done; none runs after."""
        if self.thread.isRunning():
            QMetaObject.invokeMethod(self, "_end", Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.quit()
        self.thread.wait()


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
    pausedChanged = Signal(bool)
    """Processing was paused (True) or resumed, at once when asked."""

    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__()
        self._settings = settings
        self._db = db
        self._backend: Backend | None = None
        self._paused = False
        self._lock = threading.Lock()
        """Guards `_backend` and `_paused`, which the status thread reads."""
        self.stopping = threading.Event()
        self.folder_watch = FolderWatch(db, settings, lambda: self._queue, self)
        self._status = _StatusThread(self.poll, self._apply_pause)

    @property
    def _queue(self) -> Queue | None:
        return None if self._backend is None else self._backend.queue

    @Slot()
    def start(self) -> None:
        """Start (or find) the broker and workers, then re-queue lost work."""
        self.brokerChanged.emit(BrokerState("starting the broker…", 0, False, self._paused))
        self._status.start()
        # Imported here, in the services thread: rq and redis cost the window's
        # start-up nothing, and a broken processing install still lets it browse.
        try:
            from mus_desktop.processing.queue import BrokerUnreachable
            from mus_desktop.processing.service import reconcile
            from mus_desktop.runtime.backend import start_backend

            backend = start_backend(self._settings)
        except Exception as exc:  # an unusable broker must not keep the window from opening
            log.exception("could not start the backend")
            self.brokerChanged.emit(
                BrokerState(f"processing unavailable: {exc}", 0, False, self._paused)
            )
            self.folder_watch.start()  # scans still record tracks, processed later
            return
        with self._lock:
            self._backend = backend
        self._status.apply_soon()  # a pause asked for meanwhile, and a first count
        if backend.queue is not None:
            try:
                reconcile(self._db, backend.queue, self._settings)
            except BrokerUnreachable as exc:
                self.failed.emit(str(exc))
            except Exception as exc:  # a locked database at start: say so, keep going
                self.failed.emit(f"could not re-queue unfinished tracks: {exc}")
        self.folder_watch.start()

    def poll(self) -> None:
        """Say what the broker holds now (BrokerState); called in the status thread."""
        backend = self._backend
        if backend is None or self.stopping.is_set():
            return
        self.brokerChanged.emit(
            BrokerState(
                backend.describe(),
                backend.queue_depth(),
                backend.queue is not None,
                self._paused,
            )
        )

    @Slot()
    def pause(self) -> None:
        """Local workers take no more jobs (each finishes its batch); queued work is
        kept. Returns at once, from any thread (see _StatusThread)."""
        self._set_paused(True)

    @Slot()
    def resume(self) -> None:
        """Local workers take jobs again. Returns at once, from any thread."""
        self._set_paused(False)

    @property
    def paused(self) -> bool:
        return self._paused

    def _set_paused(self, paused: bool) -> None:
        if self.stopping.is_set():
            return
        with self._lock:
            if self._paused == paused:
                return
            self._paused = paused
        self.pausedChanged.emit(paused)
        self._status.apply_soon()

    def _apply_pause(self) -> None:
        """Bring the backend to the pause state last asked for (in the status thread:
        quick toggles end in the last one asked)."""
        with self._lock:
            backend, paused = self._backend, self._paused
        if backend is None or backend.paused == paused or self.stopping.is_set():
            return
        if paused:
            backend.pause()
        else:
            backend.resume()

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

    @Slot(object)
    def process(self, track_ids: Sequence[int]) -> None:
        """Queue work for tracks already recorded (a located track that was unfinished).
        With the broker away they stay unfinished, and reconcile queues them later."""
        if self.stopping.is_set() or not track_ids:
            return
        queue = self._queue
        if queue is None:
            return
        try:
            from mus_desktop.processing.service import enqueue

            enqueue(queue, list(track_ids), self._settings)
        except Exception as exc:
            self.failed.emit(f"Could not queue the track's work: {exc}; it is queued at next start")

    @Slot()
    def stop(self) -> None:
        """Stop the folder watcher (a scan under way is recorded and queued), then
        our workers (SIGTERM: each finishes its batch) and private broker."""
        self.stopping.set()
        self._status.stop()
        self.folder_watch.stop()
        with self._lock:
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
