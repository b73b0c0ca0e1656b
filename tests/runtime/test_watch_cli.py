"""`mus watch` as a person runs it: a catch-up scan, a line per scan that found
something, the work done by the workers it starts, and on SIGTERM a clean stop that
leaves nothing running (no worker, no private broker, no guardian)."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import IO

import psutil
import pytest

from mus_desktop.config import Settings
from mus_desktop.runtime.broker import PrivateBroker, ping
from tests.runtime.conftest import mus_env, nothing_left_running, process_gone, run_mus, wait_until
from tools.audiogen import make_library

STOP_SECONDS = 10.0
"""Nothing is being processed when it is stopped here: a prompt stop is a few tenths
of a second; this leaves room for a loaded machine, not for a lost signal (a pool
worker that missed its SIGTERM is waited for 30 s)."""


class Watch:
    """A `mus watch` subprocess whose output lines are collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mus_desktop", "watch"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stopping_took = 0.0
        self.slow_stop = ""
        """What still ran when it had not stopped after STOP_SECONDS."""
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for_line(self, line: str, timeout: float = 30.0) -> None:
        wait_until(
            lambda: line in self.out or self.process.poll() is not None,
            f"`mus watch` to print {line!r}",
            timeout,
        )
        assert line in self.out, f"mus watch ended ({self.process.returncode}): {self.err}"

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, as systemd or a session's end sends it; its exit status. Sets
        `stopping_took`, the seconds it took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.slow_stop = still_running(self.process.pid)
            status = self.process.wait(timeout)
        self.stopping_took = time.monotonic() - started
        for reader in self._readers:
            reader.join(10)
        return status


def still_running(pid: int) -> str:
    """`pid` and what it started, each with its state and where the kernel has it
    waiting, for the message of a stop that takes too long."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return "(gone)"
    lines = []
    for process in processes:
        try:
            wchan = Path(f"/proc/{process.pid}/wchan").read_text()
            lines.append(
                f"{process.pid} {process.status()} {wchan} {' '.join(process.cmdline())[:120]}"
            )
        except (psutil.Error, OSError):
            continue
    return "\n".join(lines)


def log_tail(settings: Settings) -> str:
    log = settings.log_dir / "workers.log"
    return log.read_text()[-3000:] if log.exists() else "(none)"


def assert_stopped_cleanly(watch: Watch, status: int, settings: Settings) -> None:
    """Ended by its SIGTERM, without a traceback, within STOP_SECONDS."""
    assert status == 128 + signal.SIGTERM, watch.err
    assert not any("Traceback" in line for line in watch.err), "\n".join(watch.err)
    assert watch.stopping_took < STOP_SECONDS, (
        f"it took {watch.stopping_took:.1f} s to stop; after {STOP_SECONDS} s, still running:\n"
        f"{watch.slow_stop}\nits output:\n"
        + "\n".join(watch.out + watch.err)
        + f"\nworkers.log:\n{log_tail(settings)}"
    )


def statuses(settings: Settings) -> list[str]:
    with closing(sqlite3.connect(settings.db_path)) as connection:
        return [row[0] for row in connection.execute("SELECT processing_status FROM track")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["events", "polling"])
def test_watch_processes_an_added_album_and_stops_cleanly_on_sigterm(
    mode: str, private_settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=1, tracks_per_album=2, formats=("mp3",))
    env = mus_env(MUS_WATCH=mode, MUS_POLL_SECONDS="1", MUS_WORKERS="1")
    added = run_mus("folders", "add", str(library.root), env=env)
    assert added.returncode == 0, added.stderr
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)

    watch = Watch(env)
    try:
        watch.wait_for_line("watching 1 library folder(s); Ctrl+C stops")
        watch.wait_for_line("+2 new")  # the catch-up scan: the folder was never scanned
        album = make_library(tmp_path / "staging", albums=1, tracks_per_album=3, seed=2)
        shutil.copytree(album.root, library.root / "Added")
        watch.wait_for_line("+3 new")
        wait_until(
            lambda: statuses(private_settings) == ["COMPLETE"] * 5, "the 5 tracks to be COMPLETE"
        )
        started = psutil.Process(watch.process.pid).children(recursive=True)
        assert len(started) >= 3  # its worker, the private broker and its guardian
        assert ping(broker.url) is None
    finally:
        status = watch.terminate()

    assert_stopped_cleanly(watch, status, private_settings)
    wait_until(
        lambda: all(process_gone(process.pid) for process in started),
        "everything `mus watch` started to end",
        timeout=15,
    )
    assert ping(broker.url) is not None  # the private broker it started is stopped
    nothing_left_running(private_settings.runtime_dir)
    assert statuses(private_settings) == ["COMPLETE"] * 5


def test_watch_without_library_folders_says_how_to_add_one(
    private_settings: Settings, tmp_path: Path
) -> None:
    watch = Watch(mus_env(MUS_WORKERS="1"))
    try:
        watch.wait_for_line(
            "no library folders yet: `mus folders add FOLDER` adds one, "
            "followed from then on; Ctrl+C stops"
        )
    finally:
        status = watch.terminate()

    assert_stopped_cleanly(watch, status, private_settings)
    nothing_left_running(private_settings.runtime_dir)
