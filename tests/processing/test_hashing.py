"""content_hash: BLAKE3 of the bytes, equal for copies, different for any change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import blake3
import pytest

from mus_desktop.processing.errors import StageError
from mus_desktop.processing.hashing import content_hash, hash_file
from mus_desktop.processing.metadata import open_track_file


def test_hash_is_blake3_of_the_bytes_for_a_format_without_an_audio_hash(tmp_path: Path) -> None:
    """A format mus cannot split into audio and tags keeps the plain BLAKE3 of its bytes;
    the audio-hashed formats' composite is tested in test_audio_hash.py."""
    path = tmp_path / "notes.wma"
    path.write_bytes(b"liner notes\n" * 100)

    assert content_hash(path) == blake3.blake3(path.read_bytes()).hexdigest()


def test_identical_copies_hash_equal(track, tmp_path: Path) -> None:
    original = track("mp3")
    (tmp_path / "elsewhere").mkdir()
    copy = Path(shutil.copyfile(original, tmp_path / "elsewhere" / "copy.mp3"))

    assert content_hash(str(original)) == content_hash(copy)


def test_one_changed_byte_changes_the_hash(track, tmp_path: Path) -> None:
    original = track("ogg")
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.ogg"
    changed.write_bytes(bytes(data))

    assert content_hash(original) != content_hash(changed)


def test_file_larger_than_one_read(tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    data = bytes(range(256)) * 5000  # 1.28 MB, several reads
    path.write_bytes(data)

    assert content_hash(path) == blake3.blake3(data).hexdigest()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StageError) as caught:
        content_hash(tmp_path / "gone.flac")

    assert str(caught.value) == "metadata: file not found"


@pytest.mark.timeout(30)
def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "pipe.flac"
    os.mkfifo(path)

    with pytest.raises(StageError) as caught:
        content_hash(path)

    assert str(caught.value) == "metadata: not a regular file (a FIFO)"


@pytest.mark.timeout(30)
def test_endless_device_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "zero.mp3"
    path.symlink_to("/dev/zero")

    with pytest.raises(StageError) as caught:
        content_hash(path)

    assert str(caught.value) == "metadata: not a regular file (a character device)"


def test_hash_covers_the_size_the_file_had_when_opened(track) -> None:
    """What is hashed is what was parsed: bytes appended later are not read."""
    path = track("mp3")
    before = path.with_name("before.mp3")
    shutil.copyfile(path, before)
    with open_track_file(path) as checked:
        with open(path, "ab") as appender:
            appender.write(b"appended while open")
        digest = hash_file(checked)

    assert digest == content_hash(before)
    assert digest != content_hash(path)
