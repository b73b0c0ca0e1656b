"""Library folders as data (library/folders.py): adding, nesting, counting, removing,
when a root cannot be taken at its word, and the schema upgrade that brings them."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import select

from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.folders import (
    add_folders,
    count_present,
    count_tracks,
    find_folder,
    list_folders,
    offline_reason,
    remove_folder,
)
from mus_desktop.library.migrations import SCHEMA_VERSION
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from tools.audiogen import make_library


def folder_paths(db: Database) -> list[str]:
    return [folder.path for folder in list_folders(db)]


def track_paths(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(Track.path)))


def test_a_folder_is_added(db: Database, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    music.mkdir()

    report = add_folders(db, [music])

    assert report.added == [str(music)]
    assert report.lines() == [f"added {music}"]
    assert folder_paths(db) == [str(music)]
    assert find_folder(db, music) == str(music)
    assert find_folder(db, f"{music}/") == str(music)  # as recorded, whatever the spelling


def test_adding_a_library_folder_again_says_so(db: Database, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    add_folders(db, [music])

    report = add_folders(db, [f"{music}/./"])

    assert report.added == []
    assert report.lines() == [f"{music} is already a library folder"]
    assert folder_paths(db) == [str(music)]


def test_a_folder_inside_a_library_folder_is_already_followed(db: Database, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    inside = music / "Jazz" / "Miles"
    inside.mkdir(parents=True)
    add_folders(db, [music])

    report = add_folders(db, [inside])

    assert report.added == [] and report.absorbed == []
    assert report.lines() == [f"{inside} is already followed, inside {music}"]
    assert folder_paths(db) == [str(music)]


def test_a_parent_absorbs_the_library_folders_inside_it(db: Database, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    jazz, rock = music / "Jazz", music / "Rock"
    jazz.mkdir(parents=True)
    rock.mkdir()
    add_folders(db, [jazz, rock])
    assert folder_paths(db) == [str(jazz), str(rock)]

    report = add_folders(db, [music])

    assert report.added == [str(music)]
    assert sorted(report.absorbed) == [(str(jazz), str(music)), (str(rock), str(music))]
    assert f"{jazz} is now part of {music}" in report.lines()
    assert f"{rock} is now part of {music}" in report.lines()
    assert folder_paths(db) == [str(music)]


def test_a_parent_given_with_its_child_records_the_parent_only(
    db: Database, tmp_path: Path
) -> None:
    music = tmp_path / "Music"
    jazz = music / "Jazz"
    jazz.mkdir(parents=True)

    report = add_folders(db, [jazz, music])

    assert report.added == [str(music)]
    assert folder_paths(db) == [str(music)]


def test_a_path_that_is_not_a_folder_is_refused(db: Database, tmp_path: Path) -> None:
    a_file = tmp_path / "song.mp3"
    a_file.write_bytes(b"not a folder")
    nowhere = tmp_path / "nowhere"

    report = add_folders(db, [a_file, nowhere])

    assert report.added == []
    assert report.refused == [(str(a_file), "not a folder"), (str(nowhere), "no such folder")]
    assert report.lines() == [f"{a_file}: not a folder", f"{nowhere}: no such folder"]
    assert folder_paths(db) == []


def test_list_folders_counts_tracks_and_missing_per_folder(db: Database, tmp_path: Path) -> None:
    one = make_library(tmp_path / "One", albums=2, tracks_per_album=3, formats=("mp3",))
    two = make_library(tmp_path / "Two", albums=1, tracks_per_album=2, formats=("flac",))
    add_folders(db, [one.root, two.root])
    scan(db, [one.root, two.root])
    os.remove(one.entries[0].path)
    os.remove(one.entries[4].path)
    scan(db, [one.root])

    folders = {folder.path: folder for folder in list_folders(db)}

    assert (folders[str(one.root)].tracks, folders[str(one.root)].missing) == (6, 2)
    assert (folders[str(two.root)].tracks, folders[str(two.root)].missing) == (2, 0)
    assert count_tracks(db, str(one.root)) == 6
    assert count_present(db, str(one.root)) == 4
    assert count_present(db, str(two.root)) == 2
    assert folders[str(one.root)].watch_mode is None  # never watched yet
    assert folders[str(one.root)].last_scan_at is None


def test_remove_folder_forgets_exactly_its_tracks_and_leaves_the_files(
    db: Database, tmp_path: Path
) -> None:
    """Siblings whose names start like it (Music2, Music-live, Music.old) keep theirs."""
    libraries = {
        name: make_library(tmp_path / name, albums=1, tracks_per_album=2, formats=("mp3",))
        for name in ("Music", "Music2", "Music-live", "Music.old")
    }
    roots = [library.root for library in libraries.values()]
    add_folders(db, roots)
    scan(db, roots)
    music = str(libraries["Music"].root)
    assert count_tracks(db, music) == 2

    forgotten = remove_folder(db, music)

    assert forgotten == 2
    assert folder_paths(db) == sorted(str(root) for root in roots if str(root) != music)
    kept = track_paths(db)
    assert len(kept) == 6
    assert not any(path.startswith(music + os.sep) for path in kept)
    for name in ("Music2", "Music-live", "Music.old"):
        assert {entry.path for entry in libraries[name].entries} <= kept, name
    assert all(os.path.exists(entry.path) for entry in libraries["Music"].entries)


def test_offline_reason_of_a_gone_root(tmp_path: Path) -> None:
    reason = offline_reason(str(tmp_path / "unplugged"), 12)

    assert reason is not None and "gone" in reason


def test_offline_reason_of_an_empty_root_that_held_tracks(tmp_path: Path) -> None:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()

    reason = offline_reason(str(mount_point), 12)

    assert reason is not None
    assert "empty" in reason and "12 track(s)" in reason and "not mounted" in reason


def test_a_root_emptied_on_the_disk_it_was_scanned_on_is_not_offline(tmp_path: Path) -> None:
    """An unmounted mount point is an empty folder on the disk beneath; an empty root
    on the device its last full scan saw was emptied, and its tracks are missing."""
    folder = tmp_path / "Music"
    folder.mkdir()
    scanned_on = folder.stat().st_dev

    assert offline_reason(str(folder), 12, scanned_on) is None
    assert offline_reason(str(folder), 12, scanned_on + 1) is not None  # another disk was there


def test_offline_reason_of_a_root_that_became_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "disk"
    a_file.write_text("")

    reason = offline_reason(str(a_file), 1)

    assert reason is not None and "not a folder" in reason


def test_a_root_that_is_fine_has_no_offline_reason(tmp_path: Path) -> None:
    empty = tmp_path / "new"
    empty.mkdir()
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=1, formats=("mp3",))

    assert offline_reason(str(empty), 0) is None  # empty, and the library knows nothing in it
    assert offline_reason(str(library.root), 1) is None
    assert offline_reason(str(library.root), 0) is None


def test_a_version_2_database_gains_library_folders_and_keeps_its_tracks(tmp_path: Path) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=2, formats=("mp3",))
    db_path = tmp_path / "library.db"
    database = open_database(db_path)
    scan(database, [library.root])
    with database.read() as session:
        before = {
            path: track_id for path, track_id in session.execute(select(Track.path, Track.id))
        }
    database.dispose()
    with closing(sqlite3.connect(db_path)) as connection:  # back to what version 2 made
        connection.executescript("DROP TABLE library_folder; PRAGMA user_version = 2;")

    database = open_database(db_path)
    try:
        with database.read() as session:
            after = {
                path: track_id for path, track_id in session.execute(select(Track.path, Track.id))
            }
        assert after == before and len(after) == 4
        assert database.settings()["schema_version"] == SCHEMA_VERSION
        assert list_folders(database) == []
        add_folders(database, [library.root])
        folders = list_folders(database)
        assert [(folder.path, folder.tracks) for folder in folders] == [(str(library.root), 4)]
    finally:
        database.dispose()
    with closing(sqlite3.connect(db_path)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "library_folder" in tables
