"""`mus folders` as a person runs it: listing, adding and removing library folders."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from mus_desktop.config import Settings
from tests.runtime.conftest import mus_env, run_mus
from tools.audiogen import make_library


def track_count(settings: Settings) -> int:
    with closing(sqlite3.connect(settings.db_path)) as connection:
        return int(connection.execute("SELECT count(*) FROM track").fetchone()[0])


def listed(settings: Settings) -> list[dict]:
    result = run_mus("folders", "--json", env=mus_env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_folders_without_a_library_is_a_clear_error_and_creates_nothing(
    settings: Settings,
) -> None:
    result = run_mus("folders", env=mus_env())

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"mus: no library at {settings.db_path}"), result.stderr
    assert "`mus import FOLDER` creates it" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not settings.db_path.exists()


def test_an_imported_folder_is_listed_with_its_tracks(
    broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=2, tracks_per_album=3, formats=("mp3",))

    imported = run_mus("import", str(library.root), env=mus_env())
    assert imported.returncode == 0, imported.stderr
    assert f"library folder: {library.root}" in imported.stdout

    result = run_mus("folders", env=mus_env())
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["mode", "tracks", "missing", "last", "scan", "folder"]
    assert row.endswith(str(library.root))
    assert row.split()[:3] == ["unwatched", "6", "0"]  # no watcher has followed it yet

    (folder,) = listed(broker_settings)
    assert folder["path"] == str(library.root)
    assert (folder["tracks"], folder["missing"], folder["mode"]) == (6, 0, None)
    assert folder["added_at"]


def test_folders_json_is_valid_json_with_one_entry_per_folder(
    settings: Settings, tmp_path: Path
) -> None:
    for name in ("Jazz", "Rock"):
        (tmp_path / name).mkdir()
    added = run_mus("folders", "add", str(tmp_path / "Jazz"), str(tmp_path / "Rock"), env=mus_env())
    assert added.returncode == 0, added.stderr

    folders = listed(settings)

    assert [folder["path"] for folder in folders] == [
        str(tmp_path / "Jazz"),
        str(tmp_path / "Rock"),
    ]
    assert all(folder["tracks"] == 0 and folder["last_scan_at"] is None for folder in folders)


def test_adding_a_folder_inside_a_library_folder_says_it_is_already_followed(
    broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=1, tracks_per_album=2, formats=("flac",))
    assert run_mus("import", str(library.root), env=mus_env()).returncode == 0
    inside = Path(library.entries[0].path).parent

    result = run_mus("folders", "add", str(inside), env=mus_env())

    assert result.returncode == 0, result.stderr
    assert f"{inside} is already followed, inside {library.root}" in result.stdout
    assert [folder["path"] for folder in listed(broker_settings)] == [str(library.root)]


def test_adding_a_parent_absorbs_the_library_folders_inside_it(
    settings: Settings, tmp_path: Path
) -> None:
    jazz = tmp_path / "Music" / "Jazz"
    jazz.mkdir(parents=True)
    assert run_mus("folders", "add", str(jazz), env=mus_env()).returncode == 0

    result = run_mus("folders", "add", str(tmp_path / "Music"), env=mus_env())

    assert result.returncode == 0, result.stderr
    assert f"{jazz} is now part of {tmp_path / 'Music'}" in result.stdout
    assert [folder["path"] for folder in listed(settings)] == [str(tmp_path / "Music")]


def test_adding_what_is_not_a_folder_is_refused(settings: Settings, tmp_path: Path) -> None:
    result = run_mus("folders", "add", str(tmp_path / "nowhere"), env=mus_env())

    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere'}: no such folder" in result.stdout + result.stderr
    assert listed(settings) == []


def test_removing_a_folder_forgets_its_tracks_and_leaves_the_files(
    broker_settings: Settings, tmp_path: Path
) -> None:
    music = make_library(tmp_path / "Music", albums=1, tracks_per_album=3, formats=("ogg",))
    music2 = make_library(tmp_path / "Music2", albums=1, tracks_per_album=2, formats=("ogg",))
    for library in (music, music2):
        assert run_mus("import", str(library.root), env=mus_env()).returncode == 0
    assert track_count(broker_settings) == 5

    result = run_mus("folders", "remove", str(music.root), env=mus_env())

    assert result.returncode == 0, result.stderr
    assert f"forgetting {music.root} and its 3 track(s); no file is touched" in result.stdout
    assert "3 track(s) forgotten" in result.stdout
    assert track_count(broker_settings) == 2  # Music2's, though its name starts the same
    assert all(os.path.exists(entry.path) for entry in music.entries)
    assert [folder["path"] for folder in listed(broker_settings)] == [str(music2.root)]


def test_removing_what_is_not_a_library_folder_is_a_clear_error(
    broker_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=1, tracks_per_album=1, formats=("mp3",))
    assert run_mus("import", str(library.root), env=mus_env()).returncode == 0

    result = run_mus("folders", "remove", "/not/a/folder", env=mus_env())

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mus: /not/a/folder is not a library folder (`mus folders` lists them)"
    ]
    assert track_count(broker_settings) == 1
    assert len(listed(broker_settings)) == 1
