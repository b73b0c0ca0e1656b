"""A scan: what the folders hold now, held against the library, and recorded.

`scan` walks the folders (walk.py), plans what changed by the identity rules
(identity.py) and applies the plan, with the statuses the state machine gives
each change (transitions.py): new and edited files PENDING, moved ones keeping
their status, lost ones missing (docs/architecture.md, "Identity").

The walk happens outside any transaction. The plan is made under a read
snapshot; only when it changes something is it made again and applied under
`BEGIN IMMEDIATE`, so an unchanged rescan costs a walk, a stat per file and
one SELECT, and two imports of the same folder at once serialize cleanly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mus_desktop.library.engine import Database
from mus_desktop.library.identity import (
    KnownTrack,
    Plan,
    load_known,
    merge_copies_into_lost,
    plan,
)
from mus_desktop.library.models import LibraryFolder, Track, utcnow
from mus_desktop.library.paths import is_within
from mus_desktop.library.transitions import pending_again
from mus_desktop.library.walk import FoundFile, walk


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

    def changes(self) -> str:
        """'+3 new, 1 moved, 2 changed, 1 missing': what the scan changed, or ''."""
        parts = [f"+{self.new} new"] if self.new else []
        for count, word in (
            (self.moved, "moved"),
            (self.changed, "changed"),
            (self.returned, "back"),
            (self.missing, "missing"),
        ):
            if count:
                parts.append(f"{count} {word}")
        return ", ".join(parts)

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


INSERT_ROWS = 5000
"""New tracks inserted this many at a time (in the scan's one transaction): the
rows' parameters for 100,000 new files at once took ~200 MB of the scan's 320 MB.

Through the table (SQLAlchemy Core), not the ORM's bulk insert, which spends ~15 µs
a row collecting and sorting the rows' parameters again: with the workers idle
until the scan is recorded, that was ~0.3 s of a 20,000-track import (the scan
alone 0.94 to 0.66 s, medians of 5 alternating). The columns' Python defaults
apply the same way."""


def _apply(session: Session, plan: Plan, report: ScanReport) -> None:
    now = utcnow()
    pending = pending_again()

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

    for start in range(0, len(plan.inserts), INSERT_ROWS):
        new_ids = session.scalars(
            insert(Track.__table__).returning(Track.id),
            [
                {
                    **file_fields(found),
                    "processing_status": pending["processing_status"],
                    "added_at": now,
                }
                for found in plan.inserts[start : start + INSERT_ROWS]
            ],
        ).all()
        report.to_process.extend(new_ids)
    # UPDATEs by primary key, one executemany per kind of change.
    if plan.changed:
        session.execute(
            update(Track),
            [{"id": track.id, **file_fields(found), **pending} for track, found in plan.changed],
        )
        report.to_process.extend(track.id for track, _ in plan.changed)
    relocated = plan.moved + plan.returned
    if relocated:
        again = {
            track.id for track, found in relocated if track.unreached or _written(track, found)
        }
        session.execute(
            update(Track),
            [
                {"id": track.id, **file_fields(found), **(pending if track.id in again else {})}
                for track, found in relocated
            ],
        )
        report.to_process.extend(
            track.id for track, _ in relocated if not track.final or track.id in again
        )
    copied_away: dict[int, int] = {}
    if plan.now_missing:
        session.execute(
            update(Track)
            .where(Track.id.in_([track.id for track in plan.now_missing]))
            .values(missing_since=now, updated_at=now)
        )
        copied_away = merge_copies_into_lost(session, plan.now_missing)
        report.to_process = [copied_away.get(track_id, track_id) for track_id in report.to_process]
    report.new = len(plan.inserts)
    report.changed = len(plan.changed)
    report.moved = len(plan.moved) + len(copied_away)
    report.returned = len(plan.returned)
    report.missing = len(plan.now_missing) - len(copied_away)
    report.unchanged = plan.unchanged


def _written(track: KnownTrack, found: FoundFile) -> bool:
    """A moved file that was also saved: a rename keeps the mtime, a save does not
    (and a retag that fits in the tag's padding keeps the size, which is all
    that confirms the move), so its tags are read again."""
    return track.mtime_ns is not None and track.mtime_ns != found.mtime_ns


def scan(
    db: Database,
    paths: Sequence[str | Path],
    *,
    vanished: Sequence[str] = (),
    library_folders_only: bool = False,
    music_roots: Sequence[str | Path] = (),
) -> ScanReport:
    """Walk `paths`, record what changed, and return the tracks that need work.

    With `music_roots`, a symlink leading out of them is skipped, with a
    problem line, rather than recorded to fail in a worker at every rescan.

    The watcher's scans also give the folders it saw go (`vanished`): the
    tracks under one that is still gone are missing, unless found elsewhere
    (moved), without walking its parent. With `library_folders_only`, a new
    file is recorded only if it lies in a library folder as recorded when the
    changes are written: one removed while the walk ran must not come back as
    new tracks.
    """
    walked = walk(paths, music_roots)
    walked.roots.extend(folder for folder in vanished if not os.path.lexists(folder))
    report = ScanReport(problems=list(walked.problems))
    report.fatal = not walked.roots and not walked.files
    if report.fatal:
        return report
    with db.read() as session:
        changes = plan(load_known(session), walked)
    if changes.is_empty():
        report.unchanged = changes.unchanged
        return report
    with db.write() as session:
        changes = plan(load_known(session), walked)
        if library_folders_only:
            folders = list(session.scalars(select(LibraryFolder.path)))
            changes.inserts = [
                found
                for found in changes.inserts
                if any(is_within(found.path, folder) for folder in folders)
            ]
        _apply(session, changes, report)
    return report
