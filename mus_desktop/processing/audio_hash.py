"""Where a file's audio payload lies: the byte ranges its audio hash covers (see `hashing`).

The format is sniffed from the file's own bytes (magic numbers, never the name),
then only its container headers are read, by `os.pread` of a few bytes each, to
map the *audio segments*: the payload's (offset, length) ranges, in order.

- MPEG audio (MP3, ADTS AAC): after the leading ID3v2 tag(s), up to the trailing
  tags (APEv2, Lyrics3v2, an appended ID3v2, ID3v1), found by reads of the end.
- FLAC (an ID3v2 tag in front of "fLaC" skipped): after the last metadata block,
  up to any trailing tags a tagger appended.
- Ogg Vorbis and Opus: the page bodies after the last header packet, of the first
  logical stream only. Page headers stay out: a retag that grows the comment
  packet renumbers the pages after it, so their sequence numbers and CRCs change.
- MP4/M4A: the data of every top-level `mdat` atom.
- WAV (RIFF, RF64/BW64) and AIFF/AIFC: the `data` / `SSND` chunk data.

Any other format, Ogg FLAC, Speex or Theora included, has no audio segments.

mutagen is not used: it does not expose these offsets for most formats, and
parsing the file a second time with it would cost more than the hash.
Parsing is defensive: every size is checked against the end of the file, every
loop advances by at least a header, and no read is larger than a header, so a
malformed file is a StageError("metadata", ...) saying what is wrong and where.
"""

from __future__ import annotations

import os
import re
import struct

from mus_desktop.processing.errors import StageError, stage_error_from_os
from mus_desktop.processing.files import CheckedFile
from mus_desktop.processing.metadata import STAGE

Segments = list[tuple[int, int]]

_CORRUPT = "truncated or corrupt audio"
_SNIFF = 12
_HEAD = 4096
_TAIL = 256
_ID3V1 = 128
_APE_FOOTER = 32
_APE_HAS_HEADER = 0x80000000
_LYRICS3_TRAILER = 15  # six-digit size, then "LYRICS200"
_TAIL_TAGS = 8  # more trailing tags than any tagger stacks: the file is not what it seems
_OGG_PAGE = struct.Struct("<4xB9xI8xB")  # version, serial, segment count: 27 bytes
_OGG_TABLE = 255
_MOST_PARTS = 10_000
"""More FLAC metadata blocks, MP4 top-level atoms or RIFF/IFF chunks than any real
file has (a few dozen): a file of millions of tiny ones would keep a worker busy
for hours within the size cap."""
_OGG_BYTES_PER_PAGE = 512
"""Real encoders fill Ogg pages with a second or more of audio (even Opus at 6 kbit/s
makes pages of ~750 bytes); a file with more pages than its size over this, plus
_MOST_PARTS, is refused for the same reason."""
_OGG_WINDOW = 64 * 1024
"""Bytes read at a time while walking Ogg pages: a dozen pages, so one read serves
many page headers (a read per page was most of the walk's cost)."""
_NOT_LAST_LACE = re.compile(rb"[^\xff]")
_OGG_HEADER_PACKETS = {b"\x01vorbis": 3, b"OpusHead": 2}


class _Reader:
    """Bounded reads by offset of the first `size` bytes of an opened file.

    The first 4 KiB and the last 256 bytes are read once and kept: most formats'
    headers lie there, and the tags appended at the end, so most files take two reads.
    """

    def __init__(self, checked: CheckedFile) -> None:
        self.fd = checked.file.fileno()
        self.size = checked.size
        self.head = self._pread(0, _HEAD)
        self._tail: bytes | None = None

    def read(self, offset: int, count: int) -> bytes:
        """Up to `count` bytes at `offset`, fewer at the end of the file."""
        count = min(count, self.size - offset)
        if count <= 0 or offset < 0:
            return b""
        if offset + count <= len(self.head):
            return self.head[offset : offset + count]
        if offset >= self.size - _TAIL:
            if self._tail is None:
                self._tail = self._pread(max(0, self.size - _TAIL), _TAIL)
            start = offset - max(0, self.size - _TAIL)
            return self._tail[start : start + count]
        return self._pread(offset, count)

    def _pread(self, offset: int, count: int) -> bytes:
        try:
            return os.pread(self.fd, min(count, self.size - offset), offset)
        except OSError as exc:
            raise stage_error_from_os(STAGE, exc) from exc

    def exact(self, offset: int, count: int, what: str) -> bytes:
        """`count` bytes at `offset`; the file ending before is an error about `what`."""
        data = self.read(offset, count)
        if len(data) < count:
            raise _corrupt(f"the file ends inside {what} at byte {offset:,}")
        return data

    def past_end(self, what: str, offset: int, length: int) -> StageError:
        return _corrupt(
            f"{what} at byte {offset:,} is {length:,} bytes long, "
            f"past the end of the file ({self.size:,} bytes)"
        )


