"""Folder scanner: finds audio files and applies the identity rules.

DESIGN.md "Identity" rules, in order, for every audio file found:

1. same path, same size and mtime: unchanged; nothing is written or queued;
2. same path, other size or mtime: edited; back to PENDING;
3. new path whose (device, inode) belongs to a track whose old path is gone,
   confirmed by equal size: moved or renamed; the track keeps its id and data;
4. new path otherwise: a new PENDING track (the content hash, computed later,
   may still merge it with a missing track: see processing);
5. known path under a scanned root that was not found: marked missing, never
   deleted; it comes back when its file does.

A track found moved or back (3, 5) that ended in ERROR because its file could
not be reached (renamed away while it was processed, say: "file not found") is
queued again; one whose content was at fault ("not an audio file") is not.

The walk happens outside any transaction. The plan is made under a read
snapshot; only when it changes something is it made again and applied under
`BEGIN IMMEDIATE`, so an unchanged rescan costs a walk, a stat per file and
one SELECT, and two imports of the same folder at once serialize cleanly.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mus_desktop.library.engine import Database
from mus_desktop.library.models import FINAL_STATUSES, ProcessingStatus, Track, utcnow
from mus_desktop.library.paths import display_path
from mus_desktop.processing.errors import NOT_A_REGULAR_FILE, file_type, is_access_error

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


@dataclass
class ScanReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    returned: int = 0
    missing: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    fatal: bool = False
    """True when none of the given paths could be scanned at all."""
    to_process: list[int] = field(default_factory=list)
    """Ids of tracks that need (re)processing."""

    def summary(self) -> str:
        parts = [
            f"{self.new} new",
            f"{self.changed} changed",
            f"{self.moved} moved",
            f"{self.returned} back",
            f"{self.missing} missing",
            f"{self.unchanged} unchanged",
        ]
        text = ", ".join(parts)
        if self.problems:
            text += f"; {len(self.problems)} problem(s)"
        return text


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


@dataclass
class _Known:
    id: int
    path: str
    device: int | None
    inode: int | None
    size: int | None
    mtime_ns: int | None
    missing: bool
    final: bool


@dataclass
class _Plan:
    inserts: list[FoundFile] = field(default_factory=list)
    changed: list[tuple[_Known, FoundFile]] = field(default_factory=list)
    moved: list[tuple[_Known, FoundFile]] = field(default_factory=list)
    returned: list[tuple[_Known, FoundFile]] = field(default_factory=list)
    now_missing: list[_Known] = field(default_factory=list)
    unchanged: int = 0

    def is_empty(self) -> bool:
        return not (self.inserts or self.changed or self.moved or self.returned or self.now_missing)


def _load_known(session: Session) -> list[_Known]:
    rows = session.execute(
        select(
            Track.id,
            Track.path,
            Track.device,
            Track.inode,
            Track.size,
            Track.mtime_ns,
            Track.missing_since.is_not(None),
            Track.processing_status.in_(FINAL_STATUSES),
        )
    )
    return [_Known(*row) for row in rows]


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _plan(known: list[_Known], walked: WalkResult) -> _Plan:
    plan = _Plan()
    by_path = {track.path: track for track in known}
    by_inode: dict[tuple[int | None, int | None], list[_Known]] = {}
    for track in known:
        by_inode.setdefault((track.device, track.inode), []).append(track)
    claimed: set[int] = set()

    for path, found in walked.files.items():
        track = by_path.get(path)
        if track is not None:
            claimed.add(track.id)
            same = track.size == found.size and track.mtime_ns == found.mtime_ns
            if not same:
                plan.changed.append((track, found))
            elif track.missing or (track.device, track.inode) != (found.device, found.inode):
                plan.returned.append((track, found))
            else:
                plan.unchanged += 1
            continue
        match = next(
            (
                candidate
                for candidate in by_inode.get((found.device, found.inode), ())
                if candidate.id not in claimed
                and candidate.size == found.size
                and candidate.path not in walked.files
                and not os.path.lexists(candidate.path)
            ),
            None,
        )
        if match is not None:
            claimed.add(match.id)
            plan.moved.append((match, found))
        else:
            plan.inserts.append(found)

    for track in known:
        if (
            track.id not in claimed
            and not track.missing
            and track.path not in walked.files
            and _under(track.path, walked.roots)
            and not _under(track.path, walked.unreadable)
            and not os.path.lexists(track.path)
        ):
            plan.now_missing.append(track)
    return plan


def _apply(session: Session, plan: _Plan, report: ScanReport) -> None:
    now = utcnow()
    pending = ProcessingStatus.PENDING.value

    def file_fields(found: FoundFile) -> dict[str, object]:
        return {
            "path": found.path,
            "device": found.device,
            "inode": found.inode,
            "size": found.size,
            "mtime_ns": found.mtime_ns,
            "missing_since": None,
            "updated_at": now,
        }

    if plan.inserts:
        new_ids = session.scalars(
            insert(Track).returning(Track.id),
            [
                {**file_fields(found), "processing_status": pending, "added_at": now}
                for found in plan.inserts
            ],
        ).all()
        report.to_process.extend(new_ids)
    # UPDATEs by primary key, one executemany per kind of change.
    if plan.changed:
        session.execute(
            update(Track),
            [
                {
                    "id": track.id,
                    **file_fields(found),
                    "processing_status": pending,
                    "failed_stage": None,
                    "last_error_message": None,
                    "attempts": 0,
                }
                for track, found in plan.changed
            ],
        )
        report.to_process.extend(track.id for track, _ in plan.changed)
    relocated = plan.moved + plan.returned
    if relocated:
        unreachable = _unreachable(session) if any(track.final for track, _ in relocated) else set()
        retry = {
            "processing_status": pending,
            "failed_stage": None,
            "last_error_message": None,
            "attempts": 0,
        }
        session.execute(
            update(Track),
            [
                {"id": track.id, **file_fields(found), **(retry if track.id in unreachable else {})}
                for track, found in relocated
            ],
        )
        report.to_process.extend(
            track.id for track, _ in relocated if not track.final or track.id in unreachable
        )
    if plan.now_missing:
        session.execute(
            update(Track)
            .where(Track.id.in_([track.id for track in plan.now_missing]))
            .values(missing_since=now, updated_at=now)
        )
    report.new = len(plan.inserts)
    report.changed = len(plan.changed)
    report.moved = len(plan.moved)
    report.returned = len(plan.returned)
    report.missing = len(plan.now_missing)
    report.unchanged = plan.unchanged


def _unreachable(session: Session) -> set[int]:
    """Ids of the tracks in ERROR because their file could not be reached."""
    rows = session.execute(
        select(Track.id, Track.last_error_message).where(
            Track.processing_status == ProcessingStatus.ERROR.value
        )
    )
    return {track_id for track_id, message in rows if is_access_error(message)}


def scan(db: Database, paths: Sequence[str | Path]) -> ScanReport:
    """Walk `paths`, record what changed, and return the tracks that need work."""
    walked = walk(paths)
    report = ScanReport(problems=list(walked.problems))
    report.fatal = not walked.roots and not walked.files
    if report.fatal:
        return report
    with db.read() as session:
        plan = _plan(_load_known(session), walked)
    if plan.is_empty():
        report.unchanged = plan.unchanged
        return report
    with db.write() as session:
        _apply(session, _plan(_load_known(session), walked), report)
    return report
