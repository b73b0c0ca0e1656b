"""Library folders: the folders the library follows, as data.

A library folder is recorded by `mus import FOLDER`, `mus folders add` or the
window's Library Folders dialog, and forgotten by `mus folders remove` (which
forgets its tracks, never a file). Library folders never nest: a folder inside
one is already followed, and a parent takes the place of the folders inside it.

A folder whose root is gone (an unplugged drive, an unmounted share) is
*offline*: it is not scanned, so its tracks are not marked missing, and it
comes back by itself when the root does. An empty root while the library
knows tracks under it counts as gone too: an unmounted mount point is an empty
folder, and taking it at its word would mark a whole disk's tracks missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, type_coerce, update

from mus_desktop.config import host_name
from mus_desktop.library.engine import Database
from mus_desktop.library.models import FolderMount, LibraryFolder, Track, WatchMode, utcnow
from mus_desktop.library.paths import RawFsPath, display_path, is_within


@dataclass(frozen=True)
class Folder:
    """A library folder as recorded, with how many tracks it holds."""

    id: int
    path: str
    added_at: datetime
    last_scan_at: datetime | None
    watch_mode: str | None
    watch_error: str | None
    device: int | None
    tracks: int = 0
    missing: int = 0
    unmapped_here: bool = False
    """A shared library's folder that this host has no path of its own for."""

    def state_now(self) -> tuple[str | None, str | None]:
        """(watch mode, why) as a person should read them: the last watcher's word,
        unless the root is offline now (no watcher may be running to notice)."""
        offline = offline_reason(self.path, self.tracks - self.missing, self.device)
        if offline is not None and self.unmapped_here and not os.path.lexists(self.path):
            offline = unmapped_reason(self.path)
        if offline is not None:
            return WatchMode.OFFLINE.value, offline
        return self.watch_mode, self.watch_error


def unmapped_reason(folder: str) -> str:
    """Why a shared library's folder is offline on a host that never said where it sees it."""
    return (
        f"not seen from this host ({host_name()}) at this path: "
        f"`mus folders map {display_path(folder)} LOCAL_FOLDER` says where it is mounted here"
    )


@dataclass
class AddReport:
    """What `add_folders` did with each path it was given."""

    added: list[str] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)
    """(path, the library folder that holds it)."""
    absorbed: list[tuple[str, str]] = field(default_factory=list)
    """(a former library folder, the new one it is now part of)."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(path, why): not a folder, cannot be read."""

    def lines(self) -> list[str]:
        """One line per path, for a person."""
        return self.outcome_lines() + self.refusal_lines()

    def outcome_lines(self) -> list[str]:
        return (
            [f"added {display_path(path)}" for path in self.added]
            + [
                f"{display_path(path)} is already a library folder"
                if path == holder
                else f"{display_path(path)} is already followed, inside {display_path(holder)}"
                for path, holder in self.already
            ]
            + [
                f"{display_path(child)} is now part of {display_path(parent)}"
                for child, parent in self.absorbed
            ]
        )

    def refusal_lines(self) -> list[str]:
        return [f"{display_path(path)}: {why}" for path, why in self.refused]


def normalized(path: str | Path) -> str:
    """How a folder is recorded: absolute, without `..` or a trailing separator,
    symlinks kept as given (a scan records tracks under the path it walked)."""
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def under(folder: str) -> ColumnElement[bool]:
    """Tracks whose path is `folder` or below it: a range of the path index (the
    paths are bytes, and every path below `folder/` sorts before `folder0`)."""
    prefix = folder.rstrip(os.sep) + os.sep
    after = prefix[:-1] + chr(ord(os.sep) + 1)
    return or_(Track.path == folder, and_(Track.path >= prefix, Track.path < after))


def list_folders(db: Database) -> list[Folder]:
    """The library folders, by path, with their track and missing counts."""
    mapping = db.path_map
    with db.read() as session:
        rows = session.execute(select(LibraryFolder).order_by(LibraryFolder.path)).scalars().all()
        folders = []
        for row in rows:
            tracks, missing = session.execute(
                select(func.count(), func.count(Track.missing_since)).where(under(row.path))
            ).one()
            folders.append(
                Folder(
                    row.id,
                    row.path,
                    row.added_at,
                    row.last_scan_at,
                    row.watch_mode,
                    row.watch_error,
                    row.device,
                    int(tracks),
                    int(missing),
                    unmapped_here=db.on_server
                    and not any(local == row.path for _stored, local in mapping.pairs),
                )
            )
    return folders


def map_folder(db: Database, folder: str, local: str | Path) -> str:
    """Record where this host sees the library folder `folder` (as listed here, or as
    stored): `local`, an existing folder. Returns the folder as stored. Raises
    ValueError, in a person's words, for a folder not in the library or a `local`
    that is not a folder here."""
    here = normalized(local)
    if not os.path.isdir(here):
        raise ValueError(f"{display_path(here)} is not a folder on this host")
    wanted = normalized(folder)
    stored_paths = type_coerce(LibraryFolder.path, RawFsPath)
    with db.write() as session:
        found = None
        for folder_id, stored, shown in session.execute(
            select(LibraryFolder.id, stored_paths, LibraryFolder.path)
        ):
            if wanted in (stored, shown):
                found = (folder_id, stored)
        if found is None:
            raise ValueError(f"{display_path(wanted)} is not a library folder")
        folder_id, stored = found
        session.execute(
            delete(FolderMount).where(
                FolderMount.folder_id == folder_id, FolderMount.host == host_name()
            )
        )
        if here != stored:
            session.add(FolderMount(folder_id=folder_id, host=host_name(), path=here))
    db.load_path_map()
    return stored


