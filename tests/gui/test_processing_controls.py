"""Processing seen from the window's services: the worker count while work runs,
Pause and Resume. A real broker, real workers, real audio files."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from redis import Redis
from sqlalchemy import select, text

from mus_desktop.config import Settings, load_settings
from mus_desktop.gui.services import BrokerState, ServicesThread
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.processing.queue import make_queue
from mus_desktop.processing.rq_adapter import live_workers
from tools.audiogen import make_library

pytestmark = pytest.mark.slow


class Recorder(QObject):
    """What the status bar is told, and the requests a window makes."""

    importRequested = Signal(str)

    def __init__(self, services: ServicesThread) -> None:
        super().__init__()
        self.state: BrokerState | None = None
        self.paused: list[bool] = []
        self.imported: list[str] = []
        svc = services.services
        svc.brokerChanged.connect(self._on_state)
        svc.pausedChanged.connect(self._on_paused)
        svc.importFinished.connect(self._on_imported)
        svc.failed.connect(self._on_failed)
        self.importRequested.connect(svc.import_folder)

    def _on_state(self, state: BrokerState) -> None:
        self.state = state

    def _on_paused(self, paused: bool) -> None:
        self.paused.append(paused)

    def _on_imported(self, folder: str, report: object, added: object) -> None:
        self.imported.append(folder)

    def _on_failed(self, message: str) -> None:
        self.imported.append(f"failed: {message}")

    def says(self, prefix: str, *, paused: bool = False) -> bool:
        state = self.state
        return state is not None and state.text.startswith(prefix) and state.paused == paused


@pytest.fixture
def one_track_batches(broker_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A job per track: work lasts long enough to be seen."""
    monkeypatch.setenv("MUS_BATCH_SIZE", "1")
    return load_settings()


@pytest.fixture
def services(qtbot, one_track_batches: Settings, db: Database) -> Iterator[ServicesThread]:
    thread = ServicesThread(one_track_batches, db)
    yield thread
    thread.stop()


def status_counts(db: Database) -> Counter[str]:
    with db.read() as session:
        return Counter(session.scalars(select(Track.processing_status)))


def test_the_worker_count_is_true_while_work_runs(
    qtbot, services: ServicesThread, db: Database, tmp_path: Path
) -> None:
    """Field report: "0 workers on private broker" while 164 tracks processed. The
    count read right after the workers were started missed them (not registered
    yet), and was not read again while the services thread was busy."""
    library = make_library(tmp_path / "music", albums=4, tracks_per_album=10)
    total = len(library.entries)
    seen = Recorder(services)
    seen.importRequested.emit(str(library.root))  # asked before the broker is up, as at launch
    services.start()

    during: list[str] = []
    deadline = time.monotonic() + 120
    while (counts := status_counts(db))["COMPLETE"] < total:
        assert time.monotonic() < deadline, f"processing did not end: {counts}"
        if counts["COMPLETE"] > 0 and seen.state is not None:
            during.append(seen.state.text)
        qtbot.wait(20)

    assert during, "no moment caught while the workers were busy"
    assert all(text.startswith("2 workers on ") for text in during), Counter(during)


def test_the_count_stays_current_while_the_services_thread_is_busy(
    qtbot, services: ServicesThread, one_track_batches: Settings, db: Database, tmp_path: Path
) -> None:
    seen = Recorder(services)
    services.start()
    qtbot.waitUntil(lambda: seen.says("2 workers"), timeout=30000)
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)

    # Another program holds the library's write lock: the import waits for it.
    with db.write() as other:
        other.execute(text("SELECT 1"))  # the write lock is taken with the transaction
        seen.importRequested.emit(str(library.root))
        qtbot.wait(200)
        redis = Redis.from_url(one_track_batches.redis_url or "")
        queue = make_queue(redis, one_track_batches)
        # "2 workers" counts our pool's workers before they register (on a busy
        # machine, and on PostgreSQL, that takes a few seconds): wait for one.
        qtbot.waitUntil(lambda: bool(live_workers(queue)), timeout=30000)
        victim = live_workers(queue)[0]
        os.kill(victim.pid or 0, signal.SIGKILL)  # as the OOM killer would
        redis.close()
        qtbot.waitUntil(lambda: seen.says("1 worker on "), timeout=3500)
        assert seen.imported == []  # the services thread was still waiting
    qtbot.waitUntil(lambda: seen.imported == [str(library.root)], timeout=30000)


def test_pause_keeps_work_queued_and_resume_finishes_it(
    qtbot, services: ServicesThread, db: Database, tmp_path: Path
) -> None:
    seen = Recorder(services)
    services.start()
    qtbot.waitUntil(lambda: seen.says("2 workers"), timeout=30000)

    services.services.pause()  # from the GUI thread, as the window's menu does
    assert seen.paused == [True]  # said at once
    qtbot.waitUntil(lambda: seen.says("0 workers", paused=True), timeout=10000)

    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    total = len(library.entries)
    seen.importRequested.emit(str(library.root))
    qtbot.waitUntil(lambda: seen.imported == [str(library.root)], timeout=30000)
    qtbot.waitUntil(lambda: seen.state is not None and seen.state.queued_jobs == total)
    for _ in range(3):  # seconds: nothing is taken meanwhile
        qtbot.wait(1000)
        assert status_counts(db) == {"PENDING": total}
        assert seen.state is not None and seen.state.queued_jobs == total
        assert seen.says("0 workers", paused=True)

    services.services.resume()
    assert seen.paused == [True, False]
    qtbot.waitUntil(lambda: status_counts(db) == {"COMPLETE": total}, timeout=60000)
    qtbot.waitUntil(lambda: seen.says("2 workers") and seen.state.queued_jobs == 0)


def test_shutdown_while_paused_leaves_no_worker(
    qtbot, services: ServicesThread, one_track_batches: Settings
) -> None:
    seen = Recorder(services)
    services.start()
    qtbot.waitUntil(lambda: seen.says("2 workers"), timeout=30000)
    redis = Redis.from_url(one_track_batches.redis_url or "")
    queue = make_queue(redis, one_track_batches)
    pids = [worker.pid for worker in live_workers(queue)]

    services.services.pause()
    started = time.monotonic()
    services.stop()

    assert time.monotonic() - started < 10
    assert not live_workers(queue)
    assert all(not _runs(pid) for pid in pids)
    redis.close()


def _runs(pid: int | None) -> bool:
    try:
        os.kill(pid or 0, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited
        return stat.read().split(") ")[1][0] != "Z"
