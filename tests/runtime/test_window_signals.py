"""The window, run as a person runs it, closes cleanly on a signal to its process group
(a terminal's Ctrl+C, `kill -TERM -PGID`, the terminal closing): its workers and the
private broker it started are stopped, although the signal also ends the fork server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from mus_desktop.config import Settings
from mus_desktop.runtime.broker import PrivateBroker, ping
from tests.runtime.conftest import process_gone, wait_until


@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_a_signal_to_the_window_group_leaves_nothing_running(
    signum: signal.Signals, private_settings: Settings
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    window = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "gui"],
        env=env,
        start_new_session=True,  # its own process group, as under a terminal
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log = private_settings.log_dir / "workers.log"
    try:
        wait_until(
            lambda: log.exists() and log.read_text().count("Listening on") == 2,
            "the window's two workers",
            timeout=60,
        )
        group = [window.pid, *(child.pid for child in psutil.Process(window.pid).children(True))]
    finally:
        os.killpg(window.pid, signum)
    _out, err = window.communicate(timeout=60)

    assert window.returncode == 0, err.decode()[-2000:]
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    assert ping(broker.url) is not None  # the broker it started is stopped
    wait_until(lambda: all(process_gone(pid) for pid in group), "its processes to exit")
