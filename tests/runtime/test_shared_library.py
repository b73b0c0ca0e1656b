"""One library in PostgreSQL shared by two hosts, each seeing the music folder at
its own path (`MUS_HOST` tells the two apart; a hard-linked copy of the folder
stands for the same files mounted elsewhere, as a NAS share on a laptop)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.queries import status_counts
from tests.runtime.conftest import mus_env, run_mus
from tools.audiogen import make_library

pytestmark = pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)


def _same_files_elsewhere(folder: Path, elsewhere: Path) -> Path:
    elsewhere.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, elsewhere, copy_function=os.link)
    return elsewhere


def test_two_hosts_share_one_library_each_with_its_own_path(
    private_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "srv" / "music", albums=2, tracks_per_album=3, broken=True)
    server_path = library.root
    laptop_path = _same_files_elsewhere(server_path, tmp_path / "mnt" / "nas" / "music")
    server, laptop = mus_env(MUS_HOST="server"), mus_env(MUS_HOST="laptop")

    imported = run_mus("import", "--wait", str(server_path), env=server, timeout=240)
    assert imported.returncode == 0, imported.stderr

    mapped = run_mus("folders", "map", str(server_path), str(laptop_path), env=laptop)
    assert mapped.returncode == 0, mapped.stderr
    assert "on this host (laptop)" in mapped.stdout

    listed = run_mus("folders", env=laptop).stdout
    assert str(laptop_path) in listed and str(server_path) not in listed
    errors = run_mus("errors", env=laptop).stdout
    assert str(laptop_path) in errors and str(server_path) not in errors
    assert str(server_path) in run_mus("folders", env=server).stdout  # the server's view

    # The laptop scanning its own path finds every file recorded: no new row.
    again = run_mus("import", "--wait", str(laptop_path), env=laptop, timeout=240)
    assert again.returncode == 0, again.stderr
    db = open_database(private_settings.database)
    try:
        assert status_counts(db)["total"] == len(library.entries)
    finally:
        db.dispose()


def test_a_folder_this_host_has_no_path_for_is_offline_and_says_why(
    private_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "srv" / "music", albums=1, tracks_per_album=2)
    added = run_mus("folders", "add", str(library.root), env=mus_env(MUS_HOST="server"))
    assert added.returncode == 0, added.stderr
    library.root.rename(tmp_path / "elsewhere")  # not at that path on the laptop

    listed = run_mus("folders", env=mus_env(MUS_HOST="laptop"))

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith("offline")
    assert "not seen from this host (laptop)" in listed.stdout
    assert f"mus folders map {library.root} LOCAL_FOLDER" in listed.stdout


def test_mapping_a_folder_that_is_not_in_the_library_is_status_2(
    settings: Settings, tmp_path: Path
) -> None:
    open_database(settings.database).dispose()

    result = run_mus("folders", "map", str(tmp_path / "nope"), str(tmp_path), env=mus_env())

    assert result.returncode == 2
    assert "is not a library folder" in result.stderr
