"""The `mus` command (also `python -m mus_desktop`).

Each sub-command is a small function; the work lives in library/, processing/
and runtime/. Errors a person can fix end as one line on stderr and exit 2.
Sub-commands import what they need themselves, so each pays only for its own.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mus_desktop.config import ConfigError, Settings, load_settings
from mus_desktop.terminal import one_line, printable

if TYPE_CHECKING:
    from mus_desktop.library.engine import Database
    from mus_desktop.library.queries import ErroredTrack
    from mus_desktop.library.scanner import ScanReport
    from mus_desktop.runtime.backend import Backend
    from mus_desktop.watching.watcher import FolderState


WAIT_POLL_SECONDS = 0.1
"""How often `import --wait` counts unfinished tracks (one indexed COUNT; when
nothing moved, it also asks the broker how many jobs are queued)."""


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


@contextmanager
def _imports_without_gc() -> Iterator[None]:
    """Import a command's modules with the cyclic garbage collector paused.

    Imports allocate tens of thousands of objects that live as long as the
    process, and almost no garbage, so the collections they trigger are pure
    cost: measured, ~40 ms of the ~0.27 s that `mus import --wait` spends
    importing. Afterwards the imported objects are frozen, so later
    collections skip them too and, in workers forked from this process, do not
    copy their pages (what the gc docs advise before forking).
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _open(settings: Settings, *, create: bool = True) -> Database:
    """The library database; without `create`, one that must exist already (the
    commands that only read it never leave an empty library behind a typo)."""
    from mus_desktop.library.engine import open_database

    if not create and not settings.db_path.exists():
        raise UsageError(
            f"no library at {settings.db_path}: `mus import FOLDER` creates it (or set MUS_DB)"
        )
    try:
        return open_database(settings.db_path)
    except (OSError, RuntimeError) as exc:  # SQLite's own errors: see _known_failure
        raise UsageError(f"cannot open the library database {settings.db_path}: {exc}") from exc


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    if args.wait:
        return _import_and_wait(args, settings)

    with _imports_without_gc():
        from mus_desktop.library.scanner import scan

    db = _open(settings)
    report = scan(db, args.paths)
    if report.fatal:
        return _report_fatal(report)
    _add_imported_folders(db, args.paths)
    if not report.to_process:
        _print_report(report)
        return 0  # nothing to queue: no need to reach (or even import) the broker's client
    with _imports_without_gc():
        from mus_desktop.processing.service import queue_scanned
        from mus_desktop.runtime.backend import start_backend
    with start_backend(settings, start_workers=False) as backend:
        queue_scanned(report, backend.queue, settings)
        _print_report(report)
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
    with _imports_without_gc():
        from mus_desktop.library.models import ProcessingStatus
        from mus_desktop.library.queries import errored_tracks, status_counts
        from mus_desktop.library.scanner import scan
        from mus_desktop.library.transitions import count_unfinished
        from mus_desktop.processing.service import reconcile
        from mus_desktop.runtime.backend import start_backend

    db = _open(settings)
    db.dispose()  # no SQLite connection may cross the fork
    with start_backend(settings, fork_workers_here=True) as backend:
        report = scan(db, args.paths)
        if report.fatal:
            return _report_fatal(report)
        _add_imported_folders(db, args.paths)
        if backend.queue is None:
            _print_report(report)
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
        _print_report(report)
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

    tracks = errored_tracks(_open(settings, create=False))
    if args.json:
        print(json.dumps([track._asdict() for track in tracks], indent=2))
    else:
        _print_errored(tracks, limit=None)
    return 0


def _report_fatal(report: ScanReport) -> int:
    """None of the paths given could be scanned: a bad argument, status 2."""
    for problem in report.problems:
        print(f"mus: {printable(problem)}", file=sys.stderr)
    return 2


def _print_report(report: ScanReport) -> None:
    for problem in report.problems:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    print(report.summary())


