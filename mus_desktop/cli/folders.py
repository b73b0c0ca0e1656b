"""The commands about library folders: `mus folders [add|remove|map]` and `mus watch`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mus_desktop.cli.common import UsageError, imports_without_gc, open_library
from mus_desktop.config import Settings
from mus_desktop.terminal import printable

if TYPE_CHECKING:
    from mus_desktop.library.scanner import ScanReport
    from mus_desktop.watching.watcher import FolderState


def cmd_folders(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "add":
        return _folders_add(args.paths, settings)
    if args.action == "remove":
        return _folders_remove(args.paths, settings)
    if args.action == "map":
        return _folders_map(args.paths, settings)
    return _folders_list(args.json, settings)


def _folders_map(paths: Sequence[str], settings: Settings) -> int:
    """`mus folders map FOLDER LOCAL`: where this host sees a shared library's folder."""
    from mus_desktop.config import host_name
    from mus_desktop.library.folders import map_folder

    if len(paths) != 2:
        raise UsageError("folders map: give the library folder, then where this host sees it")
    try:
        stored = map_folder(open_library(settings, create=False), paths[0], paths[1])
    except ValueError as exc:
        raise UsageError(f"folders map: {exc}") from None
    print(
        f"{printable(stored)} is {printable(paths[1])} on this host ({printable(host_name())}); "
        "the window, workers and `mus watch` started here from now on use it"
    )
    return 0


def _folders_list(as_json: bool, settings: Settings) -> int:
    from mus_desktop.library.folders import list_folders

    folders = []
    for folder in list_folders(open_library(settings, create=False)):
        mode, why = folder.state_now()
        folders.append(
            {
                "path": folder.path,
                "mode": mode,
                "error": why,
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
    report = add_folders(open_library(settings), paths)
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
    db = open_library(settings, create=False)
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
    with imports_without_gc():
        from mus_desktop.library.folders import folder_paths
        from mus_desktop.processing.queue import BrokerUnreachable
        from mus_desktop.processing.service import queue_scanned, reconcile
        from mus_desktop.runtime.backend import start_backend
        from mus_desktop.watching.watcher import FolderWatcher

    db = open_library(settings)
    folders = folder_paths(db)
    db.dispose()  # no SQLite connection may cross the fork of the workers
    with start_backend(settings, fork_workers_here=True) as backend:
        if backend.queue is None:  # a failure trying again later mends: status 1
            print(
                f"mus: {printable(backend.describe())}; start it, then `mus watch` again",
                file=sys.stderr,
            )
            return 1

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
