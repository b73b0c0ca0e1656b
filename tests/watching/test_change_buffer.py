"""The debounce between events and rescans (watching/changes.py), on its own clock:
`now` is given, so these run in no time and say exactly when a folder is due."""

from __future__ import annotations

from pathlib import Path

import pytest

from mus_desktop.library.paths import is_within
from mus_desktop.watching.changes import LONGEST_WAIT_SECONDS, QUIET_SECONDS, ChangeBuffer

MUSIC = "/music"
ALBUM = "/music/Artist/Album"


def test_a_folder_is_due_once_quiet_for_the_quiet_period() -> None:
    buffer = ChangeBuffer()
    buffer.event(f"{ALBUM}/01.flac", False, now=0.0)
    buffer.event(f"{ALBUM}/02.flac", False, now=0.5)

    assert buffer.take_due(0.5 + QUIET_SECONDS - 0.01) == []
    assert buffer.next_due_in(1.0) == pytest.approx(0.5 + QUIET_SECONDS - 1.0)
    assert buffer.take_due(0.5 + QUIET_SECONDS) == [ALBUM]
    assert len(buffer) == 0 and buffer.next_due_in(5.0) is None


def test_a_folder_that_never_goes_quiet_is_due_after_the_longest_wait() -> None:
    buffer = ChangeBuffer()
    now = 0.0
    while now < LONGEST_WAIT_SECONDS:
        buffer.event(f"{ALBUM}/big.flac", False, now=now)
        assert buffer.take_due(now) == []
        now += QUIET_SECONDS / 2

    assert buffer.take_due(LONGEST_WAIT_SECONDS) == [ALBUM]


def covers(due: list[str], path: str) -> bool:
    """Whether a rescan of the folders `due` walks `path`."""
    return any(is_within(path, folder) for folder in due)


def test_a_folder_made_and_then_filled_waits_for_its_contents() -> None:
    """A copy makes the album's folder, then fills it: no rescan walks the album
    before the copy is over."""
    buffer = ChangeBuffer()
    buffer.event(ALBUM, True, now=0.0)
    for step in range(1, 6):
        buffer.event(f"{ALBUM}/{step:02}.flac", False, now=step * 0.5)

    assert not covers(buffer.take_due(QUIET_SECONDS + 0.1), ALBUM)  # the album is still busy
    due = buffer.take_due(2.5 + QUIET_SECONDS)
    assert covers(due, ALBUM) and len(due) == 1
    assert len(buffer) == 0


def test_a_folder_that_settles_after_a_take_is_due_at_once() -> None:
    """Two folders touched a moment apart: once the first is taken, the second is due
    as soon as it settles, not when the watcher next looks for other reasons."""
    buffer = ChangeBuffer()
    buffer.event("/music/Disk/Album/01.flac", False, now=0.0)
    buffer.event("/music/Drive/Album/01.flac", False, now=0.01)
    assert buffer.take_due(QUIET_SECONDS) == ["/music/Disk/Album"]

    wait = buffer.next_due_in(QUIET_SECONDS + 0.02)  # after the first one's scan

    assert wait is not None and wait <= 0.05, f"the settled folder waits {wait:.2f} s more"
    assert buffer.take_due(QUIET_SECONDS + 0.02) == ["/music/Drive/Album"]


def test_what_is_not_a_track_marks_nothing(tmp_path: Path) -> None:
    cover = tmp_path / "cover.jpg"
    cover.write_bytes(b"jpeg")
    buffer = ChangeBuffer()

    buffer.event(str(cover), False, now=0.0)  # a cover: read by the jobs, not scanned
    assert len(buffer) == 0
    buffer.event(str(tmp_path / "gone"), False, now=0.0)  # gone: it may have been a folder
    assert covers(buffer.take_due(QUIET_SECONDS), str(tmp_path / "gone"))


def test_mus_own_files_are_ignored() -> None:
    buffer = ChangeBuffer(ignored=[f"{MUSIC}/.mus/library.db", f"{MUSIC}/.mus/cache"])

    buffer.event(f"{MUSIC}/.mus/library.db", False, now=0.0)
    buffer.event(f"{MUSIC}/.mus/cache/thumbnails", True, now=0.0)
    buffer.event(f"{MUSIC}/.mus/cache/thumbnails/ab.jpg", False, now=0.0)

    assert len(buffer) == 0
    assert buffer.ignores(f"{MUSIC}/.mus/cache/thumbnails/ab.jpg")
    assert not buffer.ignores(f"{MUSIC}/.mus/cached.flac")
