"""Everything mus relies on in RQ (and redis-py) beyond their public API, in one place.

RQ runs mus's work: jobs on a queue, workers that fork a work horse per job.
What mus needs beyond what RQ documents is here, each with the RQ or redis-py
behaviour it relies on, so that an upgrade has one module to check, and
tests/processing/test_rq_adapter.py fails when one of them changes:

- MusJob: a worker runs mus's batch job (queue.JOB_FUNCTION) and nothing else;
- MusWorker: a shutdown that is neither lost nor slow, a registration that
  survives a flush, work horses that end with their worker;
- ReconnectingRetry: a worker rides out a broker restart;
- work_in_flight / forget_abandoned: RQ's intermediate list, where a job a
  worker was killed taking used to count as in flight forever;
- failures_since / without_retries: a job's traceback and its retries.

See docs/architecture.md, "Processes" and "RQ".
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis import exceptions as redis_errors
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.client import Pipeline
from redis.retry import Retry
from rq import Queue, Worker, get_current_job, worker_registration
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now as rq_now

from mus_desktop.processes import end_with_parent, is_running
from mus_desktop.processing.queue import JOB_FUNCTION
from mus_desktop.processing.routing import family_of, folder_queue_keys
from mus_desktop.terminal import one_line

HEARTBEAT_SECONDS = 5
LISTEN_REFRESH_SECONDS = 15.0
"""How often a worker of a shared library looks again at which folder queues it
should listen on (processing/routing.py), besides when a new one appears."""
"""How often a worker tells the broker it is alive, idle or busy: a worker whose
registration the broker lost (a flush, a restart without its data) is counted
again within this long."""
RECONNECT_WAIT_CAP = 2.0
"""The longest wait between two attempts to reach a broker that went away."""

log = logging.getLogger("rq.worker")
"""RQ's worker logger, which `Worker.work` sets up: our lines read like its own."""


class RefusedJob(Exception):
    """A job names a function other than mus's batch job: it fails, unrun."""


class MusJob(Job):
    """RQ's Job, able to run mus's batch job (processing.queue.JOB_FUNCTION) only.

    RQ imports and calls whatever function a job names, and the JSON
    serializer does not change that: anyone who can write to the broker could
    otherwise run `os.system` in a worker. Every worker loads jobs through
    this class (`MusWorker.job_class`: RQ builds the worker's queues and their
    registries with it), so a job naming anything else, however it got into
    the broker, fails in its work horse before anything is imported, and RQ's
    log line names the function.

    Callbacks and webhooks are ignored for the same reason (mus sets none):
    RQ would import a callback named in the job's hash, even while cleaning
    its registries in the worker itself, and send a webhook's request to
    any URL. Relies on RQ 3.0 reading them through the `*_callback`
    properties and `send_webhooks`.
    """

    @property
    def func(self) -> Callable[..., Any]:
        if self.func_name != JOB_FUNCTION or self.instance is not None:
            named = repr(self.func_name)[:100]
            raise RefusedJob(f"refused to run {named}: a mus worker runs {JOB_FUNCTION} only")
        return super().func

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def send_webhooks(self, status: str, *, exc_string: str | None = None) -> None:
        return None


