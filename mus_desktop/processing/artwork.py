"""The artwork stage: find a track's cover and make its thumbnail.

The picture embedded in the file wins; otherwise an image next to the file
named cover, folder or front (.jpg, .jpeg, .png, any case). No art anywhere is
not an error: `find_artwork` returns None and the track completes without one.

A broken image that *is* the track's cover, embedded or in the folder, is an
error (StageError "art"), not silently skipped: the person can fix or replace
it, press Retry, and get the cover they meant, rather than a track that
quietly shows no art, or a worse image from elsewhere.

Thumbnails are named by the BLAKE3 hash of the image bytes, so the twenty
tracks of an album that share a cover share one thumbnail, made once.

Covers are read like any file a worker opens (see `files`) and capped twice:
at MAX_COVER_BYTES of file, and at MAX_COVER_PIXELS, because a PNG must be
decoded whole before it can be scaled (Pillow's `draft` only helps JPEG), and
a 9400 x 9400 RGBA one, just under Pillow's own limit, took a process to 701 MB
of RSS to thumbnail (refused now; 7000 x 7000 RGBA, under the cap: 246 MB).
"""

from __future__ import annotations

import base64
import io
import os
import re
import struct
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from blake3 import blake3
from mutagen import FileType, MutagenError
from mutagen.apev2 import APEv2
from mutagen.asf import ASFTags
from mutagen.flac import FLAC, Picture
from mutagen.id3 import ID3
from mutagen.mp4 import MP4Tags
from PIL import Image, UnidentifiedImageError

from mus_desktop.processing.errors import StageError, stage_error_from_os
from mus_desktop.processing.files import MAX_COVER_BYTES, open_checked
from mus_desktop.processing.metadata import open_audio
from mus_desktop.terminal import one_line

STAGE = "art"
EMBEDDED = "embedded"
FOLDER = "folder"

_FRONT_COVER = 3  # the picture type "Cover (front)" in ID3, FLAC and ASF
_FOLDER_STEMS = ("cover", "folder", "front")  # in order of preference
_FOLDER_SUFFIXES = (".jpg", ".jpeg", ".png")
_THUMBNAIL_QUALITY = 85
_REDUCING_GAP = 2.0  # Image.thumbnail's default
_STRIP_ROWS = 256
MAX_COVER_PIXELS = 50_000_000
"""Larger covers are refused. Decoded, Pillow holds 4 bytes a pixel for RGB and
RGBA, so this bounds a cover to ~200 MB in a work horse."""
_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ArtworkImage:
    data: bytes
    source: str  # EMBEDDED or FOLDER
    origin: str  # where exactly: "embedded APIC", "embedded FLAC picture", or the file name

    @property
    def subject(self) -> str:
        """How error messages name this image: "embedded image", "folder image cover.jpg"."""
        return "embedded image" if self.source == EMBEDDED else f"folder image {self.origin}"


def find_artwork(
    path: str | Path, audio: FileType | None = None, roots: Sequence[str] = ()
) -> ArtworkImage | None:
    """The track's cover: embedded first, else a cover image in its folder, else None.

    Pass `audio` (from `metadata.open_audio`) to avoid parsing the file again,
    and `roots` (`files.real_roots`) to open files under those folders only.
    """
    path = Path(path)
    if audio is None:
        try:
            audio = open_audio(path, roots)
        except StageError as exc:
            raise StageError(STAGE, exc.kind, exc.detail) from exc
    embedded = _embedded(audio)
    if embedded is not None:
        return embedded
    return _folder_image(path.parent, roots)


