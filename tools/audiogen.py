"""Generate real, fully tagged audio files and whole music libraries for tests and benchmarks.

Encoding is the slow part (an AAC encode through ffmpeg costs tens of milliseconds), so each
(format, duration) is encoded once per process into an in-memory template. A track is a copy
of its template with tags (and an embedded cover) written by mutagen into memory, then
written to disk in one go. Ogg templates get a fixed stream serial so that output is
byte-for-byte reproducible across processes.

Command line: ``python -m tools.audiogen ROOT --albums N --tracks M [--broken]``.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile as sf
from mutagen import FileType
from mutagen.aiff import AIFF
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK, Frame, PictureType
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image, ImageDraw

FORMATS = ("mp3", "flac", "ogg", "opus", "m4a", "wav")
COVER_MODES: tuple[str | None, ...] = ("embedded", "folder", None)
COMPLETE = "COMPLETE"
ERROR = "ERROR"


@dataclass(frozen=True)
class AudioSpec:
    """Sample rate and channel count of a format's template audio."""

    sample_rate: int
    channels: int


SPECS: dict[str, AudioSpec] = {
    "mp3": AudioSpec(44100, 2),
    "flac": AudioSpec(44100, 2),
    "ogg": AudioSpec(44100, 2),
    "opus": AudioSpec(48000, 2),  # Opus only runs at 48 kHz (or its divisors).
    "m4a": AudioSpec(44100, 2),
    "wav": AudioSpec(44100, 1),  # Mono keeps uncompressed files small and varies channels.
    "aiff": AudioSpec(44100, 1),  # Not in FORMATS: made on request only (make_track).
}

# (libsndfile container, subtype) for everything soundfile can write.
_SOUNDFILE_FORMATS = {
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "wav": ("WAV", "PCM_16"),
    "aiff": ("AIFF", "PCM_16"),
}
_OGG_SERIAL = 0x6D7573  # "mus"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_OGG_PAGE_DATA = 254 * 255  # leaves room for the lacing value that ends a packet


@dataclass(frozen=True)
class Tags:
    """The tags written into a generated track (and expected back by a reader)."""

    title: str
    artist: str
    album: str
    album_artist: str
    track_number: int
    track_total: int
    disc_number: int
    year: int
    genre: str


@dataclass(frozen=True)
class ManifestEntry:
    """One generated audio file and what processing it should end with."""

    path: str  # os.fsdecode form: undecodable bytes appear as surrogate escapes
    format: str | None  # the real format of the content, whatever the extension says
    tags: Tags | None
    cover: str | None  # "embedded", "folder" or None
    expect: str  # COMPLETE or ERROR
    error_stage: str | None  # "metadata" or "art" when expect is ERROR
    note: str  # what is wrong (or odd) with the file


@dataclass
class Manifest:
    """Everything make_library wrote, one entry per audio file."""

    root: Path
    entries: list[ManifestEntry]

    def good(self) -> list[ManifestEntry]:
        """Entries expected to end COMPLETE (including odd-but-valid files)."""
        return [e for e in self.entries if e.expect == COMPLETE]

    def broken(self) -> list[ManifestEntry]:
        """Entries expected to end in ERROR."""
        return [e for e in self.entries if e.expect == ERROR]


# ---------------------------------------------------------------------------- audio templates


VOICES = 64
"""How many different recordings a format has at one duration. Tracks differ in their
audio as real ones do (mus's identity by audio hash would take two tracks of one
recording for the same one, retagged); each voice is encoded once per process."""


def voice_of(tags: Tags) -> int:
    """The voice `make_track` gives a track when not told: from its tags, stably."""
    key = f"{tags.album_artist}\0{tags.album}\0{tags.disc_number}\0{tags.track_number}"
    return zlib.crc32(f"{key}\0{tags.title}".encode()) % VOICES


def _signal(spec: AudioSpec, seconds: float, voice: int) -> np.ndarray:
    """A two-tone chord a quarter tone higher per voice (220 Hz up to ~1.3 kHz), with a
    little noise, shape (frames, channels)."""
    frames = max(1, round(spec.sample_rate * seconds))
    t = np.arange(frames)[:, None] / spec.sample_rate
    root = 220.0 * 2 ** (voice / 24)
    chord = 0.2 * np.sin(2 * np.pi * np.array([root, root * 1.26]) * t)
    noise = 0.01 * np.random.default_rng(voice).standard_normal((frames, 2))
    return (chord + noise)[:, : spec.channels]


