"""Every change of a track's processing status: the state machine, in one module.

    PENDING --metadata + hash, art--> COMPLETE
    METADATA_DONE --art--> COMPLETE
    ART_DONE (left by earlier versions, between two writes) --> COMPLETE
    PENDING, METADATA_DONE, ART_DONE --a stage fails for this file--> ERROR
    any unfinished --its worker died three times with it alone--> ERROR
    ERROR --retry--> METADATA_DONE if the art stage failed, else PENDING
    any --its file changed, or was found again after an error about reaching it--> PENDING
    COMPLETE, ART_DONE with no audio hash (processed before schema 4) --reconcile, once--> PENDING

Who moves a track: the batch job (processing/pipeline.py) claims a batch,
records the outcomes of all its stages at once and gives up on a file that
keeps killing its worker; the CLI and the window retry; reconcile selects the
unfinished tracks to queue again, and sends back once the tracks processed
before audio hashes existed; a scan (scanner.py, by identity.py's rules)
sends a changed or found-again track back to PENDING. Every write is one
`BEGIN IMMEDIATE` transaction per batch, not per track: a batch makes two,
its claim and its results. See docs/architecture.md, "State machine".

A scan may send a track back to PENDING while a batch works on it (a file
still being copied, saved again, replaced): the scan queues it again, and the
batch's results, read from the file as it was, must not overwrite that. So
results are written only for tracks whose file stamp (size, mtime) and
status are still the ones the batch claimed them with.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from mus_desktop.library.engine import Database
from mus_desktop.library.identity import (
    any_missing,
    merge_into_missing,
    merge_recordings_into_missing,
)
from mus_desktop.library.models import (
    FINAL_STATUSES,
    UNFINISHED_STATUSES,
    ProcessingStatus,
    Track,
    utcnow,
)

# As stored: plain strings, the values of ProcessingStatus.
PENDING = ProcessingStatus.PENDING.value
METADATA_DONE = ProcessingStatus.METADATA_DONE.value
ART_DONE = ProcessingStatus.ART_DONE.value
COMPLETE = ProcessingStatus.COMPLETE.value
ERROR = ProcessingStatus.ERROR.value

ART_STAGE = "art"
"""The stage after which a retry resumes at METADATA_DONE (failed_stage)."""


Stamp = tuple[int | None, int | None]
"""A track's file as the library knows it: (size, mtime_ns). A scan that finds the
file changed writes a new one; so does the metadata stage, with the file it read."""

Claimed = tuple[str, Stamp]
"""A track as a batch claimed it: (status, stamp); its results are recorded only
while both still hold."""

ArtOutcome = tuple[str, str] | None
"""(thumbnail key, source) of a track's cover; None when it has none."""


@dataclass
class ClaimedTrack:
    """A track a batch job works on: where it is, and how far it got."""

    id: int
    path: str
    status: str
    attempts: int
    """Batches that took it and did not finish it: one that died counts."""
    stamp: Stamp


@dataclass(frozen=True)
class Failure:
    """Why a stage failed for one track: `message` is what a person reads."""

    track_id: int
    stage: str
    message: str


def claim(db: Database, track_ids: Sequence[int]) -> list[ClaimedTrack]:
    """The batch's unfinished tracks, with an attempt counted on each (a batch that
    dies cannot count it afterwards)."""
    with db.write() as session:
        rows = session.execute(
            select(
                Track.id, Track.path, Track.processing_status, Track.attempts, Track.size,
                Track.mtime_ns,
            ).where(Track.id.in_(list(track_ids)), Track.processing_status.not_in(FINAL_STATUSES))
        ).all()  # fmt: skip
        claimed = [ClaimedTrack(*row[:4], stamp=(row[4], row[5])) for row in rows]
        if claimed:
            session.execute(
                update(Track)
                .where(Track.id.in_([track.id for track in claimed]))
                .values(attempts=Track.attempts + 1)
            )
    return claimed


