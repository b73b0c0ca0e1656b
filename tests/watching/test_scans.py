"""How many scans the watcher makes: a handful for a burst of a thousand files, and
none at all for mus's own files (database, cache) kept inside a library folder."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.config import Settings, load_settings
from mus_desktop.watching.changes import QUIET_SECONDS
from mus_desktop.watching.watcher import CHECK_SECONDS
from tests.watching.conftest import COMPLETE, Following
from tools.audiogen import make_library

pytestmark = pytest.mark.slow

Follow = Callable[..., Following]
BURST_SCANS = 10


def test_a_burst_of_a_thousand_files_is_a_handful_of_scans(follow: Follow, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    staging = make_library(
        tmp_path / "staging", albums=100, tracks_per_album=10, formats=("mp3", "flac", "ogg")
    )
    assert len(staging.entries) == 1000
    following = follow([music], workers=False)
    catch_up = following.watcher.scans

    shutil.copytree(staging.root, music / "Imported")  # one copy of a whole collection

    found = following.wait_rows(
        lambda found: len(found) == 1000, "the thousand tracks to be recorded", timeout=60
    )
    assert not any(row.missing for row in found.values())
    time.sleep(QUIET_SECONDS + CHECK_SECONDS)  # any folder the copy touched is due by now
    burst = following.watcher.scans - catch_up
    assert burst <= BURST_SCANS, f"{burst} scans for one copy of 1000 files"
    assert sum(report.new for report in following.reports) == 1000
    assert len(following.rows()) == 1000


def test_mus_own_files_inside_a_library_folder_cause_no_rescans(
    follow: Follow, watch_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database (with its -wal and -shm) and the cache (thumbnails) are written by
    the workers as they process; were their events followed, every job would cause
    a scan, and a scan that queued anything a job: a loop."""
    library = make_library(tmp_path / "Music", albums=3, tracks_per_album=3, seed=5)
    own = library.root / ".mus"
    monkeypatch.setenv("MUS_DB", str(own / "library.db"))
    monkeypatch.setenv("MUS_CACHE_DIR", str(own / "cache"))
    monkeypatch.setenv("MUS_WORKERS", "2")
    settings = load_settings()

    following = follow([library.root], settings=settings)
    found = following.wait_complete(
        [entry.path for entry in library.entries], "the library to be processed", timeout=40
    )
    assert all(row.status == COMPLETE for row in found.values())
    assert list((own / "cache" / "thumbnails").glob("*.jpg"))  # the cache was written to
    time.sleep(QUIET_SECONDS + CHECK_SECONDS)  # the last writes' events, were they followed
    settled = following.watcher.scans
    time.sleep(QUIET_SECONDS + CHECK_SECONDS + 1)

    assert following.watcher.scans == settled, "scans went on after processing had ended"
    assert settled == 1, "only the catch-up scan: nothing of mus's own is worth a scan"
    assert len(following.rows()) == 9