class ReconnectingRetry(Retry):
    """redis-py's retry policy for a worker's connection: a command that fails
    because the broker went away (a restart, say) is tried again, with backoff,
    until the broker answers, unless the worker is stopping (`stopping`).

    RQ itself retries only its wait for the next job; a failure anywhere else
    (recording a job's end, a heartbeat) ended the worker with a traceback.
    The first failure of an outage logs one line; `MusWorker.heartbeat` logs
    the next once the broker answers again. Each attempt is redis-py's own
    (`retries=0`: it disconnects, for the next attempt to connect again);
    only the waiting between them is ours, which works the same from redis-py
    5 to 8.
    """

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 0)
        self.stopping = False
        self.lost_at: float | None = None
        self._waits = ExponentialBackoff(cap=RECONNECT_WAIT_CAP, base=0.05)

    def __deepcopy__(self, memo: dict[int, object]) -> ReconnectingRetry:
        # redis-py copies the policy into each connection: keep one, so that
        # `stopping` reaches them all.
        return self

    def call_with_retry(
        self, do: Callable[[], Any], fail: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        failures = 0
        while True:
            try:
                return super().call_with_retry(do, fail, *args, **kwargs)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
                if self.stopping:
                    raise
                failures += 1
                if self.lost_at is None:
                    self.lost_at = time.monotonic()
                    log.warning(
                        "the broker does not answer (%s): retrying until it does", one_line(error)
                    )
                time.sleep(self._waits.compute(failures))


class MusWorker(Worker):
    """RQ's forking Worker, made safe and durable for mus. Relies on RQ 3.0's:

    - `job_class`, with which RQ loads every job: see MusJob.
    - `_shutdown`: RQ 3.0 stops an idle worker by raising StopRequested from
      its SIGTERM handler. When the signal lands inside a logging call,
      `logging` swallows the exception ("--- Logging error ---") and the worker
      carries on taking jobs until it is killed. Recording the request first
      makes the main loop stop after the current job whatever happens to the
      exception. It also ends the retries of a broker outage.
    - `unsubscribe`: on the way out RQ unsubscribes from its command channel,
      then tells the listener thread to stop and joins it. The thread wakes on
      the server's reply to the unsubscribe; if that comes before the stop flag
      is set, it waits for the next message (60 s): with redis-py 5 to 7 a 1 s
      stall (RQ's join timeout) in about one exit in five, with 8, whose
      `PubSubWorkerThread.stop` joins without one, 60 s in every exit. Setting
      the flag first, without that join (redis-py's `_running` event), closes
      the race.
    - `heartbeat`, which RQ calls at least every `worker_ttl - 15` seconds while
      idle and every `job_monitoring_interval` while busy (both set from
      HEARTBEAT_SECONDS by `make_worker`): registers the worker again if the
      broker lost it, as `rq.worker_registration.register` and
      `Worker.serialize` do at its birth.
    - `setup_work_horse_signals`, the first thing a work horse does: from then
      on it ends with its worker (see `end_with_parent`).
    - `queues` and `_ordered_queues`, which its main loop dequeues from, each
      time it waits again: for a shared library, `listening` says the queues to
      listen on now (processing/routing.py), and the heartbeat of an idle
      worker brings them up to date at most every LISTEN_REFRESH_SECONDS.
    """

    job_class = MusJob
    listening: Callable[[], list[str]] | None = None
    _listened_at = 0.0
    _folder_queues_seen: frozenset[str] | set[str] = frozenset()

    def _shutdown(self) -> None:
        self._stop_requested = True
        retry = self.connection.get_retry()
        if isinstance(retry, ReconnectingRetry):
            retry.stopping = True
        super()._shutdown()

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.pubsub_thread._running.clear()
        super().unsubscribe()

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        super().heartbeat(timeout, pipeline)
        if self.is_horse:
            return
        self._register_again_if_gone()
        self._listen_again()
        retry = self.connection.get_retry()
        if isinstance(retry, ReconnectingRetry) and retry.lost_at is not None:
            away = time.monotonic() - retry.lost_at
            retry.lost_at = None
            self.log.info("Worker %s: the broker answers again (after %.0f s)", self.name, away)

    @property
    def dequeue_timeout(self) -> int:
        """A shared library's worker waits for a job a second at a time, so that a
        folder queue made meanwhile is listened on within a second or so."""
        return 1 if self.listening is not None else super().dequeue_timeout

    def _listen_again(self) -> None:
        """Listen on the queues `listening` names, when the broker knows a folder
        queue of the library not seen before (a first job for a new folder), or
        every LISTEN_REFRESH_SECONDS (a folder mapped, mounted or unmounted here)."""
        if self.listening is None:
            return
        present = folder_queue_keys(self.connection, self.queues[0].name)
        due = time.monotonic() - self._listened_at >= LISTEN_REFRESH_SECONDS
        if not due and present <= self._folder_queues_seen:
            return
        self._listened_at = time.monotonic()
        self._folder_queues_seen = present
        try:
            names = self.listening()
        except Exception:  # the library unreachable a moment: the queues stay as they are
            self.log.warning("Worker %s: could not look up its queues", self.name, exc_info=True)
            return
        if names == self.queue_names():
            return
        self.queues = [
            self.queue_class(
                name,
                connection=self.connection,
                job_class=self.job_class,
                serializer=self.serializer,
            )
            for name in names
        ]
        self._ordered_queues = self.queues[:]
        with self.connection.pipeline() as pipe:
            worker_registration.register(self, pipe)
            pipe.hset(self.key, "queues", ",".join(names))
            pipe.execute()
        self.log.info("Worker %s: now listening on %s", self.name, ", ".join(names))

    def _register_again_if_gone(self) -> None:
        """Register again if the broker no longer lists this worker (FLUSHALL, or a
        restart that lost the data): otherwise the app, `mus doctor` and `mus
        import` count no worker while it runs, and start others or warn."""
        listed = worker_registration.WORKERS_BY_QUEUE_KEY % self.queues[0].name
        if self.connection.sismember(listed, self.key):
            return
        self.log.warning(
            "Worker %s: the broker lost its registration: registering again", self.name
        )
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping={**self.serialize(), "state": self.get_state()})
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # SIGTERM now ends the horse at once
        if self.pid is not None:
            end_with_parent(self.pid)


