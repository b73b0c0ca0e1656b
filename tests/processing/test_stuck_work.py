"""Work the broker holds that nothing will finish, and work that only looks like it.

A worker killed right after taking a job leaves the job in RQ's intermediate
list; reconcile queues its tracks again. A job a live worker is taking or
running is never queued twice. Real server, real `mus` processes, real files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import text

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.queries import status_counts
from mus_desktop.library.transitions import count_unfinished, unfinished_ids
from mus_desktop.processing.routing import family_of
from mus_desktop.processing.service import import_paths, reconcile
from tests.runtime.conftest import mus_env, run_mus, wait_until
from tools.audiogen import make_library


@pytest.fixture
def worker(broker_settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """A `mus worker` on the test broker, stopped (and resumed first) afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "worker"], env=mus_env(), start_new_session=True
    )
    yield process
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # idle by now: nothing is lost
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _strand_a_job(queue: Queue) -> list[int]:
    """What a worker killed right after taking a job leaves: RQ's dequeue moved the job
    to the intermediate list, and nothing more happened. Returns the job's tracks.
    (A shared library's jobs are on its folders' queues: routing.py.)"""
    taken_from = next(each for each in family_of(queue) if each.count)
    job_id = queue.connection.lmove(taken_from.key, taken_from.intermediate_queue_key)
    assert job_id is not None
    job = Job.fetch(job_id.decode(), connection=queue.connection, serializer=JSONSerializer)
    return [int(track_id) for track_id in job.args[0]]


def _queued_tracks(queue: Queue) -> list[int]:
    """The tracks of the jobs waiting in the queue, each as often as it is queued."""
    job_ids = [job_id for each in family_of(queue) for job_id in each.get_job_ids()]
    jobs = Job.fetch_many(job_ids, connection=queue.connection, serializer=JSONSerializer)
    return [int(track_id) for job in jobs if job is not None for track_id in job.args[0]]


def _intermediate(queue: Queue) -> list[bytes]:
    return [
        job_id
        for each in family_of(queue)
        for job_id in queue.connection.lrange(each.intermediate_queue_key, 0, -1)
    ]


def test_reconcile_queues_again_a_job_its_worker_died_taking(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    assert run_mus("import", str(library.root), env=mus_env()).returncode == 0
    stranded = _strand_a_job(queue)

    result = run_mus("reconcile", env=mus_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{len(stranded)} track(s) whose work was lost queued again\n"
    assert _intermediate(queue) == []  # it counts no more
    assert sorted(_queued_tracks(queue)) == sorted(unfinished_ids(db))
    assert run_mus("reconcile", env=mus_env()).stdout.startswith("0 track(s)")


def test_import_wait_finishes_when_a_job_was_left_half_taken(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    """The issue: `mus import --wait` sat at 50 pending for 27 minutes."""
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    assert run_mus("import", str(library.root), env=mus_env()).returncode == 0
    _strand_a_job(queue)

    result = run_mus("import", str(library.root), "--wait", env=mus_env(), timeout=120)

    assert result.returncode == 0, result.stderr
    assert f"{len(library.entries)} complete, 0 error, 0 missing" in result.stdout
    assert _intermediate(queue) == []
    assert count_unfinished(db) == 0


def _waiting_for_a_job(queue: Queue) -> bool:
    """Whether an idle worker has been blocked in its dequeue for under a second (the
    broker ends the wait after a few seconds, and the worker starts another)."""
    return any(
        client.get("cmd") == "blmove" and int(client.get("idle", 1)) == 0
        for client in queue.connection.client_list()
    )


def test_a_job_a_worker_is_taking_is_not_queued_twice(
    db: Database,
    queue: Queue,
    broker_settings: Settings,
    tmp_path: Path,
    worker: subprocess.Popen[bytes],
) -> None:
    """The race: the broker has moved a job to the intermediate list for a worker's
    dequeue, and the worker has not made it its current job yet."""
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    wait_until(lambda: _waiting_for_a_job(queue), "the worker to wait for a job")
    os.kill(worker.pid, signal.SIGSTOP)  # caught between its dequeue and its current job
    import_paths(db, queue, [library.root], broker_settings)
    wait_until(lambda: len(_intermediate(queue)) == 1, "the broker to hand over a job")
    jobs = queue.count + 1

    assert reconcile(db, queue, broker_settings) == 0
    assert len(_intermediate(queue)) == 1
    assert queue.count == jobs - 1

    os.kill(worker.pid, signal.SIGCONT)
    wait_until(lambda: _all_done(queue, db), "the worker to finish", timeout=120)
    assert queue.finished_job_registry.count == jobs  # each job ran once
    assert status_counts(db)["COMPLETE"] == len(library.entries)


def _all_done(queue: Queue, db: Database) -> bool:
    """Every track final, and no job left queued or running (RQ records a job's end
    after the job has written its tracks)."""
    return count_unfinished(db) == 0 and queue.count == 0 and _running_job(queue) is None


def _running_job(queue: Queue) -> str | None:
    return next(
        (job_id for w in Worker.all(queue=queue) if (job_id := w.get_current_job_id())), None
    )


def test_a_job_a_live_worker_is_running_is_not_queued_twice(
    db: Database,
    queue: Queue,
    broker_settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    import_paths(db, queue, [library.root], broker_settings)
    jobs = queue.count
    # The library's write lock held: the worker's first job waits in its first write.
    with db.write() as holder:
        holder.execute(text("SELECT 1"))  # the write lock is taken with the transaction
        request.getfixturevalue("worker")
        wait_until(lambda: _running_job(queue) is not None, "the worker to start a job")
        running = _running_job(queue)
        assert running is not None
        wait_until(lambda: _intermediate(queue) == [], "the work horse to start the job")
        # Back in the intermediate list, as between RQ making it the worker's
        # current job and the work horse removing the entry.
        queue.connection.rpush(queue.intermediate_queue_key, running)

        assert reconcile(db, queue, broker_settings) == 0
        assert queue.count == jobs - 1
        assert _intermediate(queue) == [running.encode()]

    wait_until(lambda: _all_done(queue, db), "the worker to finish", timeout=120)
    assert queue.finished_job_registry.count == jobs  # each job ran once
    assert status_counts(db)["COMPLETE"] == len(library.entries)
