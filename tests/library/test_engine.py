"""Every connection is tuned, and read-then-write under contention never fails."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

from sqlalchemy import select, text

from mus_desktop.library.engine import open_database
from mus_desktop.library.models import Track

EXPECTED = {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000}


def _pragmas_in_child(db_path: str, queue: multiprocessing.Queue) -> None:
    database = open_database(db_path)
    queue.put(database.pragmas())


def test_every_connection_reports_wal_normal_and_busy_timeout(tmp_path: Path) -> None:
    database = open_database(tmp_path / "library.db")
    connections = [database.engine.connect() for _ in range(3)]  # three pool connections
    for conn in connections:
        reported = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in EXPECTED}
        assert reported == EXPECTED
    for conn in connections:
        conn.close()


def test_a_connection_in_another_process_is_tuned_too(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = ctx.Queue()
    child = ctx.Process(target=_pragmas_in_child, args=(str(tmp_path / "library.db"), queue))
    child.start()
    reported = queue.get(timeout=60)
    child.join(timeout=30)
    assert {name: reported[name] for name in EXPECTED} == EXPECTED


def _read_then_write(db_path: str, seconds: float, queue: multiprocessing.Queue) -> None:
    database = open_database(db_path)
    errors = 0
    commits = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with database.write() as session:
                for track in session.scalars(select(Track).where(Track.id <= 5)):
                    track.year = (track.year or 0) + 1
            commits += 1
        except Exception as exc:  # counted, and the test shows which
            errors += 1
            queue.put(("error", repr(exc)))
    queue.put(("done", commits, errors))


def test_four_processes_read_then_write_without_database_is_locked(tmp_path: Path) -> None:
    db_path = tmp_path / "library.db"
    database = open_database(db_path)
    with database.write() as session:
        session.add_all(Track(path=f"/music/{n}.mp3", year=0) for n in range(5))
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = ctx.Queue()
    workers = [
        ctx.Process(target=_read_then_write, args=(str(db_path), 3.0, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in range(4)]
    for worker in workers:
        worker.join(timeout=30)
    errors = [result for result in results if result[0] == "error"]
    assert errors == []
    total_commits = sum(result[1] for result in results)
    with database.read() as session:
        years = session.scalars(select(Track.year)).all()
    assert years == [total_commits] * 5  # no lost update either
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
