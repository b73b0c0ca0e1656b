"""What the CLI and the window ask of processing: import, retry, reconcile.

The database is the truth and the broker only carries work, so each of these
first records its change in the database, then enqueues. If the broker is
down, nothing is lost: the tracks wait in a non-final state and the next
reconcile (run at every start) queues them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.exceptions import RedisError
from rq import Queue, Retry, Worker, get_current_job
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import now
from sqlalchemy import case, select, update

from mus_desktop.config import Settings
from mus_desktop.library.database_errors import DiskFullError
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.queries import unfinished_ids
from mus_desktop.library.scanner import ScanReport, scan
from mus_desktop.processing.queue import JOB_FUNCTION, batch_sizes_for, batched
from mus_desktop.runtime.workers import worker_alive

log = logging.getLogger(__name__)

# Transient failures only (database busy beyond its timeout, a broker hiccup):
# a broken file is an ERROR inside the job, never a failed job.
JOB_RETRY = Retry(max=3)
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


class BrokerUnavailable(RuntimeError):
    """The broker did not take the work; the tracks stay recorded and pending."""


def enqueue(queue: Queue, track_ids: Sequence[int], settings: Settings) -> int:
    """Queue `track_ids` in batches; returns the number of jobs."""
    if not track_ids:
        return 0
    size = batch_sizes_for(len(track_ids), settings.workers, settings.batch_size)
    return enqueue_batches(queue, batched(track_ids, size), settings.job_timeout)


def enqueue_batches(queue: Queue, batches: Sequence[Sequence[int]], timeout: int) -> int:
    jobs = [
        Queue.prepare_data(
            JOB_FUNCTION,
            args=(list(batch),),
            timeout=timeout,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            retry=JOB_RETRY,
            description=f"process {len(batch)} track(s)",
        )
        for batch in batches
    ]
    try:
        with queue.connection.pipeline() as pipe:
            queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
    except RedisError as exc:
        raise BrokerUnavailable(f"broker unreachable: {exc}") from exc
    return len(jobs)


def enqueue_current(batches: Sequence[Sequence[int]]) -> None:
    """From inside a job: queue more batches on the job's own queue."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("enqueue_current() is only for code running in a job")
    queue = Queue(job.origin, connection=job.connection, serializer=JSONSerializer)
    enqueue_batches(queue, batches, job.timeout or 600)


def without_retries() -> None:
    """From inside a job: if it fails now, RQ is not to run it again.

    JOB_RETRY is for failures that may pass (the database busy beyond its
    timeout); one that cannot, such as a full disk, would only fail again,
    three times per job, each with its traceback in the workers' log.
    """
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


_DISK_FULL_FAILURE = f"{DiskFullError.__module__}.{DiskFullError.__qualname__}:"
"""How the last line of a job's traceback starts when the job failed on a full disk."""


def stopped_by_full_disk(queue: Queue, since: datetime) -> bool:
    """Whether the queue's work has stopped on a full disk: no job is queued or
    held by a live worker, and one failed because the library database's disk
    is full, at `since` or later (by the clock of the workers, which share the
    database's host)."""
    if queue.count:
        return False
    if any(w.get_current_job_id() for w in Worker.all(queue=queue) if worker_alive(w)):
        return False
    failed = queue.failed_job_registry.get_job_ids()
    for job in Job.fetch_many(failed, connection=queue.connection, serializer=JSONSerializer):
        if job is None or job.ended_at is None or job.ended_at < since:
            continue
        result = job.latest_result()
        last_line = (result.exc_string or "").rstrip().rpartition("\n")[2] if result else ""
        if last_line.startswith(_DISK_FULL_FAILURE):
            return True
    return False


def import_paths(
    db: Database, queue: Queue | None, paths: Sequence[str | Path], settings: Settings
) -> ScanReport:
    """Scan `paths`, record what changed and queue what needs work."""
    report = scan(db, paths)
    queue_scanned(report, queue, settings)
    return report


