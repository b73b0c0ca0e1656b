"""The one exception a processing stage raises for a bad file: StageError.

Its text is what ends up in `Track.last_error_message`, so it is written for a
person: the stage, what kind of failure it is, and the underlying library's own
words, e.g. ``metadata: not an audio file (can't sync to MPEG frame)``.
"""

from __future__ import annotations

import errno

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


def stage_error_from_os(stage: str, exc: OSError, subject: str = "") -> StageError:
    """Describe an OSError met while reading a file.

    `subject` names what was being read when it is not the track itself, e.g.
    "folder image cover.jpg": "folder image cover.jpg not found" rather than
    "file not found".
    """
    what = subject or "file"
    retryable = exc.errno in _TRANSIENT_ERRNOS
    if isinstance(exc, FileNotFoundError):
        return StageError(stage, f"{what} not found")
    if isinstance(exc, PermissionError):
        kind = f"permission denied reading {subject}" if subject else "permission denied"
        return StageError(stage, kind)
    if isinstance(exc, IsADirectoryError):
        return StageError(stage, f"{subject or 'path'} is a folder, not a file")
    detail = exc.strerror or str(exc)
    if exc.errno is not None and exc.errno in errno.errorcode:
        detail = f"{detail}, {errno.errorcode[exc.errno]}"
    return StageError(stage, f"cannot read the {what}", detail, retryable=retryable)
