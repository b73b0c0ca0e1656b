"""The one exception a processing stage raises for a bad file: StageError.

Its text is what ends up in `Track.last_error_message`, so it is written for a
person: the stage, what kind of failure it is, and the underlying library's own
words, e.g. ``metadata: not an audio file (can't sync to MPEG frame)``.
"""

from __future__ import annotations

import errno

from mus_desktop.library.access import A_FOLDER, CANNOT_READ, NOT_FOUND, PERMISSION_DENIED
from mus_desktop.terminal import one_line


class StageError(Exception):
    """A file could not be processed by one stage ("metadata" or "art")."""

    def __init__(self, stage: str, kind: str, detail: object = "") -> None:
        self.stage = stage
        self.kind = kind
        self.detail = one_line(detail)
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.detail:
            return f"{self.stage}: {self.kind} ({self.detail})"
        return f"{self.stage}: {self.kind}"

    def __repr__(self) -> str:
        return f"StageError({self.stage!r}, {self.kind!r}, {self.detail!r})"


def stage_error_from_os(
    stage: str, exc: OSError, subject: str = "", *, writing: bool = False
) -> StageError:
    """Describe an OSError met while reading a file (or, `writing`, writing one).

    `subject` names what was being read when it is not the track itself, e.g.
    "folder image cover.jpg": "folder image cover.jpg not found" rather than
    "file not found".
    """
    what = subject or "file"
    detail = exc.strerror or str(exc)
    if exc.errno is not None and exc.errno in errno.errorcode:
        detail = f"{detail}, {errno.errorcode[exc.errno]}"
    if writing:
        return StageError(stage, f"cannot write the {what}", detail)
    if isinstance(exc, FileNotFoundError):
        return StageError(stage, f"{what} {NOT_FOUND}")
    if isinstance(exc, PermissionError):
        kind = f"{PERMISSION_DENIED} reading {subject}" if subject else PERMISSION_DENIED
        return StageError(stage, kind)
    if isinstance(exc, IsADirectoryError):
        return StageError(stage, f"{subject or 'path'} is {A_FOLDER}")
    return StageError(stage, f"{CANNOT_READ} the {what}", detail)