def forget_attempts(db: Database, track_ids: Collection[int]) -> None:
    """Start counting the attempts on these tracks again (split off into smaller jobs)."""
    if track_ids:
        with db.write() as session:
            session.execute(update(Track).where(Track.id.in_(list(track_ids))).values(attempts=0))


def _bulk_update(session: Session, rows: list[dict[str, object]]) -> None:
    """UPDATE by primary key for many rows in one executemany per shape."""
    if rows:
        session.execute(update(Track), rows)


def _unchanged_since_claim(session: Session, claimed: Mapping[int, Claimed]) -> set[int]:
    """The ids of `claimed` whose status and file stamp are still the ones claimed:
    a scan found the others changed since (and queued them again), or another job
    that held the same track has recorded it already."""
    if not claimed:
        return set()
    rows = session.execute(
        select(Track.id, Track.processing_status, Track.size, Track.mtime_ns).where(
            Track.id.in_(list(claimed))
        )
    )
    return {
        track_id
        for track_id, status, size, mtime in rows
        if claimed[track_id] == (status, (size, mtime))
    }


def give_up(db: Database, failure: Failure) -> None:
    """ERROR for a track whose stage never reported (its worker kept dying)."""
    with db.write() as session:
        _bulk_update(
            session, [{"id": failure.track_id, **_outcome_fields(failure), "updated_at": utcnow()}]
        )


def record_batch(
    db: Database,
    claimed: Mapping[int, Claimed],
    read: Mapping[int, Mapping[str, object]],
    art: Mapping[int, ArtOutcome],
    failures: Sequence[Failure],
    plain_hashes: Mapping[int, str] | None = None,
) -> set[int]:
    """A batch's outcomes, in one transaction with one UPDATE per track.

    `claimed` (id -> (status, stamp) at claim) are the tracks the batch worked
    on; only those whose status and stamp are still those are written. Each
    goes to COMPLETE with what its stages found: `read` (id -> its tags,
    properties, `content_hash`, `audio_hash`, size and mtime), `art` (id ->
    (thumbnail key, source) of its cover, or None: it has none); a track
    claimed at METADATA_DONE has only the latter, one claimed at ART_DONE
    neither. A track of `failures` goes to ERROR instead, its tags kept when
    the art stage is the one that failed (a retry resumes there).

    A track whose content hash equals a missing track's is merged into it
    (identity rule 4), or whose plain BLAKE3 (`plain_hashes`, id -> digest)
    equals that of a missing track hashed before schema 4; then a new one whose
    audio hash equals exactly one missing track's (rule 6), which takes the new
    file's tags: the results of the new id go to the old one. Returns the ids of
    `claimed` left alone.
    """
    now = utcnow()
    failed = {failure.track_id: failure for failure in failures}
    with db.write() as session:
        current = _unchanged_since_claim(session, claimed)
        done = {track_id: fields for track_id, fields in read.items() if track_id in current}
        by_hash = {str(fields["content_hash"]): track_id for track_id, fields in done.items()}
        # A composite content hash never equals a plain BLAKE3 (derive-key mode), so
        # one lookup serves both: a plain hash can only find a track hashed before.
        by_hash |= {
            digest: track_id
            for track_id, digest in (plain_hashes or {}).items()
            if track_id in done
        }
        merged: dict[int, int] = {}
        if done and any_missing(session):
            merged = merge_into_missing(session, by_hash)
            merged |= merge_recordings_into_missing(
                session,
                {
                    track_id: str(fields.get("audio_hash") or "")
                    for track_id, fields in done.items()
                    if track_id not in merged
                },
            )
        rows = [
            {
                "id": merged.get(track_id, track_id),
                **done.get(track_id, {}),
                **_art_fields(art, track_id),
                **_outcome_fields(failed.get(track_id)),
                "updated_at": now,
            }
            for track_id in sorted(current)
        ]
        # One executemany per run of rows with the same columns: rows of a shape together.
        _bulk_update(session, sorted(rows, key=lambda row: tuple(row)))
    return set(claimed) - current


def _art_fields(art: Mapping[int, ArtOutcome], track_id: int) -> dict[str, object]:
    if track_id not in art:
        return {}
    found = art[track_id]
    return {
        "artwork_hash": found[0] if found else None,
        "artwork_source": found[1] if found else None,
    }


