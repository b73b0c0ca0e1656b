"""Engine, PRAGMAs and transactions for the library database.

Every DBAPI connection, in every process, gets WAL, synchronous=NORMAL and a
5 s busy timeout from a `connect` listener. pysqlite's own transaction
handling is switched off (SQLAlchemy's documented recipe) so that we emit
BEGIN ourselves: `BEGIN IMMEDIATE` for writes, because a deferred transaction
that reads and then writes fails with "database is locked" at once when
another writer got there first, whatever the busy timeout.

Switching a new file to WAL needs the write lock, and a connection that finds
another one switching does not wait for it (SQLite skips the busy handler
where waiting could deadlock): when several processes opened a new library at
once, all but one could fail with "database is locked" in a millisecond. The
PRAGMAs are therefore tried again, with short sleeps, for up to the busy
timeout.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from mus_desktop.library.database_errors import is_busy

BUSY_TIMEOUT_MS = 5000
PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={BUSY_TIMEOUT_MS}")
_BEGIN_OPTION = "mus_begin"


_PRAGMA_RETRY_SLEEP = (0.001, 0.05)
"""First and longest sleep between tries of the PRAGMAs (doubling in between)."""


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    sleep, longest = _PRAGMA_RETRY_SLEEP
    while True:
        try:
            for pragma in PRAGMAS:
                dbapi_connection.execute(f"PRAGMA {pragma}").close()
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + sleep > deadline:
                raise
        time.sleep(sleep)
        sleep = min(2 * sleep, longest)


def _on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(db_path: Path | str) -> Engine:
    """An engine whose every connection is tuned; creates the folder if needed."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


@dataclass
class Database:
    """The library database: read sessions and `BEGIN IMMEDIATE` write sessions."""

    path: Path
    engine: Engine

    def __post_init__(self) -> None:
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        writer_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._writers = sessionmaker(writer_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read snapshot (deferred transaction). Closing the session ends the
        transaction; the objects read stay usable, detached."""
        with self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction that holds the write lock from its start."""
        with self._writers() as session, session.begin():
            yield session

    def pragmas(self) -> dict[str, Any]:
        """What a connection of this engine really reports."""
        with self.engine.connect() as conn:
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "user_version")
            }

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(db_path: Path | str) -> Database:
    """Open (creating or upgrading in place) the library database at `db_path`."""
    from mus_desktop.library.migrations import migrate

    path = Path(db_path).absolute()
    database = Database(path=path, engine=make_engine(path))
    migrate(database.engine)
    return database