def audio_segments(checked: CheckedFile) -> Segments | None:
    """The (offset, length) byte ranges of the file's audio payload, in order, non-empty
    and not overlapping; None for a format that has no audio hash.

    Raises StageError("metadata", ...) for a file of a known format whose structure
    is cut short or inconsistent, or that holds no audio.
    """
    reader = _Reader(checked)
    start = _skip_id3v2(reader)
    head = reader.read(start, _SNIFF)
    if head.startswith(b"fLaC"):
        return _flac(reader, start)
    if start or _is_frame_sync(head):
        return _payload(start, _tail_start(reader, start), "after the ID3v2 tag")
    if head.startswith(b"OggS"):
        return _ogg(reader)
    if head[4:8] == b"ftyp":
        return _mp4(reader)
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return _riff(reader, head[:4] != b"RIFF")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _chunks(reader, "AIFF", ">", b"SSND")
    return None


def _corrupt(detail: str) -> StageError:
    return StageError(STAGE, _CORRUPT, detail)


def _fourcc(kind: bytes) -> str:
    return repr(kind.decode("latin-1"))


def _is_frame_sync(head: bytes) -> bool:
    """MPEG audio and ADTS frames start with 11 set bits."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _payload(start: int, end: int, where: str) -> Segments:
    if end <= start:
        raise _corrupt(f"no audio data {where}")
    return [(start, end - start)]


def _syncsafe(data: bytes, what: str, offset: int) -> int:
    if any(byte & 0x80 for byte in data):
        raise _corrupt(f"the size of {what} at byte {offset:,} is not a syncsafe integer")
    return data[0] << 21 | data[1] << 14 | data[2] << 7 | data[3]


def _skip_id3v2(reader: _Reader) -> int:
    """Where the bytes after the leading ID3v2 tag(s) start (0 without one)."""
    offset, tags = 0, 0
    while (header := reader.read(offset, 10)).startswith(b"ID3"):
        tags += 1
        if tags > _TAIL_TAGS:  # taggers stack two at most
            raise _too_many("leading ID3v2 tags", offset)
        if len(header) < 10:
            raise _corrupt(f"the file ends inside the ID3v2 tag header at byte {offset:,}")
        size = _syncsafe(header[6:10], "the ID3v2 tag", offset)
        footer = 10 if header[3] == 4 and header[5] & 0x10 else 0
        if offset + 10 + size + footer > reader.size:
            raise reader.past_end("the ID3v2 tag", offset, 10 + size + footer)
        offset += 10 + size + footer
    return offset


def _tail_start(reader: _Reader, start: int) -> int:
    """Where the tags a tagger appends at the end start (APEv2, Lyrics3v2, an
    appended ID3v2, then ID3v1, in that order from the audio), or the file's end."""
    end = reader.size
    if end - start >= _ID3V1 and reader.read(end - _ID3V1, 3) == b"TAG":
        end -= _ID3V1
    for _ in range(_TAIL_TAGS):
        length = _tail_tag(reader, end)
        if not length:
            return end
        if end - length < start:
            raise _corrupt(f"the tag that ends at byte {end:,} is larger than the audio before it")
        end -= length
    raise _corrupt(f"more than {_TAIL_TAGS} tags at the end of the file")


