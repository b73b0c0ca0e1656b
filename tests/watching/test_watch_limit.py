"""Past the watch limit (MUS_WATCH_MAX_FOLDERS standing in for the kernel's
fs.inotify.max_user_watches), a library folder is polled instead: still followed,
and `mus folders` and `mus doctor` say why and what raises the limit."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.config import Settings
from mus_desktop.watching.watcher import FolderState
from tests.runtime.conftest import mus_env, run_mus
from tests.watching.conftest import Following
from tools.audiogen import make_library

pytestmark = pytest.mark.slow

LIMIT = 4
"""One library folder of one album is 3 folders (root, artist, album): the first
fits under the limit, the second does not."""


@pytest.fixture
def watch_mode(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """Events, with a watch limit (this module's override of the conftest's)."""
    monkeypatch.setenv("MUS_WATCH", "events")
    monkeypatch.setenv("MUS_POLL_SECONDS", "1")
    monkeypatch.setenv("MUS_WATCH_MAX_FOLDERS", str(LIMIT))
    monkeypatch.setenv("MUS_WORKERS", "1")
    return "events"


def line_after(output: str, folder: Path) -> tuple[str, str]:
    """The line that names `folder` in a listing, and the line under it."""
    lines = output.splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.rstrip().endswith(str(folder))]
    return lines[index], lines[index + 1] if index + 1 < len(lines) else ""


def test_past_the_watch_limit_a_folder_is_polled_and_still_followed(
    follow: Callable[..., Following], tmp_path: Path
) -> None:
    first = make_library(tmp_path / "A", albums=1, tracks_per_album=1, formats=("mp3",)).root
    second = make_library(tmp_path / "B", albums=1, tracks_per_album=1, formats=("mp3",)).root

    following = follow([first, second])

    following.wait_state(first, ["events"])
    following.wait_state(second, ["polling"])
    state = following.state(second)
    assert state is not None and state.error is not None
    assert f"MUS_WATCH_MAX_FOLDERS={LIMIT}" in state.error
    assert following.state(first) == FolderState(str(first), "events", None)

    album = make_library(tmp_path / "staging", albums=1, tracks_per_album=2, seed=4)
    shutil.copytree(album.root, second / "Added")  # changes in the polled folder
    added = [str(second / "Added" / Path(e.path).relative_to(album.root)) for e in album.entries]
    following.wait_complete(added, "the album added to the polled folder to be processed")

    listing = run_mus("folders", env=mus_env())
    assert listing.returncode == 0, listing.stderr
    named, reason = line_after(listing.stdout, second)
    assert named.startswith("polling"), listing.stdout
    assert f"MUS_WATCH_MAX_FOLDERS={LIMIT}" in reason, listing.stdout
    assert line_after(listing.stdout, first)[0].startswith("events"), listing.stdout

    as_json = run_mus("folders", "--json", env=mus_env())
    folders = {folder["path"]: folder for folder in json.loads(as_json.stdout)}
    assert folders[str(second)]["mode"] == "polling"
    assert f"MUS_WATCH_MAX_FOLDERS={LIMIT}" in folders[str(second)]["error"]
    assert (folders[str(first)]["mode"], folders[str(first)]["error"]) == ("events", None)
    assert folders[str(second)]["tracks"] == 3

    doctor = run_mus("doctor", env=mus_env())
    assert doctor.returncode == 0, doctor.stderr
    named, reason = line_after(doctor.stdout, second)
    assert named.split()[0] == "polling", doctor.stdout
    assert f"MUS_WATCH_MAX_FOLDERS={LIMIT}" in reason, doctor.stdout
    assert "MUS_WATCH=events" in doctor.stdout
