"""The scanner on a real library of real audio files: the five identity rules."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from mus_desktop.library import scanner
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.paths import display_path
from mus_desktop.library.scanner import scan
from tools.audiogen import Manifest, Tags, make_library, make_track

PENDING = ProcessingStatus.PENDING.value
COMPLETE = ProcessingStatus.COMPLETE.value


@pytest.fixture
def library(tmp_path: Path) -> Manifest:
    return make_library(tmp_path / "music", albums=5, tracks_per_album=3)


def tags(title: str) -> Tags:
    return Tags(title, "Artist", "Album", "Artist", 1, 1, 1, 2024, "Test")


def rows(db: Database) -> dict[str, tuple]:
    """Every column of every track, by path."""
    with db.read() as session:
        tracks = session.scalars(select(Track)).all()
    columns = [column.key for column in Track.__mapper__.column_attrs]
    return {t.path: tuple(getattr(t, c) for c in columns) for t in tracks}


def ids_by_path(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {path: track_id for path, track_id in session.execute(select(Track.path, Track.id))}


def mark_all_complete(db: Database) -> None:
    """Stand-in for the workers (tested elsewhere) so status changes are visible."""
    with db.write() as session:
        for track in session.scalars(select(Track)):
            track.processing_status = COMPLETE


def test_first_import_records_every_format(db: Database, library: Manifest) -> None:
    report = scan(db, [library.root])
    assert report.new == len(library.entries) == 15
    assert len(report.to_process) == 15
    with db.read() as session:
        tracks = session.scalars(select(Track)).all()
    assert {os.path.splitext(t.path)[1] for t in tracks} == {
        ".mp3",
        ".flac",
        ".ogg",
        ".opus",
        ".m4a",
    }
    for track in tracks:
        st = os.stat(track.path)
        assert (track.device, track.inode, track.size) == (st.st_dev, st.st_ino, st.st_size)
        assert track.processing_status == PENDING


def test_new_files_inserted_in_parts_are_each_recorded_once(
    db: Database, library: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large first import inserts its rows a part at a time (memory); parts of 4
    over 15 files: every file recorded once, every new id queued."""
    monkeypatch.setattr(scanner, "INSERT_ROWS", 4)
    report = scan(db, [library.root])
    recorded = ids_by_path(db)
    assert report.new == len(recorded) == 15
    assert sorted(report.to_process) == sorted(recorded.values())
    assert {display_path(path) for path in recorded} == {str(e.path) for e in library.entries}


def test_unchanged_rescan_rewrites_no_row(db: Database, library: Manifest) -> None:
    scan(db, [library.root])
    mark_all_complete(db)
    before = rows(db)
    with db.engine.connect() as conn:
        counter = conn.exec_driver_sql("SELECT value FROM change_counter").scalar()

    report = scan(db, [library.root])

    assert (report.new, report.changed, report.moved, report.missing) == (0, 0, 0, 0)
    assert report.unchanged == 15
    assert report.to_process == []
    assert rows(db) == before  # includes updated_at and change_seq
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM change_counter").scalar() == counter


def test_rename_and_album_move_keep_ids(db: Database, library: Manifest) -> None:
    scan(db, [library.root])
    mark_all_complete(db)
    ids = ids_by_path(db)
    renamed_from = Path(library.entries[0].path)
    renamed_to = renamed_from.with_name("renamed " + renamed_from.name)
    renamed_from.rename(renamed_to)
    album = Path(library.entries[3].path).parent
    album_tracks = {p: i for p, i in ids.items() if Path(p).parent == album}
    moved_album = library.root / "Elsewhere" / album.name
    moved_album.parent.mkdir()
    shutil.move(album, moved_album)

    report = scan(db, [library.root])

    assert report.moved == 1 + len(album_tracks)
    assert report.new == 0 and report.missing == 0 and report.to_process == []
    after = ids_by_path(db)
    assert after[str(renamed_to)] == ids[str(renamed_from)]
    for old_path, track_id in album_tracks.items():
        assert after[str(moved_album / Path(old_path).name)] == track_id
    with db.read() as session:
        assert {t.processing_status for t in session.scalars(select(Track))} == {COMPLETE}


