"""The batch job: runs the stages over a batch of tracks.

The stages run over the batch's files a few dozen at a time (see
FILES_IN_MEMORY); then the results of every stage for the whole batch are
written in one short `BEGIN IMMEDIATE` transaction, one UPDATE per track, so
the per-track cost of the queue and of the database is a small fraction of the
per-track work:

    PENDING --metadata+hash, art--> COMPLETE      METADATA_DONE (a retry) --art--> COMPLETE

A job costs two write transactions: its claim, which counts an attempt before
any work, and its results.

A file's failure is that file's ERROR (with a message a person can act on);
the rest of the batch carries on. Only failures that are not the file's fault
raise: the database busy beyond its timeout, which RQ's Retry runs again, and
a full disk under the database, which it does not (DiskFullError). Every
status change goes through library/transitions.py, the state machine (see
docs/architecture.md).

The job gets the database and settings it works with (`run_batch`); as RQ's
job function (`process_batch`), those its worker was prepared with: nothing in
the job reads the environment.

A file that kills its worker (a crash in a C library, an OOM kill, SIGKILL)
cannot report anything. Every batch therefore counts an attempt on its
tracks before it starts; tracks that already have one are split off into
two jobs of half as many, down to jobs of one track, and a track that keeps
killing its worker alone ends in ERROR.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TypeVar

from mutagen import FileType
from PIL import Image
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from mus_desktop.config import Settings
from mus_desktop.library.database_errors import DiskFullError, disk_full_message, is_disk_full
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.transitions import (
    ART_DONE,
    COMPLETE,
    ERROR,
    METADATA_DONE,
    PENDING,
    ArtOutcome,
    Failure,
    Stamp,
    claim,
    forget_attempts,
    give_up,
    has_plain_hashed_missing,
    record_batch,
)
from mus_desktop.processing.artwork import ArtworkImage, find_artwork, make_thumbnail
from mus_desktop.processing.errors import StageError, stage_error_from_os
from mus_desktop.processing.files import real_roots
from mus_desktop.processing.hashing import hash_digests, plain_hash
from mus_desktop.processing.metadata import (
    TrackMetadata,
    open_track_file,
    parse_audio,
    read_metadata,
)
from mus_desktop.processing.rq_adapter import without_retries
from mus_desktop.processing.service import enqueue_current

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_SOLO_ATTEMPTS = 3
FILES_IN_MEMORY = 50
"""Files a work horse holds parsed at once: the art stage reads what the metadata
stage parsed, embedded cover included, so this bounds the memory those take.

Measured: 250 tracks with a 1 MB embedded cover each peaked at 302 MB per
work horse when one stage ran over the whole batch before the next, 110 MB
in runs of 50. Running a stage over many files in a row is what keeps it
fast: runs of 50 or 100 took 1.235 s to all-final on the bench library
against 1.225 s for whole batches (medians of 10), and one file through
both stages at a time took 1.265 s.
"""


@dataclass
class _Item:
    id: int
    path: str
    status: str
    attempts: int
    stamp: Stamp
    """The file's (size, mtime) as claimed; results are recorded only while it holds."""
    audio: FileType | None = None
    """The parsed file, from the metadata stage to the art stage."""


@dataclass(frozen=True)
class _MetadataResult:
    metadata: TrackMetadata
    content_hash: str
    audio_hash: str
    """The audio payload's hash; "" for a format that has none (recorded as computed)."""
    size: int
    mtime_ns: int
    plain_hash: str | None = None
    """The file's plain BLAKE3, when the library holds missing tracks hashed before
    schema 4 (`transitions.has_plain_hashed_missing`): their content hash is that."""


@cache
def _database(target: Path | str) -> Database:
    """One engine per worker process (and per forked work horse)."""
    return open_database(target)


_prepared: Settings | None = None
"""The settings this worker was started with (`prepare_worker`), for its jobs."""


