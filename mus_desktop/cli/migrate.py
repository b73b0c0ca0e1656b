"""`mus migrate-to URL`: copy the library into an empty PostgreSQL database."""

from __future__ import annotations

import argparse
import sys

from mus_desktop.cli.common import UsageError, open_library
from mus_desktop.config import SERVER_SCHEMES, Settings, is_server_url, shown_url
from mus_desktop.terminal import printable


def cmd_migrate_to(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import DBAPIError

    from mus_desktop.library.database_errors import describe_database_error
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.transfer import TargetNotEmpty, copy_library

    url: str = args.url
    if not is_server_url(url):
        schemes = ", ".join(f"{scheme}://" for scheme in SERVER_SCHEMES)
        raise UsageError(f"migrate-to takes a database server's URL ({schemes}…)")
    label = shown_url(url)
    if settings.db_url is not None and shown_url(settings.db_url) == label:
        raise UsageError(f"the library is in {label} already")
    source = open_library(settings, create=False)
    try:
        target = open_database(url)
        copied = copy_library(source, target)
    except TargetNotEmpty as exc:
        raise UsageError(
            f"{label} is not empty ({exc}): migrate-to copies into an empty one"
        ) from None
    except DBAPIError as exc:
        line, status = describe_database_error(exc, label)
        print(f"mus: {printable(line)}", file=sys.stderr)
        return status
    statuses = ", ".join(f"{count} {status.lower()}" for status, count in copied.by_status.items())
    print(
        f"copied {copied.tracks} track(s) ({statuses or 'none'}) and {copied.folders} library "
        f"folder(s) into {printable(label)}; the counts match"
    )
    print(f"{printable(settings.database_label)} is unchanged.")
    print("To use the copy, set MUS_DB to the new URL on every machine (`mus doctor` shows it).")
    return 0
