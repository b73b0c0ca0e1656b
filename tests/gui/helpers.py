"""Filling a real library database for GUI tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt

from mus_desktop.gui.table.model import Column, TrackTableModel
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track

INTRO_FIELDS: dict[str, object] = {
    "title": "Intro",
    "artist": "Aurora",
    "album": "Dawn",
    "track_number": 1,
    "duration": 185.0,
    "format": "FLAC",
    "content_hash": "h1",
}
"""The tags and content of the track that mixed_library stores twice (a duplicate pair)."""


def shown(
    model: TrackTableModel,
    track_id: int,
    column: Column,
    role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole,
) -> Any:
    """What the table shows for `track_id` in `column` (a role's data), or None when
    the current filter does not show the track or it is not in the table at all."""
    position = model.position_of(track_id)
    return None if position is None else model.index(position, column).data(role)


def add_track(db: Database, path: str, status: str = "COMPLETE", **fields: object) -> int:
    """Insert one track row as the scanner and workers would leave it."""
    with db.write() as session:
        track = Track(path=path, processing_status=status, **fields)
        session.add(track)
        session.flush()
        return track.id


def set_status(db: Database, track_id: int, status: str, error: str | None = None) -> None:
    with db.write() as session:
        track = session.get(Track, track_id)
        assert track is not None
        track.processing_status = status
        track.last_error_message = error


def mark_missing(db: Database, track_id: int, since: datetime) -> None:
    with db.write() as session:
        track = session.get(Track, track_id)
        assert track is not None
        track.missing_since = since


def mixed_library(db: Database) -> dict[str, int]:
    """Five tracks, one per kind, plus a duplicate pair."""
    return {
        "complete": add_track(db, "/music/A/01 Intro.flac", "COMPLETE", **INTRO_FIELDS),
        "dup": add_track(db, "/music/copy/01 Intro.flac", "COMPLETE", **INTRO_FIELDS),
        "pending": add_track(db, "/music/B/zebra song.mp3", "PENDING"),
        "progress": add_track(
            db,
            "/music/B/02 Middle.ogg",
            "METADATA_DONE",
            title="Middle",
            artist="Björk",
            album="Vespertine",
            track_number=2,
            duration=3725.0,
            format="OGG",
        ),
        "error": add_track(
            db,
            "/music/C/broken.mp3",
            "ERROR",
            last_error_message="metadata: not an audio file (can't sync to MPEG frame)",
        ),
    }