def prepare_worker(settings: Settings) -> None:
    """Give this worker's jobs `settings`, and open (and upgrade) the library
    database before the worker forks work horses.

    Each horse then inherits the ready engine and only opens a connection of
    its own, instead of spending ~14 ms per job creating the engine and
    checking the schema; the ORM mappers are configured once here too, and
    Pillow's common image formats loaded. None of this takes the write lock,
    so a worker starting beside a running scan does not wait for it. The
    connection used here is closed again, because SQLite connections must not
    cross a fork. A database that cannot be opened is logged and left for the
    jobs to report (`mus worker` has refused one already, in one line:
    cli.cmd_worker).
    """
    global _prepared
    _prepared = settings
    # Pillow imports the plugins of its common formats (JPEG, PNG, GIF, BMP, PPM) at
    # the first image it opens: here, once, not in every work horse that decodes a
    # cover (~9 ms each, nearly every batch).
    Image.preinit()
    try:
        db = _database(settings.database)
    except (OSError, SQLAlchemyError) as exc:
        log.warning("library database not opened before the first job: %s", exc)
        return
    configure_mappers()
    db.dispose()
    # What Python's gc docs advise before forking without exec: the horses'
    # collections then skip (and do not copy-on-write) everything made so far.
    gc.freeze()


def _guarded(stage: str, work: Callable[[], T]) -> T | StageError:
    """Run one file's stage; any failure becomes that file's StageError, so one
    bad file never fails its batch."""
    try:
        return work()
    except StageError as exc:
        return exc
    except OSError as exc:
        return stage_error_from_os(stage, exc)
    except Exception as exc:
        return StageError(stage, "unexpected error", f"{type(exc).__name__}: {exc}")


@cache
def _real_roots(roots: tuple[Path, ...]) -> tuple[str, ...]:
    """MUS_MUSIC_ROOTS resolved once per process, not twice per track."""
    return real_roots(roots)


def _read_metadata(item: _Item, settings: Settings, plain_too: bool) -> _MetadataResult:
    """Tags and hashes, all read from the one file opened and checked (see `files`);
    with `plain_too`, also the plain BLAKE3 an audio-hashed file had as its content
    hash before schema 4 (a second pass over the file, until no such track is missing)."""
    with open_track_file(item.path, _real_roots(settings.music_roots)) as checked:
        audio = parse_audio(checked, item.path)
        metadata = read_metadata(item.path, audio)
        digests = hash_digests(checked)
        plain = plain_hash(checked) if plain_too and digests.audio is not None else None
    item.audio = audio
    return _MetadataResult(
        metadata, digests.content, digests.audio or "", checked.size, checked.mtime_ns, plain
    )


def _make_art(item: _Item, settings: Settings) -> ArtOutcome:
    """(thumbnail key, source) of the track's cover; None when it has none."""
    roots = _real_roots(settings.music_roots)
    image: ArtworkImage | None = find_artwork(item.path, item.audio, roots)
    item.audio = None
    if image is None:
        return None
    return make_thumbnail(image, settings.thumbnail_dir), image.source


def _run_stages(
    items: list[_Item], settings: Settings, plain_too: bool
) -> tuple[
    list[tuple[_Item, _MetadataResult | StageError]], list[tuple[_Item, ArtOutcome | StageError]]
]:
    """The outcomes of each item's remaining stages: (metadata's, art's).

    A track whose metadata fails gets no art outcome; one already past art gets neither.
    """
    metadata_outcomes: list[tuple[_Item, _MetadataResult | StageError]] = []
    art_outcomes: list[tuple[_Item, ArtOutcome | StageError]] = []
    for start in range(0, len(items), FILES_IN_MEMORY):
        run = items[start : start + FILES_IN_MEMORY]
        read = [
            (item, _guarded("metadata", partial(_read_metadata, item, settings, plain_too)))
            for item in run
            if item.status == PENDING
        ]
        metadata_outcomes += read
        unreadable = {item.id for item, outcome in read if isinstance(outcome, StageError)}
        art_outcomes += [
            (item, _guarded("art", partial(_make_art, item, settings)))
            for item in run
            if item.status in (PENDING, METADATA_DONE) and item.id not in unreadable
        ]
    return metadata_outcomes, art_outcomes


def _failure(item: _Item, error: StageError) -> Failure:
    return Failure(item.id, error.stage, str(error))


