"""find_artwork and make_thumbnail on real files and real (and broken) images."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mus_desktop.processing.artwork import (
    MAX_COVER_PIXELS,
    ArtworkImage,
    find_artwork,
    make_thumbnail,
)
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.files import MAX_COVER_BYTES
from mus_desktop.processing.metadata import open_audio
from tools.audiogen import decompression_bomb_png, make_cover

from .conftest import as_nobody, write_track

EMBEDDED_ORIGINS = {
    "mp3": "embedded APIC",
    "wav": "embedded APIC",
    "aiff": "embedded APIC",
    "flac": "embedded FLAC picture",
    "ogg": "embedded METADATA_BLOCK_PICTURE",
    "opus": "embedded METADATA_BLOCK_PICTURE",
    "m4a": "embedded covr",
}


@pytest.mark.parametrize("fmt", sorted(EMBEDDED_ORIGINS))
def test_embedded_front_cover_found(fmt: str, tmp_path: Path) -> None:
    cover = make_cover(seed=3)
    path = write_track(tmp_path / f"song.{fmt}", fmt, cover=cover)

    art = find_artwork(path)

    assert art == ArtworkImage(cover, "embedded", EMBEDDED_ORIGINS[fmt])


def test_embedded_wins_over_folder_image(tmp_path: Path) -> None:
    cover = make_cover(seed=4)
    path = write_track(tmp_path / "song.flac", "flac", cover=cover)
    (tmp_path / "cover.jpg").write_bytes(make_cover(seed=5))

    assert find_artwork(path).data == cover


@pytest.mark.parametrize("name", ["cover.jpg", "COVER.JPG", "Folder.jpeg", "front.png"])
def test_folder_image_found_whatever_its_case(name: str, track, tmp_path: Path) -> None:
    path = track("mp3", "album/01.mp3")
    image = make_cover(seed=6)
    (tmp_path / "album" / name).write_bytes(image)

    assert find_artwork(path) == ArtworkImage(image, "folder", name)


def test_cover_preferred_over_folder_and_front(track, tmp_path: Path) -> None:
    path = track("ogg", "album/01.ogg")
    for name in ("front.png", "folder.jpg", "Cover.png"):
        (tmp_path / "album" / name).write_bytes(make_cover(seed=len(name)))

    assert find_artwork(path).origin == "Cover.png"


def test_folder_image_added_later_is_seen(track, tmp_path: Path) -> None:
    path = track("flac", "album/01.flac")
    assert find_artwork(path) is None

    (tmp_path / "album" / "cover.jpg").write_bytes(make_cover(seed=7))

    assert find_artwork(path).origin == "cover.jpg"


def test_no_art_anywhere_is_none(track) -> None:
    assert find_artwork(track("wav", "album/01.wav")) is None


def test_one_thumbnail_for_an_album(track, tmp_path: Path) -> None:
    thumbnails = tmp_path / "thumbnails"
    (tmp_path / "album").mkdir()
    (tmp_path / "album" / "cover.jpg").write_bytes(make_cover(seed=8, size=(1200, 1200)))
    first = find_artwork(track("mp3", "album/01.mp3"))
    second = find_artwork(track("mp3", "album/02.mp3"))

    key = make_thumbnail(first, thumbnails)
    thumbnail = thumbnails / f"{key}.jpg"
    written = thumbnail.stat().st_mtime_ns
    assert make_thumbnail(second, thumbnails) == key

    assert [p.name for p in thumbnails.iterdir()] == [f"{key}.jpg"]
    assert thumbnail.stat().st_mtime_ns == written
    with Image.open(thumbnail) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (256, 256))


def test_transparent_png_thumbnail(tmp_path: Path) -> None:
    image = Image.new("RGBA", (600, 300), (255, 0, 0, 0))
    png = tmp_path / "front.png"
    image.save(png)

    key = make_thumbnail(ArtworkImage(png.read_bytes(), "folder", "front.png"), tmp_path, 128)

    with Image.open(tmp_path / f"{key}.jpg") as thumbnail:
        assert thumbnail.size == (128, 64)
        assert thumbnail.getpixel((10, 10)) == pytest.approx((255, 255, 255), abs=2)


def _art_error(image: ArtworkImage, tmp_path: Path) -> str:
    with pytest.raises(StageError) as caught:
        make_thumbnail(image, tmp_path / "thumbnails")
    assert caught.value.stage == "art"
    assert not (tmp_path / "thumbnails").exists() or not any((tmp_path / "thumbnails").iterdir())
    return str(caught.value)


def test_corrupt_embedded_image(tmp_path: Path) -> None:
    path = write_track(tmp_path / "song.mp3", "mp3", cover=b"this is not a JPEG at all")

    message = _art_error(find_artwork(path), tmp_path)

    assert message == "art: embedded image is corrupt (cannot identify image file)"


def test_truncated_embedded_image(tmp_path: Path) -> None:
    cover = make_cover(seed=9, size=(800, 800))
    path = write_track(tmp_path / "song.flac", "flac", cover=cover[: len(cover) // 2])

    message = _art_error(find_artwork(path), tmp_path)

    assert message.startswith("art: embedded image is corrupt (image file is truncated")


def test_empty_embedded_image(tmp_path: Path) -> None:
    path = write_track(tmp_path / "song.m4a", "m4a", cover=b"")

    assert _art_error(find_artwork(path), tmp_path) == "art: embedded image is empty"


def test_zero_byte_cover_jpg(track, tmp_path: Path) -> None:
    path = track("flac", "album/01.flac")
    (tmp_path / "album" / "cover.jpg").touch()

    assert _art_error(find_artwork(path), tmp_path) == "art: folder image cover.jpg is empty"


def test_text_cover_jpg(track, tmp_path: Path) -> None:
    path = track("opus", "album/01.opus")
    (tmp_path / "album" / "cover.jpg").write_text("<html>404 Not Found</html>")

    message = _art_error(find_artwork(path), tmp_path)

    assert message == "art: folder image cover.jpg is not an image (cannot identify image file)"


def test_decompression_bomb_png(track, tmp_path: Path) -> None:
    path = track("mp3", "album/01.mp3")
    (tmp_path / "album" / "cover.png").write_bytes(decompression_bomb_png(15000, 15000))

    message = _art_error(find_artwork(path), tmp_path)

    assert message == "art: folder image cover.png is too large (225000000 pixels)"


def test_image_over_the_warning_limit_is_refused_too(tmp_path: Path) -> None:
    """Between Pillow's warning and error limits: treated as too large as well."""
    image = ArtworkImage(decompression_bomb_png(10000, 10000), "embedded", "embedded APIC")

    message = _art_error(image, tmp_path)

    assert message == "art: embedded image is too large (100000000 pixels)"