def worker_alive(worker: Worker) -> bool:
    """Whether a registered worker still runs.

    RQ lists a worker until its heartbeat key expires, minutes after a
    SIGKILL or an OOM kill; for a worker on this host its pid decides (a
    zombie, one its parent has not reaped yet, does not run).
    """
    if worker.hostname != socket.gethostname() or not worker.pid:
        return True
    return is_running(worker.pid)


def live_workers(queue: Queue) -> list[Worker]:
    """The workers registered for `queue` that still run (see `worker_alive`)."""
    return [worker for worker in Worker.all(queue=queue) if worker_alive(worker)]


def make_worker(
    queue_name: str, connection: Redis, listening: Callable[[], list[str]] | None = None
) -> MusWorker:
    """A worker on `queue_name` (or, for a shared library, on the queues `listening`
    names, the library's first), its heartbeat every HEARTBEAT_SECONDS."""
    worker = MusWorker(
        listening() if listening is not None else [queue_name],  # RQ builds them with MusJob
        connection=connection,
        serializer=JSONSerializer,
        worker_ttl=HEARTBEAT_SECONDS + 15,  # RQ waits worker_ttl - 15 s for a job
        job_monitoring_interval=HEARTBEAT_SECONDS,
    )
    worker.listening = listening
    worker._listened_at = time.monotonic()
    return worker


def reconnecting_client(url: str) -> tuple[Redis, ReconnectingRetry]:
    """A client for a worker, whose commands wait for a broker that went away."""
    retry = ReconnectingRetry()
    return Redis.from_url(url, retry=retry), retry


# Work in flight: RQ's queue, its intermediate list and its workers' current jobs.


TAKING_GRACE_SECONDS = 5.0
"""How long a job may sit in RQ's intermediate list, while some live worker is
idle, before it is taken for abandoned. A worker moves a job there and makes
it its current job within milliseconds; one killed in between leaves it there
for good."""


@dataclass(frozen=True)
class InFlight:
    """The work the broker holds for a queue."""

    track_ids: set[int]
    """Tracks of queued jobs and of jobs a live worker holds."""
    abandoned: list[str]
    """Jobs left in RQ's intermediate list that no live worker holds."""


