"""beets, driven as a user would: `beet import -A -q` and `beet update`, no plugins.

Its library database and music directory live in a scratch folder (BEETSDIR), and the
config turns off everything but reading tags: no autotagging, no copying, moving or
writing of files, so it does the same job as a `mus import` minus hashes and covers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks.common import Context, timed_run

_CONFIG = """\
directory: {home}/music
library: {home}/library.db
plugins: []
import:
  autotag: no
  copy: no
  move: no
  write: no
  log: null
"""


def prepare(home: Path) -> dict[str, str]:
    """Write the config into `home` and return the environment that points beets at it."""
    import os

    (home / "music").mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(_CONFIG.format(home=home))
    return {**os.environ, "BEETSDIR": str(home)}


def beet(ctx: Context) -> str:
    return str(ctx.bin_dir / "beet")


def import_library(ctx: Context, env: dict[str, str]) -> float:
    return timed_run([beet(ctx), "import", "-A", "-q", str(ctx.library)], env)


def update(ctx: Context, env: dict[str, str]) -> float:
    return timed_run([beet(ctx), "update"], env)


def zero_mtimes(home: Path) -> int:
    """Items whose stored mtime is 0: `beet update` reads those files again (for the
    others it compares the mtime first, its best case)."""
    with sqlite3.connect(home / "library.db") as connection:
        return int(connection.execute("SELECT count(*) FROM items WHERE mtime = 0").fetchone()[0])


def item_count(home: Path) -> int:
    """Items in beets' library, read straight from its SQLite file (same as `beet ls | wc -l`)."""
    with sqlite3.connect(home / "library.db") as connection:
        return int(connection.execute("SELECT count(*) FROM items").fetchone()[0])
