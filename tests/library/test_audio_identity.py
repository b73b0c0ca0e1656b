"""Identity rule 6: a file retagged and moved keeps its track by its audio hash.

A tagger that saves by writing a new file, or retags and then files the track
elsewhere, changes both the inode and the content hash: rules 3 and 4 miss it.
Real files (tools/audiogen), real scans, the real batch job in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mutagen
import pytest
from sqlalchemy import select

from mus_desktop.cli import main
from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.rows import ChangeFollower, track_detail
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from tools.audiogen import Tags, make_track

TAGS = Tags("Old Title", "Artist", "Album", "Artist", 1, 9, 1, 2001, "Rock")


def _retagged(source: Path, target: Path, title: str) -> Path:
    """What a tagger that saves by writing a new file leaves: `target`, a copy of
    `source` (a new inode) with another title, and `source` gone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    audio = mutagen.File(target, easy=True)
    audio["title"] = [title]
    audio.save()
    source.unlink()
    return target


def _tracks(db: Database) -> dict[int, Track]:
    with db.read() as session:
        return {track.id: track for track in session.scalars(select(Track))}


def _imported(db: Database, settings: Settings, root: Path) -> dict[int, Track]:
    assert run_batch(db, settings, scan(db, [root]).to_process)["error"] == 0
    return _tracks(db)


def _status_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "m4a"])
def test_a_track_retagged_and_moved_to_another_folder_keeps_its_id(
    db: Database, settings: Settings, tmp_path: Path, fmt: str
) -> None:
    song = make_track(tmp_path / "music" / "Inbox" / f"song.{fmt}", fmt, TAGS)
    [(old_id, before)] = _imported(db, settings, tmp_path / "music").items()
    follower = ChangeFollower(db)
    follower.load()

    moved = _retagged(song, tmp_path / "music" / "Artist" / "Album" / f"01 New.{fmt}", "New Title")
    report = scan(db, [tmp_path / "music"])
    assert (report.new, report.missing) == (1, 1)
    [new_id] = report.to_process
    assert run_batch(db, settings, [new_id]) == {"complete": 1, "error": 0, "skipped": 0}

    [(track_id, after)] = _tracks(db).items()
    assert track_id == old_id
    assert (after.path, after.title, after.processing_status) == (
        str(moved),
        "New Title",
        "COMPLETE",
    )
    assert after.missing_since is None
    assert after.added_at == before.added_at
    assert after.audio_hash == before.audio_hash != ""
    assert after.content_hash != before.content_hash
    changes = follower.poll()
    assert new_id in changes.removed  # the window drops the row the scan made
    assert [row.title for row in changes.rows if row.id == old_id] == ["New Title"]
    follower.close()