def folder_paths(db: Database) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(LibraryFolder.path).order_by(LibraryFolder.path)))


def folder_devices(db: Database) -> dict[str, int | None]:
    """Each library folder and its root's device at its last full scan."""
    with db.read() as session:
        rows = session.execute(
            select(LibraryFolder.path, LibraryFolder.device).order_by(LibraryFolder.path)
        )
        return {path: device for path, device in rows}


def add_folders(db: Database, paths: Iterable[str | Path]) -> AddReport:
    """Record folders as library folders. A folder inside a library folder is
    left as it is; one that holds library folders takes their place."""
    report = AddReport()
    candidates: list[str] = []
    for given in paths:
        path = normalized(given)
        if not os.path.isdir(path):
            why = "no such folder" if not os.path.lexists(path) else "not a folder"
            report.refused.append((path, why))
        elif path not in candidates:
            candidates.append(path)
    if not candidates:
        return report
    with db.write() as session:
        known = list(session.scalars(select(LibraryFolder.path)))
        # Parents first, so that a parent given with its child absorbs it.
        for path in sorted(candidates, key=len):
            if any(path == child for child, _ in report.absorbed):
                continue  # given with its parent, and said so
            holder = next((folder for folder in known if is_within(path, folder)), None)
            if holder is not None:
                report.already.append((path, holder))
                continue
            children = [folder for folder in known if is_within(folder, path)]
            if children:
                session.execute(delete(LibraryFolder).where(LibraryFolder.path.in_(children)))
                known = [folder for folder in known if folder not in children]
                report.absorbed.extend((child, path) for child in children)
            session.add(LibraryFolder(path=path, added_at=utcnow()))
            known.append(path)
            report.added.append(path)
    return report


def find_folder(db: Database, path: str | Path) -> str | None:
    """The library folder recorded as `path`, if there is one."""
    wanted = normalized(path)
    with db.read() as session:
        return session.scalar(select(LibraryFolder.path).where(LibraryFolder.path == wanted))


def count_tracks(db: Database, folder: str) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).where(under(folder))) or 0)


def count_present(db: Database, folder: str) -> int:
    """Tracks under `folder` that are not missing."""
    with db.read() as session:
        return int(
            session.scalar(select(func.count()).where(under(folder), Track.missing_since.is_(None)))
            or 0
        )


def remove_folder(db: Database, folder: str) -> int:
    """Forget a library folder and its tracks (the files are not touched);
    returns how many tracks were forgotten."""
    with db.write() as session:
        forgotten = session.execute(delete(Track).where(under(folder))).rowcount
        folder_id = session.scalar(select(LibraryFolder.id).where(LibraryFolder.path == folder))
        session.execute(delete(FolderMount).where(FolderMount.folder_id == folder_id))
        session.execute(delete(LibraryFolder).where(LibraryFolder.id == folder_id))
    return int(forgotten or 0)


def record_full_scan(db: Database, folders: Sequence[str], when: datetime | None = None) -> None:
    """The time of a full scan of `folders`, and the device each root is on."""
    if not folders:
        return
    devices = {}
    for folder in folders:
        try:
            devices[folder] = os.stat(folder).st_dev
        except OSError:
            devices[folder] = None
    with db.write() as session:
        session.execute(
            update(LibraryFolder),
            [
                {"id": folder_id, "last_scan_at": when or utcnow(), "device": devices[path]}
                for folder_id, path in session.execute(
                    select(LibraryFolder.id, LibraryFolder.path).where(
                        LibraryFolder.path.in_(list(folders))
                    )
                )
            ],
        )


def record_watch_state(db: Database, folder: str, mode: str | None, error: str | None) -> None:
    """The watch mode in force for `folder`, and why it is not events (or None)."""
    with db.write() as session:
        session.execute(
            update(LibraryFolder)
            .where(LibraryFolder.path == folder)
            .values(watch_mode=mode, watch_error=error)
        )


def offline_reason(
    folder: str, present_tracks: int | Callable[[], int], device: int | None = None
) -> str | None:
    """Why the root of `folder` cannot be taken at its word now, or None when it
    can: gone, unreadable, not a folder, or empty while the library holds
    present tracks under it, unless it is on the `device` it was last scanned
    on (an unmounted mount point is an empty folder on the disk beneath; a
    folder emptied on its own disk is taken at its word: its tracks go
    missing). `present_tracks`, as a function, is asked only of an empty root:
    the watcher looks every couple of seconds, and counting a large folder's
    tracks each time would cost more than the rest of its watching."""
    try:
        st = os.stat(folder)
        with os.scandir(folder) as entries:
            empty = next(entries, None) is None
    except FileNotFoundError:
        return "the folder is gone (a drive unplugged or a share unmounted?)"
    except NotADirectoryError:
        return "not a folder any more"
    except OSError as exc:
        return f"cannot read the folder ({exc.strerror})"
    if not empty or (device is not None and st.st_dev == device):
        return None
    known = present_tracks if isinstance(present_tracks, int) else present_tracks()
    return f"the folder is empty but held {known} track(s): not mounted?" if known else None
