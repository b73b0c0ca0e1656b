"""Engine, connection settings and transactions for the library database.

The library is a SQLite file (one machine) or a PostgreSQL database (a library
shared by several machines, `MUS_DB=postgresql://…`): one schema, one code path
through SQLAlchemy, and these few engine-specific parts.

SQLite: every DBAPI connection, in every process, gets WAL, synchronous=NORMAL
and a 5 s busy timeout from a `connect` listener. pysqlite's own transaction
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

PostgreSQL: the same guarantees by other means. A write transaction runs at
READ COMMITTED and first takes one transaction-scoped advisory lock, so writers
follow one another as under SQLite's write lock (the identity rules check and
then write; the change feed hands out `change_seq` in commit order), waiting up
to the same 5 s (`lock_timeout`). A read is REPEATABLE READ: one snapshot for
the whole transaction, as a deferred SQLite transaction reads.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from mus_desktop.config import host_name, is_server_url, shown_url
from mus_desktop.library.database_errors import is_busy
from mus_desktop.library.paths import PATH_MAP_ATTRIBUTE, PathMap

BUSY_TIMEOUT_MS = 5000
PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={BUSY_TIMEOUT_MS}")
_BEGIN_OPTION = "mus_begin"
WRITE_LOCK_KEY = 0x6D7573
"""The advisory lock every PostgreSQL write transaction takes first ("mus")."""
CONNECT_TIMEOUT_S = 5


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


def _on_begin_server(connection: Any) -> None:
    if connection.get_execution_options().get(_BEGIN_OPTION) == "IMMEDIATE":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


def server_url(target: str) -> URL:
    """`target` for SQLAlchemy: PostgreSQL through psycopg 3, whatever the scheme said."""
    return make_url(target).set(drivername="postgresql+psycopg")


def on_server(bind: Engine | Connection) -> bool:
    """Whether `bind` reaches a database server (PostgreSQL) rather than a SQLite file."""
    return bind.dialect.name != "sqlite"


def make_engine(target: Path | str) -> Engine:
    """An engine whose every connection is tuned; for a SQLite file, creates its
    folder if needed."""
    if is_server_url(target):
        engine = create_engine(
            server_url(str(target)),
            isolation_level="REPEATABLE READ",
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": "mus",
                "options": f"-c lock_timeout={BUSY_TIMEOUT_MS}",
            },
        )
        event.listen(engine, "begin", _on_begin_server)
        return engine
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def writing(engine: Engine) -> Engine:
    """`engine` for write transactions: `BEGIN IMMEDIATE` on SQLite, the write
    lock at READ COMMITTED on PostgreSQL."""
    if not on_server(engine):
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return engine.execution_options(
        **{_BEGIN_OPTION: "IMMEDIATE"}, isolation_level="READ COMMITTED"
    )


@dataclass
class Database:
    """The library database: read sessions (one snapshot each) and write sessions
    that hold the write lock from their start."""

    path: Path | None
    """The SQLite file; None for a database server."""
    engine: Engine
    label: str = ""
    """What to call the library in messages: the file, or the URL without its password."""

    def __post_init__(self) -> None:
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(writing(self.engine), expire_on_commit=False)
        self.label = self.label or str(self.path)
        self._ready = False

    def ensure_ready(self) -> None:
        """Create or upgrade the schema and read where this host sees the library
        folders, once (`open_database` does it; the window, for a database server
        that does not answer yet, when it first does)."""
        if self._ready:
            return
        from mus_desktop.library.migrations import migrate

        migrate(self.engine)
        self.load_path_map()
        self._ready = True

    @property
    def on_server(self) -> bool:
        return on_server(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read snapshot. Closing the session ends the transaction; the objects
        read stay usable, detached."""
        with self._readers() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction that holds the write lock from its start."""
        with self._writers() as session, session.begin():
            yield session

    def settings(self) -> dict[str, Any]:
        """The settings that matter, as a connection of this engine really reports them."""
        from mus_desktop.library.migrations import schema_version

        with self.engine.connect() as conn:
            if not self.on_server:
                found: dict[str, Any] = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "busy_timeout")
                }
            else:
                found = {
                    name: conn.exec_driver_sql(f"SHOW {name}").scalar()
                    for name in (
                        "server_version",
                        "transaction_isolation",
                        "lock_timeout",
                        "synchronous_commit",
                        "max_connections",
                    )
                }
                found["ssl"] = bool(
                    conn.exec_driver_sql(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                    ).scalar()
                )
            found["schema_version"] = schema_version(conn)
            return found

    def change_mark(self, conn: Any) -> int:
        """A number that moves whenever another connection commits a change:
        SQLite's `data_version` (no page read), else the change counter."""
        if not self.on_server:
            return int(conn.exec_driver_sql("PRAGMA data_version").scalar() or 0)
        return int(
            conn.exec_driver_sql("SELECT value FROM change_counter WHERE id = 1").scalar() or 0
        )

    @property
    def path_map(self) -> PathMap:
        """Where this host sees the library folders it mounts elsewhere than stored."""
        return getattr(self.engine.dialect, PATH_MAP_ATTRIBUTE, None) or PathMap()

    def load_path_map(self) -> PathMap:
        """Read where this host mounts the library folders it sees elsewhere than
        stored, and have every path of this engine follow it (library/paths.py)."""
        from sqlalchemy import select

        from mus_desktop.library.models import FolderMount, LibraryFolder

        setattr(self.engine.dialect, PATH_MAP_ATTRIBUTE, None)  # stored paths, to read them
        with self.engine.connect() as conn:
            pairs = conn.execute(
                select(LibraryFolder.path, FolderMount.path)
                .join(FolderMount, FolderMount.folder_id == LibraryFolder.id)
                .where(FolderMount.host == host_name())
            ).all()
        mapping = PathMap(tuple((stored, local) for stored, local in pairs))
        setattr(self.engine.dialect, PATH_MAP_ATTRIBUTE, mapping if mapping.pairs else None)
        return mapping

    def dispose(self) -> None:
        self.engine.dispose()


def connect_later(target: Path | str) -> Database:
    """The library database, not yet opened: nothing is read or written until
    `ensure_ready()`."""
    if is_server_url(target):
        return Database(path=None, engine=make_engine(target), label=shown_url(str(target)))
    path = Path(target).absolute()
    return Database(path=path, engine=make_engine(path))


def open_database(target: Path | str) -> Database:
    """Open (creating or upgrading in place) the library database: a SQLite file's
    path, or a `postgresql://` URL."""
    database = connect_later(target)
    database.ensure_ready()
    return database