@pytest.fixture
def other_file_system(tmp_path: Path) -> Iterator[Path]:
    """A folder on another file system than tmp_path: in /dev/shm (a tmpfs)."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="mus-test-", dir="/dev/shm"))
    try:
        if folder.stat().st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is on the same file system as the test's folder")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_track_retagged_and_moved_to_another_file_system_keeps_its_id(
    db: Database, settings: Settings, tmp_path: Path, other_file_system: Path
) -> None:
    song = make_track(tmp_path / "music" / "song.flac", "flac", TAGS)
    [old_id] = _imported(db, settings, tmp_path / "music")
    retagged = _retagged(song, tmp_path / "music" / "retagged.flac", "Moved Title")
    moved = other_file_system / "Album" / "01 Moved Title.flac"
    moved.parent.mkdir()
    shutil.move(retagged, moved)  # across file systems: a copy, then a delete

    report = scan(db, [tmp_path / "music", other_file_system])
    assert (report.new, report.missing) == (1, 1)
    run_batch(db, settings, report.to_process)

    [(track_id, track)] = _tracks(db).items()
    assert (track_id, track.path, track.title) == (old_id, str(moved), "Moved Title")
    assert track.device == moved.stat().st_dev
    assert track.processing_status == "COMPLETE"


def test_with_two_missing_candidates_the_new_track_stays_new_and_says_why(
    db: Database, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The album version and the single: one recording, two tracks; both go, and a
    retagged copy comes back. Which one it is, nothing tells: no merge."""
    album = make_track(tmp_path / "music" / "album.mp3", "mp3", TAGS)
    single = _retagged(album, tmp_path / "music" / "single.mp3", "Single Title")
    shutil.copyfile(single, album)
    audio = mutagen.File(album, easy=True)
    audio["title"] = ["Album Title"]
    audio.save()
    tracks = _imported(db, settings, tmp_path / "music")
    first, second = sorted(tracks)
    assert tracks[first].audio_hash == tracks[second].audio_hash

    comeback = _retagged(single, tmp_path / "music" / "new" / "comeback.mp3", "Comeback")
    album.unlink()
    report = scan(db, [tmp_path / "music"])
    [new_id] = report.to_process
    run_batch(db, settings, [new_id])

    tracks = _tracks(db)
    assert sorted(tracks) == [first, second, new_id]
    assert tracks[new_id].title == "Comeback"
    assert tracks[first].missing_since is not None and tracks[second].missing_since is not None
    status = _status_json(capsys)
    assert status["unmerged"] == 1
    assert status["unmerged_tracks"] == [
        {"id": new_id, "path": str(comeback), "candidates": [first, second]}
    ]
    detail = track_detail(db, new_id)
    assert detail is not None
    assert detail.unmerged_candidates == [first, second]
    assert detail.unmerged_note == (
        f"Same recording as 2 missing tracks (#{first}, #{second}): "
        "not merged, since which one cannot be told — Locate that one to this file"
    )
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "1 new track(s) share their audio with several missing tracks" in capsys.readouterr().out


