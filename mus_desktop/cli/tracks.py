"""The commands about tracks and their work: import, status, errors, retry, reconcile, worker."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mus_desktop.cli.common import (
    UsageError,
    imports_without_gc,
    open_library,
    print_report,
    report_fatal,
)
from mus_desktop.config import Settings
from mus_desktop.terminal import one_line, printable

if TYPE_CHECKING:
    from mus_desktop.library.engine import Database
    from mus_desktop.library.queries import ErroredTrack, UnmergedTrack
    from mus_desktop.runtime.backend import Backend


WAIT_POLL_SECONDS = 0.1
"""How often, at most, `import --wait` counts unfinished tracks (one indexed
COUNT; when nothing moved, it also asks the broker how many jobs are queued)."""
COUNT_SHARE = 0.05
"""The most of a core that counting may take: the pause between counts grows
with the count's own time. With 100,000 unfinished tracks a count takes ~30 ms;
every 0.1 s that was a fifth of a core taken from the workers."""
QUEUED_COUNT_SECONDS = 1.0
"""While jobs are still queued no count can be the last: count this often (for the
progress bar), and ask the broker in between, which costs it and us ~0.1 ms. A
20,000-track import counted ~120 times, ~5 ms each; now ~25."""
DISK_CHECK_QUIET_S = 1.0
"""Quiet this long (nothing moved, nothing queued): ask whether jobs stopped on a full disk."""
RECONCILE_QUIET_S = 10.0
"""Quiet this long: queue again what the workers lost (see `reconcile`)."""
DATABASE_RETRY_SECONDS = 1.0
"""How often a database server that stopped answering is asked again."""


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    if args.wait:
        return _import_and_wait(args, settings)

    with imports_without_gc():
        from mus_desktop.library.scanner import scan

    db = open_library(settings)
    report = scan(db, args.paths, music_roots=settings.music_roots)
    if report.fatal:
        return report_fatal(report)
    _add_imported_folders(db, args.paths)
    if not report.to_process:
        print_report(report)
        return 0  # nothing to queue: no need to reach (or even import) the broker's client
    with imports_without_gc():
        from mus_desktop.processing.service import queue_scanned
        from mus_desktop.runtime.backend import start_backend
    with start_backend(settings, start_workers=False) as backend:
        queue_scanned(report, backend.queue, settings)
        print_report(report)
        if backend.queue is not None and backend.live_workers() == 0:
            print(
                f"{len(report.to_process)} track(s) queued; no worker is running: "
                "open mus or run `mus worker`"
            )
    return 0


def _import_and_wait(args: argparse.Namespace, settings: Settings) -> int:
    """`mus import --wait`: scan, queue, and show progress until every track is final.

    The workers are forked from this process once it has imported what it
    shares with them (see LocalWorkerPool), and get ready while it scans. The
    database is created or upgraded first, and its connections closed before
    the fork.
    """
    with imports_without_gc():
        from mus_desktop.library.models import ProcessingStatus
        from mus_desktop.library.queries import errored_tracks, status_counts
        from mus_desktop.library.scanner import scan
        from mus_desktop.library.transitions import count_unfinished
        from mus_desktop.processing.service import reconcile
        from mus_desktop.runtime.backend import start_backend

    db = open_library(settings)
    # Before the workers start: a shared library's workers then listen on the
    # new folders' queues from the first (processing/routing.py).
    _add_imported_folders(db, args.paths)
    db.dispose()  # no database connection may cross the fork
    with start_backend(settings, fork_workers_here=True) as backend:
        report = scan(db, args.paths, music_roots=settings.music_roots)
        if report.fatal:
            return report_fatal(report)
        if backend.queue is None:
            print_report(report)
            waiting = count_unfinished(db)
            print(
                f"mus: {backend.describe()}; {waiting} unfinished track(s) recorded, "
                "processed once it is back",
                file=sys.stderr,
            )
            return 1
        # One call queues the scan's tracks and any work an earlier run lost,
        # and reads the queue while it is still empty.
        reconcile(db, backend.queue, settings)
        print_report(report)
        if settings.workers == 0 and backend.live_workers() == 0 and count_unfinished(db):
            print(
                "mus: MUS_WORKERS=0 starts no worker here and none is running: waiting for "
                "one (`mus worker`); Ctrl+C stops waiting, the tracks stay queued",
                file=sys.stderr,
            )
        _wait_until_final(db, backend, settings)
    counts = status_counts(db)
    shown = (ProcessingStatus.COMPLETE.value, ProcessingStatus.ERROR.value, "missing")
    print(", ".join(f"{counts[key]} {key.lower()}" for key in shown))
    _print_errored(errored_tracks(db, among=report.to_process))
    return 0


def _add_imported_folders(db: Database, paths: Sequence[str]) -> None:
    """An imported folder becomes a library folder, followed from then on."""
    import os

    from mus_desktop.library.folders import add_folders

    added = add_folders(db, [path for path in paths if os.path.isdir(path)])
    for path in added.added:
        print(f"library folder: {printable(path)} (followed by the window and `mus watch`)")
    for child, parent in added.absorbed:
        print(f"library folder {printable(child)} is now part of {printable(parent)}")


SHOWN_ERRORS = 20
"""How many of its failed files `mus import --wait` lists; `mus errors` lists all."""


def _print_errored(tracks: Sequence[ErroredTrack], limit: int | None = SHOWN_ERRORS) -> None:
    """Each failed track: its id (for `mus retry ID`), its file, and why."""
    for track in tracks[:limit]:
        print(f"{track.id:>7}  {printable(track.path)}\n         {printable(track.message)}")
    if limit is not None and len(tracks) > limit:
        print(f"and {len(tracks) - limit} more: `mus errors` lists them all")
    if tracks:
        print("once fixed: `mus retry ID...` or `mus retry --all`")


def cmd_errors(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.library.queries import errored_tracks

    tracks = errored_tracks(open_library(settings, create=False))
    if args.json:
        print(json.dumps([track._asdict() for track in tracks], indent=2))
    else:
        _print_errored(tracks, limit=None)
    return 0


def _wait_until_final(db: Database, backend: Backend, settings: Settings) -> None:
    """A progress bar until no present track is left unfinished. When nothing
    is queued or running yet tracks remain (work lost), reconcile again; when
    the jobs failed because the database's disk is full, which no retry can
    mend, raise DiskFullError. A database server that stops answering is
    waited for (said once), and the work lost meanwhile is queued again."""
    from datetime import UTC, datetime

    import psutil
    from sqlalchemy.exc import DBAPIError
    from tqdm import tqdm

    from mus_desktop.library.database_errors import DiskFullError, disk_full_message, is_unreachable
    from mus_desktop.library.transitions import count_unfinished
    from mus_desktop.processing.service import reconcile, stopped_by_full_disk

    started = datetime.fromtimestamp(psutil.Process().create_time(), UTC)
    remaining = count_unfinished(db)
    pause = WAIT_POLL_SECONDS
    quiet_since: float | None = None  # since when nothing moved and nothing is queued
    disk_checked = reconciled = 0.0  # how long it had been quiet at the last of each
    away = False  # the database server stopped answering
    counted = time.monotonic()
    with tqdm(total=remaining, unit="track", desc="processing", disable=None) as bar:
        while remaining:
            time.sleep(pause)
            if time.monotonic() - counted < QUEUED_COUNT_SECONDS and backend.queue_depth():
                continue
            counting = counted = time.monotonic()
            try:
                now_remaining = count_unfinished(db)
            except DBAPIError as exc:
                if not is_unreachable(exc):
                    raise
                if not away:
                    words = printable(one_line(exc.orig))
                    tqdm.write(
                        f"mus: the library database does not answer ({words}): waiting"
                        " for it; nothing recorded is lost",
                        file=sys.stderr,
                    )
                away, pause, quiet_since = True, DATABASE_RETRY_SECONDS, None
                continue
            if away:
                tqdm.write("mus: the library database answers again", file=sys.stderr)
                away = False
            now = time.monotonic()
            pause = max(WAIT_POLL_SECONDS, (now - counting) / COUNT_SHARE)
            bar.update(max(0, remaining - now_remaining))
            if now_remaining == remaining and backend.queue_depth() == 0:
                if quiet_since is None:
                    quiet_since, disk_checked, reconciled = now, 0.0, 0.0
                quiet = now - quiet_since
                if quiet - disk_checked >= DISK_CHECK_QUIET_S:
                    disk_checked = quiet
                    if backend.queue is not None and stopped_by_full_disk(
                        backend.queue, since=started
                    ):  # main reports it; the workers and broker started here stop on the way
                        raise DiskFullError(disk_full_message(settings.database_label))
                if quiet - reconciled >= RECONCILE_QUIET_S:
                    reconciled = quiet
                    reconcile(db, backend.queue, settings)
            else:
                quiet_since = None
            remaining = now_remaining


_DUPLICATE_KINDS = {
    "duplicates": ("duplicate_groups", "exact copies"),
    "same_recording": ("same_recording_groups", "same recording, other tags"),
}
"""The two kinds of duplicates `status_counts` counts: their groups' key, their words."""


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.library.queries import status_counts, unmerged_tracks

    db = open_library(settings, create=False)
    counts = status_counts(db)
    unmerged = unmerged_tracks(db) if counts["unmerged"] else []
    if args.json:
        listed = [track._asdict() for track in unmerged]
        print(json.dumps({**counts, "unmerged_tracks": listed}, indent=2))
        return 0
    told_apart = {groups for groups, _words in _DUPLICATE_KINDS.values()} | {"unmerged"}
    for name, value in counts.items():
        if name in _DUPLICATE_KINDS:
            groups, words = _DUPLICATE_KINDS[name]
            print(f"{name:>16}: {value} in {counts[groups]} group(s) ({words})")
        elif name not in told_apart:
            print(f"{name:>16}: {value}")
    _print_unmerged(unmerged)
    return 0


