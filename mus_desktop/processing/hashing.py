"""The content hash that identifies a track's bytes wherever the file goes.

BLAKE3, because it is cryptographic: two files with the same hash have the same
content, which is what duplicate detection and cross-filesystem move detection
(docs/architecture.md, "Identity") rely on; a non-cryptographic hash would need a byte
comparison to confirm. And it is fast on one core: on the development machine
(AVX-512), an 8 MB file in page cache hashes at ~6.8 GB/s, against ~2 GB/s for
Python's hashlib.sha256 (SHA-NI), ~1 GB/s for `b2sum` and ~0.46 GB/s for
`sha256sum` on the same file, so hashing a typical 5-8 MB track costs
about a millisecond, the order of reading its tags.

Single-threaded on purpose: the workers already run in parallel, one file each.
The file is read into one reused 256 KiB buffer; measured on 1-10 MB files
that is as fast as reading the whole file at once and faster than
`update_mmap` (~5.2 GB/s), without holding the file in memory (`preadv`, as
fast as `readinto` on an 8 MB file, reads by offset). It reads the
file the metadata stage opened and parsed (`metadata.open_track_file`), up to
the size fstat gave when it was opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from blake3 import blake3

from mus_desktop.processing.errors import stage_error_from_os
from mus_desktop.processing.files import CheckedFile
from mus_desktop.processing.metadata import open_track_file

_CHUNK = 256 * 1024


def content_hash(path: str | Path) -> str:
    """BLAKE3 hex digest (64 characters) of the bytes of the file at `path` (the
    batch job hashes the file it has open already: `hash_file`).

    Raises StageError("metadata", ...) when the file cannot be read.
    """
    with open_track_file(path) as checked:
        return hash_file(checked)


def hash_file(checked: CheckedFile) -> str:
    """BLAKE3 hex digest of an opened file's first `checked.size` bytes."""
    hasher = blake3()
    view = memoryview(bytearray(_CHUNK))
    fd = checked.file.fileno()
    offset = 0
    try:
        while offset < checked.size:
            count = os.preadv(fd, [view[: min(_CHUNK, checked.size - offset)]], offset)
            if count == 0:  # cut short since it was opened
                break
            hasher.update(view[:count])
            offset += count
    except OSError as exc:
        raise stage_error_from_os("metadata", exc) from exc
    return hasher.hexdigest()
