"""The metadata stage: tags and audio properties of one file, format-neutrally.

`mutagen.File` chooses the parser by scoring the file's content (and, weakly,
its extension), so an Ogg Vorbis file named `.mp3` is read, and reported, as
"ogg". Tags are read through a small per-family mapping (ID3, MP4, ASF, and the
Vorbis-comment/APEv2 families) rather than mutagen's "easy" wrappers, because
the easy wrappers do not cover ID3 in WAV/AIFF and hide the pictures that the
artwork stage reads from the same parsed object (see `open_audio`).

Every failure of a bad file is a StageError("metadata", ...) whose text a
person can act on; nothing else escapes for a bad file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen import FileType, MutagenError
from mutagen.aac import AAC
from mutagen.ac3 import AC3
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2File
from mutagen.asf import ASF, ASFTags
from mutagen.dsdiff import DSDIFF
from mutagen.dsf import DSF
from mutagen.flac import FLAC
from mutagen.id3 import ID3, ID3FileType
from mutagen.monkeysaudio import MonkeysAudio
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Tags
from mutagen.musepack import Musepack
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggtheora import OggTheora
from mutagen.oggvorbis import OggVorbis
from mutagen.optimfrog import OptimFROG
from mutagen.smf import SMF
from mutagen.tak import TAK
from mutagen.trueaudio import TrueAudio
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from mus_desktop.processing.errors import StageError, stage_error_from_os
from mus_desktop.processing.files import MAX_AUDIO_BYTES, CheckedFile, open_checked
from mus_desktop.terminal import one_line

STAGE = "metadata"

# The container/codec name stored in Track.format, by mutagen's parser class.
_FORMAT_NAMES: dict[type[FileType], str] = {
    MP3: "mp3",
    FLAC: "flac",
    OggVorbis: "ogg",
    OggOpus: "opus",
    OggFLAC: "ogg-flac",
    OggSpeex: "speex",
    OggTheora: "theora",
    MP4: "m4a",
    WAVE: "wav",
    AIFF: "aiff",
    ASF: "wma",
    MonkeysAudio: "ape",
    WavPack: "wavpack",
    Musepack: "mpc",
    OptimFROG: "ofr",
    TrueAudio: "tta",
    TAK: "tak",
    AAC: "aac",
    AC3: "ac3",
    DSF: "dsf",
    DSDIFF: "dff",
    SMF: "midi",
    APEv2File: "apev2",
    ID3FileType: "id3",
}

# Formats whose header states exactly how many bytes of audio follow, so a file
# holding much less than that was cut short (an interrupted copy or download).
# Mapped to the fraction of the promised size below which we call it truncated.
# Not FLAC/Ogg/MP4, whose bitrate mutagen derives from the file size itself.
_PROMISED_SIZE_FORMATS: dict[type[FileType], float] = {WAVE: 0.9, AIFF: 0.9, MP3: 0.5}

# Opus always decodes at 48 kHz; mutagen reports no sample rate for it.
_OPUS_RATE = 48000

# Parsers tried on the content alone, to tell a damaged audio file (its header
# is recognisable) from a file that was never audio (nothing recognises it).
_CONTENT_KINDS: tuple[type[FileType], ...] = tuple(
    kind for kind in _FORMAT_NAMES if kind not in (APEv2File, ID3FileType)
)

_LEADING_INT = re.compile(r"\s*(\d+)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


@dataclass(frozen=True)
class TrackMetadata:
    title: str | None
    artist: str | None
    album: str | None
    album_artist: str | None
    track_number: int | None
    disc_number: int | None
    year: int | None
    genre: str | None
    duration: float | None
    bitrate: int | None
    sample_rate: int | None
    channels: int | None
    format: str


def open_track_file(path: str | Path, roots: Sequence[str] = ()) -> CheckedFile:
    """The track's file, opened the careful way (see `files`), for `parse_audio` and hashing."""
    return open_checked(path, STAGE, limit=MAX_AUDIO_BYTES, roots=roots)


def open_audio(path: str | Path, roots: Sequence[str] = ()) -> FileType:
    """Open and parse the file at `path` (see `parse_audio`)."""
    with open_track_file(path, roots) as checked:
        return parse_audio(checked, path)


