"""The audio generator writes what its manifest says: real, tagged files and real breakage."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import mutagen
import pytest
from mutagen.flac import FLAC, Picture
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from PIL import Image, UnidentifiedImageError

from tools.audiogen import (
    COMPLETE,
    ERROR,
    FORMATS,
    Manifest,
    ManifestEntry,
    Tags,
    decompression_bomb_png,
    main,
    make_cover,
    make_library,
    make_track,
)

READERS: dict[str, type[mutagen.FileType]] = {
    "mp3": MP3,
    "flac": FLAC,
    "ogg": OggVorbis,
    "opus": OggOpus,
    "m4a": MP4,
    "wav": WAVE,
}
TAGS = Tags("Song", "Artist", "Album", "Album Artist", 3, 12, 2, 1999, "Jazz")


def read_tags(audio: mutagen.FileType, fmt: str) -> Tags:
    """Read the tags back the way each format stores them natively."""
    tags = audio.tags
    if fmt in ("mp3", "wav"):
        number, total = str(tags["TRCK"]).split("/")
        return Tags(
            *(str(tags[key]) for key in ("TIT2", "TPE1", "TALB", "TPE2")),
            int(number),
            int(total),
            int(str(tags["TPOS"])),
            int(str(tags["TDRC"])),
            str(tags["TCON"]),
        )
    if fmt == "m4a":
        ((number, total),) = tags["trkn"]
        ((disc, _),) = tags["disk"]
        texts = (tags[key][0] for key in ("\xa9nam", "\xa9ART", "\xa9alb", "aART"))
        return Tags(*texts, number, total, disc, int(tags["\xa9day"][0]), tags["\xa9gen"][0])
    first = {key: values[0] for key, values in tags.as_dict().items()}
    return Tags(
        *(first[key] for key in ("title", "artist", "album", "albumartist")),
        *(int(first[key]) for key in ("tracknumber", "tracktotal", "discnumber", "date")),
        first["genre"],
    )


def embedded_pictures(audio: mutagen.FileType, fmt: str) -> list[bytes]:
    """The embedded cover images, each in its format's native place."""
    if fmt in ("mp3", "wav"):
        return [frame.data for frame in audio.tags.getall("APIC")]
    if fmt == "flac":
        return [picture.data for picture in audio.pictures]
    if fmt == "m4a":
        return [bytes(cover) for cover in audio.tags.get("covr", [])]
    blocks = audio.tags.get("metadata_block_picture", [])
    return [Picture(base64.b64decode(block)).data for block in blocks]


def mutagen_rejects(path: str) -> bool:
    """True when mutagen cannot read the file as audio (raises, or finds no format)."""
    try:
        return mutagen.File(path) is None
    except mutagen.MutagenError:
        return True


def decode_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return make_library(tmp_path_factory.mktemp("lib"), 6, 3, broken=True, seed=7)


def test_good_files_open_as_their_format_with_manifest_tags(library: Manifest) -> None:
    good = library.good()
    assert len(good) == 6 * 3 + 2  # plus the mislabelled ogg and the undecodable name
    for entry in good:
        assert entry.format is not None
        assert isinstance(mutagen.File(entry.path), READERS[entry.format]), entry.path
        audio = READERS[entry.format](entry.path)
        assert audio.info.length == pytest.approx(1.0, abs=0.1)
        assert read_tags(audio, entry.format) == entry.tags


def test_covers_are_where_the_manifest_says(library: Manifest) -> None:
    for entry in library.good():
        pictures = embedded_pictures(READERS[entry.format](entry.path), entry.format)
        folder_cover = Path(entry.path).parent / "cover.jpg"
        assert (len(pictures) == 1) == (entry.cover == "embedded"), entry.path
        assert folder_cover.exists() == (entry.cover == "folder"), entry.path
        for data in [*pictures, *([folder_cover.read_bytes()] if folder_cover.exists() else [])]:
            assert decode_image(data).format == "JPEG"


