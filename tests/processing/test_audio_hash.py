"""The audio hash: a retagged file keeps it, other audio does not; and the content hash
that is computed in the same read still tells every byte apart.

Real files from tools/audiogen.py, retagged with mutagen the way a tagger would.
"""

from __future__ import annotations

import base64
import random
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

import mutagen
import pytest
from blake3 import blake3
from mutagen.apev2 import APEv2
from mutagen.flac import Picture
from mutagen.id3 import APIC, TIT2
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4Cover

from mus_desktop.processing.audio_hash import audio_segments
from mus_desktop.processing.errors import StageError
from mus_desktop.processing.hashing import Digests, content_hash, hash_digests
from mus_desktop.processing.metadata import open_track_file
from tools.audiogen import Tags, make_track

FORMATS = ("mp3", "flac", "ogg", "opus", "m4a", "wav", "aiff")
TAGS = Tags("Blue in Green", "Miles Davis", "Kind of Blue", "Miles Davis", 3, 5, 1, 1959, "Jazz")
PICTURE = random.Random(7).randbytes(400_000)  # declared JPEG; nobody decodes it here
CORRUPT = "metadata: truncated or corrupt audio"


def digests(path: Path) -> Digests:
    with open_track_file(path) as checked:
        return hash_digests(checked)


def segments(path: Path) -> list[tuple[int, int]] | None:
    with open_track_file(path) as checked:
        return audio_segments(checked)


def expected(path: Path) -> Digests:
    """The definition in hashing.py's docstring, computed the plain way, in memory."""
    data = path.read_bytes()
    found = segments(path)
    if found is None:
        return Digests(blake3(data).hexdigest(), None)
    audio, rest, position = blake3(), blake3(), 0
    for start, length in found:
        rest.update(data[position:start] + struct.pack(">QQ", start, length))
        audio.update(data[start : start + length])
        position = start + length
    rest.update(data[position:])
    content = blake3(audio.digest() + rest.digest(), derive_key_context="mus content hash 2")
    return Digests(content.hexdigest(), audio.hexdigest())


@pytest.fixture
def make(tmp_path: Path) -> Callable[..., Path]:
    def made(fmt: str, name: str = "track", **options: object) -> Path:
        return make_track(tmp_path / f"{name}.{fmt}", fmt, TAGS, **options)  # type: ignore[arg-type]

    return made


def retag(path: Path, fmt: str, *, title: str, picture: bytes | None = None) -> None:
    """What a tagger does: another title, and maybe a large embedded picture."""
    audio = mutagen.File(path)
    if fmt in ("mp3", "wav", "aiff"):
        audio.tags.add(TIT2(encoding=3, text=title))
        if picture:
            audio.tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=picture))
    elif fmt == "m4a":
        audio.tags["\xa9nam"] = [title]
        if picture:
            audio.tags["covr"] = [MP4Cover(picture, imageformat=MP4Cover.FORMAT_JPEG)]
    else:
        audio["title"] = [title]
        if picture:
            block = Picture()
            block.type, block.mime, block.data = 3, "image/jpeg", picture
            if fmt == "flac":
                audio.add_picture(block)
            else:
                audio["metadata_block_picture"] = [base64.b64encode(block.write()).decode()]
    audio.save()


def flipped(path: Path, position: int, target: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    target.write_bytes(bytes(data))
    return target


# ------------------------------------------------------------------------------ retagging


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_retag_keeps_the_audio_hash_and_changes_the_content_hash(make, fmt: str) -> None:
    path = make(fmt)
    before = digests(path)

    retag(path, fmt, title="Flamenco Sketches")
    retitled = digests(path)
    retag(path, fmt, title="So What", picture=PICTURE)
    pictured = digests(path)

    assert before.audio is not None
    assert retitled.audio == pictured.audio == before.audio
    assert len({before.content, retitled.content, pictured.content}) == 3
    assert mutagen.File(path).info.length > 0  # still a good file after the retags


@pytest.mark.parametrize("fmt", FORMATS)
def test_other_audio_has_another_audio_hash(make, fmt: str) -> None:
    one = digests(make(fmt, "one", seconds=1.0))
    other = digests(make(fmt, "other", seconds=1.5))

    assert one.audio != other.audio
    assert one.content != other.content


@pytest.mark.parametrize("fmt", FORMATS)
def test_copies_hash_equal_and_one_flipped_byte_changes_the_content_hash(
    make, fmt: str, tmp_path: Path
) -> None:
    path = make(fmt, cover=PICTURE[:5000])
    copy = Path(shutil.copyfile(path, tmp_path / f"copy.{fmt}"))
    start, length = segments(path)[0]
    in_tag = path.read_bytes().index(b"Blue in Green")
    in_audio = start + length // 2

    original = digests(path)
    tag_flipped = digests(flipped(path, in_tag, tmp_path / f"tag.{fmt}"))
    audio_flipped = digests(flipped(path, in_audio, tmp_path / f"audio.{fmt}"))

    assert digests(copy) == original
    assert tag_flipped.audio == original.audio
    assert tag_flipped.content != original.content
    assert audio_flipped.audio != original.audio
    assert audio_flipped.content != original.content


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("mp3", {"pad_bytes": 300_000}),
        ("flac", {"pad_bytes": 600_000, "cover": PICTURE}),
        ("ogg", {"seconds": 12.0, "pad_bytes": 150_000}),  # audio pages across reads
        ("opus", {"seconds": 3.0, "cover": PICTURE}),
        ("m4a", {"pad_bytes": 300_000}),
        ("aiff", {"seconds": 4.0}),
    ],
)
def test_the_digests_follow_their_definition_across_reads(make, fmt: str, options) -> None:
    path = make(fmt, **options)

    assert path.stat().st_size > 256 * 1024
    assert digests(path) == expected(path)
    assert content_hash(path) == expected(path).content