def parse_audio(checked: CheckedFile, path: str | Path) -> FileType:
    """Parse the opened file with mutagen; the result serves both stages.

    `path` is the track's path, which messages describe. Raises
    StageError("metadata", ...) for an unreadable, empty, non-audio or damaged file.
    """
    path = Path(path)
    if checked.size == 0:
        raise StageError(STAGE, "empty file", "0 bytes")
    try:
        audio = mutagen.File(checked.file)
    except MutagenError as exc:
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, OSError):
            raise stage_error_from_os(STAGE, cause) from exc
        raise _unreadable(checked, exc) from exc
    except OSError as exc:
        raise stage_error_from_os(STAGE, exc) from exc
    except Exception as exc:  # mutagen's parsers can fail with any exception on bad bytes
        raise _unreadable(checked, exc) from exc
    if audio is None:
        raise StageError(STAGE, "not an audio file", f"no known audio format in {_named(path)}")
    _check_stream(audio, checked.size)
    return audio


def read_metadata(path: str | Path, audio: FileType | None = None) -> TrackMetadata:
    """Tags and audio properties of the file at `path`.

    Pass `audio` (from `open_audio`) to avoid parsing the file a second time.
    Raises StageError("metadata", ...) for a bad file.
    """
    if audio is None:
        audio = open_audio(path)
    try:
        tags = _read_tags(audio)
    except Exception as exc:  # a tag frame mutagen parsed but we cannot interpret
        raise StageError(STAGE, "unreadable tags", f"{type(exc).__name__}: {exc}") from exc
    info = audio.info
    rate = _positive_int(getattr(info, "sample_rate", None))
    if rate is None and isinstance(audio, OggOpus):
        rate = _OPUS_RATE
    return TrackMetadata(
        **tags,
        duration=float(info.length) if info.length else None,
        bitrate=_positive_int(getattr(info, "bitrate", None)),
        sample_rate=rate,
        channels=_positive_int(getattr(info, "channels", None)),
        format=format_name(audio),
    )


def format_name(audio: FileType) -> str:
    """Short lowercase name of the real container/codec ("mp3", "flac", "ogg"...)."""
    if isinstance(audio, MP3) and getattr(audio.info, "layer", 3) != 3:
        return f"mp{audio.info.layer}"
    exact = _FORMAT_NAMES.get(type(audio))
    if exact is not None:
        return exact
    for kind, name in _FORMAT_NAMES.items():
        if isinstance(audio, kind):
            return name
    return type(audio).__name__.lower()


def _named(path: Path) -> str:
    suffix = path.suffix.lower()
    return f"a {suffix} file" if suffix else "a file without an extension"


def _unreadable(checked: CheckedFile, exc: BaseException) -> StageError:
    """'not an audio file' unless the content looks like some audio format."""
    words = one_line(exc) or type(exc).__name__
    if _looks_like_audio(checked):
        return StageError(STAGE, "truncated or corrupt audio", words)
    return StageError(STAGE, "not an audio file", words)


def _looks_like_audio(checked: CheckedFile) -> bool:
    try:
        checked.file.seek(0)
        header = checked.file.read(128)
    except OSError:
        return False
    probe = io.BytesIO(header)
    # An empty name: judge the bytes, not the extension.
    return any(kind.score("", probe, header) > 0 for kind in _CONTENT_KINDS)


def _check_stream(audio: FileType, size: int) -> None:
    info = audio.info
    length = getattr(info, "length", 0) or 0
    if length <= 0:
        raise StageError(STAGE, "truncated or corrupt audio", "the stream's length is zero")
    threshold = _PROMISED_SIZE_FORMATS.get(type(audio))
    bitrate = getattr(info, "bitrate", 0) or 0
    if threshold is None or bitrate <= 0:
        return
    promised = length * bitrate / 8
    if size < threshold * promised:
        raise StageError(
            STAGE,
            "truncated or corrupt audio",
            f"the file has {size:,} of the {promised:,.0f} bytes its header promises",
        )


