"""The two hashes of a track's file: its content hash and its audio hash, in one read.

The **content hash** identifies the file's exact bytes wherever the file goes:
duplicate detection and cross-filesystem move detection (docs/architecture.md,
"Identity") rely on it. The **audio hash** covers the audio payload alone, tags
and embedded pictures left out, so a file that is retagged (and moved) keeps it.

Definition. The file is split, from its own bytes, into *audio segments* (the
payload's byte ranges, in order: `audio_hash.audio_segments`) and the rest. Then

    audio   = BLAKE3(the audio segments' bytes, in order)
    rest    = BLAKE3(the other bytes, in order, with a 16-byte record of each audio
                     segment, its offset and length as big-endian 64-bit integers,
                     at the place of the segment)
    content = BLAKE3 in its key-derivation mode, context "mus content hash 2",
              of audio digest + rest digest

(the derive-key mode keeps a composite from ever equalling the plain BLAKE3 of
some 64-byte file), so each byte is hashed once: two BLAKE3 passes over every byte would cost ~80%
more than one, this costs a few header reads more. The content hash still
identifies the exact bytes (two files that differ differ in their segment map,
their rest or their audio) and is still a pure function of them. A file of a
format without audio segments (`audio_segments` is None) keeps the plain BLAKE3
of its bytes as its content hash, and has no audio hash.

Content hashes of the audio-hashed formats (MP3, FLAC, Ogg Vorbis and Opus, MP4,
WAV, AIFF) changed with schema 4, from the plain BLAKE3 of the file: a track
gets the new one, and its audio hash, when it is processed again.

BLAKE3, because it is cryptographic: two files with the same hash have the same
content, so no byte comparison is needed to confirm. And it is fast on one core:
on the development machine (AVX-512), an 8 MB file in page cache hashes at
~6.8 GB/s, against ~2 GB/s for Python's hashlib.sha256 (SHA-NI), ~1 GB/s for
`b2sum` and ~0.46 GB/s for `sha256sum` on the same file, so hashing a typical
5-8 MB track costs about a millisecond, the order of reading its tags.

Single-threaded on purpose: the workers already run in parallel, one file each.
The file is read into one reused 256 KiB buffer; measured on 1-10 MB files
that is as fast as reading the whole file at once and faster than
`update_mmap` (~5.2 GB/s), without holding the file in memory (`preadv`, as
fast as `readinto` on an 8 MB file, reads by offset). Each buffer's bytes go to
the audio or the rest hasher by the segment map, gathered into one update per
buffer when there are many pieces (Ogg pages); a long run of audio or rest is read
from where its hasher's stream is at a multiple of the buffer size (`_cuts`). So
the audio hash costs next to nothing on a track of a few MB (a few header reads),
~10% on a 1 MB file, and about doubles the time of an Ogg file, whose thousands of
pages are each parsed in Python (`make bench`, "Hashing"). It reads the file the
metadata stage opened and parsed (`metadata.open_track_file`), up to the size
fstat gave when it was opened.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from blake3 import blake3

from mus_desktop.processing.audio_hash import Segments, audio_segments
from mus_desktop.processing.errors import stage_error_from_os
from mus_desktop.processing.files import CheckedFile
from mus_desktop.processing.metadata import STAGE, open_track_file

_CHUNK = 256 * 1024
_CONTENT_CONTEXT = "mus content hash 2"
_RECORD = struct.Struct(">QQ")


@dataclass(frozen=True)
class Digests:
    """BLAKE3 hex digests (64 characters) of a file: its content, and its audio
    payload (None for a format without an audio hash)."""

    content: str
    audio: str | None


def content_hash(path: str | Path) -> str:
    """The content hash of the file at `path` (the batch job hashes the file it has
    open already: `hash_digests`).

    Raises StageError("metadata", ...) when the file cannot be read or is malformed.
    """
    with open_track_file(path) as checked:
        return hash_file(checked)


def hash_file(checked: CheckedFile) -> str:
    """The content hash of an opened file (see `hash_digests`)."""
    return hash_digests(checked).content


def hash_digests(checked: CheckedFile) -> Digests:
    """Both hashes of an opened file's first `checked.size` bytes, in one read.

    Raises StageError("metadata", ...) when the file cannot be read, or is of an
    audio format whose structure is cut short or inconsistent (`audio_segments`).
    """
    segments = audio_segments(checked)
    if segments is None:
        return Digests(plain_hash(checked), None)
    audio, rest = _split(checked, segments)
    content = blake3(audio.digest() + rest.digest(), derive_key_context=_CONTENT_CONTEXT)
    return Digests(content.hexdigest(), audio.hexdigest())


def plain_hash(checked: CheckedFile) -> str:
    """The plain BLAKE3 of an opened file's bytes: the content hash of a format with
    no audio hash, and what every track hashed before schema 4 holds (the tracks
    that went missing before they could be hashed again are matched by it)."""
    plain = blake3()
    for _offset, chunk in _chunks(checked):
        plain.update(chunk)
    return plain.hexdigest()


def _chunks(checked: CheckedFile, cuts: Sequence[int] = ()) -> Iterator[tuple[int, memoryview]]:
    """(offset, bytes) of the file's first `checked.size` bytes, in one reused buffer;
    no read spans one of the ascending offsets `cuts`."""
    view = memoryview(bytearray(_CHUNK))
    fd = checked.file.fileno()
    offset, index = 0, 0
    while offset < checked.size:
        while index < len(cuts) and cuts[index] <= offset:
            index += 1
        stop = min(offset + _CHUNK, checked.size, *cuts[index : index + 1])
        try:
            count = os.preadv(fd, [view[: stop - offset]], offset)
        except OSError as exc:
            raise stage_error_from_os(STAGE, exc) from exc
        if count == 0:  # cut short since it was opened
            return
        yield offset, view[:count]
        offset += count


def _cuts(segments: Segments, size: int) -> list[int]:
    """Where reads must start so that each long run of audio or of the rest is fed to
    its hasher in whole buffers at multiples of the buffer size in that hasher's
    stream: BLAKE3 fed at another count works on small subtrees, with fewer SIMD
    lanes, at the start and end of every update (~15% slower overall)."""
    cuts: list[int] = []
    position = audio_count = rest_count = 0
    for start, length in [*segments, (size, 0)]:
        if start - position >= _CHUNK:
            cuts += [position, position + -rest_count % _CHUNK]
        rest_count += start - position + (_RECORD.size if length else 0)
        if length >= _CHUNK:
            cuts += [start, start + -audio_count % _CHUNK]
        audio_count += length
        position = start + length
    return sorted(set(cuts))


def _split(checked: CheckedFile, segments: Segments) -> tuple[blake3, blake3]:
    """The audio and rest hashers (see the module's docstring) after one read.

    Each buffer is cut at the segment bounds inside it; its pieces alternate between
    audio and rest, and the records of the segments that start in it go between the
    rest pieces. Slicing and joining in comprehensions keeps the per-segment work
    small for Ogg, whose every page is a segment.
    """
    audio, rest = blake3(), blake3()
    bounds = [bound for start, length in segments for bound in (start, start + length)]
    records = [_RECORD.pack(start, length) for start, length in segments]
    for offset, chunk in _chunks(checked, _cuts(segments, checked.size)):
        end = offset + len(chunk)
        first, last = bisect_left(bounds, offset), bisect_left(bounds, end)
        if first == last:  # no bound inside: all audio (inside a segment) or all rest
            (audio if first & 1 else rest).update(chunk)
            continue
        points = [0, *(bound - offset for bound in bounds[first:last]), len(chunk)]
        pieces = [chunk[a:b] for a, b in pairwise(points)]
        others = pieces[first & 1 :: 2]
        added = records[(first + 1) // 2 : (last + 1) // 2]  # segments starting in it
        stream = [part for pair in zip(others, added, strict=False) for part in pair]
        _feed(audio, pieces[1 - (first & 1) :: 2])
        _feed(rest, stream + others[len(added) :])
    return audio, rest


def _feed(hasher: blake3, parts: Sequence[memoryview | bytes]) -> None:
    if len(parts) == 1:
        hasher.update(parts[0])
    elif parts:
        hasher.update(b"".join(parts))
