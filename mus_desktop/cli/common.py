"""What the commands share: the usage error, quiet imports, the library, the scan report."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mus_desktop.config import Settings
from mus_desktop.terminal import printable

if TYPE_CHECKING:
    from mus_desktop.library.engine import Database
    from mus_desktop.library.scanner import ScanReport


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


@contextmanager
def imports_without_gc() -> Iterator[None]:
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


def open_library(settings: Settings, *, create: bool = True) -> Database:
    """The library database; without `create`, one that must exist already (the
    commands that only read it never leave an empty library behind a typo)."""
    from mus_desktop.library.engine import open_database

    if not create and settings.db_url is None and not settings.db_path.exists():
        raise UsageError(
            f"no library at {settings.db_path}: `mus import FOLDER` creates it (or set MUS_DB)"
        )
    try:
        return open_database(settings.database)
    except (OSError, RuntimeError) as exc:  # the database's own errors: see cli._known_failure
        raise UsageError(
            f"cannot open the library database {settings.database_label}: {exc}"
        ) from exc


def report_fatal(report: ScanReport) -> int:
    """None of the paths given could be scanned: a bad argument, status 2."""
    for problem in report.problems:
        print(f"mus: {printable(problem)}", file=sys.stderr)
    return 2


def print_report(report: ScanReport) -> None:
    for problem in report.problems:
        print(f"warning: {printable(problem)}", file=sys.stderr)
    print(report.summary())
