"""The library on PostgreSQL under contention: the same guarantees as on SQLite
(tests/library/test_engine.py), given by an advisory write lock instead."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mus_desktop.library.engine import open_database
from mus_desktop.library.migrations import SCHEMA_VERSION
from mus_desktop.library.models import ChangeCounter, Track
from mus_desktop.library.scanner import scan
from tests.library.test_engine import _read_then_write
from tests.postgres_fixture import PostgresServer
from tools.audiogen import make_library


def _spawn(target: object, args_of: list[tuple[object, ...]]) -> list[multiprocessing.Process]:
    ctx = multiprocessing.get_context("spawn")
    processes = [ctx.Process(target=target, args=args) for args in args_of]  # type: ignore[arg-type]
    for process in processes:
        process.start()
    return processes


def test_four_processes_read_then_write_with_no_error_and_no_lost_update(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    database = open_database(url)
    with database.write() as session:
        session.add_all(Track(path=f"/music/{n}.mp3", year=0) for n in range(1, 6))
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    workers = _spawn(_read_then_write, [(url, 3.0, queue)] * 4)
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    assert [result for result in results if result[0] == "error"] == []
    total_commits = sum(result[1] for result in results)
    with database.read() as session:
        assert session.scalars(select(Track.year)).all() == [total_commits] * 5
    database.dispose()


def _open_at(url: str, start: float, results: multiprocessing.Queue) -> None:
    time.sleep(max(0.0, start - time.time()))
    try:
        open_database(url).dispose()
        results.put(None)
    except Exception as exc:  # reported, so the test shows which
        results.put(repr(exc))


def test_eight_processes_creating_one_new_library_at_once_all_succeed(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    start = time.time() + 4.0  # time for the processes to start and import
    results: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    openers = _spawn(_open_at, [(url, start, results)] * 8)
    errors = [results.get(timeout=120) for _ in openers]
    for opener in openers:
        opener.join(timeout=30)

    assert [error for error in errors if error] == []
    database = open_database(url)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(ChangeCounter)) == 1
        version = session.execute(text("SELECT version FROM mus_schema_version")).scalars()
        assert list(version) == [SCHEMA_VERSION]
    database.dispose()


def _scan(url: str, root: str, results: multiprocessing.Queue) -> None:
    database = open_database(url)
    results.put(len(scan(database, [Path(root)]).to_process))
    database.dispose()


@pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)
def test_two_hosts_importing_one_folder_at_once_make_no_duplicate_rows(
    settings: object, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=10, tracks_per_album=10)
    url = str(settings.database)  # type: ignore[attr-defined]
    results: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    scanners = _spawn(_scan, [(url, str(library.root), results)] * 2)
    recorded = sorted(results.get(timeout=120) for _ in scanners)
    for scanner in scanners:
        scanner.join(timeout=30)

    assert recorded == [0, len(library.entries)]  # the second found every file recorded
    database = open_database(url)
    with database.read() as session:
        paths = session.scalars(select(Track.path)).all()
    assert sorted(paths) == sorted(entry.path for entry in library.entries)
    database.dispose()
