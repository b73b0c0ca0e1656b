"""The window's link to processing: broker, workers, import, retry, reconcile.

`Services` lives in its own QThread, so starting the broker, scanning a
folder or talking to Redis never stalls the window. Requests arrive as queued
slot calls and run one after another in order (an import asked for while the
broker is still starting simply waits for it); results go back by signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database

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
    importFinished = Signal(str, object)
    """(folder, ScanReport) once a folder is scanned and its work queued."""
    retryFinished = Signal(int)
    """How many errored tracks went back in the queue."""
    failed = Signal(str)
    """Something a person should read (an import or retry that did not happen)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__()
        self._settings = settings
        self._db = db
        self._backend: Backend | None = None
        self._timer: QTimer | None = None
        self.stopping = threading.Event()

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
        self.importFinished.emit(folder, report)

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
        """Stop our workers (SIGTERM: each finishes its batch) and private broker."""
        self.stopping.set()
        if self._timer is not None:
            self._timer.stop()
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
