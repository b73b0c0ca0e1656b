"""The identity rules: which track a file is, wherever it went.

For every audio file a scan finds (docs/architecture.md, "Identity"):

1. same path, same size and mtime: unchanged; nothing is written or queued;
2. same path, other size or mtime: edited; back to PENDING;
3. new path whose (device, inode) belongs to a track whose old path is gone,
   confirmed by equal size: moved or renamed; the track keeps its id and data;
4. new path otherwise: a new PENDING track. Once the batch job has its
   content hash, a new track whose content equals a missing track's is that
   track, moved across filesystems: the old id takes the new file over
   (`merge_into_missing`);
5. known path under a scanned root that was not found: marked missing, never
   deleted; it comes back when its file does. But a track that goes missing
   while exactly one newer track has its content is that track, moved across
   filesystems by a copy that was found before the original went (a file
   manager moving folders to another disk copies everything, then deletes):
   the old id takes the copy's file over (`merge_copies_into_lost`).
6. a new track (never hashed before) whose audio hash (the audio payload alone,
   tags and pictures excluded) equals that of exactly one missing track, once
   the batch job has it and rule 4 found no exact copy: that track, retagged
   and moved. The old id takes the new file over, with the tags just read
   (`merge_recordings_into_missing`). Several missing candidates: no guess,
   the new track stays new, and `unmerged_recordings` says why.

A track in ERROR because its file could not be reached (renamed away while it
was processed, say: "file not found") is queued again when a scan finds its
file, moved, back, or where it was all along (`KnownTrack.unreached`); one
whose content was at fault ("not an audio file") is not. The scanner applies
the plan (scanner.py); the status each change leads to is the state machine's
(transitions.py).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, case, delete, func, select, update
from sqlalchemy.orm import Session, aliased

from mus_desktop.library.access import is_access_error
from mus_desktop.library.models import FINAL_STATUSES, ProcessingStatus, Track
from mus_desktop.library.paths import is_within
from mus_desktop.library.walk import FoundFile, WalkResult


@dataclass
class KnownTrack:
    id: int
    path: str
    device: int | None
    inode: int | None
    size: int | None
    mtime_ns: int | None
    missing: bool
    final: bool
    unreached: bool
    """In ERROR because its file could not be reached (see access.is_access_error)."""


@dataclass
class Plan:
    inserts: list[FoundFile] = field(default_factory=list)
    changed: list[tuple[KnownTrack, FoundFile]] = field(default_factory=list)
    moved: list[tuple[KnownTrack, FoundFile]] = field(default_factory=list)
    returned: list[tuple[KnownTrack, FoundFile]] = field(default_factory=list)
    now_missing: list[KnownTrack] = field(default_factory=list)
    unchanged: int = 0

    def is_empty(self) -> bool:
        return not (self.inserts or self.changed or self.moved or self.returned or self.now_missing)


def load_known(session: Session) -> list[KnownTrack]:
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
            case(
                (Track.processing_status == ProcessingStatus.ERROR.value, Track.last_error_message)
            ),
        )
    )
    return [KnownTrack(*row[:-1], unreached=is_access_error(row[-1])) for row in rows]


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(is_within(path, folder) for folder in folders)


def plan(known: list[KnownTrack], walked: WalkResult) -> Plan:
    plan = Plan()
    by_path = {track.path: track for track in known}
    by_inode: dict[tuple[int | None, int | None], list[KnownTrack]] = {}
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
            elif (
                track.missing
                or track.unreached
                or (track.device, track.inode) != (found.device, found.inode)
            ):
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


def _take_over(session: Session, old_id: int, new_id: int, **also: object) -> None:
    """The track `old_id` takes over the file of the row `new_id` (path, device, inode,
    size, mtime), missing no more, with `also`; the row `new_id` goes (the window
    learns of it through `deleted_track`)."""
    new = session.execute(
        select(Track.path, Track.device, Track.inode, Track.size, Track.mtime_ns).where(
            Track.id == new_id
        )
    ).one()
    session.execute(delete(Track).where(Track.id == new_id))
    session.execute(
        update(Track)
        .where(Track.id == old_id)
        .values(path=new.path, device=new.device, inode=new.inode, size=new.size,
                mtime_ns=new.mtime_ns, missing_since=None, **also)
    )  # fmt: skip


def any_missing(session: Session) -> bool:
    """Whether any track is missing: rules 4 and 6 merge new tracks into missing
    ones only. One row read through the index of the missing tracks
    (`ix_track_missing`, ~0.6 ms in a work horse), so a batch recorded while
    none is missing (a first import) skips their three queries: 7-10 ms in a
    fresh work horse, all under the write lock the other workers wait for."""
    found = session.scalar(select(Track.id).where(Track.missing_since.is_not(None)).limit(1))
    return found is not None


def merge_into_missing(session: Session, by_hash: Mapping[str, int]) -> dict[int, int]:
    """Rule 4, once content hashes are known: each new track of `by_hash` (content
    hash -> track id) whose content equals a missing track's is that track,
    moved across filesystems. The old id takes over the new file; the new row
    goes. Returns {new id: old id} for the tracks merged; one query per call."""
    if not by_hash:
        return {}
    missing = session.execute(
        select(Track.content_hash, func.min(Track.id))
        .where(Track.content_hash.in_(list(by_hash)), Track.missing_since.is_not(None))
        .group_by(Track.content_hash)
    ).all()
    merged: dict[int, int] = {}
    for digest, old_id in missing:
        new_id = by_hash[digest]
        if old_id == new_id:
            continue
        _take_over(session, old_id, new_id)
        merged[new_id] = old_id
    return merged


def merge_copies_into_lost(session: Session, lost: Sequence[KnownTrack]) -> dict[int, int]:
    """Rule 5's exception: each track of `lost` (just found missing) whose content
    exactly one newer present track has takes that track's file over, and the
    newer row goes. Several copies: no guess, it stays missing. Returns {newer id:
    lost id} for the tracks merged."""
    lost_ids = [track.id for track in lost]
    if not lost_ids:
        return {}
    newer = aliased(Track)
    candidates = session.execute(
        select(Track.id.label("lost_id"), newer.id.label("copy_id"))
        .join(newer, newer.content_hash == Track.content_hash)
        .where(
            Track.id.in_(lost_ids),
            Track.content_hash.is_not(None),
            newer.id > Track.id,
            newer.missing_since.is_(None),
        )
    ).all()  # fmt: skip
    copies: dict[int, list[Row[Any]]] = {}
    for row in candidates:
        copies.setdefault(row.lost_id, []).append(row)
    merged: dict[int, int] = {}
    for lost_id, found in copies.items():
        if len(found) != 1 or found[0].copy_id in merged:
            continue
        copy_id = found[0].copy_id
        _take_over(session, lost_id, copy_id)
        merged[copy_id] = lost_id
    return merged


def merge_recordings_into_missing(session: Session, by_audio: Mapping[int, str]) -> dict[int, int]:
    """Rule 6, once audio hashes are known: each track of `by_audio` (id -> audio
    hash) that is a new file (never hashed before: no content hash recorded yet)
    and whose audio equals exactly one missing track's is that track, retagged
    and moved. The old id takes the new file over and the new row goes; the
    caller writes the new file's tags to the old id. Several missing candidates:
    no guess (see `unmerged_recordings`). Returns {new id: old id}."""
    if not by_audio:
        return {}
    new_ids = session.scalars(
        select(Track.id).where(Track.id.in_(list(by_audio)), Track.content_hash.is_(None))
    ).all()
    wanted = {by_audio[track_id] for track_id in new_ids if by_audio[track_id]}
    if not wanted:
        return {}
    candidates: dict[str, list[int]] = {}
    for digest, old_id in session.execute(
        select(Track.audio_hash, Track.id)
        .where(Track.audio_hash.in_(list(wanted)), Track.missing_since.is_not(None))
        .order_by(Track.id)
    ):
        candidates.setdefault(digest, []).append(old_id)
    merged: dict[int, int] = {}
    for new_id in sorted(new_ids):
        found = candidates.get(by_audio[new_id], [])
        if len(found) != 1 or found[0] in merged.values():
            continue
        _take_over(session, found[0], new_id, attempts=0)
        merged[new_id] = found[0]
    return merged


def unmerged_recordings(session: Session) -> dict[int, list[int]]:
    """Rule 6's "no guess": present tracks whose audio equals that of several older
    missing tracks, each with those tracks' ids ({track id: [missing ids]}).

    Worked out by query rather than recorded: the answer changes whenever one of
    the candidates is located or forgotten. One pass over the table for the
    missing tracks' audio hashes (grouping them through the audio hash's index
    would cost a table lookup per track: 140 ms against 20 ms at 100,000
    tracks), then the index for the few hashes several of them share.
    """
    missing_audio = Track.audio_hash.concat("")  # not answerable from the index
    counts = Counter(
        session.scalars(
            select(Track.audio_hash).where(
                Track.missing_since.is_not(None), func.length(missing_audio) > 0
            )
        )
    )
    shared = [digest for digest, count in counts.items() if count > 1]
    if not shared:
        return {}
    by_hash: dict[str, list[tuple[int, bool]]] = {}
    for digest, track_id, missing in session.execute(
        select(Track.audio_hash, Track.id, Track.missing_since.is_not(None))
        .where(Track.audio_hash.in_(shared))
        .order_by(Track.id)
    ):
        by_hash.setdefault(digest, []).append((track_id, missing))
    found: dict[int, list[int]] = {}
    for tracks in by_hash.values():
        for track_id, missing in tracks:
            older = [other for other, gone in tracks if gone and other < track_id]
            if not missing and len(older) > 1:
                found[track_id] = older
    return dict(sorted(found.items()))


def unmerged_candidates(session: Session, track: Track) -> list[int]:
    """`unmerged_recordings` for one track: the ids of the older missing tracks with
    its audio, when there are several (else none); one indexed query."""
    if not track.audio_hash or track.missing_since is not None:
        return []
    old_ids = list(
        session.scalars(
            select(Track.id)
            .where(
                Track.audio_hash == track.audio_hash,
                Track.missing_since.is_not(None),
                Track.id < track.id,
            )
            .order_by(Track.id)
        )
    )
    return old_ids if len(old_ids) > 1 else []