def test_edited_file_goes_back_to_pending(db: Database, library: Manifest) -> None:
    scan(db, [library.root])
    mark_all_complete(db)
    entry = library.entries[1]
    track_id = ids_by_path(db)[entry.path]
    assert entry.tags is not None
    make_track(
        Path(entry.path), entry.format or "mp3", Tags(**{**vars(entry.tags), "title": "Edited"})
    )
    stat = os.stat(entry.path)
    os.utime(entry.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    report = scan(db, [library.root])

    assert report.changed == 1 and report.to_process == [track_id]
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        assert track.processing_status == PENDING
        assert track.size == os.stat(entry.path).st_size


def test_deleted_file_is_marked_missing_and_found_again(db: Database, library: Manifest) -> None:
    scan(db, [library.root])
    mark_all_complete(db)
    entry = library.entries[2]
    track_id = ids_by_path(db)[entry.path]
    saved = Path(entry.path).read_bytes()
    stat = os.stat(entry.path)
    os.remove(entry.path)

    report = scan(db, [library.root])

    assert report.missing == 1
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None and track.missing_since is not None
        assert track.processing_status == COMPLETE  # nothing recorded is lost
    Path(entry.path).write_bytes(saved)
    os.utime(entry.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    report = scan(db, [library.root])

    assert report.returned == 1 and report.new == 0
    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None and track.missing_since is None
        assert track.processing_status == COMPLETE


def test_scanning_one_folder_leaves_tracks_of_another_alone(
    db: Database, library: Manifest
) -> None:
    scan(db, [library.root])
    other = library.root.parent / "other"
    other.mkdir()
    make_track(other / "single.mp3", "mp3", tags("Single"))
    scan(db, [other])
    assert len(ids_by_path(db)) == 16
    with db.read() as session:
        assert session.scalar(select(Track).where(Track.missing_since.is_not(None))) is None


def test_odd_names_are_stored_losslessly(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    raw_name = os.fsdecode(b"caf\xe9 \xff bad bytes.mp3")  # Latin-1, not UTF-8
    make_track(folder / raw_name, "mp3", tags("Odd"))
    make_track(folder / "new\nline and ünïcödé.flac", "flac", tags("Newline"))

    report = scan(db, [folder])

    assert report.new == 2
    paths = set(ids_by_path(db))
    assert str(folder / raw_name) in paths
    assert os.path.exists(str(folder / raw_name))
    assert "\ufffd" in display_path(str(folder / raw_name))
    assert scan(db, [folder]).unchanged == 2


def test_symlink_loop_and_unreadable_input_are_reported_not_fatal(
    db: Database, library: Manifest, tmp_path: Path
) -> None:
    (library.root / "loop").symlink_to(library.root)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not music")

    report = scan(db, [library.root, tmp_path / "nowhere", text_file])

    assert report.new == 15  # the loop is walked once
    assert not report.fatal
    assert any("nowhere: no such file or folder" in p for p in report.problems)
    assert any("notes.txt: not a folder or an audio file" in p for p in report.problems)
    assert scan(db, [tmp_path / "nowhere"]).fatal


def test_a_single_audio_file_can_be_imported(db: Database, library: Manifest) -> None:
    report = scan(db, [library.entries[0].path])
    assert report.new == 1


def test_two_imports_of_the_same_folder_at_once_record_each_file_once(
    db: Database, library: Manifest
) -> None:
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(scan(db, [library.root]))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.new for r in reports) == [0, 15]
    assert len(ids_by_path(db)) == 15


def test_audio_names_that_are_not_regular_files_are_reported(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    make_track(folder / "real.mp3", "mp3", tags("Real"))
    os.mkfifo(folder / "x.mp3")
    (folder / "null.flac").symlink_to("/dev/null")

    report = scan(db, [folder])

    assert report.new == 1
    assert list(ids_by_path(db)) == [str(folder / "real.mp3")]
    assert sorted(report.problems) == [
        f"{folder}/null.flac: not a regular file (a character device), skipped",
        f"{folder}/x.mp3: not a regular file (a FIFO), skipped",
    ]


def test_links_out_of_the_music_folders_are_skipped_at_every_scan(
    db: Database, tmp_path: Path
) -> None:
    """A worker would refuse them (outside the music folders); recorded, they would
    come back and fail again at every rescan."""
    music, outside = tmp_path / "music", tmp_path / "outside"
    music.mkdir()
    outside.mkdir()
    make_track(music / "real.mp3", "mp3", tags("Real"))
    make_track(outside / "escape.flac", "flac", tags("Escape"))
    (music / "escape.flac").symlink_to(outside / "escape.flac")
    (music / "away").symlink_to(outside)

    for first in (True, False):
        report = scan(db, [music], music_roots=[music])
        assert list(ids_by_path(db)) == [str(music / "real.mp3")]
        assert (report.new, report.returned, report.missing) == (int(first), 0, 0)
        assert sorted(report.problems) == [
            f"{music}/away: a link outside the music folders ({outside}), skipped",
            f"{music}/escape.flac: a link outside the music folders "
            f"({outside}/escape.flac), skipped",
        ]
    assert scan(db, [music]).new == 2  # no music folders set: both links are followed
