"""What the CLI and the window ask of processing: import, retry, reconcile.

The database is the truth and the broker only carries work, so each of these
first records its change in the database, then enqueues. If the broker is
down, nothing is lost: the tracks wait in a non-final state and the next
reconcile (run at every start) queues them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from redis.exceptions import RedisError
from rq import Queue, Retry, get_current_job
from rq.serializers import JSONSerializer

from mus_desktop.config import Settings
from mus_desktop.library.database_errors import DiskFullError
from mus_desktop.library.engine import Database
from mus_desktop.library.scanner import ScanReport, scan
from mus_desktop.library.transitions import (
    requeue_without_audio_hash,
    reset_for_retry,
    unfinished_ids,
)
from mus_desktop.processing.queue import (
    JOB_FUNCTION,
    BrokerUnreachable,
    batch_sizes_for,
    batched,
)
from mus_desktop.processing.routing import LibraryQueue
from mus_desktop.processing.rq_adapter import (
    failures_since,
    forget_abandoned,
    is_working,
    work_in_flight,
)

log = logging.getLogger(__name__)

# Transient failures only (database busy beyond its timeout, a broker hiccup):
# a broken file is an ERROR inside the job, never a failed job.
JOB_RETRY = Retry(max=3)
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


def enqueue(queue: Queue, track_ids: Sequence[int], settings: Settings) -> int:
    """Queue `track_ids` in batches, a shared library's on their folders' queues
    (routing.py); returns the number of jobs."""
    if not track_ids:
        return 0
    size = batch_sizes_for(len(track_ids), settings.workers, settings.batch_size)
    routes = queue.route(track_ids) if isinstance(queue, LibraryQueue) else [(queue, track_ids)]
    return sum(
        enqueue_batches(target, batched(ids, size, settings.workers), settings.job_timeout)
        for target, ids in routes
    )


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
        raise BrokerUnreachable(str(exc)) from exc
    return len(jobs)


def enqueue_current(batches: Sequence[Sequence[int]]) -> None:
    """From inside a job: queue more batches on the job's own queue."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("enqueue_current() is only for code running in a job")
    queue = Queue(job.origin, connection=job.connection, serializer=JSONSerializer)
    enqueue_batches(queue, batches, job.timeout or 600)


_DISK_FULL_FAILURE = f"{DiskFullError.__module__}.{DiskFullError.__qualname__}:"
"""How the last line of a job's traceback starts when the job failed on a full disk."""


def stopped_by_full_disk(queue: Queue, since: datetime) -> bool:
    """Whether the queue's work has stopped on a full disk: no job is queued or
    held by a live worker, and one failed because the library database's disk
    is full, at `since` or later (by the clock of the workers, which share the
    database's host)."""
    if is_working(queue):
        return False
    return any(line.startswith(_DISK_FULL_FAILURE) for line in failures_since(queue, since))


def import_paths(
    db: Database, queue: Queue | None, paths: Sequence[str | Path], settings: Settings
) -> ScanReport:
    """Scan `paths`, record what changed and queue what needs work."""
    report = scan(db, paths, music_roots=settings.music_roots)
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
    except BrokerUnreachable as exc:
        report.problems.append(
            f"{exc}; {len(report.to_process)} track(s) recorded and processed once it is back"
        )


def retry_tracks(
    db: Database, queue: Queue | None, track_ids: Sequence[int] | None, settings: Settings
) -> int:
    """Put errored tracks (all of them when `track_ids` is None) back at the
    stage that failed and queue them. Returns how many were put back."""
    ids = reset_for_retry(db, track_ids)
    if ids and queue is not None:
        enqueue(queue, ids, settings)
    return len(ids)


class Reconciled(NamedTuple):
    """What a reconcile queued."""

    lost: int
    """Unfinished tracks whose work was lost."""
    without_audio_hash: int
    """Tracks processed before audio hashes existed, queued once to get one."""


def reconcile(db: Database, queue: Queue | None, settings: Settings) -> int:
    """Queue every unfinished track whose work is neither queued nor running, and
    once each the tracks processed before audio hashes existed (`reconcile_counts`).
    Returns how many tracks were queued."""
    return sum(reconcile_counts(db, queue, settings))


def reconcile_counts(db: Database, queue: Queue | None, settings: Settings) -> Reconciled:
    """Queue every unfinished track whose work is neither queued nor running
    (the broker was flushed or restarted, a worker was killed), and the tracks
    processed before audio hashes existed, sent back to PENDING for the one
    processing that records theirs (identity rule 6 needs it).

    The work in flight is read before the unfinished tracks: a job that ends
    in between has already recorded its tracks as final, whereas in the other
    order they would look unfinished and no longer in flight. A track sent back
    is recorded before it is queued: if the broker fails in between, it is
    unfinished, and the next reconcile queues it.
    """
    if queue is None:
        return Reconciled(0, 0)
    try:
        in_flight = work_in_flight(queue)
        rehash = requeue_without_audio_hash(db)
        lost = sorted(set(unfinished_ids(db)) - in_flight.track_ids)
        enqueue(queue, lost, settings)
        forget_abandoned(queue, in_flight.abandoned, FAILURE_TTL)
    except RedisError as exc:
        raise BrokerUnreachable(str(exc)) from exc
    rehashed = len(set(rehash).intersection(lost))
    result = Reconciled(len(lost) - rehashed, rehashed)
    if result.lost:
        log.info("reconcile queued %d track(s) whose work was lost", result.lost)
    if result.without_audio_hash:
        log.info("reconcile queued %d track(s) to get an audio hash", result.without_audio_hash)
    return result