def _record(
    db: Database,
    items: list[_Item],
    metadata_outcomes: list[tuple[_Item, _MetadataResult | StageError]],
    art_outcomes: list[tuple[_Item, ArtOutcome | StageError]],
) -> None:
    """Every stage's outcomes for the batch, in one transaction (transitions.record_batch);
    each item's status becomes the one recorded, or PENDING when it was left alone (a
    scan found its file changed meanwhile and queued it again, or another job that held
    it recorded it first)."""
    read = {item.id: r for item, r in metadata_outcomes if not isinstance(r, StageError)}
    failures = [
        _failure(item, r)
        for item, r in [*metadata_outcomes, *art_outcomes]
        if isinstance(r, StageError)
    ]
    stale = record_batch(
        db,
        {item.id: (item.status, item.stamp) for item in items},
        {
            track_id: {
                **vars(result.metadata),  # flat fields: no deep copy (asdict's)
                "content_hash": result.content_hash,
                "audio_hash": result.audio_hash,
                "size": result.size,
                "mtime_ns": result.mtime_ns,
            }
            for track_id, result in read.items()
        },
        {item.id: r for item, r in art_outcomes if not isinstance(r, StageError)},
        failures,
        {
            track_id: result.plain_hash
            for track_id, result in read.items()
            if result.plain_hash is not None
        },
    )
    failed = {failure.track_id for failure in failures}
    for item in items:
        if item.id in stale:
            item.status = PENDING
        else:
            item.status = ERROR if item.id in failed else COMPLETE


def _isolate_suspects(db: Database, items: list[_Item]) -> list[_Item]:
    """Split off tracks whose earlier batch died; give up on repeat offenders.

    The suspects go into two jobs of half as many, not one job each: after a
    worker was killed every track of its batch is a suspect, and a job costs
    ~25 ms of its own even for one track (the bench's no-op job; 500
    single-track jobs: ~12 s), while halving finds a file that kills its
    worker in log2(n) rounds. Their attempts restart at zero, so that a
    track's count is of the deaths of the smallest batch it was in, and only
    deaths alone make it an ERROR.
    """
    if len(items) == 1:
        item = items[0]
        if item.attempts >= MAX_SOLO_ATTEMPTS:
            error = StageError(
                _stage_of(item.status),
                "worker stopped while processing this file",
                f"{item.attempts} times; the file may crash the audio or image library",
            )
            give_up(db, _failure(item, error))
            item.status = ERROR
            return []
        return items
    suspects = [item.id for item in items if item.attempts > 0]
    if suspects:
        forget_attempts(db, suspects)
        middle = (len(suspects) + 1) // 2
        enqueue_current([half for half in (suspects[:middle], suspects[middle:]) if half])
    return [item for item in items if item.attempts == 0]


def _stage_of(status: str) -> str:
    return "art" if status in (METADATA_DONE, ART_DONE) else "metadata"


def run_batch(db: Database, settings: Settings, track_ids: Sequence[int]) -> dict[str, int]:
    """Bring each track of the batch to a final state, with `db` and `settings`.

    Returns counts for the job's result: complete, error, and skipped (final
    already, or split off into smaller jobs after an earlier batch died).
    A full disk under the database fails the job at once, as a one-line
    DiskFullError, and for good: RQ's retries could only fail again.
    """
    try:
        claimed = [_Item(t.id, t.path, t.status, t.attempts, t.stamp) for t in claim(db, track_ids)]
        items = _isolate_suspects(db, claimed)

        plain_too = any(item.status == PENDING for item in items) and has_plain_hashed_missing(db)
        metadata_outcomes, art_outcomes = _run_stages(items, settings, plain_too)
        if items:
            _record(db, items, metadata_outcomes, art_outcomes)
    except (OSError, SQLAlchemyError) as exc:
        if not is_disk_full(exc, settings.database_label):
            raise
        # Not worth RQ's retries; one line rather than SQLAlchemy's statement and
        # its parameters (every track of the batch).
        without_retries()
        raise DiskFullError(disk_full_message(settings.database_label)) from None
    complete = sum(item.status == COMPLETE for item in items)
    error = sum(item.status == ERROR for item in claimed)  # a file given up on included
    return {"complete": complete, "error": error, "skipped": len(track_ids) - complete - error}


def process_batch(track_ids: list[int]) -> dict[str, int]:
    """The RQ job (queue.JOB_FUNCTION): `run_batch` with the worker's database and
    settings, those `prepare_worker` was given. Its argument comes from the broker:
    anything but a list of whole numbers is refused."""
    if _prepared is None:
        raise RuntimeError("process_batch runs in a mus worker, after prepare_worker()")
    if not isinstance(track_ids, list) or not all(type(track_id) is int for track_id in track_ids):
        raise TypeError(f"a batch is a list of track ids, not {str(track_ids)[:80]!r}")
    return run_batch(_database(_prepared.database), _prepared, track_ids)