def _tail_tag(reader: _Reader, end: int) -> int:
    """The length of the APEv2, Lyrics3v2 or ID3v2 tag ending at `end`, 0 if none does."""
    footer = reader.read(end - _APE_FOOTER, _APE_FOOTER) if end >= _APE_FOOTER else b""
    if footer.startswith(b"APETAGEX"):
        size, _count, flags = struct.unpack_from("<III", footer, 12)
        if size < _APE_FOOTER:
            raise _corrupt(f"the APEv2 tag ending at byte {end:,} declares {size:,} bytes")
        return size + (_APE_FOOTER if flags & _APE_HAS_HEADER else 0)
    trailer = footer[-_LYRICS3_TRAILER:]
    if trailer.endswith(b"LYRICS200") and trailer[:6].isdigit():
        return int(trailer[:6]) + _LYRICS3_TRAILER
    if footer[-10:].startswith(b"3DI"):
        return _syncsafe(footer[-4:], "the appended ID3v2 tag", end - 10) + 20
    return 0


def _too_many(what: str, offset: int) -> StageError:
    return _corrupt(f"more {what} than a real file has (the last at byte {offset:,})")


def _flac(reader: _Reader, start: int) -> Segments:
    offset, last, blocks = start + 4, False, 0
    while not last:
        blocks += 1
        if blocks > _MOST_PARTS:
            raise _too_many("FLAC metadata blocks", offset)
        header = reader.exact(offset, 4, "a FLAC metadata block header")
        last = bool(header[0] & 0x80)
        length = int.from_bytes(header[1:4], "big")
        if offset + 4 + length > reader.size:
            raise reader.past_end("the FLAC metadata block", offset, length)
        offset += 4 + length
    return _payload(offset, _tail_start(reader, offset), "after the FLAC metadata")


def _ogg(reader: _Reader) -> Segments | None:
    """The audio page bodies of the first logical stream, for Vorbis and Opus.

    The one loop of this module that runs per page, thousands of times in a long
    track: it reads the file _OGG_WINDOW bytes at a time and takes each page header
    and its segment table from that window.
    """
    end, offset, serial, headers = reader.size, 0, -1, 0
    segments: Segments = []
    window, window_at = b"", 0
    most = _OGG_PAGE.size + _OGG_TABLE
    pages, most_pages = 0, end // _OGG_BYTES_PER_PAGE + _MOST_PARTS
    try:
        while offset < end:
            pages += 1
            if pages > most_pages:
                raise _too_many("Ogg pages for the file's size", offset)
            at = offset - window_at
            if at < 0 or (at + most > len(window) and window_at + len(window) < end):
                window, window_at, at = os.pread(reader.fd, _OGG_WINDOW, offset), offset, 0
            page = window[at : at + most][: end - offset]
            if page[:4] != b"OggS" or len(page) < _OGG_PAGE.size:
                if _only_tags_from(reader, offset):
                    break  # some taggers append ID3v1 or APEv2 even to Ogg files
                raise _not_a_page(page, offset)
            version, page_serial, count = _OGG_PAGE.unpack_from(page)
            table = page[_OGG_PAGE.size : _OGG_PAGE.size + count]
            if version != 0 or len(table) < count:
                raise _not_a_page(page, offset)
            body = offset + _OGG_PAGE.size + count
            offset = body + _laced_length(table)
            if offset > end:
                raise _corrupt(
                    f"the Ogg page at byte {body - _OGG_PAGE.size - count:,} is cut short: its "
                    f"body ends at byte {offset:,}, past the end of the file ({end:,} bytes)"
                )
            if serial < 0:
                serial, headers = page_serial, _ogg_header_packets(reader, body)
                if not headers:
                    return None  # Ogg FLAC, Speex, Theora...: no audio hash
            if page_serial == serial:
                audio = body
                if headers:
                    audio, headers = _after_header_packets(table, body, headers)
                if offset > audio:
                    segments.append((audio, offset - audio))
    except OSError as exc:
        raise stage_error_from_os(STAGE, exc) from exc
    if headers:
        raise _corrupt("the Ogg stream ends inside its header packets")
    if not segments:
        raise _corrupt("no audio pages after the Ogg header packets")
    return segments


def _not_a_page(page: bytes, offset: int) -> StageError:
    if page[:4] != b"OggS":
        return _corrupt(f"no Ogg page at byte {offset:,}, where the previous page ends")
    if page[4] != 0:
        return _corrupt(f"the Ogg page at byte {offset:,} has unknown version {page[4]}")
    return _corrupt(f"the file ends inside the Ogg page header at byte {offset:,}")


