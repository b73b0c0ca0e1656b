"""Copying a library into another database: `mus migrate-to URL`, from a SQLite
file to PostgreSQL (docs/server.md, "Moving from SQLite").

The copy keeps every track's id, status, error, hashes and tags, and every
library folder (and where each host mounts it), so jobs, retries and the
window's selection name the same tracks after the move. It is one write
transaction on the target: it lands whole or not at all. The source is only
read. `deleted_track` is not copied: it tells a window following the library
which rows went away, and no window has followed the new database yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Table, func, insert, select, text

from mus_desktop.library.engine import Database
from mus_desktop.library.models import FolderMount, LibraryFolder, Track

COPY_ROWS = 5000
"""Rows read and inserted at a time: memory stays flat however large the library."""
_TABLES: tuple[Table, ...] = (
    LibraryFolder.__table__,  # type: ignore[assignment]
    FolderMount.__table__,  # type: ignore[assignment]
    Track.__table__,  # type: ignore[assignment]
)


class TargetNotEmpty(ValueError):
    """The target database holds a library already: a copy never merges into one."""


@dataclass(frozen=True)
class Tally:
    """What a library holds, as compared after a copy."""

    folders: int
    by_status: dict[str, int]
    hashed: int

    @property
    def tracks(self) -> int:
        return sum(self.by_status.values())


def tally(db: Database) -> Tally:
    with db.read() as session:
        return _tally_in(session.connection())


def _rows(source: Connection, table: Table) -> Iterator[list[dict[str, object]]]:
    result = source.execution_options(yield_per=COPY_ROWS).execute(
        select(table).order_by(table.c.id)
    )
    for part in result.mappings().partitions():
        yield [dict(row) for row in part]


def copy_library(source: Database, target: Database) -> Tally:
    """Copy `source` into the empty `target` and check the counts match; returns them.

    Raises TargetNotEmpty when the target holds tracks or folders, and
    RuntimeError when the counts differ after the copy (the copy is then rolled
    back: nothing is left half-copied)."""
    expected = tally(source)
    with source.engine.connect() as reading, target.write() as session:
        writing = session.connection()
        for table in _TABLES:
            present = writing.scalar(select(func.count()).select_from(table))
            if present:
                raise TargetNotEmpty(f"it holds {present} {table.name} row(s) already")
        for table in _TABLES:
            for part in _rows(reading, table):
                writing.execute(insert(table), part)
            if target.on_server:  # ids came with the rows: the next new row follows them
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
        reading.rollback()
        copied = _tally_in(writing)
        if copied != expected:
            raise RuntimeError(f"the copy does not match: {copied} copied, {expected} expected")
    return copied


def _tally_in(conn: Connection) -> Tally:
    folders = conn.scalar(select(func.count()).select_from(LibraryFolder)) or 0
    by_status = dict(
        conn.execute(
            select(Track.processing_status, func.count()).group_by(Track.processing_status)
        ).all()
    )
    hashed = conn.scalar(select(func.count(Track.content_hash))) or 0
    return Tally(int(folders), {str(k): int(v) for k, v in by_status.items()}, int(hashed))