def make_thumbnail(image: ArtworkImage, thumbnail_dir: Path, size: int = 256) -> str:
    """Write `<thumbnail_dir>/<key>.jpg` (at most size x size) unless it exists; return key.

    The key is the BLAKE3 hex digest of the image bytes. The file is written to
    a temporary name and renamed into place, so two workers making the same
    thumbnail at once both succeed and a reader never sees half a file.
    """
    if not image.data:
        raise StageError(STAGE, f"{image.subject} is empty")
    if len(image.data) > MAX_COVER_BYTES:  # an embedded one: a folder image is refused unread
        raise StageError(
            STAGE,
            f"{image.subject} is too large",
            f"{len(image.data):,} bytes; the limit is {MAX_COVER_BYTES:,}",
        )
    key = blake3(image.data).hexdigest()
    target = Path(thumbnail_dir) / f"{key}.jpg"
    if target.exists():
        return key
    thumbnail = _decode(image, size)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{key}.", suffix=".tmp", delete=False
        ) as temporary:
            try:
                thumbnail.save(temporary, "JPEG", quality=_THUMBNAIL_QUALITY)
            except BaseException:
                os.unlink(temporary.name)
                raise
        os.replace(temporary.name, target)
    except OSError as exc:
        raise stage_error_from_os(STAGE, exc, "thumbnail folder", writing=True) from exc
    return key


def _decode(image: ArtworkImage, size: int) -> Image.Image:
    """The image decoded, scaled to fit size x size, in RGB; StageError if it cannot be."""
    subject = image.subject
    broken = "is corrupt" if image.source == EMBEDDED else "is not an image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image.data)) as opened:
                pixels = opened.width * opened.height
                if pixels > MAX_COVER_PIXELS:
                    raise StageError(STAGE, f"{subject} is too large", f"{pixels} pixels")
                opened.draft("RGB", (size, size))
                opened.load()
                return _to_rgb(_shrink(opened, size))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        pixels = _PIXELS.search(str(exc))
        raise StageError(
            STAGE, f"{subject} is too large", f"{pixels.group(1)} pixels" if pixels else exc
        ) from exc
    except UnidentifiedImageError as exc:
        raise StageError(STAGE, f"{subject} {broken}", "cannot identify image file") from exc
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        # Pillow reports damaged data (truncated, bad chunk CRC...) as OSError & co.
        raise StageError(STAGE, f"{subject} is corrupt", one_line(exc)) from exc