def _wait_until_final(db: Database, backend: Backend, settings: Settings) -> None:
    """A progress bar until no present track is left unfinished. When nothing
    is queued or running yet tracks remain (work lost), reconcile again; when
    the jobs failed because the database's disk is full, which no retry can
    mend, raise DiskFullError."""
    from datetime import UTC, datetime

    import psutil
    from tqdm import tqdm

    from mus_desktop.library.database_errors import DiskFullError, disk_full_message
    from mus_desktop.library.transitions import count_unfinished
    from mus_desktop.processing.service import reconcile, stopped_by_full_disk

    started = datetime.fromtimestamp(psutil.Process().create_time(), UTC)
    remaining = count_unfinished(db)
    idle_polls = 0
    with tqdm(total=remaining, unit="track", desc="processing", disable=None) as bar:
        while remaining:
            time.sleep(WAIT_POLL_SECONDS)
            now_remaining = count_unfinished(db)
            bar.update(max(0, remaining - now_remaining))
            if now_remaining == remaining and backend.queue_depth() == 0:
                idle_polls += 1
                if (
                    idle_polls % round(1 / WAIT_POLL_SECONDS) == 0  # 1 s of nothing
                    and backend.queue is not None
                    and stopped_by_full_disk(backend.queue, since=started)
                ):  # main reports it; the workers and broker started here stop on the way
                    raise DiskFullError(disk_full_message(settings.db_path))
                if idle_polls % round(10 / WAIT_POLL_SECONDS) == 0:  # 10 s of nothing
                    reconcile(db, backend.queue, settings)
            else:
                idle_polls = 0
            remaining = now_remaining


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.library.queries import status_counts

    counts = status_counts(_open(settings, create=False))
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        for name, value in counts.items():
            print(f"{name:>16}: {value}")
    return 0


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    if not args.all and not args.ids:
        raise UsageError("retry: give track ids or --all")
    db = _open(settings, create=False)
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
    from mus_desktop.processing.service import reconcile
    from mus_desktop.runtime.backend import start_backend

    db = _open(settings)
    with start_backend(settings, start_workers=False) as backend:
        if backend.queue is None:
            raise UsageError(backend.describe())
        count = reconcile(db, backend.queue, settings)
    print(f"{count} track(s) whose work was lost queued again")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.processing.queue import BrokerError
    from mus_desktop.runtime.workers import run_worker

    # A library this worker cannot use (newer schema, damaged, not writable) is
    # one line now, not a failed job per batch later.
    _open(settings).dispose()
    try:
        return run_worker(settings, burst=args.burst)
    except BrokerError as exc:
        raise UsageError(str(exc)) from exc


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.runtime.backend import probe_broker

    exists = settings.db_path.exists()
    pragmas = _open(settings).pragmas() if exists else {}
    broker = probe_broker(settings)
    report: dict[str, object] = {
        "database": str(settings.db_path),
        "database_exists": exists,
        "pragmas": pragmas,
        "cache_dir": str(settings.cache_dir),
        "broker": broker,
        "watching": _watch_report(settings, exists),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"database:      {report['database']}")
        if not exists:
            print("  exists:      no (`mus import FOLDER` creates it)")
        for name, value in pragmas.items():
            print(f"  {name:<13}{value}")
        print(f"cache:         {report['cache_dir']}")
        print(f"broker:        {broker['url'] or 'private (not started)'}")
        answer = "yes" if broker["answers"] else f"no ({broker['reason']})"
        print(f"  answers:     {answer}")
        if broker["answers"]:
            print(f"  workers:     {broker['live_workers']}")
            print(f"  queue depth: {broker['queue_depth']}")
        watching = report["watching"]
        assert isinstance(watching, dict)
        print(f"watching:      MUS_WATCH={watching['setting']}")
        for name, value in watching["inotify"].items():
            print(f"  inotify {name}: {value}")
        for folder in watching["folders"]:
            print(f"  {folder['mode'] or 'unwatched':<11}{printable(folder['path'])}")
            if folder["error"]:
                print(f"  {'':<11}{printable(folder['error'])}")
    # A library not made yet and a private broker not started yet are fine: both
    # are made when there is work. A configured broker that does not answer is not.
    return 0 if broker["answers"] or broker["private"] else 1