def _outcome_fields(failure: Failure | None) -> dict[str, object]:
    """COMPLETE, or ERROR with why; either way its attempts are forgotten."""
    if failure is None:
        return {
            "processing_status": COMPLETE,
            "last_error_message": None,
            "failed_stage": None,
            "attempts": 0,
        }
    return {
        "processing_status": ERROR,
        "last_error_message": failure.message,
        "failed_stage": failure.stage,
        "attempts": 0,
    }


def reset_for_retry(db: Database, track_ids: Sequence[int] | None) -> list[int]:
    """Put errored tracks (all of them when `track_ids` is None) back at the stage
    that failed; returns their ids, for the caller to queue."""
    with db.write() as session:
        query = select(Track.id).where(Track.processing_status == ERROR)
        if track_ids is not None:
            query = query.where(Track.id.in_(list(track_ids)))
        ids = list(session.scalars(query.order_by(Track.id)))
        if ids:
            session.execute(
                update(Track)
                .where(Track.id.in_(ids))
                .values(
                    processing_status=case(
                        (Track.failed_stage == ART_STAGE, METADATA_DONE),
                        else_=PENDING,
                    ),
                    last_error_message=None,
                    failed_stage=None,
                    attempts=0,
                )
            )
    return ids


def has_plain_hashed_missing(db: Database) -> bool:
    """Whether a missing track still holds the content hash of before schema 4 (the
    plain BLAKE3 of its file: it was never hashed again, so its audio hash is
    NULL). While one does, new files are hashed that way too, so that a copy of
    it elsewhere is still found (identity rule 4).

    Every batch asks, so it reads only the missing tracks (`ix_track_missing`):
    the hashes are tested through `length()`, which no index answers, because
    SQLite's planner, with no statistics, otherwise took the audio hash's index
    for `audio_hash IS NULL` and walked every track not processed yet (~5 ms a
    batch at 20,000, growing with the library)."""
    with db.read() as session:
        found = session.scalar(
            select(Track.id)
            .where(
                Track.missing_since.is_not(None),
                func.length(Track.audio_hash).is_(None),
                func.length(Track.content_hash).is_not(None),
            )
            .limit(1)
        )
    return found is not None


def pending_again() -> dict[str, object]:
    """The values that send a track back to PENDING: its file changed, or it was found
    again after an error about reaching it. For the scanner's bulk UPDATEs."""
    return {
        "processing_status": PENDING,
        "failed_stage": None,
        "last_error_message": None,
        "attempts": 0,
    }


def requeue_without_audio_hash(db: Database) -> list[int]:
    """Send the present tracks processed before audio hashes existed (COMPLETE or
    ART_DONE, `audio_hash` NULL) back to PENDING, so that they get one; returns
    their ids, for the caller to queue. A one-off per track: processing records
    an audio hash ("" for a format without one), or an ERROR, never NULL again.

    Looked for under a read snapshot first (an index range): once done, a
    reconcile does not wait for, or hold up, a writer."""
    without = (
        Track.audio_hash.is_(None),
        Track.processing_status.in_((COMPLETE, ART_DONE)),
        Track.missing_since.is_(None),
    )
    with db.read() as session:
        if session.scalar(select(Track.id).where(*without).limit(1)) is None:
            return []
    with db.write() as session:
        ids = session.scalars(
            update(Track)
            .where(*without)
            .values(**pending_again(), updated_at=utcnow())
            .returning(Track.id)
        ).all()
    return sorted(ids)


# Present tracks that are not in a final state: what reconcile queues again when no
# job holds them. A positive IN, not NOT IN, so that SQLite can use the status index.
_UNFINISHED = (Track.processing_status.in_(UNFINISHED_STATUSES), Track.missing_since.is_(None))


def unfinished_ids(db: Database) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(Track.id).where(*_UNFINISHED).order_by(Track.id)))


def count_unfinished(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Track).where(*_UNFINISHED)) or 0)
