"""Small read and write functions the CLI, the jobs and the window share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.paths import display_path


def status_counts(db: Database) -> dict[str, int]:
    """Tracks per status, plus missing, duplicates (tracks in a duplicate group)
    and duplicate groups, and the total."""
    with db.read() as session:
        by_status = dict(
            session.execute(
                select(Track.processing_status, func.count()).group_by(Track.processing_status)
            ).all()
        )
        missing = session.scalar(
            select(func.count()).select_from(Track).where(Track.missing_since.is_not(None))
        )
        group_sizes = session.scalars(
            select(func.count())
            .where(Track.content_hash.is_not(None), Track.missing_since.is_(None))
            .group_by(Track.content_hash)
            .having(func.count() > 1)
        ).all()
    counts = {status.value: int(by_status.get(status.value, 0)) for status in ProcessingStatus}
    counts["missing"] = int(missing or 0)
    counts["duplicates"] = sum(group_sizes)
    counts["duplicate_groups"] = len(group_sizes)
    counts["total"] = sum(int(value) for value in by_status.values())
    return counts


def duplicates_of(session: Session, track: Track) -> list[tuple[int, str]]:
    """(id, path) of the other present tracks with the same content as `track`."""
    if track.content_hash is None:
        return []
    return [
        (other_id, path)
        for other_id, path in session.execute(
            select(Track.id, Track.path)
            .where(
                Track.content_hash == track.content_hash,
                Track.id != track.id,
                Track.missing_since.is_(None),
            )
            .order_by(Track.id)
        )
    ]


class ErroredTrack(NamedTuple):
    id: int
    path: str
    """`display_path` of the file."""
    message: str
    """`last_error_message`: stage, kind and the library's own words."""


def errored_tracks(db: Database, among: Iterable[int] | None = None) -> list[ErroredTrack]:
    """Tracks in ERROR (only those in `among` when given), by path."""
    query = select(Track.id, Track.path, Track.last_error_message).where(
        Track.processing_status == ProcessingStatus.ERROR.value
    )
    if among is not None:
        query = query.where(Track.id.in_(list(among)))
    with db.read() as session:
        rows = session.execute(query.order_by(Track.path)).all()
    return [
        ErroredTrack(track_id, display_path(path), message or "")
        for track_id, path, message in rows
    ]


def statuses_of(db: Database, track_ids: Iterable[int]) -> dict[int, str]:
    """The processing status of each of `track_ids` that exists."""
    with db.read() as session:
        return dict(
            session.execute(
                select(Track.id, Track.processing_status).where(Track.id.in_(list(track_ids)))
            ).all()
        )
