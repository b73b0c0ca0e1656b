"""The library database's disk fills up: `mus import --wait` says so in one line and
stops, the jobs stop retrying, and the database comes through intact.

The database lives on a 2 MB tmpfs mounted for the test (as root only), filled up
with a file the test deletes again to free the space.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.database_errors import is_disk_full
from mus_desktop.library.engine import open_database
from tests.runtime.conftest import mus_env, run_mus
from tools.audiogen import make_library

DISK_BYTES = 2 << 20


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 2 MB tmpfs, mounted for the test and unmounted after it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small disk needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="mus-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)
    mount_point.rmdir()


@pytest.fixture
def full_disk_settings(
    private_settings: Settings, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The test's settings, with the library database on the small disk."""
    monkeypatch.setenv("MUS_DB", str(small_disk / "library.db"))
    return load_settings()


def _fill(disk: Path, leave: int) -> Path:
    """Fill `disk` up but for `leave` bytes; returns the file doing it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(1 << 16))
    except OSError as exc:
        if exc.errno != 28:  # ENOSPC: full
            raise
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def _rows_and_integrity(db_path: Path) -> tuple[int, str]:
    connection = sqlite3.connect(db_path)
    try:
        rows = connection.execute("SELECT count(*) FROM track").fetchone()[0]
        return rows, connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


def test_import_wait_stops_in_one_line_when_the_database_disk_is_full(
    full_disk_settings: Settings, small_disk: Path, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3)
    recorded = run_mus("import", str(library.root), env=mus_env())
    assert recorded.returncode == 0, recorded.stderr
    # Room for SQLite's shared-memory file (32 kB) and hardly more: its first write fails.
    filler = _fill(small_disk, leave=40 << 10)

    result = run_mus("import", str(library.root), "--wait", env=mus_env(), timeout=120)

    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"mus: the library database's disk is full ({small_disk}): free some space, then try again"
    ]
    log = (full_disk_settings.log_dir / "workers.log").read_text()
    failures = log.count("exception raised while executing")
    assert failures > 0
    assert log.count("DiskFullError: the library database's disk is full") == failures
    assert "enqueued for retry" not in log  # each failed once, and was not tried again
    filler.unlink()  # space freed: nothing was lost, and the import goes through
    assert _rows_and_integrity(full_disk_settings.db_path) == (len(library.entries), "ok")
    again = run_mus("import", str(library.root), "--wait", env=mus_env(), timeout=120)
    assert again.returncode == 0, again.stderr
    assert f"{len(library.entries)} complete, 0 error, 0 missing" in again.stdout


def test_a_disk_too_full_to_open_the_database_is_recognised(small_disk: Path) -> None:
    """With no byte left SQLite cannot make its shared-memory file, and says
    "disk I/O error" rather than "database or disk is full"."""
    db_path = small_disk / "library.db"
    open_database(db_path).dispose()
    filler = _fill(small_disk, leave=0)

    with pytest.raises(OperationalError) as failed:
        open_database(db_path)

    assert "disk I/O error" in str(failed.value)
    assert is_disk_full(failed.value, db_path)
    assert not is_disk_full(failed.value)  # without the path, an I/O error is just that
    filler.unlink()
    open_database(db_path).dispose()
