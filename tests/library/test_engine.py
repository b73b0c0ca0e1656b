"""Every connection is tuned, and read-then-write under contention never fails."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from mus_desktop.library.database_errors import disk_full_message, is_disk_full
from mus_desktop.library.engine import open_database
from mus_desktop.library.migrations import SCHEMA_VERSION
from mus_desktop.library.models import Base, Track

EXPECTED = {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000}


def _pragmas_in_child(db_path: str, queue: multiprocessing.Queue) -> None:
    database = open_database(db_path)
    queue.put(database.settings())


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


def _read_then_write(target: str, seconds: float, queue: multiprocessing.Queue) -> None:
    """Read five rows and write them back, again and again, in one process (the
    library at `target`: a SQLite file or a PostgreSQL URL)."""
    database = open_database(target)
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


def _schema(db_path: Path) -> tuple[str, int, set[str], str]:
    """(journal mode, user_version, table and trigger names, integrity) as sqlite3 reads them."""
    connection = sqlite3.connect(db_path)
    try:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        return (
            connection.execute("PRAGMA journal_mode").fetchone()[0],
            connection.execute("PRAGMA user_version").fetchone()[0],
            names,
            connection.execute("PRAGMA integrity_check").fetchone()[0],
        )
    finally:
        connection.close()


def _assert_new_library(db_path: Path) -> None:
    journal_mode, version, names, integrity = _schema(db_path)
    assert (journal_mode, version, integrity) == ("wal", SCHEMA_VERSION, "ok")
    assert set(Base.metadata.tables) | {"track_change_seq_insert"} <= names


def test_opening_waits_for_a_library_another_connection_is_creating(tmp_path: Path) -> None:
    """What a connection switching a new file to WAL holds: the write lock of a file
    still in rollback mode. SQLite answers the PRAGMA "database is locked" at once,
    without its busy handler; opening waits instead."""
    db_path = tmp_path / "library.db"
    creator = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("CREATE TABLE elsewhere (x)")
    released = threading.Timer(0.5, creator.rollback)
    released.start()
    started = time.monotonic()
    try:
        database = open_database(db_path)
    finally:
        released.join()
        creator.close()

    assert time.monotonic() - started >= 0.4  # it waited for the lock, then opened
    database.dispose()
    _assert_new_library(db_path)


ROUNDS = 25
ROUND_SECONDS = 0.15


def _open_in_rounds(
    folders: list[str], starts: list[float], results: multiprocessing.Queue
) -> None:
    """Open a new library in each folder at its start time (the same for every process).

    The last stretch before each start is spent spinning rather than sleeping: with
    more processes than cores, the ones on a core are then preempted at any point,
    inside SQLite's WAL switch too, which is when the others used to fail.
    """
    errors = []
    for folder, start in zip(folders, starts, strict=True):
        time.sleep(max(0.0, start - time.time() - ROUND_SECONDS / 2))
        while time.time() < start:
            pass
        try:
            open_database(Path(folder) / "library.db").dispose()
        except Exception as exc:  # reported, so the test shows which
            errors.append(repr(exc))
    results.put(errors)


def test_eight_processes_opening_a_new_library_at_once_all_succeed(tmp_path: Path) -> None:
    folders = [tmp_path / f"round{number}" for number in range(ROUNDS)]
    first = time.time() + 5.0  # time for the processes to start and import
    starts = [first + number * ROUND_SECONDS for number in range(ROUNDS)]
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    openers = [
        ctx.Process(target=_open_in_rounds, args=([str(f) for f in folders], starts, results))
        for _ in range(8)
    ]
    for opener in openers:
        opener.start()
    errors = [error for _ in openers for error in results.get(timeout=120)]
    for opener in openers:
        opener.join(timeout=30)

    assert errors == []
    for folder in folders:
        _assert_new_library(folder / "library.db")


def test_a_full_database_is_told_apart_from_a_busy_one(tmp_path: Path) -> None:
    """SQLite's own SQLITE_FULL, reached here through a page limit rather than a disk."""
    database = open_database(tmp_path / "library.db")
    with pytest.raises(OperationalError) as full, database.write() as session:
        pages = session.execute(text("PRAGMA page_count")).scalar()
        session.execute(text(f"PRAGMA max_page_count = {pages}"))
        session.add_all(Track(path=f"/music/{n}.mp3") for n in range(2000))
    database.dispose()  # the limit stays with that connection
    holder = sqlite3.connect(tmp_path / "library.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as busy:
        sqlite3.connect(tmp_path / "library.db", timeout=0).execute("BEGIN IMMEDIATE")
    holder.rollback()
    with pytest.raises(OSError) as no_space, open("/dev/full", "wb") as device:
        device.write(b"x")
        device.flush()

    assert is_disk_full(full.value)
    assert "database or disk is full" in str(full.value)  # and its SQL, parameters, a link
    assert not is_disk_full(busy.value)
    assert is_disk_full(no_space.value)
    assert disk_full_message(tmp_path / "library.db") == (
        f"the library database's disk is full ({tmp_path}): free some space, then try again"
    )
