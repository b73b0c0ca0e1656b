"""Locate: a person points a missing track at its file; the track keeps its id only
when the file has its content (processing/locate.py, library/curation.py)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import add_folders
from mus_desktop.library.models import Track
from mus_desktop.library.rows import ChangeFollower
from mus_desktop.library.scanner import scan
from mus_desktop.processing.locate import LocateOutcome, locate_track
from mus_desktop.processing.pipeline import run_batch
from tools.audiogen import Tags, make_track

INTRO = Tags("Intro", "Aurora", "Dawn", "Aurora", 1, 2, 1, 2001, "Pop")
OUTRO = Tags("Outro", "Aurora", "Dawn", "Aurora", 2, 2, 1, 2001, "Pop")


def tracks(db: Database) -> dict[int, tuple[str, bool, str, str | None]]:
    """(path, missing, status, title) of every track, by id."""
    with db.read() as session:
        return {
            track.id: (
                track.path,
                track.missing_since is not None,
                track.processing_status,
                track.title,
            )
            for track in session.scalars(select(Track))
        }


def library(db: Database, settings: Settings, root: Path, *, process: bool = True) -> int:
    """A library folder holding one processed track, 01 Intro.flac; its id."""
    song = make_track(root / "Dawn" / "01 Intro.flac", "flac", INTRO)
    add_folders(db, [root])
    [track_id] = scan(db, [root]).to_process
    if process:
        assert run_batch(db, settings, [track_id])["complete"] == 1
    assert tracks(db)[track_id][0] == str(song)
    return track_id


def move_away(db: Database, root: Path, to: Path) -> Path:
    """Move the library's one file out of the library; a scan marks its track missing."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(root / "Dawn" / "01 Intro.flac", to)
    report = scan(db, [root])
    assert report.missing == 1
    return to