def queue_scanned(report: ScanReport, queue: Queue | None, settings: Settings) -> None:
    """Queue the tracks a scan found to need work; a missing broker becomes a
    problem in the report, never an exception (the tracks are recorded)."""
    if not report.to_process:
        return
    if queue is None:
        report.problems.append(
            f"{len(report.to_process)} track(s) recorded; no broker, so they are "
            "processed when it is available"
        )
        return
    try:
        enqueue(queue, report.to_process, settings)
    except BrokerUnavailable as exc:
        report.problems.append(
            f"{exc}; {len(report.to_process)} track(s) recorded and processed once it is back"
        )


def retry_tracks(
    db: Database, queue: Queue | None, track_ids: Sequence[int] | None, settings: Settings
) -> int:
    """Put errored tracks (all of them when `track_ids` is None) back at the
    stage that failed and queue them. Returns how many were put back."""
    error = ProcessingStatus.ERROR.value
    with db.write() as session:
        query = select(Track.id).where(Track.processing_status == error)
        if track_ids is not None:
            query = query.where(Track.id.in_(list(track_ids)))
        ids = list(session.scalars(query.order_by(Track.id)))
        if ids:
            session.execute(
                update(Track)
                .where(Track.id.in_(ids))
                .values(
                    processing_status=case(
                        (Track.failed_stage == "art", ProcessingStatus.METADATA_DONE.value),
                        else_=ProcessingStatus.PENDING.value,
                    ),
                    last_error_message=None,
                    failed_stage=None,
                    attempts=0,
                )
            )
    if ids and queue is not None:
        enqueue(queue, ids, settings)
    return len(ids)


TAKING_GRACE_SECONDS = 5.0
"""How long a job may sit in RQ's intermediate list, while some live worker is
idle, before it is taken for abandoned. A worker moves a job there and makes
it its current job within milliseconds; one killed in between leaves it there
for good."""


@dataclass(frozen=True)
class InFlight:
    """The work the broker holds for this queue."""

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
    """
    job_ids = list(queue.get_job_ids())
    intermediate = IntermediateQueue(queue.key, connection=queue.connection)
    taken = intermediate.get_job_ids()
    current = [
        worker.get_current_job_id() for worker in Worker.all(queue=queue) if worker_alive(worker)
    ]
    held = {job_id for job_id in current if job_id}
    someone_taking = None in current
    abandoned = [
        job_id
        for job_id in taken
        if job_id not in held and not (someone_taking and _just_taken(intermediate, job_id))
    ]
    job_ids += [job_id for job_id in taken if job_id not in abandoned]
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
    return first_seen is None or (now() - first_seen).total_seconds() < TAKING_GRACE_SECONDS


def _forget_abandoned(queue: Queue, job_ids: Sequence[str]) -> None:
    """Take abandoned jobs out of the intermediate list once their tracks are queued
    again, so they count no more. Their job hashes expire like failed jobs'
    (a worker that does run one after all makes it persistent again)."""
    if not job_ids:
        return
    intermediate = IntermediateQueue(queue.key, connection=queue.connection)
    with queue.connection.pipeline() as pipe:
        for job_id in job_ids:
            pipe.lrem(intermediate.key, 1, job_id)
            pipe.delete(intermediate.get_first_seen_key(job_id))
            pipe.expire(Job.key_for(job_id), FAILURE_TTL)
        pipe.execute()


def reconcile(db: Database, queue: Queue | None, settings: Settings) -> int:
    """Queue every unfinished track whose work is neither queued nor running
    (the broker was flushed or restarted, a worker was killed). Returns how
    many tracks were queued.

    The work in flight is read before the unfinished tracks: a job that ends
    in between has already recorded its tracks as final, whereas in the other
    order they would look unfinished and no longer in flight.
    """
    if queue is None:
        return 0
    try:
        in_flight = work_in_flight(queue)
        lost = sorted(set(unfinished_ids(db)) - in_flight.track_ids)
    except RedisError as exc:
        raise BrokerUnavailable(f"broker unreachable: {exc}") from exc
    enqueue(queue, lost, settings)
    try:
        _forget_abandoned(queue, in_flight.abandoned)
    except RedisError as exc:
        raise BrokerUnavailable(f"broker unreachable: {exc}") from exc
    if lost:
        log.info("reconcile queued %d track(s) whose work was lost", len(lost))
    return len(lost)
