"""A library folder whose root goes away (a drive unplugged, a share unmounted) goes
offline: its tracks are not marked missing, and it comes back by itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.library.folders import list_folders
from mus_desktop.library.models import WatchMode
from mus_desktop.watching.watcher import CHECK_SECONDS
from tests.runtime.conftest import wait_until
from tests.watching.conftest import Following, tmpfs, unmount, unmount_all
from tools.audiogen import make_library

pytestmark = pytest.mark.slow

Follow = Callable[..., Following]
OFFLINE = WatchMode.OFFLINE.value


def recorded_mode(following: Following, folder: Path) -> tuple[str | None, str | None]:
    """The mode and reason the watcher recorded for `folder` (what `mus folders` shows)."""
    (recorded,) = [f for f in list_folders(following.db) if f.path == str(folder)]
    return recorded.watch_mode, recorded.watch_error


def reason(following: Following, folder: Path) -> str:
    """Why the watcher says `folder` is not followed by events."""
    state = following.state(folder)
    assert state is not None and state.error is not None, state
    return state.error


def assert_offline_keeps_tracks(following: Following, folder: Path, known: dict) -> None:
    """Offline, whatever is scanned meanwhile, no track of it is missing (nor any
    other track changed: the other library folder, `Other`, is scanned too)."""
    following.wait_state(folder, [OFFLINE])
    assert reason(following, folder)
    wait_until(lambda: recorded_mode(following, folder)[0] == OFFLINE, "the offline mode recorded")
    scans = following.watcher.scans
    following.watcher.rescan_all()  # a full scan meanwhile (the periodic one, say)
    wait_until(lambda: following.watcher.scans > scans, "a full scan of the folder still online")
    time.sleep(CHECK_SECONDS + 0.5)  # and a check of the roots, for good measure
    assert following.rows() == known, "an offline folder's tracks must stay as they were"


def test_a_library_folder_renamed_away_goes_offline_and_comes_back(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=2, tracks_per_album=2, formats=("mp3",))
    root = library.root
    other = make_library(tmp_path / "Other", albums=1, tracks_per_album=1, seed=9).root
    following = follow([root, other], workers=False)
    following.wait_state(root, [watch_mode])
    known = following.wait_rows(lambda found: len(found) == 5, "the catch-up scan's tracks")
    away = tmp_path / "Music (unplugged)"

    os.rename(root, away)
    try:
        assert_offline_keeps_tracks(following, root, known)
        error = reason(following, root)
        assert "gone" in error
        assert recorded_mode(following, root)[1] == error  # what `mus folders` shows
    finally:
        os.rename(away, root)

    following.wait_state(root, [watch_mode])
    back = following.wait_rows(
        lambda found: len(found) == 5 and not any(row.missing for row in found.values()),
        "the tracks to be present again",
    )
    assert {path: row.id for path, row in back.items()} == {
        path: row.id for path, row in known.items()
    }
    wait_until(lambda: recorded_mode(following, root)[0] == watch_mode, "the mode recorded again")
    # and it is followed again: a file added now is found
    make_library(root / "Later", albums=1, tracks_per_album=1, formats=("flac",), seed=3)
    following.wait_rows(lambda found: len(found) == 6, "a file added after it came back")


def test_an_unmounted_library_folder_goes_offline_and_comes_back(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    """A real unmount: the mount point stays, empty. It comes back as another mount
    with the same files (copied with their times): the same tracks, present."""
    album = make_library(tmp_path / "album", albums=2, tracks_per_album=2, formats=("ogg",))
    disk = tmp_path / "Disk"
    again = tmp_path / "again"
    with tmpfs(disk):
        shutil.copytree(album.root, disk, dirs_exist_ok=True)
        other = make_library(tmp_path / "Other", albums=1, tracks_per_album=1, seed=9).root
        following = follow([disk, other], workers=False)
        following.wait_state(disk, [watch_mode])
        known = following.wait_rows(lambda found: len(found) == 5, "the catch-up scan's tracks")
        try:
            unmount(disk)
            assert os.listdir(disk) == []
            assert_offline_keeps_tracks(following, disk, known)
            assert "not mounted" in reason(following, disk)

            with tmpfs(again):  # the drive plugged in again: all its files appear at once
                shutil.copytree(album.root, again, dirs_exist_ok=True)
                subprocess.run(["mount", "--bind", str(again), str(disk)], check=True)
                following.wait_state(disk, [watch_mode])
                back = following.wait_rows(
                    lambda found: (
                        len(found) == 5 and not any(row.missing for row in found.values())
                    ),
                    "the tracks to be present again",
                )
                assert {path: row.id for path, row in back.items()} == {
                    path: row.id for path, row in known.items()
                }
                following.watcher.stop()  # before the mounts go, or it goes offline again
                unmount_all(disk)
        finally:
            following.watcher.stop()
            unmount_all(disk)


def test_a_library_folder_emptied_on_its_own_disk_marks_its_tracks_missing(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    """Not every empty root is an unmounted disk: one emptied where it was last scanned
    (every album deleted) is taken at its word."""
    library = make_library(tmp_path / "Music", albums=2, tracks_per_album=1, formats=("mp3",))
    following = follow([library.root], workers=False)
    wait_until(lambda: list_folders(following.db)[0].last_scan_at is not None, "the catch-up scan")
    for album in list(library.root.iterdir()):
        shutil.rmtree(album)

    found = following.wait_rows(
        lambda rows: len(rows) == 2 and all(row.missing for row in rows.values()),
        "the deleted tracks to be missing",
    )
    assert len(found) == 2
    assert following.state(library.root).mode == watch_mode
