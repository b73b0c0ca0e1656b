"""Finding audio files on disk: a walk of the folders given, one stat per file.

The walk follows folder symlinks once (a symlink loop is walked only once),
reports what it could not read, and names what it skips: a FIFO or a device
named like an audio file would stall or flood a worker. It reads nothing from
the database; scanner.py holds what it finds against the library.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mus_desktop.library.access import NOT_A_REGULAR_FILE, file_type
from mus_desktop.library.paths import display_path

AUDIO_EXTENSIONS = frozenset(
    {
        ".mp3", ".mp2", ".flac", ".ogg", ".oga", ".opus", ".spx",
        ".m4a", ".m4b", ".mp4", ".aac", ".alac",
        ".wav", ".aif", ".aiff", ".aifc",
        ".wma", ".asf", ".ape", ".wv", ".mpc", ".dsf", ".tta",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FoundFile:
    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int


@dataclass
class WalkResult:
    files: dict[str, FoundFile] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    """Folders walked: tracks under them that were not found are missing."""
    unreadable: list[str] = field(default_factory=list)
    """Folders we could not list: tracks under them are not marked missing."""
    problems: list[str] = field(default_factory=list)


def is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _found(path: str, st: os.stat_result) -> FoundFile:
    return FoundFile(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def walk(paths: Iterable[str | Path]) -> WalkResult:
    """Find audio files under `paths`, one stat per file, following folder
    symlinks once (a symlink loop is walked only once)."""
    result = WalkResult()
    visited: set[tuple[int, int]] = set()
    for given in paths:
        root = os.path.abspath(os.fspath(given))
        shown = display_path(root)
        try:
            st = os.stat(root)
        except FileNotFoundError:
            result.problems.append(f"{shown}: no such file or folder")
            continue
        except OSError as exc:
            result.problems.append(f"{shown}: cannot read ({exc.strerror})")
            continue
        if stat.S_ISREG(st.st_mode):
            if is_audio_name(root):
                result.files[root] = _found(root, st)
            else:
                result.problems.append(f"{shown}: not a folder or an audio file")
            continue
        if not stat.S_ISDIR(st.st_mode):
            result.problems.append(f"{shown}: not a folder or an audio file")
            continue
        result.roots.append(root)
        _walk_folder(root, result, visited)
    return result


def _walk_folder(root: str, result: WalkResult, visited: set[tuple[int, int]]) -> None:
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue
            visited.add(key)
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue  # vanished during the walk
        except OSError as exc:
            result.unreadable.append(folder)
            result.problems.append(f"{display_path(folder)}: cannot read folder ({exc.strerror})")
            continue
        for entry in entries:
            try:
                if entry.is_dir():
                    stack.append(entry.path)
                elif is_audio_name(entry.name):
                    st = entry.stat()
                    if stat.S_ISREG(st.st_mode):
                        result.files[entry.path] = _found(entry.path, st)
                    else:  # a FIFO or a device would stall or flood a worker
                        result.problems.append(
                            f"{display_path(entry.path)}: {NOT_A_REGULAR_FILE} "
                            f"({file_type(st.st_mode)}), skipped"
                        )
            except FileNotFoundError:
                continue  # vanished during the walk
            except OSError as exc:
                result.problems.append(f"{display_path(entry.path)}: cannot read ({exc.strerror})")
