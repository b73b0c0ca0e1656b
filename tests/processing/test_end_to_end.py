"""The whole processing path: real server, real `mus worker` processes, real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import psutil
import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select, text

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.queries import status_counts
from mus_desktop.library.transitions import count_unfinished
from mus_desktop.processing.queue import make_queue
from mus_desktop.processing.service import import_paths, reconcile, retry_tracks
from tools.audiogen import make_cover, make_library

COMPLETE = ProcessingStatus.COMPLETE.value
ERROR = ProcessingStatus.ERROR.value


def worker_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "mus_desktop", "worker", *extra]


def run_burst_workers(count: int = 1) -> None:
    """Run `mus worker --burst` processes until the queue is empty."""
    workers = [subprocess.Popen(worker_command("--burst")) for _ in range(count)]
    for worker in workers:
        assert worker.wait(timeout=180) == 0


def kill_with_children(pid: int) -> None:
    """SIGKILL a process and its children (RQ's work horse has its own session)."""
    for child in psutil.Process(pid).children():
        child.kill()
    os.kill(pid, signal.SIGKILL)


def tracks_by_path(db: Database) -> dict[str, Track]:
    with db.read() as session:
        return {track.path: track for track in session.scalars(select(Track))}


def test_a_library_goes_through_real_workers(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=6, tracks_per_album=3, broken=True)

    report = import_paths(db, queue, [library.root], broker_settings)
    assert report.problems == []
    run_burst_workers(2)

    tracks = tracks_by_path(db)
    assert len(tracks) == len(library.entries)
    for entry in library.good():
        track = tracks[entry.path]
        assert track.processing_status == COMPLETE, (entry.note, track.last_error_message)
        assert track.format == entry.format
        assert track.content_hash and track.duration and track.duration > 0
        if entry.tags is not None:
            assert (track.title, track.artist, track.album) == (
                entry.tags.title,
                entry.tags.artist,
                entry.tags.album,
            )
            assert track.track_number == entry.tags.track_number
            assert track.year == entry.tags.year
        assert (track.artwork_source is not None) == (entry.cover is not None)
    for entry in library.broken():
        track = tracks[entry.path]
        assert track.processing_status == ERROR, entry.note
        message = track.last_error_message or ""
        assert message.startswith(f"{entry.error_stage}: "), message
        assert "Traceback" not in message and len(message) < 300
    covers = {t.artwork_hash for t in tracks.values() if t.artwork_hash}
    thumbnails = list(broker_settings.thumbnail_dir.glob("*.jpg"))
    assert {p.stem for p in thumbnails} == covers  # one thumbnail per cover, not per track
    assert len(covers) < sum(1 for t in tracks.values() if t.artwork_hash)


def test_a_worker_killed_mid_batch_loses_nothing(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MUS_BATCH_SIZE", "1000")  # one big batch: the kill lands inside it
    settings = load_settings()
    library = make_library(tmp_path / "music", albums=40, tracks_per_album=5)
    import_paths(db, queue, [library.root], settings)

    worker = subprocess.Popen(worker_command(), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        started = text("SELECT count(*) FROM track WHERE attempts > 0")
        with db.engine.connect() as conn:
            while not conn.execute(started).scalar():
                conn.rollback()  # a new snapshot for the next look
                assert time.monotonic() < deadline, "the worker never started the batch"
                time.sleep(0.002)
        kill_with_children(worker.pid)  # the worker and its work horse, as a crash would
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert count_unfinished(db) > 0

    assert reconcile(db, queue, settings) > 0  # the killed batch; the others are still queued
    run_burst_workers(2)

    assert count_unfinished(db) == 0
    assert status_counts(db)[COMPLETE] == len(library.entries)
    # The killed batch's 50 tracks went on in halves: 15 jobs in all, 57 with a job each.
    assert queue.finished_job_registry.count < 25
    if settings.db_url is None:
        with sqlite3.connect(settings.db_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reconcile_after_the_broker_was_flushed(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=3, tracks_per_album=3)
    import_paths(db, queue, [library.root], broker_settings)
    assert queue.count > 0
    queue.connection.flushall()

    result = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "reconcile"], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert "9 track(s)" in result.stdout
    run_burst_workers(1)
    assert status_counts(db)[COMPLETE] == 9


@pytest.fixture
def queued_library(db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path) -> Path:
    """Six tracks imported, their jobs queued and no worker running."""
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    import_paths(db, queue, [library.root], broker_settings)
    assert queue.count > 0
    return library.root


def test_reconcile_leaves_queued_work_alone(
    db: Database, queue: Queue, broker_settings: Settings, queued_library: Path
) -> None:
    jobs = queue.count
    assert reconcile(db, queue, broker_settings) == 0
    assert queue.count == jobs
    assert import_paths(db, queue, [queued_library], broker_settings).to_process == []
    assert queue.count == jobs  # importing again while work is in flight queues nothing twice


READER = """
import sys, time
from sqlalchemy import func, select
from mus_desktop.library.engine import open_database
from mus_desktop.library.models import Track
db = open_database(sys.argv[1])
errors = reads = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        with db.read() as s:
            s.execute(select(Track.processing_status, func.count())
                      .group_by(Track.processing_status)).all()
        with db.write() as s:
            s.execute(select(func.max(Track.change_seq))).scalar()
        reads += 1
    except Exception as exc:
        errors += 1
        print(repr(exc), file=sys.stderr)
print(reads, errors)
"""


def test_workers_and_a_reader_never_see_database_is_locked(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("MUS_BATCH_SIZE", "5")  # many small transactions
    settings = load_settings()
    library = make_library(tmp_path / "music", albums=12, tracks_per_album=5)
    import_paths(db, queue, [library.root], settings)

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.db_path), "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_burst_workers(2)
    out, err = reader.communicate(timeout=60)

    reads, errors = map(int, out.split())
    assert errors == 0, err
    assert reads > 0
    assert queue.failed_job_registry.count == 0
    assert status_counts(db)[COMPLETE] == len(library.entries)


def test_retry_after_fixing_a_broken_file(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=2)
    victim = Path(library.entries[0].path)
    good_bytes = victim.read_bytes()
    victim.write_bytes(b"\0garbage" * 100)
    import_paths(db, queue, [library.root], broker_settings)
    run_burst_workers(1)
    track = tracks_by_path(db)[str(victim)]
    assert track.processing_status == ERROR
    assert (track.last_error_message or "").startswith("metadata: ")

    victim.write_bytes(good_bytes)
    result = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "retry", str(track.id)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "1 errored track(s) queued again" in result.stdout
    run_burst_workers(1)

    track = tracks_by_path(db)[str(victim)]
    assert track.processing_status == COMPLETE
    assert track.last_error_message is None


def test_art_error_retry_resumes_at_the_art_stage(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=1, broken=True)
    entry = next(e for e in library.broken() if e.note == "zero-byte cover.jpg")
    import_paths(db, queue, [library.root], broker_settings)
    run_burst_workers(1)
    track = tracks_by_path(db)[entry.path]
    assert track.last_error_message == "art: folder image cover.jpg is empty"
    assert track.title is not None  # the metadata stage had succeeded

    (Path(entry.path).parent / "cover.jpg").write_bytes(make_cover(seed=1))
    assert retry_tracks(db, queue, [track.id], broker_settings) == 1
    with db.read() as session:
        assert session.get(Track, track.id).processing_status == "METADATA_DONE"
    run_burst_workers(1)
    track = tracks_by_path(db)[entry.path]
    assert track.processing_status == COMPLETE, track.last_error_message
    assert track.artwork_source == "folder"


def test_a_file_moved_across_filesystems_is_merged_and_copies_are_duplicates(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=3)
    import_paths(db, queue, [library.root], broker_settings)
    run_burst_workers(1)
    original = Path(library.entries[0].path)
    old = tracks_by_path(db)[str(original)]

    # A copy and a delete give the file a new inode, as a move across filesystems does.
    moved = library.root / "Moved Elsewhere.mp3"
    shutil.copy2(original, moved.with_suffix(original.suffix))
    moved = moved.with_suffix(original.suffix)
    original.unlink()
    duplicate = library.root / ("Copy of " + library.entries[1].path.rsplit("/", 1)[1])
    shutil.copy2(library.entries[1].path, duplicate)

    report = import_paths(db, queue, [library.root], broker_settings)
    assert (report.new, report.missing) == (2, 1)
    run_burst_workers(1)

    tracks = tracks_by_path(db)
    assert len(tracks) == 4  # 3 + the duplicate; the moved file merged into its old row
    assert tracks[str(moved)].id == old.id
    assert tracks[str(moved)].missing_since is None
    counts = status_counts(db)
    assert (counts["duplicates"], counts["duplicate_groups"], counts["missing"]) == (2, 1, 0)


def test_broker_down_at_import_records_tracks_for_later(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=3)
    dead = make_queue(Redis.from_url("unix:///nonexistent/mus.sock"), broker_settings)

    report = import_paths(db, dead, [library.root], broker_settings)

    assert report.new == 3
    assert any("broker unreachable" in problem for problem in report.problems)
    assert count_unfinished(db) == 3
    assert reconcile(db, queue, broker_settings) == 3
    run_burst_workers(1)
    assert status_counts(db)[COMPLETE] == 3


def test_a_file_deleted_before_processing_ends_in_a_readable_error(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    import_paths(db, queue, [library.root], broker_settings)
    os.remove(library.entries[0].path)
    run_burst_workers(1)
    track = tracks_by_path(db)[library.entries[0].path]
    assert track.processing_status == ERROR
    assert track.last_error_message == "metadata: file not found"


def test_jobs_are_json_with_track_ids_only(
    db: Database, queue: Queue, broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    import_paths(db, queue, [library.root], broker_settings)
    job = queue.jobs[0]
    raw = queue.connection.hget(job.key, "data")
    assert raw is not None
    data = json.loads(zlib.decompress(raw))  # RQ compresses; JSON inside, not pickle
    assert data[0] == "mus_desktop.processing.pipeline.process_batch"
    assert str(library.root) not in json.dumps(data)
    assert all(isinstance(track_id, int) for track_id in data[2][0])
