"""The small reads the window makes: plain row tuples, changes since a sequence
number (both through `ChangeFollower`), and one track's details.

No Qt here. The window's table holds `TrackRow` tuples (cheap to sort and
filter in Python); `ChangeFollower` keeps one connection open so that
`PRAGMA data_version`, which only changes when *another* connection commits,
is compared on the same connection every time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from sys import intern
from typing import Any, NamedTuple

from sqlalchemy import Connection, LargeBinary, func, select, type_coerce
from sqlalchemy.exc import DBAPIError

from mus_desktop.library.engine import Database, on_server
from mus_desktop.library.identity import unmerged_candidates
from mus_desktop.library.models import DeletedTrack, Track
from mus_desktop.library.paths import PathMap, display_path, path_map_of
from mus_desktop.library.queries import duplicates_of, same_recording_as


class TrackRow(NamedTuple):
    """One line of the track table, display-ready."""

    id: int
    status: str
    title: str
    """The title tag, or the file name when there is none."""
    artist: str
    album: str
    track_number: int | None
    duration: float | None
    format: str
    path: str
    """`display_path` of the file: undecodable bytes shown as U+FFFD."""
    error: str
    missing_since: datetime | None
    content_key: int | None
    """`hash_key` of the content hash (None before hashing): equal for exact copies."""
    album_artist: str
    disc_number: int | None
    recording_key: int | None = None
    """`hash_key` of the audio payload's hash: equal on the same recording with other
    tags; None when there is none (never computed, or a format without one)."""


_KEY_BITS = (1 << 60) - 1
"""A hash key's bits: an int below 2**60 takes 32 bytes, a 64-bit one 40 (pymalloc's
blocks), 16 MB less at a million rows with both keys."""


def hash_key(digest: str | None) -> int | None:
    """A stored hash as the window keeps it: a 60-bit int rather than 64 hex
    characters (32 bytes rather than 113: the window holds a million rows).

    Python's `hash` of a str is SipHash under a key drawn at each start, so no
    file can be made to collide with another on purpose; by chance, two of a
    million tracks collide with a probability of about 4e-7, and the worst it
    does is show a false duplicate (Move to Trash hashes both files again). The
    database keeps the full hashes; only this process's rows use these keys.
    """
    return hash(digest) & _KEY_BITS if digest else None


# The path as stored (bytes), decoded once here: `display_path(os.fsdecode(b))`
# is exactly `b.decode("utf-8", "replace")`, without two conversions per row.
_RAW_PATH = type_coerce(Track.path, LargeBinary).label("path")

_ROW_COLUMNS = (
    Track.id,
    Track.processing_status,
    Track.title,
    Track.artist,
    Track.album,
    Track.track_number,
    Track.duration,
    Track.format,
    _RAW_PATH,
    Track.last_error_message,
    Track.missing_since,
    Track.content_hash,
    Track.album_artist,
    Track.disc_number,
    Track.audio_hash,
    Track.change_seq,
)


def _shown_path(stored: bytes | str) -> str:
    if isinstance(stored, str):  # rows written by an older schema stored text
        return display_path(stored)
    return stored.decode("utf-8", "replace")


def _to_row(raw: tuple[Any, ...], mapping: PathMap | None = None) -> TrackRow:
    """One row as the window keeps it, from the driver's plain tuple. The values
    many rows share (status, artist, album, format, error) are interned: SQLite
    hands out a new string per row, and at a million rows the copies alone took
    ~250 MB."""
    (id_, status, title, artist, album, number, duration, fmt, path, error, missing, chash,
     album_artist, disc, audio_hash, _seq) = raw  # fmt: skip
    shown = _shown_path(path) if mapping is None else mapping.to_local(_shown_path(path))
    return TrackRow(
        id_,
        intern(status),
        title or os.path.basename(shown),
        intern(artist) if artist else "",
        intern(album) if album else "",
        number,
        duration,
        intern(fmt) if fmt else "",
        shown,
        intern(error) if error else "",
        _datetime(missing),
        hash_key(chash),
        intern(album_artist) if album_artist else "",
        disc,
        hash_key(audio_hash),
    )


def _datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp from the driver: SQLite's text, PostgreSQL's datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _read_parts(
    conn: Connection, since: int | None, part_rows: int
) -> Iterator[tuple[list[TrackRow], int]]:
    """(rows, their highest change_seq) `part_rows` at a time, in the connection's
    transaction (begun here when none is).

    The driver's cursor is read directly: SQLAlchemy's result rows cost more
    than the rest of the read together (a million rows: ~6.7 of ~17 s). The
    query is still SQLAlchemy's; only ints are bound into it. On PostgreSQL the
    cursor is a server-side one, so the rows come in parts there too."""
    query = select(*_ROW_COLUMNS)
    if since is not None:
        query = query.where(Track.change_seq > since).order_by(Track.change_seq)
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    if not conn.in_transaction():
        conn.begin()
    mapping = path_map_of(conn.dialect)
    driver = conn.connection.driver_connection
    cursor = driver.cursor("mus_rows") if on_server(conn) else driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while part := cursor.fetchmany(part_rows):
            yield [_to_row(raw, mapping) for raw in part], max(raw[-1] for raw in part)
    finally:
        cursor.close()


def _read_rows(conn: Connection, since: int | None) -> tuple[list[TrackRow], int]:
    rows: list[TrackRow] = []
    max_seq = since or 0
    for part, part_seq in _read_parts(conn, since, 10_000):
        rows += part
        max_seq = max(max_seq, part_seq)
    return rows, max_seq


class Changes(NamedTuple):
    """What one poll found."""

    rows: list[TrackRow]
    """Tracks inserted or updated."""
    removed: list[int]
    """Ids of tracks deleted (merged into the id they moved from)."""


def _removed_since(conn: Connection, since: int) -> tuple[list[int], int]:
    removed: list[int] = []
    max_seq = since
    for track_id, seq in conn.execute(
        select(DeletedTrack.id, DeletedTrack.change_seq).where(DeletedTrack.change_seq > since)
    ):
        removed.append(track_id)
        max_seq = max(max_seq, seq)
    return removed, max_seq


class ChangeFollower:
    """Follows the library from one long-lived connection.

    `load()` reads everything; each `poll()` asks the database whether anyone
    else committed (`Database.change_mark`: SQLite's `PRAGMA data_version` on
    this same connection, PostgreSQL's change counter) and, only then,
    reads the rows and the deletions whose change_seq went past the last one
    seen. Each read is its own short transaction, so no WAL snapshot is held
    between polls.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn = db.engine.connect()
        self._version: int | None = None
        self._last_seq = 0

    def _data_version(self) -> int:
        version = self._db.change_mark(self._conn)
        self._conn.rollback()
        return version

    def load(self) -> list[TrackRow]:
        """Every row."""
        return [row for part in self.load_parts() for row in part]

    def load_parts(self, part_rows: int = 10_000) -> Iterator[list[TrackRow]]:
        """Every row, `part_rows` at a time, all from one read (one snapshot), so
        the window shows the first part while the rest is read."""
        # The version is taken before the read: a commit landing in between
        # shows up at the next poll instead of being lost.
        self._version = self._data_version()
        last_seq = 0
        try:
            for part, part_seq in _read_parts(self._conn, None, part_rows):
                last_seq = max(last_seq, part_seq)
                yield part
            deleted_seq = self._conn.scalar(select(func.max(DeletedTrack.change_seq))) or 0
            self._last_seq = max(last_seq, deleted_seq)
        finally:
            self._conn.rollback()

    def poll(self) -> Changes:
        """What changed since the last load or poll; empty when nothing was committed.

        A failure (a database server restarted, the network gone) leaves the
        follower where it was: its connection is replaced, and the next poll
        after the database answers again reads everything since the last seen."""
        try:
            if self._conn.closed:
                self._conn = self._db.engine.connect()
                self._version = None
            return self._poll()
        except DBAPIError:
            self._conn.invalidate()
            self._conn.close()  # a new one at the next poll
            raise

    def _poll(self) -> Changes:
        version = self._data_version()
        if version == self._version:
            return Changes([], [])
        self._version = version
        rows, rows_seq = _read_rows(self._conn, self._last_seq)
        removed, removed_seq = _removed_since(self._conn, self._last_seq)
        self._conn.rollback()
        self._last_seq = max(rows_seq, removed_seq)
        return Changes(rows, removed)

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class TrackDetail:
    """Everything the detail pane shows about one track."""

    track: Track
    """Read whole and detached from its session: every column is loaded."""
    path: str
    """`display_path` of the file."""
    duplicates: list[tuple[int, str]]
    """(id, display path) of the other present tracks with the same content hash."""
    same_recording: list[tuple[int, str]] = field(default_factory=list)
    """(id, display path) of the other present tracks with the same audio but other
    tags (another content hash)."""
    unmerged_candidates: list[int] = field(default_factory=list)
    """The missing tracks this one would have been merged into, had there been only
    one (identity rule 6); empty unless there are several."""

    @property
    def unmerged_note(self) -> str:
        """Why this track was not merged into a missing one, for the pane; or ''."""
        if not self.unmerged_candidates:
            return ""
        ids = ", ".join(f"#{track_id}" for track_id in self.unmerged_candidates)
        return (
            f"Same recording as {len(self.unmerged_candidates)} missing tracks ({ids}): "
            "not merged, since which one cannot be told — Locate that one to this file"
        )


def track_detail(db: Database, track_id: int) -> TrackDetail | None:
    """One track's details, its duplicates of both kinds and why it was not merged
    into a missing track, or None if it is gone."""
    with db.read() as session:
        track = session.get(Track, track_id)
        if track is None:
            return None
        duplicates = [(other, display_path(path)) for other, path in duplicates_of(session, track)]
        same = [(other, display_path(path)) for other, path in same_recording_as(session, track)]
        candidates = unmerged_candidates(session, track)
    return TrackDetail(track, display_path(track.path), duplicates, same, candidates)
