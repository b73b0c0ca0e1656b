"""What processing/rq_adapter.py relies on in RQ and redis-py beyond their public API.

An RQ or redis-py release that renames, removes or reshapes one of these fails
here, by name, before it fails as a worker that runs any job, stalls for a
minute on every exit, or counts a lost job as in flight. The behaviour built on
them is tested where it shows (test_worker_cli, test_backend, test_stuck_work).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable

import pytest
from redis import Redis
from redis.client import PubSubWorkerThread
from redis.retry import Retry
from rq import Queue, Worker, worker_registration
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.results import Result
from rq.serializers import JSONSerializer
from rq.utils import now

from mus_desktop.config import Settings
from mus_desktop.processing.queue import JOB_FUNCTION, make_queue
from mus_desktop.processing.rq_adapter import MusJob, MusWorker, ReconnectingRetry, RefusedJob


def _parameters(function: Callable[..., object]) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    ("owner", "name", "parameters"),
    [
        (Worker, "_shutdown", ["self"]),
        (Worker, "unsubscribe", ["self"]),
        (Worker, "heartbeat", ["self", "timeout", "pipeline"]),
        (Worker, "setup_work_horse_signals", ["self"]),
        (Worker, "serialize", ["self"]),
        (Worker, "get_state", ["self"]),
        (Job, "send_webhooks", ["self", "status", "exc_string"]),
        (Retry, "call_with_retry", ["self", "do", "fail", "is_retryable", "with_failure_count"]),
        (IntermediateQueue, "get_job_ids", ["self"]),
        (IntermediateQueue, "set_first_seen", ["self", "job_id"]),
        (IntermediateQueue, "get_first_seen", ["self", "job_id"]),
        (IntermediateQueue, "get_first_seen_key", ["self", "job_id"]),
        (worker_registration, "register", ["worker", "pipeline"]),
    ],
)
def test_the_methods_the_adapter_overrides_or_calls_keep_their_shape(
    owner: object, name: str, parameters: list[str]
) -> None:
    method = getattr(owner, name)
    assert _parameters(method)[: len(parameters)] == parameters


@pytest.mark.parametrize(
    "name", ["func", "success_callback", "failure_callback", "stopped_callback"]
)
def test_job_reads_its_function_and_callbacks_through_properties(name: str) -> None:
    """MusJob refuses a foreign function and ignores callbacks by overriding these."""
    assert isinstance(inspect.getattr_static(Job, name), property)
    assert isinstance(inspect.getattr_static(MusJob, name), property)


def test_worker_loads_jobs_with_its_job_class(settings: Settings, redis_url: str) -> None:
    with Redis.from_url(redis_url) as connection:
        worker = MusWorker(["mus-test"], connection=connection, serializer=JSONSerializer)
        assert worker.job_class is MusJob
        assert all(queue.job_class is MusJob for queue in worker.queues)
        assert worker.pubsub_thread is None  # set once it listens; unsubscribe reads it
        assert worker.is_horse is False


def test_a_refused_job_fails_before_its_function_is_imported(
    settings: Settings, redis_url: str
) -> None:
    with Redis.from_url(redis_url) as connection:
        queue = make_queue(connection, settings)
        foreign = MusJob.fetch(
            queue.enqueue("os.system", "true").id, connection=connection, serializer=JSONSerializer
        )
        ours = MusJob.fetch(
            queue.enqueue(JOB_FUNCTION, []).id, connection=connection, serializer=JSONSerializer
        )

        with pytest.raises(RefusedJob, match=r"refused to run 'os\.system'"):
            _ = foreign.func
        assert callable(ours.func)


def test_the_pubsub_listener_stops_on_its_running_event() -> None:
    """MusWorker.unsubscribe clears `_running` instead of redis-py's joining stop()."""
    thread = PubSubWorkerThread.__new__(PubSubWorkerThread)
    threading.Thread.__init__(thread)
    PubSubWorkerThread.__init__(thread, pubsub=None, sleep_time=0.0)  # type: ignore[arg-type]
    assert isinstance(thread._running, threading.Event)


def test_the_intermediate_list_and_its_markers(settings: Settings, redis_url: str) -> None:
    with Redis.from_url(redis_url) as connection:
        queue: Queue = make_queue(connection, settings)
        job = queue.enqueue(JOB_FUNCTION, [1])
        intermediate = IntermediateQueue(queue.key, connection=connection)
        # What a worker's dequeue does first (RQ 2/3), and what the issue reproduced.
        connection.lmove(queue.key, queue.intermediate_queue_key)

        assert intermediate.key == queue.intermediate_queue_key
        assert intermediate.get_job_ids() == [job.id]
        assert intermediate.set_first_seen(job.id) is True
        assert intermediate.set_first_seen(job.id) is False
        first_seen = intermediate.get_first_seen(job.id)
        assert first_seen is not None and (now() - first_seen).total_seconds() < 60
        assert connection.exists(intermediate.get_first_seen_key(job.id))


def test_a_failed_job_keeps_its_traceback_and_retries(settings: Settings, redis_url: str) -> None:
    with Redis.from_url(redis_url) as connection:
        job = make_queue(connection, settings).enqueue(JOB_FUNCTION, [1])
        assert hasattr(job, "retries_left")
        Result.create_failure(job, ttl=60, exc_string="Traceback...\nDiskFullError: full")
        result = job.latest_result()
        assert result is not None and result.exc_string.endswith("DiskFullError: full")


def test_the_reconnecting_retry_is_shared_by_every_connection_of_its_client() -> None:
    """redis-py deep-copies a client's retry into each connection; ours stays one."""
    retry = ReconnectingRetry()
    client = Redis(retry=retry)
    assert client.get_retry() is retry
    assert client.connection_pool.make_connection().retry is retry  # made, not connected
