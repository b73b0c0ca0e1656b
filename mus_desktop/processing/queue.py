"""Queue wiring: one RQ queue per library database, JSON-serialized jobs.

Jobs carry track ids only and are serialized as JSON, so a job's arguments
cannot be code (pickle's can). JSON alone does not stop whoever can write to
the broker, though: a job still names the function to call, and RQ imports and
calls whatever it names. A mus worker runs JOB_FUNCTION and refuses any other
(rq_adapter.MusJob). The queue name includes a digest of the database
path, so workers of two libraries that share a broker never write into each
other's database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import make_url

from mus_desktop.config import Settings, is_server_url

JOB_FUNCTION = "mus_desktop.processing.pipeline.process_batch"
"""The only function a mus worker runs (see rq_adapter.MusJob)."""


class BrokerError(RuntimeError):
    """The broker cannot be found, started or reached; `str()` is the one line a person sees."""


class BrokerUnreachable(BrokerError):
    """A broker does not answer, or stopped answering mid-command. Nothing recorded
    is lost: the tracks wait, unfinished, for the next reconcile."""

    def __init__(self, reason: str, url: str | None = None) -> None:
        where = f" at {redact_url(url)}" if url else ""
        super().__init__(f"broker unreachable{where}: {reason}")
        self.url = url
        self.reason = reason


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def queue_name(database: Path | str) -> str:
    """The library's queue: named after its SQLite file, or after its database's
    name on a server, which every host shares (their URLs differ in host, user
    and password)."""
    if is_server_url(database):
        key = f"postgresql:{make_url(database).database}"
    else:
        key = str(Path(database).absolute())
    digest = hashlib.blake2s(key.encode(), digest_size=6).hexdigest()
    return f"mus-{digest}"


def make_queue(connection: Redis, settings: Settings) -> Queue:
    """The library's queue; a shared library's routes each track to its folder's
    (processing/routing.py)."""
    from mus_desktop.processing.routing import LibraryQueue

    queue = LibraryQueue(
        queue_name(settings.database),
        connection=connection,
        serializer=JSONSerializer,
        default_timeout=settings.job_timeout,
    )
    queue.shared_target = settings.db_url
    return queue


def batched(track_ids: Iterable[int], size: int, workers: int = 1) -> list[list[int]]:
    """`track_ids` in batches of `size`, but for the last round (`workers` batches'
    worth), which goes in twice as many batches of half the size.

    The queue is first in, first out, so the halves come last: the workers then
    finish within about half a batch of each other, instead of one of them running
    the last full batch alone while the others wait (0.1-0.5 s of a 20,000-track
    import, whose batches of 500 took 0.2-0.8 s each by the covers their albums
    have). Batches are not halved below SMALLEST_TAIL_BATCH.
    """
    ids = list(track_ids)
    if not ids or size // 2 < SMALLEST_TAIL_BATCH:
        return _cut(ids, size)
    tail = min(len(ids), max(1, workers) * size)
    head = len(ids) - tail
    return _cut(ids[:head], size) + _cut(ids[head:], -(-tail // (2 * max(1, workers))))


def _cut(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


SMALLEST_TAIL_BATCH = 50
"""No batch is halved below this: a job costs ~40 ms of its own (see JOBS_PER_WORKER),
the work of ~60 small tracks."""


JOBS_PER_WORKER = 2
"""Enough for the workers to even out, few enough that the per-job cost stays small.

A job costs ~40 ms beyond its tracks' work: RQ's bookkeeping, the fork of its
work horse and the copy-on-write faults the horse takes on the worker's memory.
Measured on the bench library (2,000 tracks, 2 workers, median of 6
alternating runs): jobs of 200 (five per worker) 1.62 s to all-final, two
of 500 per worker 1.43 s, one of 1,000 1.40 s.
"""


def batch_sizes_for(count: int, workers: int, maximum: int) -> int:
    """A batch size that keeps every worker busy but amortizes job overhead."""
    if count <= 0:
        return maximum
    per_worker = -(-count // (max(1, workers) * JOBS_PER_WORKER))
    return max(1, min(maximum, per_worker))
