"""Fixtures for the runtime tests: short private folders, subprocess environments,
the processes a test may leave behind, a broker restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from mus_desktop.config import Settings, load_settings
from mus_desktop.runtime.broker import PrivateBroker
from tests.broker_fixture import RunningServer, start_test_server

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll `predicate` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    """Whether `pid` has exited: no such process, or a zombie nobody has reaped yet."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def leftover_processes(runtime_dir: Path) -> list[str]:
    """The command lines of running processes that name `runtime_dir`: a private
    broker's server and its guardian (whose arguments are paths in it)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(runtime_dir) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(cmdline)
    return found


def nothing_left_running(runtime_dir: Path) -> None:
    """Wait until no broker server or guardian runs in `runtime_dir` (a guardian exits
    a moment after its server, whoever stopped it); fail after 10 s."""
    wait_until(lambda: not leftover_processes(runtime_dir), "the broker's processes to end", 10)


def restart_test_server(server: RunningServer) -> RunningServer:
    """Stop `server` and start a new, empty one on the same socket, as an external
    broker restarting without its data; the caller stops the one returned."""
    server.process.terminate()
    server.process.wait(timeout=10)
    return start_test_server(server.log_path.parent, socket_dir=server.socket_dir)


def mus_env(**extra: str) -> dict[str, str]:
    """This process's environment (with the test's MUS_* settings) for a `mus` subprocess."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), **extra}


def run_mus(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mus_desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a unix socket path must stay under ~104 bytes."""
    path = Path(tempfile.mkdtemp(prefix="mus-rt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def private_settings(
    settings: Settings, short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings with no broker configured and a short runtime folder; any private
    broker started under it (by this process or a child) is stopped afterwards."""
    monkeypatch.setenv("MUS_RUNTIME_DIR", str(short_dir / "run"))
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    private = load_settings()
    yield private
    PrivateBroker(private.runtime_dir, private.log_dir).stop(force=True)


@pytest.fixture
def broker(private_settings: Settings) -> PrivateBroker:
    return PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