def test_library_layout_formats_and_odd_names(library: Manifest) -> None:
    entries = [e for e in library.good() if "Broken" not in Path(e.path).parts]
    assert {e.format for e in entries} == set(FORMATS)
    assert {e.cover for e in entries} == {"embedded", "folder", None}
    for entry in entries:
        path = Path(entry.path)
        assert path.relative_to(library.root).parts[:2] == (
            entry.tags.album_artist,
            entry.tags.album,
        )
        assert path.suffix == f".{entry.format}"
        assert path.stem.endswith(f"{entry.tags.track_number:02d} - {entry.tags.title}")
    names = " ".join(e.path for e in entries)
    assert "Café Déjà Vu" in names
    assert "'" in names


def test_metadata_breakage_is_real(library: Manifest) -> None:
    broken = [e for e in library.broken() if e.error_stage == "metadata"]
    assert len(broken) == 4
    for entry in broken:
        assert mutagen_rejects(entry.path), entry.note
        if entry.format is not None:
            with pytest.raises(mutagen.MutagenError):
                READERS[entry.format](entry.path)


def test_art_breakage_is_real_and_metadata_still_reads(library: Manifest) -> None:
    broken = [e for e in library.broken() if e.error_stage == "art"]
    assert {e.cover for e in broken} == {"embedded", "folder"}
    assert len(broken) == 4
    for entry in broken:
        audio = READERS[entry.format](entry.path)
        assert read_tags(audio, entry.format) == entry.tags
        if entry.cover == "embedded":
            (data,) = embedded_pictures(audio, entry.format)
        else:
            data = (Path(entry.path).parent / "cover.jpg").read_bytes()
        with pytest.raises((UnidentifiedImageError, Image.DecompressionBombError)):
            decode_image(data)


def test_odd_but_valid_files(library: Manifest) -> None:
    by_note = {e.note: e for e in library.good() if "Broken" in Path(e.path).parts}
    mislabelled = next(e for e in by_note.values() if e.path.endswith(".mp3") and e.format == "ogg")
    assert isinstance(mutagen.File(mislabelled.path), OggVorbis)
    undecodable = next(e for e in by_note.values() if b"\xff" in os.fsencode(e.path))
    assert os.path.isfile(os.fsencode(undecodable.path))
    assert all(e.expect == COMPLETE and e.error_stage is None for e in by_note.values())
    assert all(e.expect == ERROR and e.error_stage for e in library.broken())


def test_bomb_png_is_small_and_valid_apart_from_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    data = decompression_bomb_png()
    assert len(data) < 100_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    image = Image.open(io.BytesIO(data))
    assert image.size == (15000, 15000)
    image.verify()  # chunk CRCs and structure, without decoding 225 million pixels


@pytest.mark.parametrize("fmt", FORMATS)
def test_make_track_embeds_cover_and_pads(tmp_path: Path, fmt: str) -> None:
    cover = make_cover(42)
    path = make_track(tmp_path / f"t.{fmt}", fmt, TAGS, cover=cover, pad_bytes=300_000)
    assert path.stat().st_size > 300_000
    audio = READERS[fmt](path)
    assert read_tags(audio, fmt) == TAGS
    assert embedded_pictures(audio, fmt) == [cover]


def test_covers_differ_per_seed_and_honour_size() -> None:
    assert make_cover(1) != make_cover(2)
    image = decode_image(make_cover(3, (120, 80)))
    assert (image.format, image.size) == ("JPEG", (120, 80))


def relative(manifest: Manifest) -> list[tuple[ManifestEntry, bytes]]:
    """Entries with root-relative paths, and each file's bytes."""
    return [
        (
            ManifestEntry(
                os.path.relpath(e.path, manifest.root),
                e.format,
                e.tags,
                e.cover,
                e.expect,
                e.error_stage,
                e.note,
            ),
            Path(e.path).read_bytes(),
        )
        for e in manifest.entries
    ]


def test_generation_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first = make_library(tmp_path / "a", 4, 2, broken=True, seed=3)
    again = make_library(tmp_path / "b", 4, 2, broken=True, seed=3)
    other = make_library(tmp_path / "c", 4, 2, seed=4)
    assert relative(first) == relative(again)
    assert [e.tags for e in first.good()[:8]] != [e.tags for e in other.good()]


def test_cli_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--albums", "2", "--tracks", "2", "--formats", "mp3,flac"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("4 files (4 good, 0 broken)")
    assert len(list(tmp_path.rglob("*.flac"))) == 2