def test_a_located_track_keeps_its_id_and_what_is_known_about_it(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    track_id = library(db, settings, tmp_path / "music")
    moved = move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")

    result = locate_track(db, settings, track_id, moved)

    assert result.outcome is LocateOutcome.LOCATED
    assert result.message.startswith("Located 'Intro': the track keeps its id and history")
    assert f"{tmp_path / 'elsewhere'} is not a library folder" in result.message
    assert "add it in Library Folders" in result.message
    assert tracks(db) == {track_id: (str(moved), False, "COMPLETE", "Intro")}
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        st = moved.stat()
        assert (track.device, track.inode, track.size, track.mtime_ns) == (
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
        )
    assert not result.needs_processing


def test_the_row_a_scan_made_for_the_picked_file_is_merged_into_the_located_track(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "music"
    track_id = library(db, settings, root)
    follower = ChangeFollower(db)
    try:
        follower.load()
        copy = root / "Moved" / "01 Intro.flac"
        copy.parent.mkdir()
        shutil.copy2(root / "Dawn" / "01 Intro.flac", copy)
        (root / "Dawn" / "01 Intro.flac").unlink()
        report = scan(db, [root])  # the copy not yet processed: a new, separate track
        assert (report.new, report.missing) == (1, 1)
        [new_id] = report.to_process

        result = locate_track(db, settings, track_id, copy)

        assert result.outcome is LocateOutcome.LOCATED
        assert f"takes the place of track #{new_id}" in result.message
        assert "not a library folder" not in result.message
        assert tracks(db) == {track_id: (str(copy), False, "COMPLETE", "Intro")}
        assert new_id in follower.poll().removed  # the window drops the merged row
    finally:
        follower.close()


def test_a_different_file_changes_nothing(db: Database, settings: Settings, tmp_path: Path) -> None:
    track_id = library(db, settings, tmp_path / "music")
    move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")
    # Other audio (a longer signal): the same audio with other tags is the track, retagged.
    other = make_track(tmp_path / "elsewhere" / "outro.flac", "flac", OUTRO, seconds=1.5)
    before = tracks(db)

    result = locate_track(db, settings, track_id, other)

    assert result.outcome is LocateOutcome.DIFFERENT_FILE
    assert result.message == (
        "outro.flac is a different file from 'Intro' (neither its content nor its audio is "
        "the track's); nothing was changed"
    )
    assert tracks(db) == before


def test_a_track_that_is_not_missing_is_left_alone(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "music"
    track_id = library(db, settings, root)
    copy = shutil.copy2(root / "Dawn" / "01 Intro.flac", tmp_path / "copy.flac")
    before = tracks(db)

    result = locate_track(db, settings, track_id, copy)

    assert result.outcome is LocateOutcome.NOT_MISSING
    assert result.message == (
        f"'Intro' is not missing any more: its file is at {root / 'Dawn' / '01 Intro.flac'}"
    )
    assert tracks(db) == before


def test_a_track_whose_content_was_never_read_cannot_be_compared(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    track_id = library(db, settings, tmp_path / "music", process=False)
    moved = move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")
    before = tracks(db)

    result = locate_track(db, settings, track_id, moved)

    assert result.outcome is LocateOutcome.NOT_READ
    assert "went missing before its content was read" in result.message
    assert tracks(db) == before


def test_a_file_that_cannot_be_used_is_named_with_the_reason(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    track_id = library(db, settings, tmp_path / "music")
    moved = move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")
    fifo = tmp_path / "elsewhere" / "pipe.flac"
    os.mkfifo(fifo)
    before = tracks(db)
    in_roots = replace(settings, music_roots=(tmp_path / "music",))

    picks = {
        "gone.flac": locate_track(db, settings, track_id, tmp_path / "gone.flac"),
        "pipe.flac": locate_track(db, settings, track_id, fifo),
        "elsewhere": locate_track(db, settings, track_id, tmp_path / "elsewhere"),
        "outside": locate_track(db, in_roots, track_id, moved),
    }

    assert {name: result.outcome for name, result in picks.items()} == dict.fromkeys(
        picks, LocateOutcome.UNUSABLE
    )
    assert picks["gone.flac"].message == "Cannot use gone.flac: file not found"
    assert picks["pipe.flac"].message == "Cannot use pipe.flac: not a regular file (a FIFO)"
    assert picks["elsewhere"].message == "Cannot use elsewhere: path is a folder, not a file"
    assert picks["outside"].message == (
        f"Cannot use intro.flac: outside the music folders ({moved.resolve()})"
    )
    assert tracks(db) == before


def test_the_same_recording_with_other_tags_is_located_and_read_again(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Several missing tracks shared the new file's audio, so no scan merged it (rule 6
    does not guess): the person's pick says which one it is."""
    import mutagen

    track_id = library(db, settings, tmp_path / "music")
    moved = move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")
    retag = mutagen.File(moved)
    retag["title"] = "Intro (Remastered)"
    retag.save()
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        old_content, old_audio = track.content_hash, track.audio_hash

    result = locate_track(db, settings, track_id, moved)

    assert result.outcome is LocateOutcome.LOCATED
    assert "the same recording with other tags, which are read again" in result.message
    assert result.needs_processing
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        assert (track.path, track.missing_since, track.processing_status) == (
            str(moved),
            None,
            "PENDING",
        )
        assert track.audio_hash == old_audio and track.content_hash != old_content
    assert run_batch(db, settings, [track_id])["complete"] == 1
    assert tracks(db)[track_id] == (str(moved), False, "COMPLETE", "Intro (Remastered)")


def test_a_track_hashed_before_audio_hashes_is_located_by_its_plain_hash(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Missing at the upgrade to schema 4, it kept the plain BLAKE3 of its file as its
    content hash and has no audio hash: the same bytes still find it."""
    from blake3 import blake3

    track_id = library(db, settings, tmp_path / "music")
    moved = move_away(db, tmp_path / "music", tmp_path / "elsewhere" / "intro.flac")
    with db.write() as session:
        track = session.get(Track, track_id)
        assert track is not None
        track.content_hash = blake3(moved.read_bytes()).hexdigest()
        track.audio_hash = None

    result = locate_track(db, settings, track_id, moved)

    assert result.outcome is LocateOutcome.LOCATED
    assert not result.needs_processing
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        assert track.audio_hash  # the file's own hashes now, as processing would give
        assert track.content_hash != blake3(moved.read_bytes()).hexdigest()
