"""`mus import --wait` as a person runs it: the private broker, workers forked from the
command itself, every track to its final state, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.queries import status_counts
from mus_desktop.runtime.broker import PrivateBroker, ping
from tests.runtime.conftest import wait_until
from tools.audiogen import make_library


def test_import_wait_finishes_every_track_and_leaves_nothing_running(
    private_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=4, tracks_per_album=3, broken=True)
    good, broken = len(library.good()), len(library.broken())

    result = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "import", str(library.root), "--wait"],
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert result.returncode == 0, result.stderr
    assert f"{good} complete, {broken} error, 0 missing" in result.stdout
    assert "zero bytes.mp3\n         metadata: empty file (0 bytes)\n" in result.stdout
    errors = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "errors", "--json"], capture_output=True, text=True
    )
    listed = {entry["path"]: entry["message"] for entry in json.loads(errors.stdout)}
    assert len(listed) == broken
    assert listed[str(library.root / "Broken" / "zero bytes.mp3")] == (
        "metadata: empty file (0 bytes)"
    )
    counts = status_counts(open_database(private_settings.db_path))
    assert (counts["COMPLETE"], counts["ERROR"]) == (good, broken)
    assert "Listening on" in (private_settings.log_dir / "workers.log").read_text()
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    assert ping(broker.url) is not None  # the broker it started is stopped
    still_running = [
        process
        for process in psutil.process_iter(["cmdline"])
        if str(library.root) in " ".join(process.info["cmdline"] or [])
    ]
    assert still_running == []  # its forked workers and their horses are gone


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_what_import_wait_started(
    signum: signal.Signals, private_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=3)
    env = {**os.environ, "MUS_WORKERS": "0"}  # nothing finishes: it waits until stopped
    command = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "import", str(library.root), "--wait"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    try:
        wait_until(lambda: _tracks_recorded(private_settings) == 3, "the scan")
        wait_until(lambda: ping(broker.url) is None, "the private broker to answer")
    finally:
        command.send_signal(signum)
    _out, err = command.communicate(timeout=60)

    assert command.returncode == 128 + signum, err.decode()
    assert ping(broker.url) is not None  # it stopped the broker it had started
    assert "Traceback" not in err.decode()


def _tracks_recorded(settings: Settings) -> int:
    try:
        with sqlite3.connect(settings.db_path) as connection:
            return int(connection.execute("SELECT count(*) FROM track").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created yet
