"""Real audio files for the processing tests, built in tmp_path.

Built here with soundfile (libsndfile) and mutagen rather than with
tools/audiogen.py, because these tests need files audiogen does not make: AIFF;
stereo WAV; tags as the raw strings taggers write ("3/5" track and "1/1" disc
numbers in every format, full dates like "1959-08-17"); untagged files; and an
ID3 back cover before the front one. Cover images come from tools/audiogen.py.

Also `as_nobody`, which runs a stage without root's power to read anything, so
that the permission tests run in CI, which runs as root.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import mutagen
import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import Picture
from mutagen.id3 import APIC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK
from mutagen.mp4 import MP4Cover
from redis import Redis
from rq import Queue

from mus_desktop.config import Settings
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.queue import make_queue
from tests.engines import both_engines

NOBODY = 65534

# format -> (libsndfile format, subtype, sample rate)
_SOUNDFILE_FORMATS = {
    "mp3": ("MP3", "MPEG_LAYER_III", 44100),
    "flac": ("FLAC", "PCM_16", 44100),
    "ogg": ("OGG", "VORBIS", 44100),
    "opus": ("OGG", "OPUS", 48000),
    "wav": ("WAV", "PCM_16", 44100),
    "aiff": ("AIFF", "PCM_16", 44100),
}
_ID3_FORMATS = ("mp3", "wav", "aiff")


@dataclass(frozen=True)
class Tags:
    title: str = "Blue in Green"
    artist: str = "Miles Davis"
    album: str = "Kind of Blue"
    album_artist: str = "Miles Davis Sextet"
    track: str = "3/5"
    disc: str = "1/1"
    date: str = "1959-08-17"
    genre: str = "Jazz"


def _signal(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    return np.stack([tone, tone], axis=1)


def _encode_m4a(path: Path, seconds: float) -> None:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp, "in.wav")
        sf.write(wav, _signal(seconds, 44100), 44100, subtype="PCM_16")
        command = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac"]
        subprocess.run([*command, str(path)], check=True, capture_output=True)


def _picture_block(cover: bytes) -> Picture:
    picture = Picture()
    picture.type = 3
    picture.mime = "image/jpeg"
    picture.data = cover
    return picture


def write_track(
    path: Path, fmt: str, tags: Tags | None = Tags(), cover: bytes | None = None
) -> Path:
    """A real `fmt` file at `path` with `tags` and, if given, an embedded `cover`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "m4a":
        _encode_m4a(path, 1.0)
    else:
        sf_format, subtype, rate = _SOUNDFILE_FORMATS[fmt]
        with open(path, "wb") as out:  # by file object: libsndfile would go by the extension
            sf.write(out, _signal(1.0, rate), rate, format=sf_format, subtype=subtype)
    audio = mutagen.File(path)
    if fmt in _ID3_FORMATS:
        _tag_id3(audio, tags, cover)
    elif fmt == "m4a":
        _tag_mp4(audio, tags, cover)
    else:
        _tag_vorbis(audio, fmt, tags, cover)
    audio.save()
    return path


def _tag_id3(audio: mutagen.FileType, tags: Tags | None, cover: bytes | None) -> None:
    if audio.tags is None:
        audio.add_tags()
    frames: ID3 = audio.tags
    if tags:
        for frame, text in (
            (TIT2, tags.title),
            (TPE1, tags.artist),
            (TALB, tags.album),
            (TPE2, tags.album_artist),
            (TRCK, tags.track),
            (TPOS, tags.disc),
            (TDRC, tags.date),
            (TCON, tags.genre),
        ):
            frames.add(frame(encoding=3, text=text))
    if cover is not None:
        # A back cover first, so the test sees the front cover preferred.
        frames.add(APIC(encoding=3, mime="image/png", type=4, desc="back", data=b"back"))
        frames.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=cover))


def _tag_mp4(audio: mutagen.FileType, tags: Tags | None, cover: bytes | None) -> None:
    if tags:
        audio["\xa9nam"] = tags.title
        audio["\xa9ART"] = tags.artist
        audio["\xa9alb"] = tags.album
        audio["aART"] = tags.album_artist
        audio["trkn"] = [tuple(int(n) for n in tags.track.split("/"))]
        audio["disk"] = [tuple(int(n) for n in tags.disc.split("/"))]
        audio["\xa9day"] = tags.date
        audio["\xa9gen"] = tags.genre
    if cover is not None:
        audio["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG)]


def _tag_vorbis(audio: mutagen.FileType, fmt: str, tags: Tags | None, cover: bytes | None) -> None:
    if tags:
        audio["title"] = tags.title
        audio["artist"] = tags.artist
        audio["album"] = tags.album
        audio["albumartist"] = tags.album_artist
        audio["tracknumber"] = tags.track
        audio["discnumber"] = tags.disc
        audio["date"] = tags.date
        audio["genre"] = tags.genre
    if cover is None:
        return
    if fmt == "flac":
        audio.add_picture(_picture_block(cover))
    else:
        block = base64.b64encode(_picture_block(cover).write()).decode("ascii")
        audio["metadata_block_picture"] = [block]


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """One tagged file per format, made once per session; copy it before changing it."""
    folder = tmp_path_factory.mktemp("templates")
    made: dict[str, Path] = {}

    def template(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = write_track(folder / f"template.{fmt}", fmt)
        return made[fmt]

    return template


@pytest.fixture
def track(templates: Callable[[str], Path], tmp_path: Path) -> Callable[..., Path]:
    """A copy of the tagged template of `fmt` at tmp_path/`name`."""

    def copy(fmt: str, name: str | None = None) -> Path:
        target = tmp_path / (name or f"track.{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(templates(fmt), target))

    return copy


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder `as_nobody` can reach (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="mus-test-", dir="/tmp"))  # not a private TMPDIR
    folder.chmod(0o755)
    yield folder
    for inner in folder.rglob("*"):
        if inner.is_dir() and not inner.is_symlink():
            inner.chmod(0o755)
    shutil.rmtree(folder)


def as_nobody(work: Callable[[], object]) -> str:
    """`work()` in a child process that has dropped root (uid and gid 65534, no
    groups): the StageError it raises as its message, else "ok".

    Run directly when not root: a user's permission bits already apply.
    """
    if os.geteuid() != 0:
        return _outcome(work)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(writer, _outcome(work).encode())
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        outcome = pipe.read().decode()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0, "the child failed"
    return outcome


def _outcome(work: Callable[[], object]) -> str:
    try:
        work()
    except StageError as error:
        return str(error)
    return "ok"


@pytest.fixture
def queue(broker_settings: Settings) -> Iterator[Queue]:
    """This library's queue on the test broker."""
    assert broker_settings.redis_url
    connection = Redis.from_url(broker_settings.redis_url)
    yield make_queue(connection, broker_settings)
    connection.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """This suite runs on both library engines (tests/engines.py)."""
    both_engines(metafunc)
