"""Every process mus starts ends when the one that started it dies, and the private
broker when its last user does: nothing is left running, or adopted by the next run.

The starters here are killed with SIGKILL, which no handler of theirs can see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from redis import Redis
from rq import Worker

from mus_desktop.config import Settings
from mus_desktop.processing.queue import make_queue
from mus_desktop.runtime.broker import PrivateBroker, ping
from tests.runtime.conftest import mus_env, nothing_left_running, process_gone, wait_until
from tools.audiogen import make_library

STARTER = """
import sys, time
from mus_desktop.config import load_settings
from mus_desktop.runtime.backend import start_backend

backend = start_backend(load_settings(), fork_workers_here=sys.argv[1] == "here")
print(flush=True)
time.sleep(600)
"""
"""Starts the backend as the window (workers forked by the fork server) or
`mus import --wait` (forked by the command itself) do, then waits to be killed."""


@pytest.mark.parametrize(
    "forked_by", ["here", "fork-server"], ids=["import-wait-workers", "window-workers"]
)
def test_a_killed_starter_leaves_no_worker_and_no_broker(
    forked_by: str, private_settings: Settings
) -> None:
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, forked_by], env=mus_env(), stdout=subprocess.PIPE
    )
    try:
        assert starter.stdout is not None
        starter.stdout.readline()  # its backend has started
        with Redis.from_url(broker.url) as client:
            queue = make_queue(client, private_settings)
            wait_until(lambda: Worker.count(queue=queue) == 2, "its two workers")
        # The workers, the broker and its guardian, and the fork server if any.
        descendants = psutil.Process(starter.pid).children(recursive=True)
        assert len(descendants) >= 4
    finally:
        starter.kill()
        starter.wait()

    wait_until(
        lambda: all(process_gone(process.pid) for process in descendants),
        "everything it started to end",
    )
    assert ping(broker.url) is not None
    nothing_left_running(private_settings.runtime_dir)


def test_two_imports_at_once_leave_no_broker(private_settings: Settings, tmp_path: Path) -> None:
    """Whichever of the two starts the private broker, the last one to finish stops it."""
    commands = []
    for name in ("one", "two"):
        library = make_library(tmp_path / name, albums=1, tracks_per_album=3)
        env = {**mus_env(), "MUS_DB": str(tmp_path / name / "library.db")}
        commands.append(
            subprocess.Popen(
                [sys.executable, "-m", "mus_desktop", "import", str(library.root), "--wait"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [command.communicate(timeout=240) for command in commands]

    assert [command.returncode for command in commands] == [0, 0], outputs
    assert all("3 complete, 0 error" in out for out, _ in outputs), outputs
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    assert ping(broker.url) is not None
    nothing_left_running(private_settings.runtime_dir)


def test_a_killed_last_user_is_noticed_by_the_guardian(private_settings: Settings) -> None:
    user = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from mus_desktop.runtime.broker import PrivateBroker\n"
            "PrivateBroker(Path(sys.argv[1]), Path(sys.argv[2])).ensure_running()\n"
            "print(flush=True)\n"
            "time.sleep(600)\n",
            str(private_settings.runtime_dir),
            str(private_settings.log_dir),
        ],
        env=mus_env(),
        stdout=subprocess.PIPE,
    )
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    try:
        assert user.stdout is not None
        user.stdout.readline()
        assert ping(broker.url) is None
    finally:
        os.kill(user.pid, signal.SIGKILL)
        user.wait()

    wait_until(lambda: ping(broker.url) is not None, "the unused broker to stop", timeout=10)
    nothing_left_running(private_settings.runtime_dir)
    assert "has no user left: stopping it" in broker.log_path.read_text()