def _shrink(image: Image.Image, size: int) -> Image.Image:
    """The loaded image scaled to fit size x size.

    `thumbnail` first reduces a large image by a whole factor, and Pillow
    reduces an image with alpha through a premultiplied copy of the whole of
    it, which doubled the peak RSS for a large RGBA PNG (7000 x 7000: 400 MB;
    246 MB reduced in strips). Such an image is reduced a strip at a time
    instead, then resized from the same box `thumbnail` would use.
    """
    factor = int(max(image.size) / size / _REDUCING_GAP)
    if image.mode not in ("LA", "RGBA") or factor < 2:
        image.thumbnail((size, size), reducing_gap=_REDUCING_GAP)
        return image
    width, height = image.size
    reduced = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_ROWS // factor)
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(top + rows, height)))
        reduced.paste(strip.reduce(factor), (0, top // factor))
    scale = size / max(width, height)
    final = (max(1, round(width * scale)), max(1, round(height * scale)))
    return reduced.resize(
        final, Image.Resampling.BICUBIC, box=(0, 0, width / factor, height / factor)
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid over white (JPEG has no alpha)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _embedded(audio: FileType) -> ArtworkImage | None:
    if isinstance(audio, FLAC) and audio.pictures:
        return _picture(_front(audio.pictures), "embedded FLAC picture")
    tags = audio.tags
    if tags is None:
        return None
    if isinstance(tags, ID3):
        frames = tags.getall("APIC")
        return _picture(_front(frames), "embedded APIC") if frames else None
    if isinstance(tags, MP4Tags):
        covers = tags.get("covr")
        return ArtworkImage(bytes(covers[0]), EMBEDDED, "embedded covr") if covers else None
    if isinstance(tags, ASFTags):
        values = tags.get("WM/Picture")
        return _asf_picture(values[0].value) if values else None
    if isinstance(tags, APEv2):
        return _ape_picture(tags)
    return _vorbis_picture(tags)


def _front(pictures: list[Any]) -> Any:
    """The front cover if there is one, else the first picture."""
    return next((pic for pic in pictures if pic.type == _FRONT_COVER), pictures[0])


def _picture(picture: Any, origin: str) -> ArtworkImage:
    return ArtworkImage(bytes(picture.data), EMBEDDED, origin)


def _vorbis_picture(tags: Any) -> ArtworkImage | None:
    """Ogg Vorbis/Opus: base64 FLAC Picture blocks (or the older raw `coverart`)."""
    try:
        blocks = tags.get("metadata_block_picture") or []
        legacy = tags.get("coverart") or []
    except (AttributeError, TypeError, ValueError):
        return None
    try:
        if blocks:
            pictures = [Picture(base64.b64decode(block)) for block in blocks]
            return _picture(_front(pictures), "embedded METADATA_BLOCK_PICTURE")
        if legacy:
            return ArtworkImage(base64.b64decode(legacy[0]), EMBEDDED, "embedded COVERART")
    except (ValueError, struct.error, IndexError, MutagenError) as exc:  # ValueError: bad base64
        raise StageError(STAGE, "embedded image is corrupt", one_line(exc)) from exc
    return None


def _asf_picture(blob: bytes) -> ArtworkImage:
    """WM/Picture: type (1 byte), size (LE u32), MIME and description (UTF-16 NUL-ended), data."""
    try:
        size = struct.unpack_from("<I", blob, 1)[0]
        position = 5
        for _ in range(2):  # skip the MIME type and the description
            while blob[position : position + 2] != b"\0\0":
                position += 2
            position += 2
    except (struct.error, IndexError) as exc:
        raise StageError(STAGE, "embedded image is corrupt", one_line(exc)) from exc
    return ArtworkImage(bytes(blob[position : position + size]), EMBEDDED, "embedded WM/Picture")


def _ape_picture(tags: APEv2) -> ArtworkImage | None:
    """APEv2 "Cover Art (Front)": a file name, NUL, then the image bytes."""
    value = tags.get("Cover Art (Front)")
    if value is None:
        return None
    _name, _nul, data = bytes(value.value).partition(b"\0")
    return ArtworkImage(data, EMBEDDED, "embedded Cover Art (Front)")


def _folder_image(folder: Path, roots: Sequence[str]) -> ArtworkImage | None:
    try:
        mtime_ns = os.stat(folder).st_mtime_ns
    except OSError as exc:
        # Gone (renamed, say) since the track was parsed: whether it holds a cover
        # is unknown, so the track must not complete as having none.
        raise stage_error_from_os(STAGE, exc, "folder") from exc
    for name in _cover_names(str(folder), mtime_ns):
        subject = f"folder image {name}"
        try:
            with open_checked(
                folder / name, STAGE, limit=MAX_COVER_BYTES, roots=roots, subject=subject
            ) as checked:
                data = checked.read()
        except StageError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                continue  # removed since the folder was listed
            raise
        except OSError as exc:
            raise stage_error_from_os(STAGE, exc, subject) from exc
        return ArtworkImage(data, FOLDER, name)
    return None


@lru_cache(maxsize=512)
def _cover_names(folder: str, mtime_ns: int) -> tuple[str, ...]:
    """Cover image names in `folder`, best first; cached per folder and mtime.

    The folder's mtime changes when an entry is added, removed or renamed, so a
    new cover.jpg is seen; an album's tracks list their folder only once.
    """
    del mtime_ns  # part of the cache key only
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    ranked = []
    for name in names:
        stem, suffix = os.path.splitext(name.lower())
        if stem in _FOLDER_STEMS and suffix in _FOLDER_SUFFIXES:
            ranked.append((_FOLDER_STEMS.index(stem), _FOLDER_SUFFIXES.index(suffix), name))
    return tuple(name for *_rank, name in sorted(ranked))
