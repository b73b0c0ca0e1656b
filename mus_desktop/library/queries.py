"""Small read and write functions the CLI, the jobs and the window share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from mus_desktop.library.engine import Database
from mus_desktop.library.identity import unmerged_recordings
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.paths import display_path


def _unindexed(column: ColumnElement[str | None]) -> ColumnElement[str | None]:
    """`column` as an expression SQLite cannot answer from the column's index.

    Grouping every present track by a hash is one pass over the table and a
    sort; through the hash's index it is a table lookup per row, in index
    order: at 100,000 tracks, 170 ms against 75 ms (content hash), 200 ms
    against 110 ms (audio hash)."""
    return column.concat("")


def status_counts(db: Database) -> dict[str, int]:
    """Tracks per status, plus missing; duplicates of two kinds among present
    tracks: exact copies (`duplicates`, tracks in a group of one content hash,
    and `duplicate_groups`) and the same recording with different tags
    (`same_recording`, tracks in a group of one audio hash holding more than one
    content hash, and `same_recording_groups`); `unmerged`, the new tracks that
    share their audio with several missing tracks (`unmerged_tracks`); and the
    total."""
    with db.read() as session:
        by_status = dict(
            session.execute(
                select(Track.processing_status, func.count()).group_by(Track.processing_status)
            ).all()
        )
        missing = session.scalar(
            select(func.count()).select_from(Track).where(Track.missing_since.is_not(None))
        )
        content, audio = _unindexed(Track.content_hash), _unindexed(Track.audio_hash)
        group_sizes = session.scalars(
            select(func.count())
            .where(func.length(content) > 0, Track.missing_since.is_(None))
            .group_by(content)
            .having(func.count() > 1)
        ).all()
        recording_sizes = session.scalars(
            select(func.count())
            .where(func.length(audio) > 0, Track.missing_since.is_(None))
            .group_by(audio)
            .having(func.count(Track.content_hash.distinct()) > 1)
        ).all()
        unmerged = len(unmerged_recordings(session))
    counts = {status.value: int(by_status.get(status.value, 0)) for status in ProcessingStatus}
    counts["missing"] = int(missing or 0)
    counts["duplicates"] = sum(group_sizes)
    counts["duplicate_groups"] = len(group_sizes)
    counts["same_recording"] = sum(recording_sizes)
    counts["same_recording_groups"] = len(recording_sizes)
    counts["unmerged"] = unmerged
    counts["total"] = sum(int(value) for value in by_status.values())
    return counts


def _other_present(
    session: Session, track: Track, *alike: ColumnElement[bool]
) -> list[tuple[int, str]]:
    """(id, path) of the present tracks other than `track` that are `alike`, by id."""
    query = select(Track.id, Track.path).where(
        *alike, Track.id != track.id, Track.missing_since.is_(None)
    )
    return [(other_id, path) for other_id, path in session.execute(query.order_by(Track.id))]


def duplicates_of(session: Session, track: Track) -> list[tuple[int, str]]:
    """(id, path) of the other present tracks with the same content as `track`."""
    if track.content_hash is None:
        return []
    return _other_present(session, track, Track.content_hash == track.content_hash)


def same_recording_as(session: Session, track: Track) -> list[tuple[int, str]]:
    """(id, path) of the other present tracks with the same audio as `track` but other
    bytes: the same recording with different tags."""
    if not track.audio_hash:
        return []
    return _other_present(
        session,
        track,
        Track.audio_hash == track.audio_hash,
        Track.content_hash != track.content_hash,
    )


class UnmergedTrack(NamedTuple):
    """A new track not merged into a missing one: several share its audio."""

    id: int
    path: str
    """`display_path` of the file."""
    candidates: list[int]
    """The ids of the missing tracks with the same audio (identity rule 6)."""


def unmerged_tracks(db: Database) -> list[UnmergedTrack]:
    """The new tracks that share their audio with several missing tracks, by id."""
    with db.read() as session:
        found = unmerged_recordings(session)
        paths = dict(
            session.execute(select(Track.id, Track.path).where(Track.id.in_(list(found)))).all()
        )
    return [
        UnmergedTrack(track_id, display_path(paths[track_id]), candidates)
        for track_id, candidates in sorted(found.items())
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
