"""The library database's failures, each as one line a person can act on.

SQLite reports why it failed as a result code (`sqlite3.Error.sqlite_errorcode`,
its low byte the primary code); SQLAlchemy wraps the sqlite3 exception in its
own, whose text adds the statement, its parameters and a link. A person needs
neither: they need to know whether the disk is full, the file is damaged, or
another program holds the lock, and what to do about it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code behind `exc` (itself or the sqlite3 error it wraps)."""
    cause = getattr(exc, "orig", None) or exc
    code = getattr(cause, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_disk_full(exc: BaseException) -> bool:
    return sqlite_code(exc) == sqlite3.SQLITE_FULL


def describe_database_error(exc: BaseException, database: Path | str) -> tuple[str, int]:
    """(one line, exit status) for a failure of the library database at `database`.

    Status 2 when the file itself is unusable (damaged, not a database, not
    writable: the setting must change), 1 when trying again later can work.
    """
    cause = getattr(exc, "orig", None) or exc
    words = " ".join(str(cause).split())
    code = sqlite_code(exc)
    folder = Path(database).parent
    if code == sqlite3.SQLITE_FULL:
        return f"the disk of the library database is full ({folder}): free some space", 1
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return (
            f"the library database {database} is damaged ({words}): restore a backup, "
            "or move it away and import again to start a new library",
            2,
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return f"cannot write the library database {database} ({words})", 2
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"the library database {database} is busy ({words}): try again", 1
    return f"the library database {database} failed: {words}", 1
