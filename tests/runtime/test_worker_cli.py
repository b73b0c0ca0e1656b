"""`mus worker`: real worker processes on a real server, running mus's real batch job."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psutil
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from mus_desktop.config import Settings
from mus_desktop.processing.queue import JOB_FUNCTION, make_queue
from mus_desktop.runtime.broker import PrivateBroker, ping
from tests.broker_fixture import start_test_server
from tests.runtime.conftest import (
    mus_env,
    nothing_left_running,
    restart_test_server,
    run_mus,
    wait_until,
)
from tests.runtime.jobs import enqueue_batch, recorded_tracks, statuses


@contextmanager
def running_worker(env: dict[str, str], queue: Queue) -> Iterator[subprocess.Popen[str]]:
    """A `mus worker` that has registered on `queue`; killed at the end if still running.
    Its two output streams are merged (RQ logs INFO to stdout, warnings to stderr)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: Worker.count(queue=queue) == 1, "the worker to register")
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()


@contextmanager
def write_locked(settings: Settings) -> Iterator[None]:
    """Hold the library's write lock: a batch job waits for it (up to SQLite's 5 s busy
    timeout) before its first write, so the test can act while the job runs."""
    with closing(sqlite3.connect(settings.db_path, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("COMMIT")


def test_burst_worker_runs_a_mus_job_and_exits(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    tracks = recorded_tracks(settings, tmp_path / "music", count=2)
    with Redis.from_url(redis_url) as client:
        job = enqueue_batch(make_queue(client, settings), tracks)

        result = run_mus("worker", "--burst", env=mus_env(MUS_REDIS_URL=redis_url))

        assert result.returncode == 0, result.stderr
        assert statuses(settings, tracks) == ["COMPLETE", "COMPLETE"]
        assert job.get_status(refresh=True) == JobStatus.FINISHED
        assert make_queue(client, settings).count == 0


def test_a_pickled_job_is_not_executed(settings: Settings, redis_url: str, tmp_path: Path) -> None:
    """Even one naming mus's own job function: only the serializer can refuse it."""
    tracks = recorded_tracks(settings, tmp_path / "music")
    pickled_tracks = recorded_tracks(settings, tmp_path / "pickled")
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        pickled = Queue(queue.name, connection=client).enqueue(  # RQ's default: pickle
            JOB_FUNCTION, pickled_tracks
        )
        enqueue_batch(queue, tracks)

        result = run_mus("worker", "--burst", env=mus_env(MUS_REDIS_URL=redis_url))

        assert result.returncode == 0, result.stderr
        assert statuses(settings, pickled_tracks) == ["PENDING"]
        assert pickled.id in FailedJobRegistry(queue=queue).get_job_ids()
        assert statuses(settings, tracks) == ["COMPLETE"]  # the worker went on to the next job


def test_a_job_naming_any_other_function_fails_unimported(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    """Anyone who can write to the broker could make a worker run `os.system`: JSON
    jobs still name a function, which RQ imports and calls. A worker runs mus's own
    job function and nothing else, whoever queued the job and however."""
    shell_marker, touch_marker, imported = (tmp_path / name for name in ("pwned", "ran", "imp"))
    tracks = recorded_tracks(settings, tmp_path / "music")
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        json_queue = Queue(queue.name, connection=client, serializer=JSONSerializer)
        by_rq = [
            json_queue.enqueue("os.system", f"id > {shell_marker}"),
            json_queue.enqueue("tests.runtime.jobs.touch", str(touch_marker)),
        ]
        by_hand = _handmade_job(client, queue, "os.system", f"id > {shell_marker}")
        enqueue_batch(queue, tracks)

        result = run_mus(
            "worker",
            "--burst",
            env=mus_env(MUS_REDIS_URL=redis_url, MUS_TEST_IMPORT_MARKER=str(imported)),
        )

        assert result.returncode == 0, result.stderr
        assert not shell_marker.exists()
        assert not touch_marker.exists()
        assert not imported.exists()  # tests.runtime.jobs was never imported, callback included
        failed = FailedJobRegistry(queue=queue).get_job_ids()
        assert {job.id for job in by_rq} | {by_hand} <= set(failed)
        assert "refused to run 'os.system'" in result.stderr
        assert "refused to run 'tests.runtime.jobs.touch'" in result.stderr
        assert statuses(settings, tracks) == ["COMPLETE"]  # mus's own job still runs


def _handmade_job(client: Redis, queue: Queue, function: str, *args: str) -> str:
    """A job written into the broker by hand, not through RQ, as an attacker would;
    it also names a failure callback in this test's module."""
    job_id = str(uuid.uuid4())
    client.hset(
        Job.key_for(job_id),
        mapping={
            "data": json.dumps([function, None, list(args), {}]),
            "origin": queue.name,
            "status": "queued",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "failure_callback_name": "tests.runtime.jobs.touch",
        },
    )
    client.rpush(queue.key, job_id)
    return job_id


def test_worker_uses_the_private_broker_when_none_is_configured(
    private_settings: Settings, broker: PrivateBroker, tmp_path: Path
) -> None:
    tracks = recorded_tracks(private_settings, tmp_path / "music")
    with Redis.from_url(broker.ensure_running()) as client:
        enqueue_batch(make_queue(client, private_settings), tracks)

    result = run_mus("worker", "--burst", env=mus_env())

    assert result.returncode == 0, result.stderr
    assert statuses(private_settings, tracks) == ["COMPLETE"]
    assert ping(broker.url) is None  # this test uses it still


def test_a_worker_that_was_the_last_user_stops_the_private_broker(
    private_settings: Settings, broker: PrivateBroker, tmp_path: Path
) -> None:
    tracks = recorded_tracks(private_settings, tmp_path / "music")
    with Redis.from_url(broker.ensure_running()) as client:
        enqueue_batch(make_queue(client, private_settings), tracks)
    assert broker.release() is True  # the last user: stopped, the queue kept on disk

    result = run_mus("worker", "--burst", env=mus_env())

    assert result.returncode == 0, result.stderr
    assert statuses(private_settings, tracks) == ["COMPLETE"]
    assert ping(broker.url) is not None  # it started the broker, and stopped it
    nothing_left_running(private_settings.runtime_dir)


def test_a_killed_worker_leaves_no_private_broker_behind(
    private_settings: Settings, tmp_path: Path
) -> None:
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    worker = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "worker"],
        env=mus_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: ping(broker.url) is None, "the worker to start the private broker")
        with Redis.from_url(broker.url) as client:
            queue = make_queue(client, private_settings)
            wait_until(lambda: Worker.count(queue=queue) == 1, "the worker to register")
    finally:
        worker.kill()  # as the OOM killer would: no `finally` runs in it
        worker.wait()

    wait_until(lambda: ping(broker.url) is not None, "the unused broker to stop", timeout=15)
    nothing_left_running(private_settings.runtime_dir)


def test_broker_down_is_one_line_and_status_2(settings: Settings, short_dir: Path) -> None:
    url = f"unix://{short_dir}/nobody-here.sock"

    result = run_mus("worker", env=mus_env(MUS_REDIS_URL=url))

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"mus: broker unreachable at {url}: no server socket at {short_dir}/nobody-here.sock"
    )
    assert "Traceback" not in result.stderr


def test_sigterm_during_a_job_lets_the_job_finish(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    tracks = recorded_tracks(settings, tmp_path / "music")
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        with running_worker(mus_env(MUS_REDIS_URL=redis_url), queue) as worker:
            with write_locked(settings):
                job = enqueue_batch(queue, tracks)
                wait_until(lambda: job.get_status(refresh=True) == JobStatus.STARTED, "the job")
                worker.send_signal(signal.SIGTERM)
                time.sleep(0.5)  # the worker takes the signal while the job waits for the lock
            output, _ = worker.communicate(timeout=60)

        assert worker.returncode == 0, output
        assert "warm shut down" in output
        assert job.get_status(refresh=True) == JobStatus.FINISHED
        assert statuses(settings, tracks) == ["COMPLETE"]


def test_a_crash_in_a_job_fails_only_that_job(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    crashing_tracks = recorded_tracks(settings, tmp_path / "crashing")
    next_tracks = recorded_tracks(settings, tmp_path / "next")
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        with running_worker(mus_env(MUS_REDIS_URL=redis_url), queue) as worker:
            with write_locked(settings):
                crashing = enqueue_batch(queue, crashing_tracks)
                enqueue_batch(queue, next_tracks)
                wait_until(lambda: crashing.get_status(refresh=True) == JobStatus.STARTED, "job")
                (horse,) = psutil.Process(worker.pid).children()
                horse.send_signal(signal.SIGSEGV)  # as a crash in a C decoder would
            wait_until(lambda: statuses(settings, next_tracks) == ["COMPLETE"], "the next job")
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=60)

        assert worker.returncode == 0, output  # the worker survived and ran the next job
        assert crashing.get_status(refresh=True) == JobStatus.FAILED
        assert "Work-horse terminated unexpectedly" in output


def test_a_worker_rides_out_a_broker_restart(settings: Settings, tmp_path: Path) -> None:
    server = start_test_server(tmp_path)
    try:
        with Redis.from_url(server.url) as client:
            queue = make_queue(client, settings)
            with running_worker(mus_env(MUS_REDIS_URL=server.url), queue) as worker:
                server = restart_test_server(server)  # an empty server on the same socket
                tracks = recorded_tracks(settings, tmp_path / "music")
                enqueue_batch(queue, tracks)
                wait_until(lambda: statuses(settings, tracks) == ["COMPLETE"], "the job to run")
                # It registered again, too: the restarted server knew nothing of it.
                wait_until(lambda: Worker.count(queue=queue) == 1, "the worker to register again")
                worker.send_signal(signal.SIGTERM)
                output, _ = worker.communicate(timeout=60)
    finally:
        server.stop()

    assert worker.returncode == 0, output
    assert "Traceback" not in output
    assert output.count("the broker does not answer") == 1, output
    assert "the broker answers again" in output
