"""The `mus` command (also `python -m mus_desktop`).

Each sub-command is a small function; the work lives in library/, processing/
and runtime/. Errors a person can fix end as one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from mus_desktop.config import ConfigError, Settings, load_settings
from mus_desktop.library.engine import Database, open_database


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


def _open(settings: Settings) -> Database:
    try:
        return open_database(settings.db_path)
    except Exception as exc:  # sqlite errors carry the file's own words
        raise UsageError(f"cannot open the library database {settings.db_path}: {exc}") from exc


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.library.scanner import scan

    db = _open(settings)
    report = scan(db, args.paths)
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(report.summary())
    if report.fatal:
        return 1
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from mus_desktop.library.queries import status_counts

    counts = status_counts(_open(settings))
    if args.json:
        print(json.dumps(counts, indent=2))
    else:
        for name, value in counts.items():
            print(f"{name:>14}: {value}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    db = _open(settings)
    report: dict[str, object] = {
        "database": str(settings.db_path),
        "pragmas": db.pragmas(),
        "cache_dir": str(settings.cache_dir),
    }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"database:      {report['database']}")
        for name, value in db.pragmas().items():
            print(f"  {name:<13}{value}")
        print(f"cache:         {report['cache_dir']}")
    return 0


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

    p_status = sub.add_parser("status", help="counts by status, missing and duplicates")
    p_status.add_argument("--json", action="store_true")
    p_status.set_defaults(func=cmd_status)

    p_doctor = sub.add_parser("doctor", help="database, PRAGMAs, broker and workers")
    p_doctor.add_argument("--json", action="store_true")
    p_doctor.set_defaults(func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command in (None, "gui"):
            from mus_desktop.gui.app import run_gui

            return run_gui(settings)
        return int(args.func(args, settings))
    except (ConfigError, UsageError) as exc:
        print(f"mus: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
