"""is_access_error on the messages the stages really store: reaching a file, or its content."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.library.access import is_access_error
from mus_desktop.processing.artwork import ArtworkImage, find_artwork, make_thumbnail
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.files import real_roots
from mus_desktop.processing.metadata import open_audio, read_metadata
from tools.audiogen import decompression_bomb_png, make_cover

from .conftest import as_nobody


def _message(work: Callable[[], object]) -> str:
    with pytest.raises(StageError) as caught:
        work()
    return str(caught.value)


def test_errors_about_reaching_the_file(track, tmp_path: Path, public_dir: Path) -> None:
    gone = track("mp3", "gone.mp3")
    gone.unlink()
    fifo = tmp_path / "pipe.flac"
    os.mkfifo(fifo)
    folder = tmp_path / "album.ogg"
    folder.mkdir()
    elsewhere = track("ogg", "elsewhere/01.ogg")
    (tmp_path / "music").mkdir()
    with_fifo_cover = track("mp3", "fifo cover/01.mp3")
    os.mkfifo(with_fifo_cover.parent / "cover.jpg")
    moved_away = track("flac", "renamed/01.flac")
    audio = open_audio(moved_away)
    moved_away.parent.rename(tmp_path / "renamed again")
    locked = Path(shutil.copyfile(track("wav"), public_dir / "locked.wav"))
    locked.chmod(0)

    messages = [
        _message(lambda: read_metadata(gone)),
        _message(lambda: read_metadata(fifo)),
        _message(lambda: read_metadata(folder)),
        _message(lambda: open_audio(elsewhere, real_roots([tmp_path / "music"]))),
        _message(lambda: find_artwork(with_fifo_cover)),
        _message(lambda: find_artwork(moved_away, audio)),
        as_nobody(lambda: read_metadata(locked)),
    ]

    assert messages == [
        "metadata: file not found",
        "metadata: not a regular file (a FIFO)",
        "metadata: path is a folder, not a file",
        f"metadata: outside the music folders ({elsewhere})",
        "art: folder image cover.jpg is not a regular file (a FIFO)",
        "art: folder not found",
        "metadata: permission denied",
    ]
    assert all(is_access_error(message) for message in messages)


def test_errors_about_the_content(track, tmp_path: Path) -> None:
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(b"\x00garbage" * 1000)
    empty = tmp_path / "empty.flac"
    empty.touch()
    cut = track("wav", "cut.wav")
    cut.write_bytes(cut.read_bytes()[:2000])
    (tmp_path / "album").mkdir()
    (tmp_path / "album" / "cover.jpg").write_text("Not Found")
    with_text_cover = track("mp3", "album/01.mp3")
    bomb = ArtworkImage(decompression_bomb_png(9400, 9400), "embedded", "embedded APIC")
    cache = tmp_path / "cache"
    cache.touch()
    cover = ArtworkImage(make_cover(seed=1), "folder", "cover.jpg")
    thumbnails = tmp_path / "thumbnails"

    messages = [
        _message(lambda: read_metadata(noise)),
        _message(lambda: read_metadata(empty)),
        _message(lambda: read_metadata(cut)),
        _message(lambda: make_thumbnail(find_artwork(with_text_cover), thumbnails)),
        _message(lambda: make_thumbnail(bomb, thumbnails)),
        _message(lambda: make_thumbnail(cover, cache / "thumbnails")),
        # Words of the library, in the detail, are not the kind of error:
        str(StageError("metadata", "unexpected error", "FileNotFoundError: cannot read x")),
    ]

    assert [message.split(" (")[0] for message in messages] == [
        "metadata: not an audio file",
        "metadata: empty file",
        "metadata: truncated or corrupt audio",
        "art: folder image cover.jpg is not an image",
        "art: embedded image is too large",
        "art: cannot write the thumbnail folder",
        "metadata: unexpected error",
    ]
    assert not any(is_access_error(message) for message in messages)
    assert not is_access_error(None)