def _print_unmerged(tracks: Sequence[UnmergedTrack]) -> None:
    """Each new track that shares its audio with several missing tracks, and why it
    was not merged into one of them."""
    if not tracks:
        return
    print(
        f"{len(tracks)} new track(s) share their audio with several missing tracks: "
        "not merged (in the window, Locate the right missing track to its file)"
    )
    for track in tracks:
        candidates = ", ".join(str(track_id) for track_id in track.candidates)
        print(f"{track.id:>7}  {printable(track.path)}\n         missing: {candidates}")


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    if not args.all and not args.ids:
        raise UsageError("retry: give track ids or --all")
    db = open_library(settings, create=False)
    if not args.all and not _errored_among(db, args.ids):
        return 0
    from mus_desktop.processing.service import retry_tracks
    from mus_desktop.runtime.backend import start_backend

    with start_backend(settings, start_workers=False) as backend:
        count = retry_tracks(db, backend.queue, None if args.all else args.ids, settings)
        print(f"{count} errored track(s) queued again" if count else "no track is in error")
        if count and backend.queue is None:
            print(f"mus: {backend.describe()}; they run once it is back", file=sys.stderr)
        elif count and backend.live_workers() == 0:
            print(_NO_WORKER_HINT, file=sys.stderr)
    return 0


