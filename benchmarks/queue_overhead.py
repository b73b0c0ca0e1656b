"""Queue overhead per track, measured in two parts, against the per-track work itself.

1. Broker and RQ: jobs of the import's batch size that have nothing to do (the real
   batch job, on ids that no track has: one short read transaction each), enqueued
   with the real `enqueue_batches` path, run by a real `mus worker --burst` (RQ's
   forking Worker, which runs mus's job function only) on a cold private broker. The
   cost per job is (time to drain N jobs - time to start and stop on an empty queue) / N.
2. Status writes: the batch job's own transactions (library/transitions.py: `claim`,
   `record_batch`) on a fresh database of the generated library,
   with the stage functions replaced by instant results.

The work is the real stage functions (`_read_metadata`: tags + hash; `_make_art`: cover
and thumbnail) run in-process on the same files, without the database, with the malloc
tuning every worker applies (runtime/memory.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from unittest import mock

from benchmarks.common import (
    Context,
    Row,
    audio_files,
    fmt_ms,
    median,
    mus_env,
    scratch,
    timed_run,
)
from mus_desktop.config import Settings, load_settings

NOOP_JOBS = 200
WORK_SAMPLE = 300
TARGET_MS = 0.5
NO_SUCH_TRACK = 10**12
"""Ids from here up name no track: the no-op job's batches."""


def _settings(home: Path) -> Settings:
    """The settings a `mus` process with `mus_env(home)` would load."""

    with mock.patch.dict(os.environ, mus_env(home), clear=True):
        return load_settings()


def _batch_size(ctx: Context) -> int:
    from mus_desktop.processing.queue import batch_sizes_for

    settings = _settings(Path("/tmp"))
    return batch_sizes_for(ctx.tracks, settings.workers, settings.batch_size)


def _drain(ctx: Context, home: Path, jobs: int, batch: int) -> float:
    """Enqueue `jobs` no-op jobs, then time one burst worker until the queue is empty."""
    from redis import Redis

    from mus_desktop.processing import service
    from mus_desktop.processing.queue import make_queue
    from mus_desktop.runtime.broker import PrivateBroker

    settings = _settings(home)
    broker = PrivateBroker(settings.runtime_dir, settings.log_dir)
    url = broker.ensure_running()
    connection = Redis.from_url(url)
    try:
        queue = make_queue(connection, settings)
        queue.empty()
        ids = list(range(NO_SUCH_TRACK, NO_SUCH_TRACK + batch))
        service.enqueue_batches(queue, [ids] * jobs, settings.job_timeout)
        env = {**mus_env(home), "MUS_REDIS_URL": url}
        command = [str(ctx.python), "-m", "mus_desktop", "worker", "--burst"]
        elapsed = timed_run(command, env, cwd=Path(__file__).resolve().parent.parent)
        if queue.count or queue.failed_job_registry.count:
            raise RuntimeError("no-op jobs were left queued or failed")
        return elapsed
    finally:
        connection.close()
        broker.stop()


def _job_cost(ctx: Context, batch: int) -> tuple[float, dict[str, object]]:
    empty, full = [], []
    with scratch("mq") as home:
        for index in range(ctx.runs):
            order = (0, NOOP_JOBS) if index % 2 == 0 else (NOOP_JOBS, 0)
            for jobs in order:
                (full if jobs else empty).append(_drain(ctx, home, jobs, batch))
    per_job = (median(full) - median(empty)) / NOOP_JOBS
    return per_job, {"burst_empty_s": empty, f"burst_{NOOP_JOBS}_jobs_s": full}


def _write_cost(ctx: Context, batch: int) -> tuple[float, dict[str, object]]:
    from mus_desktop.library import transitions
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.scanner import scan
    from mus_desktop.processing.metadata import TrackMetadata

    meta = TrackMetadata(
        "Title", "Artist", "Album", "Album Artist", 1, 1, 2001, "Rock", 1.0, 128000, 44100, 2,
        "mp3",
    )  # fmt: skip
    per_track = []
    for _ in range(ctx.runs):
        with scratch("mw") as home:
            db = open_database(home / "library.db")
            ids = scan(db, [ctx.library]).to_process
            started = time.perf_counter()
            for start in range(0, len(ids), batch):
                tracks = transitions.claim(db, ids[start : start + batch])
                claimed = [track.id for track in tracks]
                read = {
                    track_id: {
                        **vars(meta),
                        "content_hash": f"{track_id:064x}",
                        "size": 1,
                        "mtime_ns": 1,
                    }
                    for track_id in claimed
                }
                states = {track.id: (track.status, track.stamp) for track in tracks}
                transitions.record_batch(db, states, read, dict.fromkeys(claimed), [])
            per_track.append((time.perf_counter() - started) / len(ids))
            db.engine.dispose()
    return median(per_track), {"writes_per_track_s": per_track}


def _work_cost(ctx: Context) -> tuple[float, dict[str, object]]:
    from mus_desktop.processing import pipeline
    from mus_desktop.runtime.memory import keep_freed_memory

    keep_freed_memory()
    files = audio_files(ctx.library)
    sample = files[:: max(1, len(files) // WORK_SAMPLE)][:WORK_SAMPLE]
    per_track = []
    for run in range(ctx.runs):
        # A fresh thumbnail cache each run: with one reused, runs after the first
        # made no thumbnail at all, which is not an import's work.
        with scratch(f"mk{run}") as home:
            settings = _settings(home)
            started = time.perf_counter()
            for index, path in enumerate(sample):
                item = pipeline._Item(index, str(path), pipeline.PENDING, 0, (0, 0))
                pipeline._read_metadata(item, settings, False)  # a bad file raises StageError
                pipeline._make_art(item, settings)
            per_track.append((time.perf_counter() - started) / len(sample))
    return median(per_track), {"work_per_track_s": per_track, "sample": len(sample)}


def run(ctx: Context) -> list[Row]:
    batch = _batch_size(ctx)
    per_job, job_data = _job_cost(ctx, batch)
    writes, write_data = _write_cost(ctx, batch)
    work, work_data = _work_cost(ctx)
    queue_per_track = per_job / batch
    overhead = queue_per_track + writes
    return [
        Row(
            "Queue",
            f"no-op job of {batch} ids through broker + forking `mus worker` "
            f"(median of {ctx.runs} drains of {NOOP_JOBS} jobs minus an empty drain)",
            f"{fmt_ms(per_job)}/job = {fmt_ms(queue_per_track)}/track",
            data={"batch": batch, "per_job_s": per_job, **job_data},
        ),
        Row(
            "Queue",
            "status writes per track (`claim` + `record_batch`, instant stages)",
            fmt_ms(writes),
            data=write_data,
        ),
        Row(
            "Queue",
            "queue + status writes per track, vs the work itself per track "
            "(tags + BLAKE3 + cover/thumbnail, in-process)",
            fmt_ms(overhead),
            fmt_ms(work),
            f"{overhead / (overhead + work):.1%} of the total",
            f"< {TARGET_MS} ms",
            overhead * 1000 < TARGET_MS,
            data={"overhead_per_track_s": overhead, "work_per_track_s": work, **work_data},
        ),
    ]
