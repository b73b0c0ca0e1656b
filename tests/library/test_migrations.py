"""An older database is upgraded in place, keeping every row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import delete, event, select

from mus_desktop.library.engine import open_database
from mus_desktop.library.migrations import SCHEMA_VERSION
from mus_desktop.library.models import DeletedTrack, ProcessingStatus, Track, utcnow

OLD_SHAPE = """
CREATE TABLE track (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    title TEXT,
    artist TEXT,
    album TEXT
)
"""


def test_old_database_gains_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute(OLD_SHAPE)
        conn.executemany(
            "INSERT INTO track (path, title, artist, album) VALUES (?, ?, ?, ?)",
            [(f"/music/a/{n:02}.mp3", f"Song {n}", "Artist", "Album") for n in range(20)],
        )
    conn.close()

    database = open_database(db_path)

    with database.read() as session:
        tracks = session.scalars(select(Track).order_by(Track.id)).all()
    assert len(tracks) == 20
    assert tracks[3].path == "/music/a/03.mp3"
    assert tracks[3].title == "Song 3"
    assert all(track.processing_status == ProcessingStatus.PENDING.value for track in tracks)
    assert all(track.inode is None and track.content_hash is None for track in tracks)
    assert all(track.last_error_message is None for track in tracks)
    columns = {row[1] for row in sqlite3.connect(db_path).execute("PRAGMA table_info(track)")}
    assert {"inode", "content_hash", "processing_status", "last_error_message"} <= columns
    assert database.settings()["schema_version"] == SCHEMA_VERSION

    with database.write() as session:
        session.get(Track, 1).processing_status = ProcessingStatus.COMPLETE.value
    with database.read() as session:
        assert session.get(Track, 1).change_seq > 0  # the change counter works on old rows


def test_opening_twice_changes_nothing(tmp_path: Path) -> None:
    database = open_database(tmp_path / "library.db")
    with database.write() as session:
        session.add(Track(path="/music/x.flac"))
    open_database(tmp_path / "library.db")
    with database.read() as session:
        assert [t.path for t in session.scalars(select(Track))] == ["/music/x.flac"]


def test_a_newer_database_is_refused_not_rewritten(tmp_path: Path) -> None:
    db_path = tmp_path / "future.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    try:
        open_database(db_path)
    except RuntimeError as exc:
        assert "newer than this program" in str(exc)
    else:
        raise AssertionError("a newer schema must be refused")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_a_version_1_database_starts_recording_deleted_tracks(tmp_path: Path) -> None:
    db_path = tmp_path / "library.db"
    database = open_database(db_path)
    with database.write() as session:
        session.add_all([Track(path="/music/a.flac"), Track(path="/music/b.flac")])
    database.dispose()
    with sqlite3.connect(db_path) as connection:  # back to what version 1 made
        connection.executescript(
            "DROP TRIGGER track_change_seq_delete; DROP TABLE deleted_track;"
            "PRAGMA user_version = 1;"
        )

    database = open_database(db_path)
    with database.write() as session:
        session.execute(delete(Track).where(Track.path == "/music/a.flac"))
    with database.read() as session:
        deleted = session.execute(select(DeletedTrack.id, DeletedTrack.change_seq)).all()
        seq_b = session.scalar(select(Track.change_seq).where(Track.path == "/music/b.flac"))

    assert [track_id for track_id, _ in deleted] == [1]
    assert deleted[0][1] > seq_b  # in change order, after the last write before it


def test_a_batch_asks_about_missing_tracks_without_reading_the_others(tmp_path: Path) -> None:
    """Every batch asks whether a missing track still holds a hash of before schema
    4 (`has_plain_hashed_missing`); a library upgraded to schema 6 answers from its
    missing tracks alone, not by walking every track still waiting (the audio
    hash's index), which grew with the library at every batch."""
    from mus_desktop.library.transitions import has_plain_hashed_missing

    db_path = tmp_path / "old.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute(OLD_SHAPE)
        conn.executemany(
            "INSERT INTO track (path) VALUES (?)", [(f"/m/{n}.mp3",) for n in range(50)]
        )
    conn.close()
    database = open_database(db_path)
    assert not has_plain_hashed_missing(database)  # 50 waiting, none missing

    with database.write() as session:
        track = session.get(Track, 7)
        track.content_hash, track.missing_since = "a" * 64, utcnow()
    asked: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        asked.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", keep)
    assert has_plain_hashed_missing(database)
    event.remove(database.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = [(q, p) for q, p in asked if "missing_since" in q]
    with sqlite3.connect(db_path) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    conn.close()
    assert plan == ["SEARCH track USING INDEX ix_track_missing (missing_since>?)"]
