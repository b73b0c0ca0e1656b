"""A library in PostgreSQL (`MUS_DB=postgresql://…`) as a person uses it: the
commands, their one-line failures, and a database that goes away mid-import."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.queries import status_counts
from tests.postgres_fixture import OwnLibrary, PostgresServer
from tests.runtime.conftest import mus_env, run_mus
from tools.audiogen import make_library

pytestmark = pytest.mark.parametrize("library_engine", ["postgresql"], indirect=True)


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_import_wait_status_and_doctor_on_postgresql(
    private_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = make_library(tmp_path / "music", albums=3, tracks_per_album=3, broken=True)
    good, broken = len(library.good()), len(library.broken())
    monkeypatch.chdir(tmp_path)

    result = run_mus("import", "--wait", str(library.root), env=mus_env(), timeout=240)

    assert result.returncode == 0, result.stderr
    assert f"{good} complete, {broken} error, 0 missing" in result.stdout
    db = open_database(private_settings.database)
    try:
        assert status_counts(db)["COMPLETE"] == good
    finally:
        db.dispose()
    status = run_mus("status", env=mus_env())
    assert status.returncode == 0 and f"COMPLETE: {good}\n" in status.stdout, status.stdout
    doctor = run_mus("doctor", env=mus_env())
    assert "engine:      postgresql" in doctor.stdout, doctor.stdout
    assert "schema_version" in doctor.stdout and "lock_timeout 5s" in doctor.stdout
    assert not any(p.name.startswith("postgres") for p in tmp_path.iterdir())


def test_a_server_that_does_not_answer_is_one_line_and_status_1(
    settings: Settings, tmp_path: Path
) -> None:
    nobody = tmp_path / "no-server"
    nobody.mkdir()
    url = f"postgresql://mus:s3cret@/musdb?host={nobody}"
    (tmp_path / "music").mkdir()

    result = run_mus("import", str(tmp_path / "music"), env=mus_env(MUS_DB=url))

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "cannot be reached" in line and "nothing recorded is lost" in line
    assert "s3cret" not in result.stderr + result.stdout


def test_credentials_the_server_refuses_are_one_line_and_status_2(
    settings: Settings, postgres_server: PostgresServer
) -> None:
    url = postgres_server.url("postgres").replace("mus@", "nobody:s3cret@")

    result = run_mus("status", env=mus_env(MUS_DB=url))

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "refused mus" in line and "check MUS_DB" in line
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.slow
def test_the_database_killed_and_restarted_mid_import_loses_nothing(
    own_postgres: OwnLibrary, private_settings: Settings, tmp_path: Path
) -> None:
    """The server crashes (SIGQUIT) with the import under way and comes back: the
    import waits for it, then finishes every track; nothing recorded is lost."""
    library = make_library(tmp_path / "music", albums=30, tracks_per_album=10)
    command = subprocess.Popen(
        [sys.executable, "-m", "mus_desktop", "import", "--wait", str(library.root)],
        env={**mus_env(), "MUS_BATCH_SIZE": "20"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = open_database(own_postgres.url)
    deadline = time.monotonic() + 120
    while status_counts(db).get("COMPLETE", 0) < 20:
        assert time.monotonic() < deadline and command.poll() is None, command.stderr
        time.sleep(0.05)
    db.dispose()
    own_postgres.server.stop(immediately=True)
    time.sleep(3)
    own_postgres.server.start()

    out, err = command.communicate(timeout=240)

    assert command.returncode == 0, err
    assert "the library database does not answer" in err, err
    assert "the library database answers again" in err, err
    assert f"{len(library.entries)} complete, 0 error, 0 missing" in out, out + err
    db = open_database(own_postgres.url)
    try:
        assert status_counts(db)["COMPLETE"] == len(library.entries)
    finally:
        db.dispose()