def _encode_soundfile(fmt: str, signal: np.ndarray, sample_rate: int) -> bytes:
    container, subtype = _SOUNDFILE_FORMATS[fmt]
    buf = io.BytesIO()
    sf.write(buf, signal, sample_rate, format=container, subtype=subtype)
    data = buf.getvalue()
    return _with_fixed_ogg_serial(data) if container == "OGG" else data


def _with_fixed_ogg_serial(data: bytes) -> bytes:
    """Rewrite every Ogg page with one fixed serial (libsndfile picks a random one)."""
    src, out = io.BytesIO(data), io.BytesIO()
    while src.tell() < len(data):
        page = OggPage(src)
        page.serial = _OGG_SERIAL
        out.write(page.write())
    return out.getvalue()


def _encode_aac(signal: np.ndarray, sample_rate: int) -> bytes:
    """AAC in an MP4 (.m4a) container through the ffmpeg binary shipped by imageio-ffmpeg."""
    with tempfile.TemporaryDirectory(prefix="audiogen-") as tmp:
        wav, m4a = Path(tmp, "in.wav"), Path(tmp, "out.m4a")
        sf.write(wav, signal, sample_rate, subtype="PCM_16")
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-nostdin", "-v", "error", "-y", "-i", str(wav)),
            *("-c:a", "aac", "-b:a", "128k", "-map_metadata", "-1"),
            *("-fflags", "+bitexact", "-flags:a", "+bitexact", str(m4a)),
        ]
        subprocess.run(command, check=True, capture_output=True)
        return m4a.read_bytes()


@cache
def _template(fmt: str, seconds: float, voice: int) -> bytes:
    """Untagged encoded audio for one (format, duration, voice), encoded once per process."""
    spec = SPECS[fmt]
    signal = _signal(spec, seconds, voice)
    if fmt == "m4a":
        return _encode_aac(signal, spec.sample_rate)
    return _encode_soundfile(fmt, signal, spec.sample_rate)


# ------------------------------------------------------------------------------------ tagging


def _image_mime(data: bytes) -> str:
    return "image/png" if data.startswith(_PNG_MAGIC) else "image/jpeg"


def _id3_frames(tags: Tags, cover: bytes | None) -> list[Frame]:
    frames: list[Frame] = [
        TIT2(encoding=3, text=tags.title),
        TPE1(encoding=3, text=tags.artist),
        TALB(encoding=3, text=tags.album),
        TPE2(encoding=3, text=tags.album_artist),
        TRCK(encoding=3, text=f"{tags.track_number}/{tags.track_total}"),
        TPOS(encoding=3, text=str(tags.disc_number)),
        TDRC(encoding=3, text=str(tags.year)),
        TCON(encoding=3, text=tags.genre),
    ]
    if cover is not None:
        frames.append(
            APIC(
                encoding=3,
                mime=_image_mime(cover),
                type=PictureType.COVER_FRONT,
                desc="Cover",
                data=cover,
            )
        )
    return frames


def _vorbis_comments(tags: Tags) -> dict[str, str]:
    return {
        "TITLE": tags.title,
        "ARTIST": tags.artist,
        "ALBUM": tags.album,
        "ALBUMARTIST": tags.album_artist,
        "TRACKNUMBER": str(tags.track_number),
        "TRACKTOTAL": str(tags.track_total),
        "DISCNUMBER": str(tags.disc_number),
        "DATE": str(tags.year),
        "GENRE": tags.genre,
    }


def _flac_picture(cover: bytes) -> Picture:
    picture = Picture()
    picture.type = PictureType.COVER_FRONT
    picture.mime = _image_mime(cover)
    picture.desc = "Cover"
    picture.data = cover
    return picture


def _save(audio: FileType, buf: io.BytesIO, pad: int) -> None:
    """Save into the in-memory file; loading left its position at the end."""
    buf.seek(0)
    audio.save(buf, padding=(lambda _info: pad) if pad > 0 else None)


