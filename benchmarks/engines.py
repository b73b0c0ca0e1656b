"""The library on PostgreSQL against SQLite, same run, same files (issue 17).

Rows:
- `mus import --wait` of the bench library to process exit, each engine in
  turn (order alternating), a fresh library, cache and cold private broker each
  run. PostgreSQL is a local server with its durable defaults (fsync on,
  synchronous_commit on), reached on a unix socket; SQLite is a file in WAL mode
  with synchronous=NORMAL, as every mus library. Not like for like in one way
  that favours SQLite: a shared library's server is usually across a network.
- Status writes per track: the batch update a worker makes (one transaction per
  batch of 500, by primary key), over every track of a recorded library.
- Change-feed latency: from a commit in one process to a follower (the
  window's reader, ChangeFollower) in another having read the changed rows,
  with the follower polling as fast as it can. The window polls every 250 ms,
  which adds up to that on either engine.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from benchmarks.common import (
    Context,
    Row,
    fmt_ms,
    fmt_s,
    median,
    mus_bin,
    mus_env,
    scratch,
    timed_run,
)
from tools.postgres_server import PostgresServer, start_postgres

WRITE_BATCH = 500
FEED_ROUNDS = 40


def _import(ctx: Context, env: dict[str, str]) -> float:
    return timed_run([mus_bin(ctx), "import", "--wait", str(ctx.library)], env)


def _status_writes(target: str, tracks: int) -> float:
    """Seconds per track of workers' batch status writes on the library at `target`."""
    from sqlalchemy import update

    from mus_desktop.library.engine import open_database
    from mus_desktop.library.models import Track

    db = open_database(target)
    with db.write() as session:
        session.add_all(Track(path=f"/bench/{n:06d}.flac") for n in range(tracks))
    started = time.perf_counter()
    for status in ("METADATA_DONE", "COMPLETE"):
        for first in range(1, tracks + 1, WRITE_BATCH):
            with db.write() as session:
                session.execute(
                    update(Track),
                    [
                        {"id": track_id, "processing_status": status}
                        for track_id in range(first, min(first + WRITE_BATCH, tracks + 1))
                    ],
                )
    elapsed = time.perf_counter() - started
    db.dispose()
    return elapsed / (2 * tracks)


def _follow(target: str, ready: multiprocessing.Event, seen: multiprocessing.Queue) -> None:
    """The window's reader in a process of its own: poll flat out, report each change."""
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.rows import ChangeFollower

    follower = ChangeFollower(open_database(target))
    follower.load()
    ready.set()
    for _ in range(FEED_ROUNDS):
        while not follower.poll().rows:
            pass
        seen.put(time.time())
    follower.close()


def _feed_latency(target: str) -> float:
    """Median seconds from a commit to the follower having read its rows."""
    from sqlalchemy import update

    from mus_desktop.library.engine import open_database
    from mus_desktop.library.models import Track

    db = open_database(target)
    with db.write() as session:
        session.add_all(Track(path=f"/feed/{n:03d}.flac") for n in range(10))
    context = multiprocessing.get_context("spawn")
    ready, seen = context.Event(), context.Queue()
    follower = context.Process(target=_follow, args=(target, ready, seen))
    follower.start()
    ready.wait(60)
    latencies = []
    for round_number in range(FEED_ROUNDS):
        with db.write() as session:
            session.execute(update(Track).values(year=round_number))
        committed = time.time()
        latencies.append(seen.get(timeout=30) - committed)
        time.sleep(0.02)
    follower.join(30)
    db.dispose()
    return median(latencies)


ENGINES = ("sqlite", "postgresql")


def _target(engine: str, home: Path, server: PostgresServer) -> str:
    """A new, empty library on `engine`: a file under `home`, or a database on `server`."""
    return str(home / "library.db") if engine == "sqlite" else server.new_database()


def run(ctx: Context) -> list[Row]:
    runs = min(ctx.runs, 3)
    imports: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
    with scratch("mpg") as root:
        server = start_postgres(root / "server", durable=True)
        try:
            for index in range(runs):
                for engine in ENGINES if index % 2 == 0 else ENGINES[::-1]:
                    home = root / f"run{index}-{engine}"
                    env = mus_env(home)
                    env["MUS_DB"] = _target(engine, home, server)
                    imports[engine].append(_import(ctx, env))
                print(
                    f"run {index + 1}/{runs}: import sqlite {imports['sqlite'][-1]:.2f} s, "
                    f"postgresql {imports['postgresql'][-1]:.2f} s",
                    flush=True,
                )
            writes = {
                engine: _status_writes(_target(engine, root / "writes", server), ctx.tracks)
                for engine in ENGINES
            }
            feed = {
                engine: _feed_latency(_target(engine, root / "feed", server)) for engine in ENGINES
            }
        finally:
            server.remove()
    sqlite_import, pg_import = median(imports["sqlite"]), median(imports["postgresql"])
    return [
        Row(
            "engines",
            f"`mus import --wait`, {ctx.tracks} tracks, to exit, median of {runs}: "
            "PostgreSQL (other) against SQLite (mus), local server on a socket",
            fmt_s(sqlite_import),
            fmt_s(pg_import),
            f"{pg_import / sqlite_import:.2f}x",
            data={"sqlite_s": imports["sqlite"], "postgresql_s": imports["postgresql"]},
        ),
        Row(
            "engines",
            f"status writes per track, batches of {WRITE_BATCH}: PostgreSQL (other) against "
            "SQLite (mus)",
            f"{writes['sqlite'] * 1e6:.1f} µs",
            f"{writes['postgresql'] * 1e6:.1f} µs",
            f"{writes['postgresql'] / writes['sqlite']:.2f}x",
            data={"sqlite_s_per_track": writes["sqlite"], "pg_s_per_track": writes["postgresql"]},
        ),
        Row(
            "engines",
            "change feed, commit to rows read by another process's follower (median of "
            f"{FEED_ROUNDS}; the window adds up to its 250 ms poll)",
            fmt_ms(feed["sqlite"]),
            fmt_ms(feed["postgresql"]),
            f"{feed['postgresql'] / feed['sqlite']:.2f}x",
            data={"sqlite_s": feed["sqlite"], "postgresql_s": feed["postgresql"]},
        ),
    ]