def _read_tags(audio: FileType) -> dict[str, Any]:
    tags = audio.tags
    if tags is None:
        values: dict[str, str | None] = {}
    elif isinstance(tags, ID3):
        values = _id3_values(tags)
    elif isinstance(tags, MP4Tags):
        values = _mp4_values(tags)
    elif isinstance(tags, ASFTags):
        values = _asf_values(tags)
    else:  # Vorbis comments (FLAC, Ogg) and APEv2 (APE, WavPack, Musepack...): case-insensitive
        values = _comment_values(tags)
    return {
        "title": values.get("title"),
        "artist": values.get("artist"),
        "album": values.get("album"),
        "album_artist": values.get("album_artist"),
        "track_number": _leading_int(values.get("track")),
        "disc_number": _leading_int(values.get("disc")),
        "year": _year(values.get("date")),
        "genre": values.get("genre"),
    }


def _id3_values(tags: ID3) -> dict[str, str | None]:
    def text(frame_id: str) -> str | None:
        for frame in tags.getall(frame_id):
            found = _first_text(frame.text)
            if found:
                return found
        return None

    genres = [genre for frame in tags.getall("TCON") for genre in frame.genres]
    return {
        "title": text("TIT2"),
        "artist": text("TPE1"),
        "album": text("TALB"),
        "album_artist": text("TPE2"),
        "track": text("TRCK"),
        "disc": text("TPOS"),
        "date": text("TDRC") or text("TDOR") or text("TYER"),
        "genre": _first_text(genres),
    }


def _mp4_values(tags: MP4Tags) -> dict[str, str | None]:
    def number(key: str) -> str | None:
        pairs = tags.get(key) or []
        return str(pairs[0][0]) if pairs and pairs[0] and pairs[0][0] else None

    return {
        "title": _first_text(tags.get("\xa9nam")),
        "artist": _first_text(tags.get("\xa9ART")),
        "album": _first_text(tags.get("\xa9alb")),
        "album_artist": _first_text(tags.get("aART")),
        "track": number("trkn"),
        "disc": number("disk"),
        "date": _first_text(tags.get("\xa9day")),
        "genre": _first_text(tags.get("\xa9gen")),
    }


def _asf_values(tags: ASFTags) -> dict[str, str | None]:
    def text(*keys: str) -> str | None:
        for key in keys:
            found = _first_text(getattr(value, "value", value) for value in tags.get(key, []))
            if found:
                return found
        return None

    return {
        "title": text("Title"),
        "artist": text("Author", "WM/AlbumArtist"),
        "album": text("WM/AlbumTitle"),
        "album_artist": text("WM/AlbumArtist"),
        "track": text("WM/TrackNumber", "WM/Track"),
        "disc": text("WM/PartOfSet"),
        "date": text("WM/Year", "WM/OriginalReleaseYear"),
        "genre": text("WM/Genre"),
    }


def _comment_values(tags: Any) -> dict[str, str | None]:
    def text(*keys: str) -> str | None:
        for key in keys:
            try:
                value = tags[key]
            except (KeyError, ValueError):
                continue
            # APEv2 values join several strings with NUL; Vorbis values are lists.
            items = str(value).split("\0") if not isinstance(value, list) else value
            found = _first_text(items)
            if found:
                return found
        return None

    return {
        "title": text("title"),
        "artist": text("artist"),
        "album": text("album"),
        "album_artist": text("albumartist", "album artist", "album_artist"),
        "track": text("tracknumber", "track"),
        "disc": text("discnumber", "disc"),
        "date": text("date", "year", "originaldate"),
        "genre": text("genre"),
    }


def _first_text(values: Iterable[Any] | None) -> str | None:
    for value in values or ():
        text = str(value).strip()
        if text:
            return text
    return None


def _leading_int(text: str | None) -> int | None:
    """'3/12' -> 3, ' 07' -> 7; None when there is no number."""
    match = _LEADING_INT.match(text or "")
    return _positive_int(int(match.group(1))) if match else None


def _year(text: str | None) -> int | None:
    """'2001-05-03', '2001', '03/05/2001' -> 2001."""
    match = _YEAR.search(text or "")
    return _positive_int(int(match.group(1))) if match else None


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