_NO_WORKER_HINT = "mus: no worker is running: open mus or run `mus worker` to process them"


def _errored_among(db: Database, track_ids: Sequence[int]) -> bool:
    """Whether any of `track_ids` is in error; says why each other one is not retried.
    An id that names no track is a bad argument (UsageError)."""
    from mus_desktop.library.models import ProcessingStatus
    from mus_desktop.library.queries import statuses_of

    statuses = statuses_of(db, track_ids)
    unknown = [str(track_id) for track_id in track_ids if track_id not in statuses]
    if unknown:
        raise UsageError(
            f"retry: no track with id {', '.join(unknown)} (`mus errors` lists the errored ones)"
        )
    for track_id in dict.fromkeys(track_ids):
        if statuses[track_id] != ProcessingStatus.ERROR:
            print(f"track {track_id} is {statuses[track_id].lower()}, not in error: not retried")
    return any(status == ProcessingStatus.ERROR for status in statuses.values())


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.processing.service import reconcile_counts
    from mus_desktop.runtime.backend import start_backend

    db = open_library(settings)
    with start_backend(settings, start_workers=False) as backend:
        if backend.queue is None:
            raise UsageError(backend.describe())
        counts = reconcile_counts(db, backend.queue, settings)
    print(f"{counts.lost} track(s) whose work was lost queued again")
    if counts.without_audio_hash:
        print(
            f"{counts.without_audio_hash} track(s) processed before audio hashes queued "
            "once to get one (a track retagged and moved keeps its id by it)"
        )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.processing.queue import BrokerError
    from mus_desktop.runtime.workers import run_worker

    # A library this worker cannot use (newer schema, damaged, not writable) is
    # one line now, not a failed job per batch later.
    open_library(settings).dispose()
    try:
        return run_worker(settings, burst=args.burst)
    except BrokerError as exc:
        raise UsageError(str(exc)) from exc
