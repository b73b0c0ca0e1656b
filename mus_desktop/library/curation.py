"""What a person does to tracks by hand, as database writes: relink a missing
track to the file it was found at (Locate), forget missing tracks, and drop the
row of a duplicate whose file went to the trash.

Each write is one `BEGIN IMMEDIATE` transaction that checks again, under the
write lock, what made the caller ask for it (the track is still missing, still
has that content, still has that path): the window asked on what it showed,
and the library may have moved on since. A deleted row is recorded in
`deleted_track` by the schema's trigger and every update moves `change_seq`,
so the window's change feed (rows.ChangeFollower) sees each change as it sees
a scan's.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, select, update

from mus_desktop.library.access import is_access_error
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track, utcnow
from mus_desktop.library.queries import duplicates_of
from mus_desktop.library.transitions import pending_again
from mus_desktop.library.walk import FoundFile


@dataclass(frozen=True)
class TrackFacts:
    """What Locate and Move to Trash check about a track before they act."""

    id: int
    path: str
    title: str
    """The title tag, or the file name when there is none."""
    content_hash: str | None
    missing: bool
    copies: tuple[tuple[int, str], ...]
    """(id, path) of the other present tracks with the same content."""
    audio_hash: str | None = None
    """None: never computed (the track was processed before schema 4, so its content
    hash is the plain BLAKE3 of its file); "": its format has none."""


def track_facts(db: Database, track_id: int) -> TrackFacts | None:
    """The track as the library knows it now, or None when it is gone."""
    with db.read() as session:
        track = session.get(Track, track_id)
        if track is None:
            return None
        return TrackFacts(
            track_id,
            track.path,
            track.title or os.path.basename(track.path),
            track.content_hash,
            track.missing_since is not None,
            tuple(duplicates_of(session, track)),
            track.audio_hash,
        )


class Relink(Enum):
    """What `relink` did."""

    RELINKED = "relinked"
    GONE = "gone"
    """The track is no longer in the library."""
    NOT_MISSING = "not missing"
    """A scan found its file meanwhile."""
    OTHER_CONTENT = "other content"
    """Its content hash is no longer the one the file was compared with."""


@dataclass(frozen=True)
class RelinkResult:
    outcome: Relink
    replaced: int | None = None
    """The id of the row that held the file before and was merged into the track."""
    needs_processing: bool = False
    """The track is present and unfinished now: a job should take it."""


def relink(
    db: Database,
    track_id: int,
    found: FoundFile,
    expected_hash: str,
    hashes: tuple[str, str] | None = None,
    *,
    retagged: bool = False,
) -> RelinkResult:
    """The missing track `track_id` takes over the file `found`: it keeps its id and
    everything known about it, with the file's path, device, inode, size and
    mtime, and is missing no more (identity rule 3's outcome, reached by a
    person's pick instead of an inode). Only while its content hash is still
    `expected_hash`, the one the file was compared with; `hashes` (content,
    audio), when given, are the file's own and replace the track's (a track
    hashed before schema 4, or the same recording `retagged`, which then goes
    back to PENDING so its new tags are read). A row that already held that
    path (the file was found by a scan as a new track) is merged into it and
    deleted, as identity.merge_into_missing does. A track in ERROR because its
    file could not be reached goes back to PENDING, as when a scan finds its
    file (docs/architecture.md, "Identity")."""
    with db.write() as session:
        track = session.execute(
            select(
                Track.missing_since,
                Track.content_hash,
                Track.processing_status,
                Track.last_error_message,
            ).where(Track.id == track_id)
        ).one_or_none()
        if track is None:
            return RelinkResult(Relink.GONE)
        if track.missing_since is None:
            return RelinkResult(Relink.NOT_MISSING)
        if track.content_hash != expected_hash:
            return RelinkResult(Relink.OTHER_CONTENT)
        replaced = session.scalar(
            select(Track.id).where(Track.path == found.path, Track.id != track_id)
        )
        if replaced is not None:
            session.execute(delete(Track).where(Track.id == replaced))
        values: dict[str, object] = {
            "path": found.path,
            "device": found.device,
            "inode": found.inode,
            "size": found.size,
            "mtime_ns": found.mtime_ns,
            "missing_since": None,
            "updated_at": utcnow(),
        }
        if hashes is not None:
            values["content_hash"], values["audio_hash"] = hashes
        status = track.processing_status
        unreachable = status == ProcessingStatus.ERROR.value and is_access_error(
            track.last_error_message
        )
        if retagged or unreachable:
            values.update(pending_again())
            status = ProcessingStatus.PENDING.value
        session.execute(update(Track).where(Track.id == track_id).values(**values))
    final = status in (ProcessingStatus.COMPLETE.value, ProcessingStatus.ERROR.value)
    return RelinkResult(Relink.RELINKED, replaced, needs_processing=not final)


def forget_missing(db: Database, track_ids: Collection[int]) -> int:
    """Forget the tracks of `track_ids` that are missing (the others are kept: a
    scan may have found their file since they were chosen); no file is
    touched. Returns how many were forgotten."""
    if not track_ids:
        return 0
    with db.write() as session:
        forgotten = session.execute(
            delete(Track).where(Track.id.in_(list(track_ids)), Track.missing_since.is_not(None))
        ).rowcount
    return int(forgotten or 0)


def remove_trashed(db: Database, track_id: int, path: str) -> bool:
    """Forget the track whose file at `path` was moved to the trash; only while
    the track still has that path. Returns whether it was forgotten."""
    with db.write() as session:
        removed = session.execute(
            delete(Track).where(Track.id == track_id, Track.path == path)
        ).rowcount
    return bool(removed)