def test_broken_then_replaced_folder_image_succeeds(track, tmp_path: Path) -> None:
    path = track("flac", "album/01.flac")
    cover = tmp_path / "album" / "cover.jpg"
    cover.write_text("not an image")
    with pytest.raises(StageError):
        make_thumbnail(find_artwork(path), tmp_path / "thumbnails")

    cover.write_bytes(make_cover(seed=10))

    assert make_thumbnail(find_artwork(path), tmp_path / "thumbnails")


def test_track_deleted_before_art(track) -> None:
    path = track("ogg")
    path.unlink()

    with pytest.raises(StageError) as caught:
        find_artwork(path)

    assert str(caught.value) == "art: file not found"


@pytest.mark.timeout(30)  # a plain open() of a FIFO waits for a writer forever
def test_fifo_named_cover_jpg_is_refused_at_once(track, tmp_path: Path) -> None:
    path = track("mp3", "album/01.mp3")
    os.mkfifo(tmp_path / "album" / "cover.jpg")

    with pytest.raises(StageError) as caught:
        find_artwork(path)

    assert str(caught.value) == "art: folder image cover.jpg is not a regular file (a FIFO)"


@pytest.mark.timeout(30)
def test_cover_jpg_linked_to_dev_zero_is_not_read(track, tmp_path: Path) -> None:
    path = track("flac", "album/01.flac")
    (tmp_path / "album" / "cover.jpg").symlink_to("/dev/zero")

    with pytest.raises(StageError) as caught:
        find_artwork(path)

    assert str(caught.value) == (
        "art: folder image cover.jpg is not a regular file (a character device)"
    )


