"""A shared library's folder that this host sees on a network file system is left
to the host that has it on a local disk: not watched, not scanned from here.

No network file system can be mounted in the tests, so the mount table's answer
for that one folder is replaced (`file_system_of`); the library, the scans and
the watcher are real.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mus_desktop.config import load_settings
from mus_desktop.library import mounts
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.folders import add_folders, list_folders, record_watch_state
from mus_desktop.library.models import WatchMode
from mus_desktop.library.paths import is_within
from mus_desktop.watching.watcher import FolderState, FolderWatcher
from tests.runtime.conftest import wait_until
from tests.watching.conftest import rows
from tools.audiogen import make_library

pytestmark = pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)


def _watch(db: Database) -> tuple[FolderWatcher, list[list[FolderState]]]:
    states: list[list[FolderState]] = []
    lock = threading.Lock()

    def folders_changed(found: list[FolderState]) -> None:
        with lock:
            states.append(found)

    watcher = FolderWatcher(db, load_settings(), lambda _report: None, folders_changed)
    watcher.start()
    wait_until(lambda: watcher.scans >= 1, "the catch-up scan", 30)
    return watcher, states


@pytest.mark.parametrize("follow_remote", [False, True])
def test_a_folder_on_a_network_file_system_here_is_left_to_the_host_that_has_it(
    settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, follow_remote: bool
) -> None:
    nas = make_library(tmp_path / "nas", albums=1, tracks_per_album=2).root
    local = make_library(tmp_path / "local", albums=1, tracks_per_album=3, seed=5).root
    monkeypatch.setenv("MUS_WATCH", "events")
    monkeypatch.setenv("MUS_FOLLOW_REMOTE", "1" if follow_remote else "0")
    db = open_database(load_settings().database)
    add_folders(db, [nas, local])
    record_watch_state(db, str(nas), WatchMode.EVENTS.value, None)  # as its host left it
    monkeypatch.setattr(
        mounts,
        "file_system_of",
        lambda folder: "cifs" if is_within(folder, str(nas)) else "ext4",
    )

    watcher, _states = _watch(db)
    try:
        (nas_state,) = [state for state in watcher.states() if state.path == str(nas)]
        paths = set(rows(db))
        recorded = {folder.path: folder.watch_mode for folder in list_folders(db)}
    finally:
        watcher.stop()
        db.dispose()

    local_paths = {p for p in paths if is_within(p, str(local))}
    assert len(local_paths) == 3
    if follow_remote:
        assert nas_state.mode == WatchMode.EVENTS.value
        assert len(paths) == 5
    else:
        assert nas_state.mode == WatchMode.OFFLINE.value
        assert "on a cifs file system here" in (nas_state.error or "")
        assert "MUS_FOLLOW_REMOTE=1" in (nas_state.error or "")
        assert paths == local_paths  # nothing of the share was scanned from here
        assert recorded[str(nas)] == WatchMode.EVENTS.value  # its host's word stays
