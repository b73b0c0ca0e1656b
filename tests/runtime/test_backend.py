"""Local worker pool, the backend the app uses, and what `mus doctor` says about them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from redis import Redis

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.engine import Database
from mus_desktop.processing.queue import make_queue
from mus_desktop.processing.rq_adapter import HEARTBEAT_SECONDS, worker_alive
from mus_desktop.runtime.backend import start_backend
from mus_desktop.runtime.broker import PrivateBroker, ping
from mus_desktop.runtime.workers import LocalWorkerPool
from tests.broker_fixture import RunningServer
from tests.runtime.conftest import (
    mus_env,
    nothing_left_running,
    process_gone,
    run_mus,
    wait_until,
)
from tests.runtime.jobs import enqueue_batch, recorded_tracks, statuses


@pytest.fixture
def pool_of_two(broker_settings: Settings, redis_url: str) -> Iterator[LocalWorkerPool]:
    """Two pool workers on the test broker, registered there; stopped afterwards."""
    pool = LocalWorkerPool(broker_settings, redis_url, 2)
    pool.start()
    try:
        with start_backend(broker_settings, start_workers=False) as backend:
            wait_until(lambda: backend.live_workers() == 2, "two workers to register")
        yield pool
    finally:
        pool.stop(timeout=30)


def test_pool_starts_workers_and_stop_leaves_no_process(pool_of_two: LocalWorkerPool) -> None:
    pids = pool_of_two.pids
    assert pool_of_two.alive() == 2

    pool_of_two.stop(timeout=30)

    assert pool_of_two.alive() == 0
    assert all(process_gone(pid) for pid in pids)
    assert "Worker" in pool_of_two.log_path.read_text()  # their output went to the log folder
    with start_backend(load_settings(), start_workers=False) as backend:
        assert backend.live_workers() == 0  # they unregistered on the way out


def test_a_killed_worker_is_replaced_at_once(pool_of_two: LocalWorkerPool) -> None:
    killed = pool_of_two.pids[0]
    os.kill(killed, signal.SIGKILL)  # as the OOM killer would: no goodbye to the broker
    wait_until(lambda: process_gone(killed), "the killed worker to be gone")

    with start_backend(load_settings()) as backend:  # MUS_WORKERS=2, as the app starts
        assert backend.started_workers == 1  # not minutes later, when its key expires
        wait_until(lambda: backend.live_workers() == 2, "the replacement to register")


def test_unreachable_broker_still_gives_a_backend(
    settings: Settings, short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUS_REDIS_URL", f"unix://{short_dir}/gone.sock")

    with start_backend(load_settings()) as backend:
        assert backend.queue is None
        assert backend.redis is None
        reason = f"no server socket at {short_dir}/gone.sock"
        assert backend.describe() == f"broker unreachable: {reason}"
        assert backend.live_workers() == 0
        assert backend.queue_depth() == 0


def test_backend_starts_workers_only_up_to_the_configured_number(
    broker_settings: Settings, redis_url: str
) -> None:
    configured = broker_settings  # MUS_WORKERS=2
    first = start_backend(configured)
    try:
        wait_until(lambda: first.live_workers() == 2, "the first backend's workers")
        assert first.describe() == f"2 workers on {redis_url}"

        with start_backend(configured) as second:  # a second app instance
            assert second.started_workers == 0
            assert second.describe() == f"2 workers on {redis_url}"
    finally:
        first.stop(timeout=30)

    with start_backend(configured, start_workers=False) as after:
        assert after.live_workers() == 0


def test_backend_on_the_private_broker_runs_jobs_and_cleans_up(
    private_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUS_WORKERS", "1")
    one_worker = load_settings()
    tracks = recorded_tracks(one_worker, tmp_path / "music")

    with start_backend(one_worker) as backend:
        assert backend.private
        assert backend.queue is not None
        enqueue_batch(backend.queue, tracks)
        wait_until(lambda: statuses(one_worker, tracks) == ["COMPLETE"], "the job to run")
        wait_until(lambda: backend.live_workers() == 1, "the worker to register")
        assert backend.describe() == "1 worker on private broker"
        url = backend.url
        pool_pids = backend._pool.pids if backend._pool else []

    assert url is not None
    assert ping(url) is not None  # the broker it started is stopped
    assert pool_pids and all(process_gone(pid) for pid in pool_pids)
    nothing_left_running(one_worker.runtime_dir)


def test_backend_leaves_a_broker_it_did_not_start(
    private_settings: Settings, broker: PrivateBroker
) -> None:
    url = broker.ensure_running()

    with start_backend(private_settings, start_workers=False) as backend:
        assert backend.url == url

    assert ping(url) is None


def test_doctor_reports_the_broker_without_starting_it(
    private_settings: Settings, db: Database
) -> None:
    result = run_mus("doctor", "--json", env=mus_env())
    assert result.returncode == 0, result.stderr
    broker = json.loads(result.stdout)["broker"]
    assert broker["url"] is None
    assert broker["answers"] is False
    text = run_mus("doctor", env=mus_env()).stdout
    assert "private (not started)" in text
    private = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    assert ping(private.url) is not None


def test_doctor_reports_workers_and_queue_depth(
    settings: Settings, db: Database, redis_url: str
) -> None:
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        for track in range(1, 4):
            enqueue_batch(queue, [track])

    result = run_mus("doctor", "--json", env=mus_env(MUS_REDIS_URL=redis_url))

    assert result.returncode == 0, result.stderr
    broker = json.loads(result.stdout)["broker"]
    assert broker == {
        "url": redis_url,
        "private": False,
        "answers": True,
        "reason": None,
        "live_workers": 0,
        "queue_depth": 3,
    }


def test_the_last_backend_to_stop_stops_the_private_broker(private_settings: Settings) -> None:
    first = start_backend(private_settings, start_workers=False)
    second = start_backend(private_settings, start_workers=False)  # another app instance
    assert first.url is not None and first.url == second.url

    first.stop()  # it started the broker, but the other instance uses it

    assert ping(first.url) is None
    second.stop()
    assert ping(first.url) is not None
    nothing_left_running(private_settings.runtime_dir)


def test_workers_end_with_the_fork_server(pool_of_two: LocalWorkerPool) -> None:
    pids = pool_of_two.pids
    # A SIGTERM to the window's process group (a terminal, `timeout`) ends the fork
    # server too, and the fork server ends when the window dies, SIGKILL included
    # (test_process_lifetime.py): the workers, in their own sessions, end with it.
    fork_server = psutil.Process(pids[0]).ppid()
    os.kill(fork_server, signal.SIGTERM)
    # Not reaped here: multiprocessing reaps it and starts a new one when next asked.
    wait_until(lambda: process_gone(fork_server), "the fork server to end")

    wait_until(lambda: pool_of_two.alive() == 0, "the workers to end with it")
    assert all(process_gone(pid) for pid in pids)
    pool_of_two.stop(timeout=30)  # nothing left to stop, and no complaint


def test_workers_register_again_after_the_broker_is_flushed(
    pool_of_two: LocalWorkerPool, broker_settings: Settings, redis_server: RunningServer
) -> None:
    """A FLUSHALL took RQ's worker registrations with it: the app said 'no worker
    is running' while two ran, and started more."""
    with start_backend(broker_settings, start_workers=False) as backend:
        redis_server.flush()

        wait_until(
            lambda: backend.live_workers() == 2,
            "the workers to register again",
            timeout=3 * HEARTBEAT_SECONDS,
        )


