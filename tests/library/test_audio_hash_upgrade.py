"""A library made before audio hashes (schema 3) is upgraded in place, and reconcile
queues its processed tracks once so that they get one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select

from mus_desktop.cli import main
from mus_desktop.config import Settings
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.migrations import SCHEMA_VERSION
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from mus_desktop.processing.queue import make_queue
from mus_desktop.processing.service import reconcile_counts
from tools.audiogen import make_library


def _as_schema_3(db: Database, db_path: Path) -> None:
    """Take the database back to what schema 3 made: no audio_hash column."""
    db.dispose()
    with sqlite3.connect(db_path) as connection:
        connection.executescript(
            "DROP INDEX ix_track_audio_hash; ALTER TABLE track DROP COLUMN audio_hash;"
            "PRAGMA user_version = 3;"
        )
    connection.close()


def _tracks(db: Database) -> dict[str, Track]:
    with db.read() as session:
        return {track.path: track for track in session.scalars(select(Track))}


@pytest.mark.sqlite_only
def test_a_schema_3_library_gains_audio_hashes_once(
    db: Database,
    broker_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=4)
    run_batch(db, broker_settings, scan(db, [library.root]).to_process)
    gone = Path(library.entries[0].path)
    gone.unlink()
    scan(db, [library.root])  # missing at the upgrade: nothing to read it from
    before = _tracks(db)
    _as_schema_3(db, broker_settings.db_path)

    upgraded = open_database(broker_settings.db_path)
    after = _tracks(upgraded)
    assert upgraded.settings()["schema_version"] == SCHEMA_VERSION
    assert {path: (t.id, t.title, t.content_hash) for path, t in after.items()} == {
        path: (t.id, t.title, t.content_hash) for path, t in before.items()
    }
    assert all(track.audio_hash is None for track in after.values())

    capsys.readouterr()
    assert main(["reconcile"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "0 track(s) whose work was lost queued again",
        "3 track(s) processed before audio hashes queued once to get one "
        "(a track retagged and moved keeps its id by it)",
    ]
    connection = Redis.from_url(str(broker_settings.redis_url))
    queue = make_queue(connection, broker_settings)
    queued = sorted(track_id for job in queue.get_jobs() for track_id in job.args[0])
    present = sorted(t.id for t in after.values() if t.missing_since is None)
    assert queued == present
    assert reconcile_counts(upgraded, queue, broker_settings) == (0, 0)  # queued already

    run_batch(upgraded, broker_settings, queued)
    queue.empty()
    assert reconcile_counts(upgraded, queue, broker_settings) == (0, 0)  # once, not again
    connection.close()
    final = _tracks(upgraded)
    assert all(final[path].processing_status == "COMPLETE" for path in final if path != str(gone))
    assert all(len(final[path].audio_hash or "") == 64 for path in final if path != str(gone))
    assert final[str(gone)].audio_hash is None and final[str(gone)].missing_since is not None
    upgraded.dispose()
