"""content_hash: BLAKE3 of the bytes, equal for copies, different for any change."""

from __future__ import annotations

import shutil
from pathlib import Path

import blake3
import pytest

from mus_desktop.processing.errors import StageError
from mus_desktop.processing.hashing import content_hash


def test_hash_is_blake3_of_the_bytes(track) -> None:
    path = track("flac")

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
