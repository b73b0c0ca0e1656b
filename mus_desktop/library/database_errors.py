"""The library database's failures, each as one line a person can act on.

SQLite reports why it failed as a result code (`sqlite3.Error.sqlite_errorcode`,
its low byte the primary code); SQLAlchemy wraps the sqlite3 exception in its
own, whose text adds the statement, its parameters and a link. A person needs
neither: they need to know whether the disk is full, the file is damaged, or
another program holds the lock, and what to do about it.

A library on PostgreSQL fails in its own words: an SQLSTATE on the error
(`psycopg.Error.sqlstate`), or none when the server could not be reached.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from mus_desktop.config import is_server_url
from mus_desktop.terminal import one_line


class DiskFullError(RuntimeError):
    """The library database's disk is full: no write can succeed until space is freed."""


NEARLY_FULL_BYTES = 1 << 20
"""Free space under which SQLite's "disk I/O error" counts as the disk being full."""
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SERVER_DISK_FULL = "53100"
_SERVER_BUSY = frozenset({"55P03", "40001", "40P01"})
"""lock_not_available (lock_timeout), serialization_failure, deadlock_detected."""
_SERVER_REFUSED_LOGIN = frozenset({"28000", "28P01", "3D000", "42501"})
"""Unknown role, wrong password, no such database, no privilege: the setting must change."""
_SERVER_BUSY_WORDS = ("the database system is", "too many clients", "connection slots")
"""A FATAL at login that passes: libpq gives no SQLSTATE for a failed login, only the
server's words: a FATAL is the server answering, and refusing, unless it says one of
these (starting up, shutting down, not yet accepting connections, in recovery, full)."""


def server_code(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE behind `exc`, if any."""
    cause = getattr(exc, "orig", None) or exc
    return getattr(cause, "sqlstate", None)


def _is_server_error(exc: BaseException) -> bool:
    cause = getattr(exc, "orig", None) or exc
    return type(cause).__module__.startswith("psycopg")


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code behind `exc` (itself or the sqlite3 error it wraps)."""
    cause = getattr(exc, "orig", None) or exc
    code = getattr(cause, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_busy(exc: BaseException) -> bool:
    """Whether the database refused because another connection holds a lock."""
    return (
        sqlite_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        or server_code(exc) in _SERVER_BUSY
    )


def is_disk_full(exc: BaseException, db_path: Path | str | None = None) -> bool:
    """Whether `exc`, or an exception that caused it, is a full disk.

    That is SQLite's SQLITE_FULL ("database or disk is full", inside
    SQLAlchemy's OperationalError), an OSError ENOSPC or EDQUOT, and, given
    the database's path, SQLite's "disk I/O error" while that disk has less
    than NEARLY_FULL_BYTES free: what SQLite says when a full disk leaves no
    room for its shared-memory file (measured on a full tmpfs).
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            return True
        if getattr(error, "sqlstate", None) == _SERVER_DISK_FULL:
            return True
        if isinstance(error, sqlite3.Error):
            code = sqlite_code(error)
            if code == sqlite3.SQLITE_FULL:
                return True
            if code == sqlite3.SQLITE_IOERR and db_path is not None and _nearly_full(db_path):
                return True
        pending += [getattr(error, "orig", None), error.__cause__, error.__context__]
    return False


def _nearly_full(db_path: Path | str) -> bool:
    if is_server_url(str(db_path)):
        return False
    try:
        return shutil.disk_usage(Path(db_path).parent).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def disk_full_message(db_path: Path | str) -> str:
    """One line for a person whose library database's disk is full."""
    if is_server_url(str(db_path)):
        return (
            f"the disk of the library database's server is full ({db_path}): free some "
            "space there, then try again"
        )
    folder = Path(db_path).absolute().parent
    return f"the library database's disk is full ({folder}): free some space, then try again"


def describe_database_error(exc: BaseException, db_path: Path | str) -> tuple[str, int]:
    """(one line, exit status) for a failure of the library database at `db_path`.

    Status 2 when the file itself is unusable (damaged, not a database, not
    writable: the setting must change), 1 when trying again later can work.
    """
    if is_disk_full(exc, db_path):
        return disk_full_message(db_path), 1
    cause = getattr(exc, "orig", None) or exc
    words = one_line(cause)
    code = sqlite_code(exc)
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return (
            f"the library database {db_path} is damaged ({words}): restore a backup, "
            "or move it away and import again to start a new library",
            2,
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return f"cannot write the library database {db_path} ({words})", 2
    if is_busy(exc):
        return f"the library database {db_path} is busy ({words}): try again", 1
    if _is_server_error(exc):
        return _describe_server_error(exc, str(db_path), words)
    return f"the library database {db_path} failed: {words}", 1


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` is a database server that does not answer (down, restarting,
    the network gone): waiting for it can mend it, unlike a refused login."""
    return _is_server_error(exc) and _server_failure(exc) == "unreachable"


def _server_failure(exc: BaseException) -> str:
    """ "refused" (the login: the setting must change), "unreachable" or "failed"."""
    code = server_code(exc)
    if code in _SERVER_REFUSED_LOGIN:
        return "refused"
    if code is None:
        words = str(getattr(exc, "orig", None) or exc)
        if "FATAL:" in words and not any(w in words for w in _SERVER_BUSY_WORDS):
            return "refused"
        return "unreachable"
    if code.startswith(("08", "57P")):  # connection exceptions, the server shutting down
        return "unreachable"
    return "failed"


def _describe_server_error(exc: BaseException, label: str, words: str) -> tuple[str, int]:
    failure = _server_failure(exc)
    if failure == "refused":
        return f"the library database {label} refused mus ({words}): check MUS_DB", 2
    if failure == "unreachable":
        return (
            f"the library database {label} cannot be reached ({words}); nothing recorded "
            "is lost: run this again once it is back",
            1,
        )
    return f"the library database {label} failed: {words}", 1