def test_mp3_tags_appended_at_the_end_are_not_audio(make, tmp_path: Path) -> None:
    path = make("mp3")
    plain = digests(path)
    tagged = Path(shutil.copyfile(path, tmp_path / "appended.mp3"))
    ape = APEv2()
    ape["Title"] = "Blue in Green (APE)"
    ape.save(tagged)
    lyrics = b"LYRICSBEGININD0000210LYR00011la la la la"
    with open(tagged, "ab") as out:
        out.write(lyrics + b"%06dLYRICS200" % len(lyrics))
    MP3(tagged).save(v1=2)  # and an ID3v1 tag at the very end

    data = tagged.read_bytes()
    assert data[-128:].startswith(b"TAG") and b"APETAGEX" in data and b"LYRICS200" in data
    assert digests(tagged).audio == plain.audio
    assert digests(tagged).content != plain.content


def test_an_ogg_retag_that_renumbers_the_pages_keeps_the_audio_hash(make) -> None:
    path = make("ogg", seconds=3.0)
    before = digests(path)
    pages_before = path.read_bytes().count(b"OggS")

    audio = mutagen.File(path)
    audio["comment"] = ["a long sleeve note " * 20_000]  # ~380 KB: several header pages
    audio.save()

    assert path.read_bytes().count(b"OggS") > pages_before + 3
    assert digests(path).audio == before.audio
    assert digests(path).content != before.content


# ---------------------------------------------------------------------------- bad files


def _error(path: Path) -> str:
    with pytest.raises(StageError) as caught:
        digests(path)
    return str(caught.value)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("fmt", "cut", "words"),
    [
        ("mp3", 6, "the file ends inside the ID3v2 tag header at byte 0"),
        ("mp3", 100, "the ID3v2 tag at byte 0 is"),
        ("flac", 100, "the FLAC metadata block at byte"),
        ("flac", 6, "the file ends inside a FLAC metadata block header at byte 4"),
        ("ogg", 20, "the file ends inside the Ogg page header at byte 0"),
        ("opus", -100, "is cut short: its body ends at byte"),
        ("m4a", -100, "bytes long, past the end of the file"),
        ("m4a", 32, "the file ends inside an MP4 atom header at byte 28"),
        ("wav", -100, "the WAV chunk"),
        ("wav", 16, "the file ends inside the header of a chunk of the WAV file at byte 12"),
        ("aiff", -100, "the AIFF chunk"),
    ],
)
def test_a_cut_file_is_an_error_that_says_where(
    make, tmp_path: Path, fmt: str, cut: int, words: str
) -> None:
    data = make(fmt, cover=PICTURE[:2000]).read_bytes()

    message = _error(_write(tmp_path, f"cut.{fmt}", data[:cut]))

    assert message.startswith(CORRUPT) and words in message, message


def test_a_flac_block_length_past_the_end(make, tmp_path: Path) -> None:
    data = bytearray(make("flac").read_bytes())
    data[5:8] = (0xFFFFFF).to_bytes(3, "big")  # STREAMINFO's length

    message = _error(_write(tmp_path, "long block.flac", bytes(data)))

    assert message == (
        f"{CORRUPT} (the FLAC metadata block at byte 4 is 16,777,215 bytes long, "
        f"past the end of the file ({len(data):,} bytes))"
    )


def test_an_ogg_page_where_none_starts(make, tmp_path: Path) -> None:
    data = bytearray(make("ogg").read_bytes())
    second = data.index(b"OggS", 4)
    data[second : second + 4] = b"Oggs"

    message = _error(_write(tmp_path, "lost page.ogg", bytes(data)))

    assert message == f"{CORRUPT} (no Ogg page at byte {second:,}, where the previous page ends)"


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (4, "the MP4 atom 'ftyp' at byte 0 declares 4 bytes, less than its own 8-byte header"),
        (0x7FFFFFFF, "the MP4 atom 'ftyp' at byte 0 is 2,147,483,647 bytes long, past the end"),
    ],
)
def test_an_mp4_atom_of_a_wrong_size(make, tmp_path: Path, size: int, words: str) -> None:
    data = bytearray(make("m4a").read_bytes())
    data[0:4] = size.to_bytes(4, "big")

    message = _error(_write(tmp_path, "atom.m4a", bytes(data)))

    assert message.startswith(f"{CORRUPT} ({words}"), message


