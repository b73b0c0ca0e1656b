"""`mus worker`: real worker processes on a real server."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.job import JobStatus
from rq.registry import FailedJobRegistry

from mus_desktop.config import Settings
from mus_desktop.processing.queue import make_queue
from mus_desktop.runtime.broker import PrivateBroker
from tests.runtime.conftest import mus_env, run_mus, wait_until


def test_burst_worker_runs_a_json_job_and_exits(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    with Redis.from_url(redis_url) as client:
        job = make_queue(client, settings).enqueue("tests.runtime.jobs.touch", str(marker))

        result = run_mus("worker", "--burst", env=mus_env(MUS_REDIS_URL=redis_url))

        assert result.returncode == 0, result.stderr
        assert marker.read_text() == "done"
        assert job.get_status(refresh=True) == JobStatus.FINISHED
        assert make_queue(client, settings).count == 0


def test_a_pickled_job_is_not_executed(settings: Settings, redis_url: str, tmp_path: Path) -> None:
    pickled_marker = tmp_path / "pickled-ran"
    json_marker = tmp_path / "json-ran"
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        pickled = Queue(queue.name, connection=client).enqueue(  # RQ's default: pickle
            "tests.runtime.jobs.touch", str(pickled_marker)
        )
        queue.enqueue("tests.runtime.jobs.touch", str(json_marker))

        result = run_mus("worker", "--burst", env=mus_env(MUS_REDIS_URL=redis_url))

        assert result.returncode == 0, result.stderr
        assert not pickled_marker.exists()
        assert pickled.id in FailedJobRegistry(queue=queue).get_job_ids()
        assert json_marker.exists()  # the worker went on to the next job


def test_worker_uses_the_private_broker_when_none_is_configured(
    private_settings: Settings, broker: PrivateBroker, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    with Redis.from_url(broker.ensure_running()) as client:
        make_queue(client, private_settings).enqueue("tests.runtime.jobs.touch", str(marker))

    result = run_mus("worker", "--burst", env=mus_env())

    assert result.returncode == 0, result.stderr
    assert marker.exists()


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
    started, finished = tmp_path / "started", tmp_path / "finished"
    with Redis.from_url(redis_url) as client:
        job = make_queue(client, settings).enqueue(
            "tests.runtime.jobs.slow_touch", str(started), str(finished), 2.0
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "mus_desktop", "worker"],
            env=mus_env(MUS_REDIS_URL=redis_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until(started.exists, "the job to start")
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

        assert worker.returncode == 0, output
        assert finished.read_text() == "finished"
        assert job.get_status(refresh=True) == JobStatus.FINISHED
        assert "warm shut down" in output


def test_a_crash_in_a_job_fails_only_that_job(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    with Redis.from_url(redis_url) as client:
        queue = make_queue(client, settings)
        crashing = queue.enqueue("tests.runtime.jobs.segfault")
        queue.enqueue("tests.runtime.jobs.touch", str(marker))

        result = run_mus("worker", "--burst", env=mus_env(MUS_REDIS_URL=redis_url))

        assert result.returncode == 0, result.stderr
        assert crashing.get_status(refresh=True) == JobStatus.FAILED
        assert marker.exists()  # the worker survived and ran the next job