def work_in_flight(queue: Queue) -> InFlight:
    """Tracks in queued jobs and in jobs that a live worker holds.

    A job goes from the queue to RQ's intermediate list (the moment a worker
    takes it) to that worker's current job (before its work horse removes the
    intermediate entry). Reading the three in that order sees every job at
    least once, however it moves meanwhile.

    An intermediate entry that no live worker has as its current job is
    either one a worker is taking right now, or one whose worker was killed
    right after taking it, which used to count as in flight forever. Only a
    live worker without a current job can be taking it, and only for
    moments: so with no such worker the entry is abandoned at once, and
    otherwise once RQ's "first seen" marker for it (set here, and by RQ's own
    cleanup) is TAKING_GRACE_SECONDS old.

    A shared library's folder queues count with the library's (routing.py):
    every worker listens on the library's queue, so its workers are all of them.
    """
    queues = family_of(queue)
    job_ids = [job_id for each in queues for job_id in each.get_job_ids()]
    intermediates = [IntermediateQueue(each.key, connection=each.connection) for each in queues]
    taken = [(list_, job_id) for list_ in intermediates for job_id in list_.get_job_ids()]
    current = [worker.get_current_job_id() for worker in live_workers(queue)]
    held = {job_id for job_id in current if job_id}
    someone_taking = None in current
    abandoned = [
        job_id
        for list_, job_id in taken
        if job_id not in held and not (someone_taking and _just_taken(list_, job_id))
    ]
    job_ids += [job_id for _list, job_id in taken if job_id not in abandoned]
    job_ids += held
    ids: set[int] = set()
    for job in Job.fetch_many(job_ids, connection=queue.connection, serializer=JSONSerializer):
        if job is not None and job.args:
            ids.update(int(track_id) for track_id in job.args[0])
    return InFlight(ids, abandoned)


def _just_taken(intermediate: IntermediateQueue, job_id: str) -> bool:
    """Whether `job_id` was first seen in the intermediate list moments ago (or now)."""
    if intermediate.set_first_seen(job_id):
        return True
    first_seen = intermediate.get_first_seen(job_id)
    return first_seen is None or (rq_now() - first_seen).total_seconds() < TAKING_GRACE_SECONDS


def forget_abandoned(queue: Queue, job_ids: Sequence[str], ttl: int) -> None:
    """Take abandoned jobs out of the intermediate list once their tracks are queued
    again, so they count no more. Their job hashes expire after `ttl` seconds
    (a worker that does run one after all makes it persistent again)."""
    if not job_ids:
        return
    intermediates = [
        IntermediateQueue(each.key, connection=each.connection) for each in family_of(queue)
    ]
    with queue.connection.pipeline() as pipe:
        for job_id in job_ids:
            for intermediate in intermediates:  # the one that holds it; the others hold none
                pipe.lrem(intermediate.key, 1, job_id)
                pipe.delete(intermediate.get_first_seen_key(job_id))
            pipe.expire(Job.key_for(job_id), ttl)
        pipe.execute()


def queued_jobs(queue: Queue) -> int:
    """Jobs waiting in the queue (with a shared library's folder queues)."""
    return sum(each.count for each in family_of(queue))


def is_working(queue: Queue) -> bool:
    """Whether the queue holds jobs or a live worker is running one."""
    return bool(queued_jobs(queue)) or any(w.get_current_job_id() for w in live_workers(queue))


def failures_since(queue: Queue, since: datetime) -> list[str]:
    """The last line of each failed job's traceback (`Type: message`), for the jobs
    of the queue that failed at `since` or later (by the workers' clock)."""
    lines = []
    failed = [
        job_id for each in family_of(queue) for job_id in each.failed_job_registry.get_job_ids()
    ]
    for job in Job.fetch_many(failed, connection=queue.connection, serializer=JSONSerializer):
        if job is None or job.ended_at is None or job.ended_at < since:
            continue
        result = job.latest_result()
        if result is not None and result.exc_string:
            lines.append(result.exc_string.rstrip().rpartition("\n")[2])
    return lines


def without_retries() -> None:
    """From inside a job: if it fails now, RQ is not to run it again (a failure
    that cannot pass, such as a full disk, would only fail again, three times)."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
