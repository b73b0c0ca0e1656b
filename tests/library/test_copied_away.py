"""Rule 5's exception: a track that goes missing while exactly one newer copy of its
content is present is that copy, moved across file systems by copy-then-delete (a file
manager moving folders to another disk copies everything, then deletes the originals)."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select, update

from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from tools.audiogen import Tags, make_track

TAGS = Tags("Moving", "Artist", "Album", "Artist", 1, 1, 1, 2001, "Rock")


def _processed(db: Database, path: Path, digest: str) -> int:
    """The track at `path` as the batch job leaves it: its content hash known."""
    with db.write() as session:
        session.execute(
            update(Track)
            .where(Track.path == str(path))
            .values(content_hash=digest, processing_status="COMPLETE", title="Moving")
        )
        return session.scalars(select(Track.id).where(Track.path == str(path))).one()


def _tracks(db: Database) -> dict[int, tuple[str, bool, str | None]]:
    with db.read() as session:
        return {
            track.id: (track.path, track.missing_since is not None, track.title)
            for track in session.scalars(select(Track))
        }


def test_the_original_gone_after_its_copy_was_found_keeps_its_id(db: Database, tmp_path: Path):
    original = make_track(tmp_path / "drive" / "song.flac", "flac", TAGS)
    scan(db, [tmp_path / "drive"])
    old_id = _processed(db, original, "a" * 64)
    copy = tmp_path / "disk" / "song.flac"
    copy.parent.mkdir()
    shutil.copy2(original, copy)
    scan(db, [tmp_path / "disk"])
    _processed(db, copy, "a" * 64)  # found and processed while the original is still there

    original.unlink()
    report = scan(db, [tmp_path / "drive"])

    assert (report.moved, report.missing) == (1, 0)
    assert _tracks(db) == {old_id: (str(copy), False, "Moving")}


def test_with_two_copies_the_lost_track_stays_missing(db: Database, tmp_path: Path):
    original = make_track(tmp_path / "drive" / "song.flac", "flac", TAGS)
    scan(db, [tmp_path / "drive"])
    old_id = _processed(db, original, "b" * 64)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        shutil.copy2(original, tmp_path / name / "song.flac")
        scan(db, [tmp_path / name])
        _processed(db, tmp_path / name / "song.flac", "b" * 64)

    original.unlink()
    report = scan(db, [tmp_path / "drive"])

    assert (report.moved, report.missing) == (0, 1)
    tracks = _tracks(db)
    assert len(tracks) == 3
    assert tracks[old_id] == (str(original), True, "Moving")


def test_an_older_duplicate_does_not_take_a_newer_tracks_place(db: Database, tmp_path: Path):
    """The copy that stays must be newer than the track that went: deleting the newer of
    two duplicates leaves it missing, as any deleted file."""
    first = make_track(tmp_path / "a" / "song.flac", "flac", TAGS)
    scan(db, [tmp_path / "a"])
    _processed(db, first, "c" * 64)
    (tmp_path / "b").mkdir()
    second = tmp_path / "b" / "song.flac"
    shutil.copy2(first, second)
    scan(db, [tmp_path / "b"])
    second_id = _processed(db, second, "c" * 64)

    second.unlink()
    report = scan(db, [tmp_path / "b"])

    assert (report.moved, report.missing) == (0, 1)
    assert _tracks(db)[second_id][1] is True