def test_an_exact_copy_is_merged_by_its_content_first(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """A missing track with the new file's very bytes (rule 4) wins over one with
    only its audio."""
    song = make_track(tmp_path / "music" / "song.ogg", "ogg", TAGS)
    retag = _retagged(song, tmp_path / "music" / "retag.ogg", "Retagged")
    shutil.copyfile(retag, song)
    audio = mutagen.File(song, easy=True)
    audio["title"] = ["Original"]
    audio.save()
    tracks = _imported(db, settings, tmp_path / "music")
    [exact] = [track_id for track_id, track in tracks.items() if track.title == "Retagged"]
    [other] = [track_id for track_id in tracks if track_id != exact]

    copy = tmp_path / "music" / "elsewhere" / "copy.ogg"
    copy.parent.mkdir()
    shutil.copyfile(retag, copy)  # the very bytes of `exact`, on a new inode
    retag.unlink()
    report = scan(db, [tmp_path / "music"])
    assert (report.new, report.missing) == (1, 1)
    run_batch(db, settings, report.to_process)

    tracks = _tracks(db)
    assert sorted(tracks) == sorted([exact, other])
    assert (tracks[exact].path, tracks[exact].missing_since) == (str(copy), None)
    assert tracks[other].title == "Original"


def test_an_edited_track_is_not_taken_for_a_missing_one(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Rule 6 is for new files: a known track retagged in place stays itself, even
    when a missing track has its audio."""
    song = make_track(tmp_path / "music" / "song.flac", "flac", TAGS)
    gone = tmp_path / "music" / "gone.flac"
    shutil.copyfile(song, gone)
    mutagen_file = mutagen.File(gone, easy=True)
    mutagen_file["title"] = ["Gone"]
    mutagen_file.save()
    tracks = _imported(db, settings, tmp_path / "music")
    gone.unlink()
    scan(db, [tmp_path / "music"])

    audio = mutagen.File(song, easy=True)
    audio["title"] = ["Edited"]
    audio.save()
    report = scan(db, [tmp_path / "music"])
    assert report.changed == 1
    run_batch(db, settings, report.to_process)

    after = _tracks(db)
    assert sorted(after) == sorted(tracks)
    [edited] = report.to_process
    assert (after[edited].title, after[edited].path) == ("Edited", str(song))
    assert sum(track.missing_since is not None for track in after.values()) == 1


def test_status_counts_exact_copies_and_the_same_recording_apart(
    db: Database, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    song = make_track(tmp_path / "music" / "a" / "song.m4a", "m4a", TAGS)
    (tmp_path / "music" / "b").mkdir()
    shutil.copyfile(song, tmp_path / "music" / "b" / "copy.m4a")  # exact copy
    shutil.copyfile(song, tmp_path / "music" / "b" / "other.m4a")
    audio = mutagen.File(tmp_path / "music" / "b" / "other.m4a", easy=True)
    audio["title"] = ["Other Tags"]
    audio.save()
    make_track(tmp_path / "music" / "c" / "alone.wav", "wav", TAGS)
    _imported(db, settings, tmp_path / "music")

    status = _status_json(capsys)

    assert (status["duplicates"], status["duplicate_groups"]) == (2, 1)
    assert (status["same_recording"], status["same_recording_groups"]) == (3, 1)
    assert (status["unmerged"], status["unmerged_tracks"]) == (0, [])
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "duplicates: 2 in 1 group(s) (exact copies)" in text
    assert "same_recording: 3 in 1 group(s) (same recording, other tags)" in text


def test_track_detail_lists_the_same_recording_with_other_tags(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    song = make_track(tmp_path / "music" / "song.mp3", "mp3", TAGS)
    other = tmp_path / "music" / "other.mp3"
    shutil.copyfile(song, other)
    audio = mutagen.File(other, easy=True)
    audio["title"] = ["Other"]
    audio.save()
    tracks = _imported(db, settings, tmp_path / "music")
    by_path = {track.path: track_id for track_id, track in tracks.items()}

    detail = track_detail(db, by_path[str(song)])

    assert detail is not None
    assert detail.same_recording == [(by_path[str(other)], str(other))]
    assert (detail.duplicates, detail.unmerged_candidates, detail.unmerged_note) == ([], [], "")


def test_a_track_missing_since_before_audio_hashes_is_still_found_by_its_bytes(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """A track that went missing before the upgrade keeps the content hash of schema 3,
    the plain BLAKE3 of its file, and no audio hash. Its file copied back from
    elsewhere is still that track (rule 4): while such a track is missing, new
    files are hashed the plain way too."""
    from blake3 import blake3

    song = make_track(tmp_path / "music" / "song.flac", "flac", TAGS)
    [track_id] = _imported(db, settings, tmp_path / "music")
    backup = tmp_path / "backup.flac"  # made while the song exists: another inode
    shutil.copyfile(song, backup)
    with db.write() as session:  # as schema 3 left it
        track = session.get(Track, track_id)
        assert track is not None
        track.content_hash, track.audio_hash = blake3(song.read_bytes()).hexdigest(), None
    song.unlink()
    assert scan(db, [tmp_path / "music"]).missing == 1

    restored = tmp_path / "music" / "restored" / "song.flac"
    restored.parent.mkdir()
    os.rename(backup, restored)  # not the song's inode: only its bytes can tell
    report = scan(db, [tmp_path / "music"])
    assert report.new == 1
    assert run_batch(db, settings, report.to_process)["complete"] == 1

    tracks = _tracks(db)
    assert list(tracks) == [track_id]
    track = tracks[track_id]
    assert (track.path, track.missing_since) == (str(restored), None)
    assert track.audio_hash  # and its hashes are today's now


def test_a_file_retagged_in_place_then_renamed_is_read_again(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """A retag that fits in the tag's padding keeps the size, and a rename the inode:
    rule 3 sees a move, and the changed mtime says the tags must be read again."""
    song = make_track(tmp_path / "music" / "a" / "song.mp3", "mp3", TAGS, pad_bytes=4096)
    [track_id] = _imported(db, settings, tmp_path / "music")
    size = song.stat().st_size
    audio = mutagen.File(song, easy=True)
    audio["title"] = ["New Title"]
    audio.save()
    assert song.stat().st_size == size  # the padding took the change
    renamed = tmp_path / "music" / "b" / "New Title.mp3"
    renamed.parent.mkdir()
    os.rename(song, renamed)

    report = scan(db, [tmp_path / "music"])

    assert (report.moved, report.new, report.missing) == (1, 0, 0)
    assert report.to_process == [track_id]
    assert run_batch(db, settings, report.to_process)["complete"] == 1
    track = _tracks(db)[track_id]
    assert (track.path, track.title) == (str(renamed), "New Title")
