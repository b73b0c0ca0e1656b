"""A shared library's jobs go to the hosts that see their folder: each folder has
a queue, and a worker listens only on the queues of folders its host sees."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.models import Track
from mus_desktop.library.paths import is_within
from mus_desktop.processing.queue import make_queue
from mus_desktop.processing.rq_adapter import LISTEN_REFRESH_SECONDS, queued_jobs
from tests.runtime.conftest import mus_env, run_mus, wait_until
from tools.audiogen import make_library

pytestmark = pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)


def _statuses(settings: Settings, host: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("MUS_HOST", host)
    db = open_database(settings.database)
    try:
        with db.read() as session:
            return dict(session.execute(select(Track.path, Track.processing_status)).all())
    finally:
        db.dispose()


def test_a_worker_takes_only_the_jobs_of_folders_its_host_sees(
    broker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_music = make_library(tmp_path / "srv" / "music", albums=2, tracks_per_album=3).root
    laptop_music = make_library(tmp_path / "laptop" / "music", albums=1, tracks_per_album=4).root
    server, laptop = mus_env(MUS_HOST="server"), mus_env(MUS_HOST="laptop")
    recorded = run_mus("import", str(server_music), str(laptop_music), env=server)
    assert recorded.returncode == 0, recorded.stderr
    # The laptop's folder is somewhere the server does not see; the laptop says where.
    moved = laptop_music.rename(tmp_path / "laptop" / "elsewhere")
    mapped = run_mus("folders", "map", str(laptop_music), str(moved), env=laptop)
    assert mapped.returncode == 0, mapped.stderr

    worked = run_mus("worker", "--burst", env=server, timeout=120)

    assert worked.returncode == 0, worked.stderr
    seen = _statuses(broker_settings, "server", monkeypatch)
    assert {s for p, s in seen.items() if is_within(p, str(server_music))} == {"COMPLETE"}
    assert {s for p, s in seen.items() if is_within(p, str(laptop_music))} == {"PENDING"}
    with Redis.from_url(broker_settings.redis_url or "") as redis:
        assert queued_jobs(make_queue(redis, broker_settings)) > 0  # waiting for the laptop
    again = run_mus("reconcile", env=server)
    assert again.returncode == 0, again.stderr
    assert "0 track(s) whose work was lost" in again.stdout  # queued for the laptop, not lost

    worked = run_mus("worker", "--burst", env=laptop, timeout=120)

    assert worked.returncode == 0, worked.stderr
    seen = _statuses(broker_settings, "laptop", monkeypatch)
    assert len(seen) == 10 and set(seen.values()) == {"COMPLETE"}
    assert sum(is_within(p, str(moved)) for p in seen) == 4  # in the laptop's own paths


@pytest.mark.slow
def test_a_running_worker_takes_up_a_folder_added_after_it_started(
    broker_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    music = make_library(tmp_path / "music", albums=1, tracks_per_album=3).root
    env = mus_env(MUS_HOST="server")
    open_database(broker_settings.database).dispose()
    worker = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "worker"], env=env, start_new_session=True
    )
    try:
        time.sleep(2)  # listening on the library's queue only: no folder yet
        recorded = run_mus("import", str(music), env=env)
        assert recorded.returncode == 0, recorded.stderr

        wait_until(
            lambda: set(_statuses(broker_settings, "server", monkeypatch).values()) == {"COMPLETE"},
            "the running worker to take up the new folder's queue",
            timeout=LISTEN_REFRESH_SECONDS + 30,
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
