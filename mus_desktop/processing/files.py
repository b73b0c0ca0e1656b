"""How a worker opens the files it reads: regular files only, inside the music folders, bounded.

A library holds paths that anything may be put at: a FIFO named cover.jpg (a
plain open() waits for a writer, until the job times out, for every track of
the album), a symlink to /dev/zero (a read never ends), a symlinked file or
folder, or a path whose `..` leads out of MUS_MUSIC_ROOTS. So every file a
worker reads, audio and cover alike, is opened by `open_checked`:

- with music folders set, the path's real path (symlinks and `..` resolved)
  must lie under the real path of one of them; that real path is what is
  opened, with O_NOFOLLOW, so its last component cannot be swapped for a
  symlink between the check and the open;
- with O_NONBLOCK, so that opening a FIFO returns at once (the flag does not
  change how a regular file reads);
- then the opened descriptor is fstat'ed: anything but a regular file is
  refused, and so is a file over the caller's size cap. Readers read at most
  the size that fstat gave, so a file cannot feed them more.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mus_desktop.library.access import (
    NOT_A_REGULAR_FILE,
    OUTSIDE_MUSIC_FOLDERS,
    file_type,
)
from mus_desktop.library.paths import display_path, is_within
from mus_desktop.processing.errors import StageError, stage_error_from_os

MAX_AUDIO_BYTES = 16 * 1024**3
"""Larger than any real track (three hours of 24-bit/192 kHz stereo FLAC is ~7 GB);
it bounds what mutagen can read into memory from one file, embedded pictures included."""

MAX_COVER_BYTES = 32 * 1024**2
"""A cover image, in a folder or embedded: real ones are a few MB."""


@dataclass
class CheckedFile:
    """A regular file opened by `open_checked`: the size and mtime are the opened file's."""

    file: io.BufferedReader
    size: int
    mtime_ns: int

    def read(self) -> bytes:
        """The file's bytes from the start, at most `size` of them."""
        self.file.seek(0)
        return self.file.read(self.size)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> CheckedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def real_roots(roots: Iterable[str | Path]) -> tuple[str, ...]:
    """The music folders' real paths, which `open_checked` compares real paths with."""
    return tuple(os.path.realpath(root) for root in roots)


def open_checked(
    path: str | Path,
    stage: str,
    *,
    limit: int,
    roots: Sequence[str] = (),
    subject: str = "",
) -> CheckedFile:
    """Open `path` for reading if it is a regular file of at most `limit` bytes
    (and, with `roots` from `real_roots`, under one of them).

    Raises StageError(`stage`, ...) otherwise; `subject` names the file in its
    message when it is not the track itself ("folder image cover.jpg").
    """
    target = os.fspath(path)
    flags = os.O_RDONLY | os.O_NONBLOCK
    if roots:
        target = os.path.realpath(target)
        if not any(is_within(target, root) for root in roots):
            kind = f"{subject} is {OUTSIDE_MUSIC_FOLDERS}" if subject else OUTSIDE_MUSIC_FOLDERS
            raise StageError(stage, kind, display_path(target))
        flags |= os.O_NOFOLLOW
    try:
        file = open(target, "rb", opener=lambda name, _mode: os.open(name, flags))  # noqa: SIM115
    except OSError as exc:
        raise stage_error_from_os(stage, exc, subject) from exc
    try:
        st = os.fstat(file.fileno())
        if not stat.S_ISREG(st.st_mode):
            kind = f"{subject} is {NOT_A_REGULAR_FILE}" if subject else NOT_A_REGULAR_FILE
            raise StageError(stage, kind, file_type(st.st_mode))
        if st.st_size > limit:
            raise StageError(
                stage,
                f"{subject or 'file'} is too large",
                f"{st.st_size:,} bytes; the limit is {limit:,}",
            )
    except OSError as exc:
        file.close()
        raise stage_error_from_os(stage, exc, subject) from exc
    except BaseException:
        file.close()
        raise
    return CheckedFile(file, st.st_size, st.st_mtime_ns)