def cmd_folders(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "add":
        return _folders_add(args.paths, settings)
    if args.action == "remove":
        return _folders_remove(args.paths, settings)
    return _folders_list(args.json, settings)


def _folders_list(as_json: bool, settings: Settings) -> int:
    from mus_desktop.library.folders import list_folders, offline_reason
    from mus_desktop.library.models import WatchMode

    folders = []
    for folder in list_folders(_open(settings, create=False)):
        offline = offline_reason(folder.path, folder.tracks - folder.missing, folder.device)
        folders.append(
            {
                "path": folder.path,
                "mode": WatchMode.OFFLINE.value if offline else folder.watch_mode,
                "error": offline or folder.watch_error,
                "tracks": folder.tracks,
                "missing": folder.missing,
                "added_at": folder.added_at.isoformat(timespec="seconds"),
                "last_scan_at": folder.last_scan_at.isoformat(timespec="seconds")
                if folder.last_scan_at
                else None,
            }
        )
    if as_json:
        print(json.dumps(folders, indent=2))
        return 0
    if not folders:
        print("no library folders: `mus folders add FOLDER` (or `mus import FOLDER`) adds one")
        return 0
    print(f"{'mode':<11}{'tracks':>7}{'missing':>9}  {'last scan':<20} folder")
    for folder in folders:
        last = (folder["last_scan_at"] or "never").replace("T", " ")
        mode = folder["mode"] or "unwatched"
        print(
            f"{mode:<11}{folder['tracks']:>7}{folder['missing']:>9}  {last:<20} "
            f"{printable(str(folder['path']))}"
        )
        if folder["error"]:
            print(f"{'':<11}{printable(str(folder['error']))}")
    return 0


def _folders_add(paths: Sequence[str], settings: Settings) -> int:
    from mus_desktop.library.folders import add_folders

    if not paths:
        raise UsageError("folders add: give one or more folders")
    report = add_folders(_open(settings), paths)
    for line in report.outcome_lines():
        print(printable(line))
    for line in report.refusal_lines():
        print(f"mus: {printable(line)}", file=sys.stderr)
    if report.added:
        print("the window and `mus watch` scan and follow it (`mus import FOLDER` scans it now)")
    return 2 if report.refused and not (report.added or report.already) else 0


def _folders_remove(paths: Sequence[str], settings: Settings) -> int:
    from mus_desktop.library.folders import count_tracks, find_folder, remove_folder

    if len(paths) != 1:
        raise UsageError("folders remove: give one library folder (`mus folders` lists them)")
    db = _open(settings, create=False)
    folder = find_folder(db, paths[0])
    if folder is None:
        raise UsageError(f"{paths[0]} is not a library folder (`mus folders` lists them)")
    count = count_tracks(db, folder)
    print(f"forgetting {printable(folder)} and its {count} track(s); no file is touched")
    forgotten = remove_folder(db, folder)
    print(f"{forgotten} track(s) forgotten")
    return 0


WATCH_RECONCILE_SECONDS = 30.0
"""How often `mus watch` queues again work the broker lost (it was restarted, say)."""


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Follow the library folders until SIGTERM or Ctrl+C: a catch-up scan, then
    events; each scan that found something is queued and printed as one line."""
    with _imports_without_gc():
        from mus_desktop.library.folders import folder_paths
        from mus_desktop.processing.queue import BrokerUnreachable
        from mus_desktop.processing.service import queue_scanned, reconcile
        from mus_desktop.runtime.backend import start_backend
        from mus_desktop.watching.watcher import FolderWatcher

    db = _open(settings)
    folders = folder_paths(db)
    db.dispose()  # no SQLite connection may cross the fork of the workers
    with start_backend(settings, fork_workers_here=True) as backend:
        if backend.queue is None:
            raise UsageError(f"{backend.describe()}; start it, then `mus watch` again")

        def scanned(report: ScanReport) -> None:
            queue_scanned(report, backend.queue, settings)
            for problem in report.problems:
                print(f"warning: {printable(problem)}", file=sys.stderr, flush=True)
            if report.changes():
                print(report.changes(), flush=True)

        def folders_changed(states: Sequence[FolderState]) -> None:
            for state in states:
                if state.error:
                    print(
                        f"{printable(state.path)}: {state.mode}: {printable(state.error)}",
                        file=sys.stderr,
                        flush=True,
                    )

        watcher = FolderWatcher(db, settings, scanned, folders_changed)
        watcher.start()
        try:
            if folders:
                print(f"watching {len(folders)} library folder(s); Ctrl+C stops", flush=True)
            else:
                print(
                    "no library folders yet: `mus folders add FOLDER` adds one, "
                    "followed from then on; Ctrl+C stops",
                    flush=True,
                )
            while True:
                time.sleep(WATCH_RECONCILE_SECONDS)
                try:
                    reconcile(db, backend.queue, settings)
                except BrokerUnreachable as exc:
                    print(f"warning: {printable(str(exc))}", file=sys.stderr, flush=True)
        finally:
            watcher.stop()
    return 0


def _watch_report(settings: Settings, exists: bool) -> dict[str, object]:
    """The watch setting, the kernel's inotify limits, and each library folder's
    mode in force and why it is not events (the sysctl to raise a limit, say)."""
    from pathlib import Path

    from mus_desktop.library.folders import list_folders, offline_reason

    limits = {}
    for name in ("max_user_watches", "max_user_instances"):
        try:
            limits[name] = int(Path(f"/proc/sys/fs/inotify/{name}").read_text())
        except (OSError, ValueError):
            limits[name] = None
    folders = []
    for folder in list_folders(_open(settings)) if exists else []:
        offline = offline_reason(folder.path, folder.tracks - folder.missing, folder.device)
        folders.append(
            {
                "path": folder.path,
                "mode": "offline" if offline else folder.watch_mode,
                "error": offline or folder.watch_error,
            }
        )
    return {"setting": settings.watch, "inotify": limits, "folders": folders}


def _run_gui(settings: Settings) -> int:
    try:
        with _imports_without_gc():
            from mus_desktop.gui.app import run_gui
    except ImportError as exc:
        if exc.name and exc.name.startswith("PySide6"):
            raise UsageError(
                "the window needs PySide6: pip install 'mus-desktop[gui]' "
                "(this is a headless install; the other commands work)"
            ) from exc
        raise
    return run_gui(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mus", description="A music library that never loses a track."
    )
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("gui", help="open the window (the default)")

    p_import = sub.add_parser("import", help="scan folders, record tracks, queue their processing")
    p_import.add_argument("paths", nargs="+", metavar="PATH")
    p_import.add_argument("--wait", action="store_true", help="block until every track is final")
    p_import.set_defaults(func=cmd_import)

    p_retry = sub.add_parser("retry", help="queue errored tracks again")
    p_retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    p_retry.add_argument("--all", action="store_true", help="every errored track")
    p_retry.set_defaults(func=cmd_retry)

    p_reconcile = sub.add_parser("reconcile", help="queue again tracks whose work was lost")
    p_reconcile.set_defaults(func=cmd_reconcile)

    p_errors = sub.add_parser("errors", help="the tracks in error: id, file and why")
    p_errors.add_argument("--json", action="store_true")
    p_errors.set_defaults(func=cmd_errors)

    p_status = sub.add_parser("status", help="counts by status, missing and duplicates")
    p_status.add_argument("--json", action="store_true")
    p_status.set_defaults(func=cmd_status)

    p_worker = sub.add_parser("worker", help="run a worker on the configured broker")
    p_worker.add_argument("--burst", action="store_true", help="quit when the queue is empty")
    p_worker.set_defaults(func=cmd_worker)

    p_folders = sub.add_parser(
        "folders", help="library folders: list them, `add PATH...`, `remove PATH`"
    )
    p_folders.add_argument("action", nargs="?", choices=("add", "remove"))
    p_folders.add_argument("paths", nargs="*", metavar="PATH")
    p_folders.add_argument("--json", action="store_true")
    p_folders.set_defaults(func=cmd_folders)

    p_watch = sub.add_parser(
        "watch", help="follow the library folders until stopped (scan, then events)"
    )
    p_watch.set_defaults(func=cmd_watch)

    p_doctor = sub.add_parser("doctor", help="database, PRAGMAs, broker and workers")
    p_doctor.add_argument("--json", action="store_true")
    p_doctor.set_defaults(func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        if args.command in (None, "gui"):
            return _run_gui(settings)
        return int(args.func(args, settings))
    except (ConfigError, UsageError) as exc:
        print(f"mus: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as exc:
        failure = _known_failure(exc, settings)
        if failure is None:
            raise  # a bug: its traceback is what a report needs
        line, status = failure
        print(f"mus: {printable(line)}", file=sys.stderr)
        return status


def _known_failure(exc: Exception, settings: Settings | None) -> tuple[str, int] | None:
    """One line and an exit status for a failure of the world rather than of mus:
    the library database damaged, full or busy, the broker gone mid-command.

    An exception can only be of a library's type once that library is imported,
    so the types are looked up in `sys.modules` and the command that never
    touched the broker does not import its client to find out.
    """
    database = settings.db_path if settings else "the library database"
    database_errors = sys.modules.get("mus_desktop.library.database_errors")
    if database_errors is not None and isinstance(exc, database_errors.DiskFullError):
        return str(exc), 1
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.DBAPIError):
        from mus_desktop.library.database_errors import describe_database_error

        return describe_database_error(exc, database)
    redis_errors = sys.modules.get("redis.exceptions")
    if redis_errors is not None and isinstance(exc, redis_errors.RedisError):
        return (
            f"the broker failed ({one_line(exc)}); nothing recorded is lost: run this again later",
            1,
        )
    queue = sys.modules.get("mus_desktop.processing.queue")
    if queue is not None and isinstance(exc, queue.BrokerUnreachable):
        return f"{exc}; the tracks stay recorded and are processed once it is back", 1
    return None


def _stdout_closed() -> int:
    """What a command does when the reader of its output went away (`mus status | head -1`):
    stop quietly, as a shell tool killed by SIGPIPE would (status 141), instead of a
    BrokenPipeError traceback, now or when Python flushes stdout on its way out."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + signal.SIGPIPE


def run() -> None:
    """The `mus` console script and `python -m mus_desktop`: `main`, then exit.

    `gc.freeze()` first spares the interpreter's final garbage collection over
    every object SQLAlchemy, RQ and the rest allocated: measured, it took
    ~110 ms of each command's exit (12 ms left). Objects still go when their
    last reference does; only cycles are left for the OS to reclaim.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    code = main()
    gc.freeze()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _stdout_closed()
    sys.exit(code)


def _exit_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM and SIGHUP (the terminal closed) unwind like Ctrl+C does, so a command
    stops the workers and the private broker it started on its way out (Python's
    default is to die on the spot). The window replaces this with its own handler,
    which closes it."""
    raise SystemExit(128 + signum)