def _ogg_header_packets(reader: _Reader, body: int) -> int:
    """How many header packets the stream whose first page body starts at `body` has
    (Vorbis 3, Opus 2), by its first packet's magic; 0 for another codec."""
    first = reader.read(body, 8)
    return next((n for magic, n in _OGG_HEADER_PACKETS.items() if first.startswith(magic)), 0)


def _only_tags_from(reader: _Reader, offset: int) -> bool:
    """Whether the bytes from `offset` to the end are trailing tags only."""
    try:
        return _tail_start(reader, offset) == offset
    except StageError:
        return False


def _laced_length(table: bytes) -> int:
    """The body length a segment table gives: the sum of its lacing values, most of
    them 255 in a long packet (counted in C rather than added one by one)."""
    return 255 * table.count(255) + sum(table.translate(None, b"\xff"))


def _after_header_packets(table: bytes, body: int, headers: int) -> tuple[int, int]:
    """Where this page's audio starts (its end if none) and how many header packets
    are still to come after it."""
    ends = len(table) - table.count(255)  # a lacing value below 255 ends a packet
    if ends < headers:
        return body + _laced_length(table), headers - ends
    last = [match.start() for match in _NOT_LAST_LACE.finditer(table)][headers - 1]
    return body + _laced_length(table[: last + 1]), 0


def _mp4(reader: _Reader) -> Segments:
    """The data of every top-level `mdat` atom."""
    offset, atoms = 0, 0
    segments: Segments = []
    while offset < reader.size:
        atoms += 1
        if atoms > _MOST_PARTS:
            raise _too_many("MP4 top-level atoms", offset)
        size, kind = struct.unpack(">I4s", reader.exact(offset, 8, "an MP4 atom header"))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", reader.exact(offset + 8, 8, "an MP4 atom header"))
            header = 16
        elif size == 0:  # the last atom runs to the end of the file
            size = reader.size - offset
        if size < header:
            raise _corrupt(
                f"the MP4 atom {_fourcc(kind)} at byte {offset:,} declares {size:,} bytes, "
                f"less than its own {header}-byte header"
            )
        if offset + size > reader.size:
            raise reader.past_end(f"the MP4 atom {_fourcc(kind)}", offset, size)
        if kind == b"mdat" and size > header:
            segments.append((offset + header, size - header))
        offset += size
    if not segments:
        raise _corrupt("no audio data: the MP4 file has no mdat atom")
    return segments


def _riff(reader: _Reader, large: bool) -> Segments:
    """WAV; RF64 and BW64 give the data chunk's real size in their `ds64` chunk."""
    data_size = None
    if large:
        ds64 = reader.exact(12, 28, "the ds64 chunk")
        if ds64[:4] != b"ds64":
            raise _corrupt("the RF64 file has no ds64 chunk first")
        (data_size,) = struct.unpack_from("<Q", ds64, 16)
    return _chunks(reader, "WAV", "<", b"data", data_size)


def _chunks(
    reader: _Reader, name: str, order: str, audio: bytes, large_size: int | None = None
) -> Segments:
    """The data of the `audio` chunks of a RIFF (`order` "<") or IFF (">") file."""
    header = struct.Struct(order + "4sI")
    offset, chunks = 12, 0
    segments: Segments = []
    while offset < reader.size:
        chunks += 1
        if chunks > _MOST_PARTS:
            raise _too_many(f"chunks in the {name} file", offset)
        kind, length = header.unpack(
            reader.exact(offset, 8, f"the header of a chunk of the {name} file")
        )
        if kind == audio and length == 0xFFFFFFFF and large_size is not None:
            length = large_size
        if offset + 8 + length > reader.size:
            raise reader.past_end(f"the {name} chunk {_fourcc(kind)}", offset, length)
        if kind == audio and length:
            segments.append((offset + 8, length))
        offset += 8 + length + (length & 1)  # chunks are padded to an even length
    if not segments:
        raise _corrupt(f"no audio data: the {name} file has no {_fourcc(audio)} chunk")
    return segments