def test_a_wav_data_chunk_past_the_end(make, tmp_path: Path) -> None:
    data = bytearray(make("wav").read_bytes())
    chunk = data.index(b"data")
    data[chunk + 4 : chunk + 8] = (10_000_000).to_bytes(4, "little")

    message = _error(_write(tmp_path, "long data.wav", bytes(data)))

    assert message == (
        f"{CORRUPT} (the WAV chunk 'data' at byte {chunk:,} is 10,000,000 bytes long, "
        f"past the end of the file ({len(data):,} bytes))"
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_files_give_digests_or_an_error_quickly(make, tmp_path: Path, fmt: str) -> None:
    data = make(fmt, cover=PICTURE[:3000]).read_bytes()
    rng = random.Random(fmt)
    damaged = [data[: rng.randrange(len(data))] for _ in range(25)]
    for _ in range(40):
        copy = bytearray(data)
        # mostly where the structure is: the first 8 KiB and the last 256 bytes
        region = rng.choice([range(min(8192, len(data))), range(len(data) - 256, len(data))])
        for _ in range(rng.randint(1, 4)):
            copy[rng.choice(region)] = rng.randrange(256)
        damaged.append(bytes(copy))
    path = tmp_path / f"damaged.{fmt}"

    for variant in damaged:
        path.write_bytes(variant)
        started = time.perf_counter()
        try:
            outcome = digests(path)
        except StageError as error:
            assert str(error).startswith("metadata: "), error
        else:
            assert outcome == expected(path)
        assert time.perf_counter() - started < 1.0


# -------------------------------------------------------------------------- other formats


@pytest.mark.parametrize(
    "data",
    [
        b"These are liner notes, not a song.\n" * 50,
        # an ASF (WMA) header object's GUID, then bytes
        bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + random.Random(1).randbytes(5000),
        b"",
    ],
    ids=["text", "wma", "empty"],
)
def test_another_format_has_no_audio_hash_and_the_plain_content_hash(
    tmp_path: Path, data: bytes
) -> None:
    path = _write(tmp_path, "other.mp3", data)  # the name does not matter, the bytes do

    assert digests(path) == Digests(blake3(data).hexdigest(), None)
    assert content_hash(path) == blake3(data).hexdigest()


def test_ogg_of_another_codec_has_no_audio_hash(make, tmp_path: Path) -> None:
    data = bytearray(make("ogg").read_bytes())
    body = 27 + data[26]
    data[body : body + 7] = b"\x7fFLAC\x01"  # the first packet of an Ogg FLAC stream

    path = _write(tmp_path, "flac in ogg.ogg", bytes(data))

    assert digests(path) == Digests(blake3(bytes(data)).hexdigest(), None)


def _ogg_page(serial: int, sequence: int) -> bytes:
    """An empty Ogg page (no segments): 27 bytes, valid apart from its CRC."""
    return b"OggS" + struct.pack("<BBqIIIB", 0, 0, 0, serial, sequence, 0, 0)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "ogg", "m4a", "wav"])
def test_a_file_of_millions_of_tiny_parts_is_refused_at_once(make, fmt: str) -> None:
    """A crafted file of tiny metadata blocks, pages, atoms or chunks would keep a worker
    busy for hours within the size cap: past what a real file has, it is an error."""
    path = make(fmt)
    data = path.read_bytes()
    if fmt == "mp3":  # 20,000 empty ID3v2 tags in front
        crafted = b"ID3\x03\x00\x00\x00\x00\x00\x00" * 20_000 + data
    elif fmt == "flac":  # 20,000 empty PADDING blocks before the real (last) ones
        tiny = b"\x01\x00\x00\x00" * 20_000
        crafted = data[:4] + tiny + data[4:]
    elif fmt == "ogg":  # 20,000 empty pages of its stream after its last page
        serial = struct.unpack_from("<I", data, 14)[0]
        crafted = data + b"".join(_ogg_page(serial, 1000 + n) for n in range(20_000))
    elif fmt == "m4a":  # 20,000 empty `free` atoms after its `ftyp`
        ftyp = struct.unpack_from(">I", data)[0]
        crafted = data[:ftyp] + struct.pack(">I4s", 8, b"free") * 20_000 + data[ftyp:]
    else:  # 20,000 empty chunks after the RIFF header
        crafted = data[:12] + struct.pack("<4sI", b"junk", 0) * 20_000 + data[12:]
        crafted = crafted[:4] + struct.pack("<I", len(crafted) - 8) + crafted[8:]
    path.write_bytes(crafted)

    started = time.perf_counter()
    with pytest.raises(StageError) as caught:
        digests(path)
    assert time.perf_counter() - started < 2
    assert "than a real file has" in str(caught.value)
