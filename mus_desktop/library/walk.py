"""Finding audio files on disk: a walk of the folders given, one stat per file.

The walk follows folder symlinks once (a symlink loop is walked only once),
reports what it could not read, and names what it skips: a FIFO or a device
named like an audio file would stall or flood a worker, and a symlink that
leads out of the music folders (`MUS_MUSIC_ROOTS`, when set) would only fail
in a worker, again at every rescan. It reads nothing from the database;
scanner.py holds what it finds against the library.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mus_desktop.library.access import NOT_A_REGULAR_FILE, OUTSIDE_MUSIC_FOLDERS, file_type
from mus_desktop.library.paths import display_path, is_within

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


def walk(paths: Iterable[str | Path], music_roots: Sequence[str | Path] = ()) -> WalkResult:
    """Find audio files under `paths`, one stat per file, following folder
    symlinks once (a symlink loop is walked only once); with `music_roots`,
    not the symlinks that lead out of them."""
    result = WalkResult()
    roots = tuple(os.path.realpath(root) for root in music_roots)
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
        _walk_folder(root, result, visited, roots)
    return result


def _leads_out(entry: os.DirEntry[str], roots: tuple[str, ...], result: WalkResult) -> bool:
    """Whether `entry` is a symlink to somewhere outside `roots` (said in `result`)."""
    if not roots or not entry.is_symlink():
        return False
    target = os.path.realpath(entry.path)
    if any(is_within(target, root) for root in roots):
        return False
    result.problems.append(
        f"{display_path(entry.path)}: a link {OUTSIDE_MUSIC_FOLDERS} "
        f"({display_path(target)}), skipped"
    )
    return True


def _walk_folder(
    root: str, result: WalkResult, visited: set[tuple[int, int]], roots: tuple[str, ...]
) -> None:
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
                    if not _leads_out(entry, roots, result):
                        stack.append(entry.path)
                elif is_audio_name(entry.name) and not _leads_out(entry, roots, result):
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
