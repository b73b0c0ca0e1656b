"""What the `mus` command says when something is wrong: one line, the right status.

The README promises that a bad argument or setting prints one line naming it
and exits with status 2; a failure of the world (a damaged library, a dead
broker) is one line too. Each test runs the real command in a subprocess.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.runtime.broker import PrivateBroker
from tests.runtime.conftest import mus_env, run_mus


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("mus: "), stderr
    assert "Traceback" not in stderr and "Background on this error" not in stderr
    return lines[0]


def _add_track(db: Database, path: str, status: ProcessingStatus, message: str = "") -> int:
    with db.write() as session:
        track = Track(path=path, processing_status=status.value, last_error_message=message)
        session.add(track)
        session.flush()
        return track.id


def _damage(db_path: Path) -> None:
    """Overwrite the pages after the header: SQLite sees a malformed database."""
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    size = db_path.stat().st_size
    with open(db_path, "r+b") as file:
        file.seek(4096)
        file.write(b"\xa5" * (size - 4096))


def test_a_damaged_library_is_one_line_and_status_2(db: Database, settings: Settings) -> None:
    for number in range(300):
        _add_track(db, f"/music/{number}.mp3", ProcessingStatus.PENDING)
    db.dispose()
    _damage(settings.db_path)

    for command in (["status"], ["errors"], ["import", str(settings.db_path.parent)]):
        result = run_mus(*command, env=mus_env())

        assert result.returncode == 2, (command, result.stderr)
        line = _one_line(result.stderr)
        assert f"the library database {settings.db_path} is damaged" in line


def test_a_file_that_is_not_a_database(settings: Settings) -> None:
    settings.db_path.parent.mkdir(parents=True)
    settings.db_path.write_bytes(os.urandom(64 * 1024))

    result = run_mus("status", env=mus_env())

    assert result.returncode == 2
    assert "is damaged (file is not a database)" in _one_line(result.stderr)


def test_read_only_commands_do_not_create_a_library(tmp_path: Path) -> None:
    typo = tmp_path / "typo" / "dir" / "library.db"
    env = mus_env(MUS_DB=str(typo))

    for command in ("status", "errors"):
        result = run_mus(command, env=env)
        assert result.returncode == 2
        assert f"no library at {typo}" in _one_line(result.stderr)
    doctor = run_mus("doctor", env=env)

    assert doctor.returncode == 0
    assert "exists:      no" in doctor.stdout
    assert not (tmp_path / "typo").exists()


def test_a_database_url_mus_cannot_use_is_refused_without_repeating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL is not taken for a relative path (that made a folder `postgresql:`
    with an empty library and reported success); one of a database mus does not
    speak is refused, and its password is not echoed."""
    music = tmp_path / "music"
    music.mkdir()
    monkeypatch.chdir(tmp_path)
    env = mus_env(MUS_DB="mysql://mus:s3cret@db.example/musdb?ssl=true")

    result = run_mus("import", "--wait", str(music), env=env)

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "MUS_DB holds a mysql:// URL" in line and "or a postgresql:// URL" in line
    assert "s3cret" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music"]


def test_a_worker_on_a_newer_library_refuses_at_start(db: Database, settings: Settings) -> None:
    db.dispose()
    with sqlite3.connect(settings.db_path) as connection:
        connection.execute("PRAGMA user_version = 99")

    result = run_mus("worker", "--burst", env=mus_env())

    assert result.returncode == 2
    assert "schema version 99, newer than this program" in _one_line(result.stderr)


@pytest.mark.parametrize("path", ["/nonexistent/music", "/etc/hostname"])
def test_importing_what_cannot_be_imported_is_status_2(settings: Settings, path: str) -> None:
    result = run_mus("import", path, env=mus_env())

    assert result.returncode == 2
    assert path in _one_line(result.stderr)


def test_a_closed_pipe_ends_quietly(db: Database) -> None:
    """`mus status | head -1`: the reader is gone before mus writes."""
    db.dispose()
    read_end, write_end = os.pipe()
    os.close(read_end)
    result = subprocess.run(
        [sys.executable, "-m", "mus_desktop", "status"],
        env=mus_env(),
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    os.close(write_end)

    assert result.stderr == ""
    assert result.returncode == 128 + signal.SIGPIPE


def test_retry_says_why_an_id_is_not_retried(db: Database, broker_settings: Settings) -> None:
    complete = _add_track(db, "/music/done.mp3", ProcessingStatus.COMPLETE)
    failed = _add_track(db, "/music/bad.mp3", ProcessingStatus.ERROR, "metadata: not audio")

    unknown = run_mus("retry", "99999", env=mus_env())
    assert unknown.returncode == 2
    assert "no track with id 99999" in _one_line(unknown.stderr)

    done = run_mus("retry", str(complete), env=mus_env())
    assert done.returncode == 0
    assert f"track {complete} is complete, not in error: not retried" in done.stdout

    queued = run_mus("retry", str(failed), env=mus_env(MUS_WORKERS="0"))
    assert queued.returncode == 0
    assert "1 errored track(s) queued again" in queued.stdout
    assert "no worker is running" in _one_line(queued.stderr)


def test_file_names_cannot_forge_lines(db: Database) -> None:
    path = "/music/a\nonce fixed: `rm -rf ~`\x1b[2J.mp3"
    track = _add_track(db, path, ProcessingStatus.ERROR, "metadata: bad\rframe")

    result = run_mus("errors", env=mus_env())

    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [
        f"{track:>7}  /music/a\\nonce fixed: `rm -rf ~`\\x1b[2J.mp3",
        "         metadata: bad\\rframe",
    ]


def test_import_wait_with_the_broker_down_says_so(db: Database, short_dir: Path) -> None:
    _add_track(db, "/music/waiting.mp3", ProcessingStatus.PENDING)
    empty = short_dir / "empty"
    empty.mkdir()
    env = mus_env(MUS_REDIS_URL=f"unix://{short_dir}/nobody.sock")

    result = run_mus("import", str(empty), "--wait", env=env)

    assert result.returncode == 1
    assert "1 unfinished track(s) recorded, processed once it is back" in result.stderr


def test_doctor_fails_when_the_configured_broker_does_not_answer(
    db: Database, short_dir: Path
) -> None:
    result = run_mus("doctor", env=mus_env(MUS_REDIS_URL=f"unix://{short_dir}/nobody.sock"))

    assert result.returncode == 1
    assert "answers:     no (no server socket" in result.stdout


@contextmanager
def _import_waiting_for_a_worker(music: Path) -> Iterator[subprocess.Popen[str]]:
    """`mus import MUSIC --wait` with no worker, once it says it waits for one."""
    music.mkdir()
    (music / "a.mp3").write_bytes(b"recorded, never processed: no worker runs")
    process = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "import", str(music), "--wait"],
        env=mus_env(MUS_WORKERS="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "MUS_WORKERS=0 starts no worker here and none is running" in line, line
        yield process
    finally:
        process.kill()
        process.wait()


def test_import_wait_without_workers_says_what_it_waits_for(
    broker_settings: Settings, tmp_path: Path
) -> None:
    with _import_waiting_for_a_worker(tmp_path / "music") as process:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM


def test_the_private_broker_killed_during_import_wait_is_one_line(
    private_settings: Settings, tmp_path: Path
) -> None:
    with _import_waiting_for_a_worker(tmp_path / "music") as process:
        pid = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir).pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        status = process.wait(timeout=60)
        assert process.stderr is not None
        stderr = process.stderr.read()

    assert status == 1
    assert "the broker failed" in _one_line(stderr)
    assert "nothing recorded is lost" in stderr
