"""A running watcher follows the list of library folders: one added (by `mus folders
add`, an import, the window) is caught up and watched, one removed is dropped."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.library.folders import add_folders, remove_folder
from mus_desktop.watching.changes import QUIET_SECONDS
from mus_desktop.watching.watcher import CHECK_SECONDS
from tests.runtime.conftest import wait_until
from tests.watching.conftest import Following, under
from tools.audiogen import make_library

pytestmark = pytest.mark.slow

Follow = Callable[..., Following]


def test_a_folder_added_while_watching_is_caught_up_and_followed(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    first = make_library(tmp_path / "First", albums=1, tracks_per_album=1, formats=("mp3",))
    following = follow([first.root], workers=False)
    later = make_library(tmp_path / "Later", albums=2, tracks_per_album=2, formats=("flac",))

    add_folders(following.db, [later.root])  # as `mus folders add` does, from elsewhere

    following.wait_state(later.root, [watch_mode])
    following.wait_rows(lambda found: len(under(found, later.root)) == 4, "its catch-up scan")
    make_library(later.root / "More", albums=1, tracks_per_album=2, formats=("ogg",), seed=2)
    following.wait_rows(
        lambda found: len(under(found, later.root)) == 6, "a file added to it afterwards"
    )


def test_a_folder_removed_while_watching_is_dropped(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    kept = make_library(tmp_path / "Kept", albums=1, tracks_per_album=1, formats=("mp3",))
    dropped = make_library(tmp_path / "Dropped", albums=1, tracks_per_album=2, formats=("mp3",))
    following = follow([kept.root, dropped.root], workers=False)
    following.wait_rows(lambda found: len(found) == 3, "the catch-up scan")

    assert remove_folder(following.db, str(dropped.root)) == 2  # `mus folders remove`

    wait_until(lambda: following.state(dropped.root) is None, "the watcher to drop it")
    make_library(dropped.root / "More", albums=1, tracks_per_album=2, formats=("ogg",), seed=2)
    make_library(kept.root / "More", albums=1, tracks_per_album=1, formats=("ogg",), seed=3)
    following.wait_rows(lambda found: len(under(found, kept.root)) == 2, "the kept one followed")
    time.sleep(QUIET_SECONDS + CHECK_SECONDS)
    assert under(following.rows(), dropped.root) == {}, "a removed folder is not followed"


def test_changes_in_a_folder_just_removed_do_not_bring_its_tracks_back(
    follow: Follow, watch_mode: str, tmp_path: Path
) -> None:
    """A folder removed while its files change (a download finishing, say): the
    watcher may still have it pending, but must not record tracks for it again."""
    kept = make_library(tmp_path / "Kept", albums=1, tracks_per_album=1, formats=("mp3",))
    dropped = make_library(tmp_path / "Dropped", albums=1, tracks_per_album=2, formats=("mp3",))
    following = follow([kept.root, dropped.root], workers=False)
    # just after the catch-up scan: the watcher looks at the folder list again in
    # CHECK_SECONDS, and the changes below are due for a rescan before that

    assert remove_folder(following.db, str(dropped.root)) == 2
    make_library(dropped.root / "More", albums=1, tracks_per_album=2, formats=("ogg",), seed=2)

    wait_until(lambda: following.state(dropped.root) is None, "the watcher to drop it")
    time.sleep(QUIET_SECONDS + CHECK_SECONDS)
    assert under(following.rows(), dropped.root) == {}, "tracks recorded for a removed folder"
