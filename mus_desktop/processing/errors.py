"""The one exception a processing stage raises for a bad file: StageError.

Its text is what ends up in `Track.last_error_message`, so it is written for a
person: the stage, what kind of failure it is, and the underlying library's own
words, e.g. ``metadata: not an audio file (can't sync to MPEG frame)``.
"""

from __future__ import annotations

import errno
import stat

# Causes that can go away on their own (a busy or flaky mount, a worker out of
# file descriptors): a StageError from one of them is marked `retryable`. Nothing
# retries such a file by itself; the person presses Retry.
_TRANSIENT_ERRNOS = frozenset(
    {
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.EIO,
        errno.ETIMEDOUT,
        errno.ESTALE,
        errno.EMFILE,
        errno.ENFILE,
    }
)

_DETAIL_LIMIT = 200

# What an error about *reaching* a file says, as against one about what the file
# holds ("not an audio file", "is corrupt"). Every kind built from one of these
# phrases is about access, and no other kind contains one: `is_access_error`
# recognises a stored message by them, so that the scanner can queue again a
# track it finds moved or back after such an error.
NOT_FOUND = "not found"
PERMISSION_DENIED = "permission denied"
NOT_A_REGULAR_FILE = "not a regular file"
A_FOLDER = "a folder, not a file"
OUTSIDE_MUSIC_FOLDERS = "outside the music folders"
CANNOT_READ = "cannot read"
_ACCESS_PHRASES = (
    NOT_FOUND,
    PERMISSION_DENIED,
    NOT_A_REGULAR_FILE,
    A_FOLDER,
    OUTSIDE_MUSIC_FOLDERS,
    CANNOT_READ,
)

_FILE_TYPES = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def one_line(text: object, limit: int = _DETAIL_LIMIT) -> str:
    """`text` as a single line of at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class StageError(Exception):
    """A file could not be processed by one stage ("metadata" or "art")."""

    def __init__(self, stage: str, kind: str, detail: object = "", retryable: bool = False):
        self.stage = stage
        self.kind = kind
        self.detail = one_line(detail)
        self.retryable = retryable
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.detail:
            return f"{self.stage}: {self.kind} ({self.detail})"
        return f"{self.stage}: {self.kind}"

    def __repr__(self) -> str:
        return (
            f"StageError({self.stage!r}, {self.kind!r}, {self.detail!r}, "
            f"retryable={self.retryable})"
        )


def file_type(mode: int) -> str:
    """What a file that is not a regular file is, from its `st_mode`: "a FIFO"..."""
    return _FILE_TYPES.get(stat.S_IFMT(mode), "an unknown kind of file")


def is_access_error(message: str | None) -> bool:
    """Whether a stored `last_error_message` is about reaching the file (not found,
    permission denied, not a regular file, outside the music folders...) rather
    than about its content."""
    if not message:
        return False
    _stage, _colon, rest = message.partition(": ")
    kind = rest.split(" (", 1)[0]  # the detail is the library's words: not ours to match
    return any(phrase in kind for phrase in _ACCESS_PHRASES)


def stage_error_from_os(
    stage: str, exc: OSError, subject: str = "", *, writing: bool = False
) -> StageError:
    """Describe an OSError met while reading a file (or, `writing`, writing one).

    `subject` names what was being read when it is not the track itself, e.g.
    "folder image cover.jpg": "folder image cover.jpg not found" rather than
    "file not found".
    """
    what = subject or "file"
    retryable = exc.errno in _TRANSIENT_ERRNOS
    detail = exc.strerror or str(exc)
    if exc.errno is not None and exc.errno in errno.errorcode:
        detail = f"{detail}, {errno.errorcode[exc.errno]}"
    if writing:
        return StageError(stage, f"cannot write the {what}", detail, retryable=retryable)
    if isinstance(exc, FileNotFoundError):
        return StageError(stage, f"{what} {NOT_FOUND}")
    if isinstance(exc, PermissionError):
        kind = f"{PERMISSION_DENIED} reading {subject}" if subject else PERMISSION_DENIED
        return StageError(stage, kind)
    if isinstance(exc, IsADirectoryError):
        return StageError(stage, f"{subject or 'path'} is {A_FOLDER}")
    return StageError(stage, f"{CANNOT_READ} the {what}", detail, retryable=retryable)
