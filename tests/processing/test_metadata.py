"""read_metadata on real files: tags, audio properties, and readable failures."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from mus_desktop.processing.errors import StageError
from mus_desktop.processing.files import MAX_AUDIO_BYTES
from mus_desktop.processing.metadata import read_metadata

from .conftest import Tags, as_nobody, write_track

FORMATS = ["mp3", "flac", "ogg", "opus", "m4a", "wav", "aiff"]
RATES = {"opus": 48000}


@pytest.mark.parametrize("fmt", FORMATS)
def test_tags_and_properties(fmt: str, track) -> None:
    meta = read_metadata(track(fmt))

    assert meta.format == fmt
    assert (meta.title, meta.artist, meta.album) == ("Blue in Green", "Miles Davis", "Kind of Blue")
    assert meta.album_artist == "Miles Davis Sextet"
    assert (meta.track_number, meta.disc_number, meta.year) == (3, 1, 1959)
    assert meta.genre == "Jazz"
    assert meta.duration == pytest.approx(1.0, abs=0.1)
    assert meta.sample_rate == RATES.get(fmt, 44100)
    assert meta.channels == 2
    assert meta.bitrate and meta.bitrate > 0


def test_untagged_file_has_properties_but_no_tags(tmp_path: Path) -> None:
    meta = read_metadata(write_track(tmp_path / "bare.flac", "flac", tags=None))

    assert meta.title is None and meta.track_number is None and meta.year is None
    assert meta.format == "flac"
    assert meta.duration == pytest.approx(1.0, abs=0.01)


def test_numeric_id3_genre_is_named(tmp_path: Path) -> None:
    path = write_track(tmp_path / "rock.mp3", "mp3", Tags(genre="(17)", date="2001"))

    meta = read_metadata(path)

    assert (meta.genre, meta.year) == ("Rock", 2001)


def test_ogg_named_mp3_is_read_as_ogg(track) -> None:
    meta = read_metadata(track("ogg", "mislabelled.mp3"))

    assert meta.format == "ogg"
    assert meta.title == "Blue in Green"


def _error(path: Path) -> StageError:
    with pytest.raises(StageError) as caught:
        read_metadata(path)
    assert caught.value.stage == "metadata"
    return caught.value


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.touch()

    assert str(_error(path)) == "metadata: empty file (0 bytes)"


def test_random_bytes_named_mp3(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(random.Random(7).randbytes(100_000))

    assert str(_error(path)) == "metadata: not an audio file (can't sync to MPEG frame)"


def test_text_named_ogg(tmp_path: Path) -> None:
    path = tmp_path / "notes.ogg"
    path.write_text("These are my liner notes, not a song.\n" * 20)

    assert str(_error(path)) == "metadata: not an audio file (no known audio format in a .ogg file)"


@pytest.mark.parametrize("fmt", ["wav", "mp3", "aiff"])
def test_truncated_file_says_how_much_is_missing(fmt: str, track) -> None:
    path = track(fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 4])

    error = _error(path)

    assert error.kind == "truncated or corrupt audio"
    assert str(error).startswith("metadata: truncated or corrupt audio (the file has ")
    assert "bytes its header promises)" in str(error)


def test_ogg_cut_inside_its_headers(track) -> None:
    path = track("ogg")
    path.write_bytes(path.read_bytes()[:300])

    assert str(_error(path)) == "metadata: truncated or corrupt audio (unable to read full data)"


def test_flac_cut_inside_its_header(track) -> None:
    path = track("flac")
    path.write_bytes(path.read_bytes()[:30])

    assert str(_error(path)).startswith("metadata: truncated or corrupt audio (file said ")


def test_file_deleted_before_reading(track) -> None:
    path = track("mp3")
    path.unlink()

    assert str(_error(path)) == "metadata: file not found"


def test_folder_named_like_a_track(tmp_path: Path) -> None:
    path = tmp_path / "album.flac"
    path.mkdir()

    assert str(_error(path)) == "metadata: path is a folder, not a file"


def test_unreadable_file(track, public_dir: Path) -> None:
    path = Path(shutil.copyfile(track("flac"), public_dir / "locked.flac"))
    path.chmod(0)

    assert as_nobody(lambda: read_metadata(path)) == "metadata: permission denied"


def test_readable_file_as_nobody(track, public_dir: Path) -> None:
    """The control for the test above: the same file, readable, reads as nobody."""
    path = Path(shutil.copyfile(track("flac"), public_dir / "open.flac"))

    assert as_nobody(lambda: read_metadata(path)) == "ok"


@pytest.mark.timeout(30)  # a plain open() of a FIFO waits for a writer forever
def test_fifo_named_like_a_track_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "pipe.mp3"
    os.mkfifo(path)

    assert str(_error(path)) == "metadata: not a regular file (a FIFO)"


def test_device_named_like_a_track_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.flac"
    path.symlink_to("/dev/zero")

    assert str(_error(path)) == "metadata: not a regular file (a character device)"


def test_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.wav"
    with open(path, "wb") as file:
        file.truncate(MAX_AUDIO_BYTES + 1)  # sparse: no disk space used

    assert str(_error(path)) == (
        f"metadata: file is too large ({MAX_AUDIO_BYTES + 1:,} bytes; "
        f"the limit is {MAX_AUDIO_BYTES:,})"
    )


def test_every_broken_file_raises_only_stage_error(track, tmp_path: Path) -> None:
    """Cut a real file at many points: each read succeeds or raises StageError."""
    for fmt in ("flac", "ogg", "opus", "m4a"):
        data = track(fmt).read_bytes()
        for cut in range(1, len(data), max(1, len(data) // 40)):
            path = tmp_path / f"cut-{cut}.{fmt}"
            path.write_bytes(data[:cut])
            try:
                read_metadata(path)
            except StageError as error:
                assert str(error).startswith("metadata: ")
            path.unlink()
