"""File paths stored losslessly, and seen from each host where it sees them.

POSIX file names are bytes. Python turns undecodable bytes into lone surrogates
(`os.fsdecode`), which SQLite's UTF-8 text cannot hold, so the path column
stores the raw bytes and hands Python the usual `str` back.

A library shared by several machines (PostgreSQL) stores each path as the host
that added its library folder saw it; another host that mounts the folder
elsewhere (`/srv/music` on the server, `/mnt/nas/music` on a laptop) records
where (`folder_mount`, `mus folders map`), and its database engine carries a
`PathMap` that turns stored paths into its own and back, in the column type
itself: every query, comparison and range of paths then works in local paths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

PATH_MAP_ATTRIBUTE = "mus_path_map"
"""Where an engine's dialect carries its PathMap (one per engine, so per Database)."""


@dataclass(frozen=True)
class PathMap:
    """(stored folder, local folder) pairs: where this host sees each library
    folder that it mounts at another path than the one stored. Library folders
    never nest, so at most one pair applies to a path."""

    pairs: tuple[tuple[str, str], ...] = ()

    def to_local(self, stored: str) -> str:
        return _swap(stored, self.pairs)

    def to_stored(self, local: str) -> str:
        return _swap(local, tuple((b, a) for a, b in self.pairs))


def _swap(path: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        if is_within(path, old):
            return new + path[len(old.rstrip(os.sep)) :] if path != old else new
    return path


def path_map_of(dialect: object) -> PathMap | None:
    return getattr(dialect, PATH_MAP_ATTRIBUTE, None)


class RawFsPath(TypeDecorator[str]):
    """A `str` path in Python, its exact file-system bytes in the database, never
    mapped: what `FsPath` stores, and a host's own mount point."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> bytes | None:
        return None if value is None else os.fsencode(value)

    def process_result_value(self, value: bytes | str | None, dialect: object) -> str | None:
        if value is None or isinstance(value, str):  # an older schema stored text
            return value
        return os.fsdecode(value)


class FsPath(RawFsPath):
    """A path in Python as this host sees it, in the database as stored (PathMap)."""

    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> bytes | None:
        mapping = path_map_of(dialect)
        if mapping is not None and value is not None:
            value = mapping.to_stored(value)
        return super().process_bind_param(value, dialect)

    def process_result_value(self, value: bytes | str | None, dialect: object) -> str | None:
        path = super().process_result_value(value, dialect)
        mapping = path_map_of(dialect)
        return mapping.to_local(path) if mapping is not None and path is not None else path


def is_within(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies under it (by name: resolve both first
    where symlinks matter)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def display_path(path: str) -> str:
    """A readable form of a path; undecodable bytes show as U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")