def _tag_id3(audio: MP3 | WAVE, buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    audio.add_tags()
    for frame in _id3_frames(tags, cover):
        audio.tags.add(frame)
    _save(audio, buf, pad)


def _tag_mp3(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    _tag_id3(MP3(buf), buf, tags, cover, pad)


def _tag_wav(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    _tag_id3(WAVE(buf), buf, tags, cover, pad)


def _tag_aiff(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    audio = AIFF(buf)
    audio.add_tags()
    for frame in _id3_frames(tags, cover):
        audio.tags.add(frame)
    _save(audio, buf, pad)


def _tag_flac(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    audio = FLAC(buf)
    audio.update(_vorbis_comments(tags))
    if cover is not None:
        audio.add_picture(_flac_picture(cover))
    _save(audio, buf, pad)


def _tag_ogg(
    audio: OggVorbis | OggOpus, buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int
) -> None:
    audio.update(_vorbis_comments(tags))
    if cover is not None:
        block = base64.b64encode(_flac_picture(cover).write()).decode("ascii")
        audio["METADATA_BLOCK_PICTURE"] = [block]
    _save(audio, buf, 0)
    if pad > 0:
        padded = _pad_ogg_comment(buf.getvalue(), pad)
        buf.seek(0)
        buf.truncate()
        buf.write(padded)


def _header_page_count(pages: list[OggPage], packets: int) -> int:
    """How many leading pages it takes to finish ``packets`` packets.

    After the identification page, Vorbis has two more header packets (comments, setup) and
    Opus one (tags).
    """
    finished = 0
    for count, page in enumerate(pages, start=1):
        finished += len(page.packets) - (0 if page.complete else 1)
        if finished >= packets:
            return count
    raise ValueError("Ogg stream ends inside its header packets")


def _pad_ogg_comment(data: bytes, pad: int) -> bytes:
    """Append ``pad`` zero bytes to the comment header packet and re-page the headers.

    Zeros after the comments are the padding mutagen itself writes for Vorbis and Opus, but
    mutagen re-pages a big packet by repeatedly slicing ``bytes`` (quadratic: ~35 ms for
    3 MB); this lays the header packets out linearly, one packet per run of full pages.
    """
    src = io.BytesIO(data)
    pages = []
    while src.tell() < len(data):
        pages.append(OggPage(src))
    first, rest = pages[0], pages[1:]
    header_count = _header_page_count(rest, 2 if first.packets[0].startswith(b"\x01vorbis") else 1)
    packets = OggPage.to_packets(rest[:header_count])
    packets[0] += bytes(pad)
    headers = [page for packet in packets for page in _packet_pages(packet)]
    audio = rest[header_count:]
    for sequence, page in enumerate([*headers, *audio], start=1):
        page.serial = first.serial
        page.sequence = sequence
    return b"".join(page.write() for page in [first, *headers, *audio])


def _packet_pages(packet: bytes) -> list[OggPage]:
    """Header pages holding one packet: full pages of 254 lacing segments, then the rest."""
    view = memoryview(packet)
    pages = []
    for offset in range(0, max(len(view), 1), _OGG_PAGE_DATA):
        page = OggPage()
        page.packets = [bytes(view[offset : offset + _OGG_PAGE_DATA])]
        page.continued = offset > 0
        page.complete = offset + _OGG_PAGE_DATA >= len(view)
        page.position = 0 if page.complete else -1  # -1: no packet ends on this page
        pages.append(page)
    return pages


def _tag_vorbis(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    _tag_ogg(OggVorbis(buf), buf, tags, cover, pad)


def _tag_opus(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    _tag_ogg(OggOpus(buf), buf, tags, cover, pad)


def _tag_m4a(buf: io.BytesIO, tags: Tags, cover: bytes | None, pad: int) -> None:
    audio = MP4(buf)
    if audio.tags is None:
        audio.add_tags()
    audio.tags.clear()  # drop ffmpeg's encoder tag
    audio.tags.update(
        {
            "\xa9nam": [tags.title],
            "\xa9ART": [tags.artist],
            "\xa9alb": [tags.album],
            "aART": [tags.album_artist],
            "trkn": [(tags.track_number, tags.track_total)],
            "disk": [(tags.disc_number, 0)],
            "\xa9day": [str(tags.year)],
            "\xa9gen": [tags.genre],
        }
    )
    if cover is not None:
        kind = MP4Cover.FORMAT_PNG if cover.startswith(_PNG_MAGIC) else MP4Cover.FORMAT_JPEG
        audio.tags["covr"] = [MP4Cover(cover, imageformat=kind)]
    _save(audio, buf, pad)


_TAGGERS: dict[str, Callable[[io.BytesIO, Tags, bytes | None, int], None]] = {
    "mp3": _tag_mp3,
    "flac": _tag_flac,
    "ogg": _tag_vorbis,
    "opus": _tag_opus,
    "m4a": _tag_m4a,
    "wav": _tag_wav,
    "aiff": _tag_aiff,
}


def _tagged_bytes(
    fmt: str, tags: Tags, seconds: float, cover: bytes | None, pad: int, voice: int | None = None
) -> bytes:
    if fmt not in _TAGGERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    voice = voice_of(tags) if voice is None else voice % VOICES
    buf = io.BytesIO(_template(fmt, float(seconds), voice))
    _TAGGERS[fmt](buf, tags, cover, pad)
    return buf.getvalue()


def make_track(
    path: Path,
    fmt: str,
    tags: Tags,
    *,
    seconds: float = 1.0,
    cover: bytes | None = None,
    pad_bytes: int = 0,
    voice: int | None = None,
) -> Path:
    """Write one real, fully tagged audio file of format ``fmt`` at ``path``.

    ``voice`` picks the recording (one of VOICES; by default from the tags, so two tracks
    with other tags are, as a rule, other recordings, and the same tags give the same
    bytes).
    ``cover`` is embedded the format's native way (PNG or JPEG, told apart by its magic; any
    other bytes are declared as JPEG). ``pad_bytes`` adds that much tag padding (ID3 padding,
    a FLAC PADDING block, Vorbis comment padding, an MP4 ``free`` atom), so files reach a
    realistic size cheaply while staying valid (mutagen caps FLAC padding at 16 MiB).
    """
    data = _tagged_bytes(fmt, tags, seconds, cover, pad_bytes, voice)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------- images


@lru_cache(maxsize=1024)
def make_cover(seed: int, size: tuple[int, int] = (300, 300)) -> bytes:
    """A JPEG whose colours and pattern (stripes, checks or rings) follow from ``seed``."""
    rng = random.Random(seed)
    background = tuple(rng.randrange(256) for _ in range(3))
    foreground = tuple((channel + 96 + rng.randrange(64)) % 256 for channel in background)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    width, height = size
    count = rng.randint(2, 9)
    pattern = seed % 3
    for i in range(count):
        if pattern == 0:  # vertical stripes
            x = i * width // count
            draw.rectangle((x, 0, x + width // (2 * count), height), fill=foreground)
        elif pattern == 1:  # a checkerboard row per i
            for j in range(count):
                if (i + j) % 2 == 0:
                    box = (j * width // count, i * height // count)
                    draw.rectangle(
                        (*box, box[0] + width // count, box[1] + height // count), fill=foreground
                    )
        else:  # concentric rings
            r = (count - i) * min(width, height) // (2 * count)
            fill = foreground if i % 2 == 0 else background
            draw.ellipse(
                (width // 2 - r, height // 2 - r, width // 2 + r, height // 2 + r), fill=fill
            )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@lru_cache(maxsize=4)
def decompression_bomb_png(width: int = 15000, height: int = 15000) -> bytes:
    """A valid, all-black 1-bit PNG whose pixel count trips Pillow's decompression-bomb guard.

    The zero rows are compressed in a stream, so the ~28 MB of raw scanlines never sit in
    memory at once; the result is a few tens of kilobytes.
    """
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed 1-bit pixels
    rows_per_block = 256
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * rows_per_block) for _ in range(height // rows_per_block)]
    parts.append(compressor.compress(row * (height % rows_per_block)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        _PNG_MAGIC
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------------ library

_ARTISTS = (
    "The Paper Lanterns",
    "Guns N' Petals",
    "Mira Okafor",
    "Los Relámpagos",
    "Sigrún Halvorsen",
    "DJ Sine Wave",
    "The Quiet Foxes",
    "Yuki Tanaka Trio",
    "Orchestre d'Été",
    "Nils & The Northerners",
    "Kestrel",
    "Zoë Adeyemi",
)
_ALBUMS = (
    "Café Déjà Vu",
    "Night Drive",
    "Songs for a Rainy Day",
    "Blue Hours",
    "The Long Way Home",
    "Midsommar Lights",
    "Glass Houses",
    "Static & Silence",
    "Under the Overpass",
    "Paper Moons",
    "Tidal",
    "Øresund Signals",
    "Rooftop Radio",
)
_ODD_TITLES = (
    "Café Déjà Vu",
    "Don't Look Back",
    "Señorita Ñandú",
    "東京の夜 (Tokyo Night)",
    "Rock 'n' Roll Is Here to Stay",
    "Über  Double  Spaces",
)
_ADJECTIVES = (
    "Blue", "Silent", "Golden", "Broken", "Electric", "Northern", "Hidden", "Velvet",
    "Burning", "Paper", "Hollow", "Crimson", "Lonely", "Neon", "Quiet", "Wild",
)  # fmt: skip
_NOUNS = (
    "Morning", "River", "Highway", "Letters", "Garden", "Satellite", "Harbour", "Mirror",
    "Summer", "Engine", "Lullaby", "Skyline", "Echo", "Window", "Ocean", "Parade",
)  # fmt: skip
_GENRES = ("Rock", "Jazz", "Electronic", "Folk", "Hip-Hop", "Classical", "Pop", "Ambient")
_VARIOUS = "Various Artists"


@dataclass(frozen=True)
class _PlannedTrack:
    filename_stem: str
    tags: Tags


def _safe_name(name: str) -> str:
    """A path component: no separators, no leading dot."""
    return name.replace("/", "-").replace("\0", "").lstrip(".") or "_"


def _titles(rng: random.Random, album_index: int, count: int) -> list[str]:
    """Distinct titles; the first one of each album is one of the odd-but-valid names."""
    titles: list[str] = []
    for i in range(count):
        title = _ODD_TITLES[album_index % len(_ODD_TITLES)] if i == 0 else ""
        if not title:
            title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        if title in titles:
            title = f"{title} {i + 1}"
        titles.append(title)
    return titles


def _plan_album(rng: random.Random, index: int, tracks: int) -> list[_PlannedTrack]:
    """Tags and file names of one album.

    Every 7th album is a compilation (album artist "Various Artists"); every 5th album with
    two or more tracks spans two discs, with numbering restarting on disc 2.
    """
    album = _ALBUMS[index % len(_ALBUMS)]
    if index >= len(_ALBUMS):
        album = f"{album} Vol. {index // len(_ALBUMS) + 1}"
    compilation = index % 7 == 6
    album_artist = _VARIOUS if compilation else _ARTISTS[index % len(_ARTISTS)]
    year, genre = rng.randint(1960, 2024), rng.choice(_GENRES)
    discs = 2 if index % 5 == 4 and tracks >= 2 else 1
    per_disc = [tracks - tracks // 2, tracks // 2] if discs == 2 else [tracks]
    titles = iter(_titles(rng, index, tracks))
    planned: list[_PlannedTrack] = []
    for disc, total in enumerate(per_disc, start=1):
        for number in range(1, total + 1):
            title = next(titles)
            artist = rng.choice(_ARTISTS) if compilation else album_artist
            tags = Tags(title, artist, album, album_artist, number, total, disc, year, genre)
            prefix = f"{disc}-{number:02d}" if discs > 1 else f"{number:02d}"
            planned.append(_PlannedTrack(f"{prefix} - {_safe_name(title)}", tags))
    return planned


def _write_album(
    folder: Path,
    fmt: str,
    planned: list[_PlannedTrack],
    cover_mode: str | None,
    cover: bytes,
    seconds: float,
    pad_bytes: int,
    voices: list[int],
) -> list[ManifestEntry]:
    """`voices`: one per track, taken in order."""
    folder.mkdir(parents=True, exist_ok=True)
    if cover_mode == "folder":
        (folder / "cover.jpg").write_bytes(cover)
    embedded = cover if cover_mode == "embedded" else None
    entries = []
    for track in planned:
        path = folder / f"{track.filename_stem}.{fmt}"
        make_track(
            path,
            fmt,
            track.tags,
            seconds=seconds,
            cover=embedded,
            pad_bytes=pad_bytes,
            voice=voices.pop(0),
        )
        entries.append(_entry(path, fmt, track.tags, cover_mode, None, ""))
    return entries


def make_library(
    root: Path,
    albums: int,
    tracks_per_album: int,
    *,
    formats: Sequence[str] = FORMATS,
    seconds: float = 1.0,
    pad_bytes: int = 0,
    broken: bool = False,
    seed: int = 0,
) -> Manifest:
    """Write ``root/<Album Artist>/<Album>/<NN - Title>.<ext>`` and describe it.

    Album ``i`` has the single format ``formats[i % len(formats)]`` and cover placement
    ``COVER_MODES[i % 3]`` (embedded, folder ``cover.jpg``, none). With ``broken``, the
    files of :func:`make_broken_files` go under ``root/Broken``. The same arguments give the
    same bytes.
    """
    if not formats or set(formats) - set(FORMATS):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    if albums < 0 or tracks_per_album < 1:
        raise ValueError("need albums >= 0 and tracks_per_album >= 1")
    rng = random.Random(seed)
    entries: list[ManifestEntry] = []
    for index in range(albums):
        planned = _plan_album(rng, index, tracks_per_album)
        first = planned[0].tags
        folder = root / _safe_name(first.album_artist) / _safe_name(first.album)
        cover = make_cover(seed * 100_003 + index)
        fmt = formats[index % len(formats)]
        mode = COVER_MODES[index % len(COVER_MODES)]
        # One voice per track, in turn: distinct recordings up to VOICES per format,
        # and another seed starts elsewhere among them.
        start = seed * 37 + index * tracks_per_album
        voices = [(start + n) % VOICES for n in range(len(planned))]
        entries += _write_album(folder, fmt, planned, mode, cover, seconds, pad_bytes, voices)
    if broken:
        entries += make_broken_files(root / "Broken")
    return Manifest(root, entries)


# ------------------------------------------------------------------------------- broken files

_BROKEN_ARTIST = "Broken Files"
_BROKEN_ALBUM = "Things That Go Wrong"


def _broken_tags(title: str, number: int) -> Tags:
    return Tags(title, _BROKEN_ARTIST, _BROKEN_ALBUM, _BROKEN_ARTIST, number, 10, 1, 2001, "Noise")


def _random_bytes_without_sync(size: int) -> bytes:
    """Random bytes with no 0xFF, so no reader can find an MPEG frame sync in them."""
    rng = random.Random(0xBAD)
    return bytes(rng.randrange(0xFF) for _ in range(size))


def _truncated_flac() -> bytes:
    """A tagged FLAC with a cover, cut inside its metadata blocks (mutagen rejects it)."""
    tags = _broken_tags("Cut Short", 2)
    return _tagged_bytes("flac", tags, 1.0, make_cover(2), 0)[:100]


def _entry(
    path: Path, fmt: str | None, tags: Tags | None, cover: str | None, stage: str | None, note: str
) -> ManifestEntry:
    expect = COMPLETE if stage is None else ERROR
    return ManifestEntry(os.fsdecode(path), fmt, tags, cover, expect, stage, note)


def _unreadable_files(folder: Path) -> list[ManifestEntry]:
    """Files that fail at the metadata stage: no tags or audio properties can be read."""
    files = [
        ("zero bytes.mp3", b"", None, "empty file"),
        ("truncated.flac", _truncated_flac(), "flac", "flac cut to 100 bytes, inside metadata"),
        ("random bytes.mp3", _random_bytes_without_sync(64 * 1024), None, "random bytes"),
        ("not audio.ogg", b"These are liner notes, not a song.\n" * 20, None, "a text file"),
    ]
    entries = []
    for name, data, fmt, note in files:
        path = folder / name
        path.write_bytes(data)
        entries.append(_entry(path, fmt, None, None, "metadata", note))
    return entries


def _broken_track(
    path: Path,
    fmt: str,
    title: str,
    number: int,
    note: str,
    *,
    cover: bytes | None = None,
    cover_mode: str | None = None,
    stage: str | None = None,
) -> ManifestEntry:
    """A real tagged track that is odd or whose art is bad."""
    tags = _broken_tags(title, number)
    make_track(path, fmt, tags, cover=cover)
    return _entry(path, fmt, tags, cover_mode, stage, note)


def _bad_folder_cover(
    folder: Path, album: str, cover: bytes, number: int, note: str
) -> ManifestEntry:
    """An album folder with one valid mp3 and a ``cover.jpg`` that is not an image."""
    album_folder = folder / album
    album_folder.mkdir(parents=True, exist_ok=True)
    (album_folder / "cover.jpg").write_bytes(cover)
    path = album_folder / f"01 - {album}.mp3"
    return _broken_track(path, "mp3", album, number, note, cover_mode="folder", stage="art")


def make_broken_files(folder: Path) -> list[ManifestEntry]:
    """Write damaged, mislabelled and awkward files into ``folder``; describe each.

    Metadata errors: a zero-byte mp3, a truncated flac, random bytes as mp3, text as ogg.
    Art errors: garbage in an APIC frame, a decompression-bomb PNG, an empty ``cover.jpg``
    and a text ``cover.jpg`` (each next to a valid track). Valid despite appearances: an
    Ogg Vorbis file named ``.mp3`` and an mp3 whose file name is not valid UTF-8.
    """
    folder.mkdir(parents=True, exist_ok=True)
    garbage = b"NOT A JPEG " + _random_bytes_without_sync(2048)
    return [
        *_unreadable_files(folder),
        _broken_track(
            folder / "actually ogg.mp3", "ogg", "Actually Ogg", 5, "Ogg Vorbis named .mp3"
        ),
        _broken_track(
            folder / "corrupt cover.mp3",
            "mp3",
            "Corrupt Cover",
            6,
            "APIC frame holds garbage declared image/jpeg",
            cover=garbage,
            cover_mode="embedded",
            stage="art",
        ),
        _broken_track(
            folder / "bomb cover.mp3",
            "mp3",
            "Bomb Cover",
            7,
            "embedded 15000x15000 PNG trips the decompression-bomb guard",
            cover=decompression_bomb_png(),
            cover_mode="embedded",
            stage="art",
        ),
        _bad_folder_cover(folder, "Empty Cover", b"", 8, "zero-byte cover.jpg"),
        _bad_folder_cover(folder, "Text Cover", b"cover art goes here\n", 9, "text cover.jpg"),
        _broken_track(
            folder / os.fsdecode(b"bad name \xff.mp3"),
            "mp3",
            "Bad Name",
            10,
            "file name is not valid UTF-8",
        ),
    ]


# ---------------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Generate a library from the command line and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.audiogen", description="Generate a real, tagged music library."
    )
    parser.add_argument("root", type=Path)
    parser.add_argument("--albums", type=int, required=True)
    parser.add_argument("--tracks", type=int, required=True, help="tracks per album")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--seconds", type=float, default=1.0, help="audio length per track")
    parser.add_argument("--pad-kb", type=int, default=0, help="extra KiB of tag padding")
    parser.add_argument("--broken", action="store_true", help="add root/Broken test files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    if not formats or set(formats) - set(FORMATS):
        parser.error(f"--formats: choose from {','.join(FORMATS)}")
    started = time.perf_counter()
    manifest = make_library(
        args.root,
        args.albums,
        args.tracks,
        formats=formats,
        seconds=args.seconds,
        pad_bytes=args.pad_kb * 1024,
        broken=args.broken,
        seed=args.seed,
    )
    elapsed = time.perf_counter() - started
    size = sum(os.stat(entry.path).st_size for entry in manifest.entries)
    print(
        f"{len(manifest.entries)} files ({len(manifest.good())} good, "
        f"{len(manifest.broken())} broken), {size / 1e6:.1f} MB, {elapsed:.2f} s: {args.root}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