def test_a_killed_worker_not_yet_reaped_is_not_live() -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])  # never waited for: a zombie
    wait_until(lambda: psutil.Process(exited.pid).status() == psutil.STATUS_ZOMBIE, "a zombie")
    here = socket.gethostname()
    try:
        assert not worker_alive(SimpleNamespace(hostname=here, pid=exited.pid))  # type: ignore[arg-type]
        assert worker_alive(SimpleNamespace(hostname=here, pid=os.getpid()))  # type: ignore[arg-type]
    finally:
        exited.wait()


def test_doctor_says_where_each_tuned_setting_comes_from(settings: Settings, db: Database) -> None:
    assert settings.config_path is not None
    settings.config_path.parent.mkdir(parents=True)
    settings.config_path.write_text('{"workers": 3, "watch": "polling"}')
    env = mus_env()  # the fixture sets MUS_WORKERS

    report = json.loads(run_mus("doctor", "--json", env=env).stdout)["settings_file"]

    assert report == {
        "path": str(settings.config_path),
        "exists": True,
        "origins": {
            "workers": "set by MUS_WORKERS in the environment",
            "music_roots": "default",
            "watch": f"settings file {settings.config_path}",
        },
    }
    assert f"settings:      {settings.config_path}\n" in run_mus("doctor", env=env).stdout
