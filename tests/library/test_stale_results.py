"""A batch's results are not written over a scan that found the file changed meanwhile.

A file still being copied, or saved again while a worker reads it, is found changed by
the watcher's rescan while its batch runs: the scan sends it back to PENDING and queues
it again. The old batch's results (read from the file as it was) must leave it so.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from mus_desktop.library.transitions import (
    COMPLETE,
    ERROR,
    PENDING,
    ClaimedTrack,
    Failure,
    claim,
    record_batch,
)
from tools.audiogen import Tags, make_track

TAGS = Tags("Growing", "Artist", "Album", "Artist", 1, 1, 1, 2001, "Rock")


def _track(db: Database, track_id: int) -> Track:
    with db.read() as session:
        return session.execute(select(Track).where(Track.id == track_id)).scalar_one()


def _results(stamp: tuple[int | None, int | None]) -> dict[str, object]:
    return {"title": "Old Read", "content_hash": "0" * 64, "size": stamp[0], "mtime_ns": stamp[1]}


def _as_claimed(track: ClaimedTrack) -> dict[int, tuple[str, tuple[int | None, int | None]]]:
    return {track.id: (track.status, track.stamp)}


def test_a_file_changed_during_its_batch_keeps_the_scans_state(db: Database, tmp_path: Path):
    song = make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    (track_id,) = scan(db, [tmp_path / "music"]).to_process
    (claimed,) = claim(db, [track_id])

    with song.open("ab") as out:  # the copy goes on while the worker reads
        out.write(b"\0" * 4096)
    os.utime(song, ns=(claimed.stamp[1] + 10**9, claimed.stamp[1] + 10**9))
    assert scan(db, [tmp_path / "music"]).to_process == [track_id]

    stale = record_batch(
        db, _as_claimed(claimed), {track_id: _results(claimed.stamp)}, {track_id: None}, []
    )

    assert stale == {track_id}
    track = _track(db, track_id)
    assert track.processing_status == PENDING
    assert track.title is None
    assert track.size == song.stat().st_size  # the scan's stamp, for the job it queued


def test_a_failure_read_from_the_old_file_is_not_recorded(db: Database, tmp_path: Path):
    song = make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    (track_id,) = scan(db, [tmp_path / "music"]).to_process
    (claimed,) = claim(db, [track_id])
    song.write_bytes(song.read_bytes() + b"more")
    scan(db, [tmp_path / "music"])

    failure = Failure(track_id, "metadata", "metadata: not an audio file (truncated)")
    record_batch(db, _as_claimed(claimed), {}, {}, [failure])

    track = _track(db, track_id)
    assert track.processing_status == PENDING
    assert track.last_error_message is None


def test_an_unchanged_file_is_recorded_as_usual(db: Database, tmp_path: Path):
    make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    (track_id,) = scan(db, [tmp_path / "music"]).to_process
    (claimed,) = claim(db, [track_id])

    stale = record_batch(
        db, _as_claimed(claimed), {track_id: _results(claimed.stamp)}, {track_id: None}, []
    )
    assert stale == set()
    track = _track(db, track_id)
    assert (track.processing_status, track.title, track.attempts) == (COMPLETE, "Old Read", 0)


def test_results_another_job_recorded_first_are_left_alone(db: Database, tmp_path: Path):
    """Two jobs held the same track (work queued again while it ran): the second's
    results do not overwrite the first's."""
    make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    (track_id,) = scan(db, [tmp_path / "music"]).to_process
    (first,) = claim(db, [track_id])
    (second,) = claim(db, [track_id])
    record_batch(db, _as_claimed(first), {track_id: _results(first.stamp)}, {track_id: None}, [])

    failure = Failure(track_id, "metadata", "metadata: not an audio file (truncated)")
    stale = record_batch(db, _as_claimed(second), {}, {}, [failure])

    assert stale == {track_id}
    assert _track(db, track_id).processing_status == COMPLETE


def test_an_art_failure_keeps_the_tags_read(db: Database, tmp_path: Path):
    """A retry resumes at the art stage, so what the metadata stage read is kept."""
    make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    (track_id,) = scan(db, [tmp_path / "music"]).to_process
    (claimed,) = claim(db, [track_id])
    failure = Failure(track_id, "art", "art: cannot decode the cover (truncated)")

    record_batch(db, _as_claimed(claimed), {track_id: _results(claimed.stamp)}, {}, [failure])

    track = _track(db, track_id)
    assert (track.processing_status, track.failed_stage, track.title) == (ERROR, "art", "Old Read")
    assert track.last_error_message == "art: cannot decode the cover (truncated)"
