"""A library shared by two hosts: one imports it, the other's window follows, each
seeing the music at its own path (tests/runtime/test_shared_library.py has the commands)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mus_desktop.config import Settings, load_settings
from mus_desktop.gui.app import try_open
from mus_desktop.gui.status import Kind
from mus_desktop.gui.window import MainWindow
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.folders import map_folder
from mus_desktop.library.models import Track
from tests.postgres_fixture import OwnLibrary
from tests.runtime.conftest import REPO_ROOT, mus_env
from tools.audiogen import make_library

pytestmark = pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)


def test_one_host_imports_and_the_other_hosts_window_follows_in_its_own_paths(
    qtbot,
    window_factory,
    offline_settings: Settings,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    library = make_library(tmp_path / "srv" / "music", albums=2, tracks_per_album=5)
    laptop_path = tmp_path / "mnt" / "nas" / "music"
    laptop_path.parent.mkdir(parents=True)
    shutil.copytree(library.root, laptop_path, copy_function=os.link)
    server = mus_env(MUS_HOST="server", MUS_REDIS_URL="", MUS_RUNTIME_DIR=str(tmp_path / "srv-run"))
    added = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "folders", "add", str(library.root)],
        env=server,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    monkeypatch.setenv("MUS_HOST", "laptop")
    map_folder(db, library.root, laptop_path)
    window = window_factory(offline_settings, db)  # this window's broker is down: no workers

    importer = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "import", "--wait", str(library.root)],
        env=server,
        cwd=REPO_ROOT,
    )
    try:
        total = len(library.entries)
        qtbot.waitUntil(
            lambda: window.model.counts().by_kind.get(Kind.COMPLETE) == total, timeout=120_000
        )
        assert importer.wait(timeout=60) == 0
    finally:
        importer.kill()

    paths = {row.path for row in window.model.rows_in(0, window.model.rowCount() - 1)}
    assert len(paths) == len(library.entries)
    assert all(path.startswith(f"{laptop_path}{os.sep}") for path in paths), paths


def _tracks_in(url: str, count: int) -> Database:
    db = open_database(url)
    with db.write() as session:
        session.add_all(Track(path=f"/music/t{n:03d}.flac") for n in range(1, count + 1))
    return db


def _says_it_cannot_read(window: MainWindow) -> bool:
    return window.status_bar.message_label.text().startswith("Cannot read the library")


def test_the_window_says_when_the_database_stops_answering_and_follows_it_again(
    qtbot, window_factory, offline_settings: Settings, own_postgres: OwnLibrary
) -> None:
    db = _tracks_in(own_postgres.url, 80)
    window = window_factory(load_settings(), db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 80)

    own_postgres.server.stop(immediately=True)
    qtbot.waitUntil(lambda: _says_it_cannot_read(window), timeout=10_000)
    assert window.model.rowCount() == 80  # what was read stays shown
    own_postgres.server.start()
    writer = subprocess.run(
        [sys.executable, "-m", "tests.gui.status_writer", own_postgres.url],
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert writer.returncode == 0

    qtbot.waitUntil(lambda: window.model.counts().by_kind.get(Kind.COMPLETE) == 78, timeout=30_000)
    assert window.status_bar.message_label.text() in ("The library answers again", "")
    db.dispose()


def test_the_window_opens_while_the_database_server_is_down_and_reads_it_once_up(
    qtbot, window_factory, offline_settings: Settings, own_postgres: OwnLibrary
) -> None:
    _tracks_in(own_postgres.url, 30).dispose()
    own_postgres.server.stop(immediately=True)
    settings = load_settings()

    opened = try_open(settings)

    assert isinstance(opened, Database)
    window = window_factory(settings, opened)
    qtbot.waitUntil(lambda: _says_it_cannot_read(window), timeout=15_000)
    assert window.model.rowCount() == 0
    own_postgres.server.start()
    qtbot.waitUntil(lambda: window.model.rowCount() == 30, timeout=30_000)
    assert window.status_bar.message_label.text() == "The library answers again"
    opened.dispose()
