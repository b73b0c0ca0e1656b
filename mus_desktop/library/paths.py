"""File paths stored losslessly.

POSIX file names are bytes. Python turns undecodable bytes into lone surrogates
(`os.fsdecode`), which SQLite's UTF-8 text cannot hold, so the path column
stores the raw bytes and hands Python the usual `str` back.
"""

from __future__ import annotations

import os

from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator


class FsPath(TypeDecorator[str]):
    """A `str` path in Python, its exact file-system bytes in SQLite."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> bytes | None:
        return None if value is None else os.fsencode(value)

    def process_result_value(self, value: bytes | str | None, dialect: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # rows written by an older schema stored text
            return value
        return os.fsdecode(value)


def is_within(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies under it (by name: resolve both first
    where symlinks matter)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def display_path(path: str) -> str:
    """A readable form of a path; undecodable bytes show as U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")
