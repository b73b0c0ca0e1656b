"""The `mus` command (also `python -m mus_desktop`).

Each sub-command is a small function, in the module of its kind (tracks.py,
folders.py, doctor.py); the work lives in library/, processing/, watching/ and
runtime/. Errors a person can fix end as one line on stderr and exit 2.
Sub-commands import what they need themselves, so each pays only for its own.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
from collections.abc import Sequence

from mus_desktop.cli.common import UsageError, imports_without_gc
from mus_desktop.cli.doctor import cmd_doctor
from mus_desktop.cli.folders import cmd_folders, cmd_watch
from mus_desktop.cli.migrate import cmd_migrate_to
from mus_desktop.cli.tracks import (
    cmd_errors,
    cmd_import,
    cmd_reconcile,
    cmd_retry,
    cmd_status,
    cmd_worker,
)
from mus_desktop.config import ConfigError, Settings, load_settings
from mus_desktop.terminal import one_line, printable


def _run_gui(settings: Settings) -> int:
    try:
        with imports_without_gc():
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
        "folders",
        help="library folders: list them, `add PATH...`, `remove PATH`, "
        "`map FOLDER LOCAL` (where this host sees a shared library's folder)",
    )
    p_folders.add_argument("action", nargs="?", choices=("add", "remove", "map"))
    p_folders.add_argument("paths", nargs="*", metavar="PATH")
    p_folders.add_argument("--json", action="store_true")
    p_folders.set_defaults(func=cmd_folders)

    p_watch = sub.add_parser(
        "watch", help="follow the library folders until stopped (scan, then events)"
    )
    p_watch.set_defaults(func=cmd_watch)

    p_migrate = sub.add_parser(
        "migrate-to", help="copy the library into an empty PostgreSQL database, then check it"
    )
    p_migrate.add_argument("url", metavar="URL", help="postgresql://user:password@host/db")
    p_migrate.set_defaults(func=cmd_migrate_to)

    p_doctor = sub.add_parser("doctor", help="database and its settings, broker and workers")
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
    database = settings.database_label if settings else "the library database"
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