def test_cover_over_the_size_cap_is_refused_unread(track, tmp_path: Path) -> None:
    path = track("ogg", "album/01.ogg")
    with open(tmp_path / "album" / "folder.jpg", "wb") as cover:
        cover.truncate(MAX_COVER_BYTES + 1)  # sparse

    with pytest.raises(StageError) as caught:
        find_artwork(path)

    assert str(caught.value) == (
        f"art: folder image folder.jpg is too large ({MAX_COVER_BYTES + 1:,} bytes; "
        f"the limit is {MAX_COVER_BYTES:,})"
    )


def test_cover_just_under_pillows_limit_is_refused_by_ours(track, tmp_path: Path) -> None:
    """9400 x 9400 passes Pillow's bomb check, and as RGBA took 701 MB to thumbnail."""
    path = track("mp3", "album/01.mp3")
    (tmp_path / "album" / "cover.png").write_bytes(decompression_bomb_png(9400, 9400))

    message = _art_error(find_artwork(path), tmp_path)

    assert message == "art: folder image cover.png is too large (88360000 pixels)"
    assert MAX_COVER_PIXELS < 9400 * 9400 < Image.MAX_IMAGE_PIXELS


def test_large_transparent_cover_thumbnail_matches_pillows(tmp_path: Path) -> None:
    """Reduced a strip at a time, it is the thumbnail Pillow makes of the whole."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (1500, 2100, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA")
    png = tmp_path / "front.png"
    image.save(png)
    expected = image.copy()
    expected.thumbnail((256, 256))
    white = Image.new("RGB", expected.size, (255, 255, 255))
    white.paste(expected, mask=expected.getchannel("A"))

    key = make_thumbnail(ArtworkImage(png.read_bytes(), "folder", "front.png"), tmp_path)

    with Image.open(tmp_path / f"{key}.jpg") as thumbnail:
        assert thumbnail.size == white.size == (256, 183)
        made = np.asarray(thumbnail.convert("RGB"), dtype=int)
    reference = Image.open(_jpeg(white))  # the same JPEG loss on both sides
    difference = np.abs(made - np.asarray(reference, dtype=int))
    assert difference.mean() < 1


def _jpeg(image: Image.Image) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    out.seek(0)
    return out


def test_folder_renamed_after_parsing_is_an_error_not_no_cover(track, tmp_path: Path) -> None:
    """Its cover cannot be looked for: the track must not complete without one."""
    path = track("mp3", "album/01.mp3")
    (tmp_path / "album" / "cover.jpg").write_bytes(make_cover(seed=11))
    audio = open_audio(path)
    (tmp_path / "album").rename(tmp_path / "renamed")

    with pytest.raises(StageError) as caught:
        find_artwork(path, audio)

    assert str(caught.value) == "art: folder not found"


def test_unreadable_cover_jpg(track, public_dir: Path) -> None:
    album = public_dir / "album"
    album.mkdir()
    path = Path(shutil.copyfile(track("mp3"), album / "01.mp3"))
    cover = album / "cover.jpg"
    cover.write_bytes(make_cover(seed=12))
    cover.chmod(0)

    message = as_nobody(lambda: find_artwork(path))

    assert message == "art: permission denied reading folder image cover.jpg"


def test_thumbnail_folder_that_is_not_a_folder(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("MUS_CACHE_DIR pointed at a file")
    image = ArtworkImage(make_cover(seed=13), "folder", "cover.jpg")

    with pytest.raises(StageError) as caught:
        make_thumbnail(image, cache / "thumbnails")

    assert str(caught.value) == (
        "art: cannot write the thumbnail folder (Not a directory, ENOTDIR)"
    )


def test_thumbnail_folder_that_cannot_be_written(public_dir: Path) -> None:
    thumbnails = public_dir / "thumbnails"
    thumbnails.mkdir(mode=0o555)
    image = ArtworkImage(make_cover(seed=14), "folder", "cover.jpg")

    message = as_nobody(lambda: make_thumbnail(image, thumbnails))

    assert message == "art: cannot write the thumbnail folder (Permission denied, EACCES)"


def test_embedded_image_over_the_size_cap(tmp_path: Path) -> None:
    image = ArtworkImage(bytes(MAX_COVER_BYTES + 1), "embedded", "embedded APIC")

    assert _art_error(image, tmp_path) == (
        f"art: embedded image is too large ({MAX_COVER_BYTES + 1:,} bytes; "
        f"the limit is {MAX_COVER_BYTES:,})"
    )
