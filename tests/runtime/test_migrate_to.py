"""`mus migrate-to URL`: a SQLite library copied into an empty PostgreSQL database,
ids, statuses, errors, hashes and folders kept, the SQLite file untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.folders import add_folders, folder_paths
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from tests.postgres_fixture import PostgresServer
from tests.runtime.conftest import mus_env, run_mus
from tools.audiogen import make_library

KEPT = (
    Track.id,
    Track.path,
    Track.processing_status,
    Track.last_error_message,
    Track.content_hash,
    Track.audio_hash,
    Track.title,
    Track.artwork_hash,
    Track.inode,
)


def _tracks(db: Database) -> list[tuple[object, ...]]:
    with db.read() as session:
        return [tuple(row) for row in session.execute(select(*KEPT).order_by(Track.id))]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_library_copied_to_postgresql_keeps_every_track_and_leaves_the_file_alone(
    db: Database,
    broker_settings: Settings,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    library = make_library(tmp_path / "music", albums=3, tracks_per_album=4, broken=True)
    add_folders(db, [library.root])
    run_batch(db, broker_settings, scan(db, [library.root]).to_process)
    before = _tracks(db)
    assert {row[2] for row in before} == {"COMPLETE", "ERROR"}
    db.dispose()
    file_before = _file_hash(broker_settings.db_path)
    url = postgres_server.new_database()

    result = run_mus("migrate-to", url, env=mus_env())

    assert result.returncode == 0, result.stderr
    assert f"copied {len(before)} track(s)" in result.stdout
    assert "1 library folder(s)" in result.stdout and "the counts match" in result.stdout
    assert _file_hash(broker_settings.db_path) == file_before
    copy = open_database(url)
    try:
        assert _tracks(copy) == before
        assert folder_paths(copy) == [str(library.root)]
        status = run_mus("status", env=mus_env(MUS_DB=url))
        assert status.stdout == run_mus("status", env=mus_env()).stdout
        # A track recorded after the move takes the next id, not one of the copied ones.
        extra = library.root / "late arrival.mp3"
        extra.write_bytes(Path(library.good()[0].path).read_bytes())
        (new_id,) = scan(copy, [library.root]).to_process
        assert new_id == max(row[0] for row in before) + 1  # type: ignore[type-var]
    finally:
        copy.dispose()

    again = run_mus("migrate-to", url, env=mus_env())

    assert again.returncode == 2
    assert "is not empty" in again.stderr and "migrate-to copies into an empty one" in again.stderr


def test_migrate_to_something_else_than_a_server_url_is_status_2(settings: Settings) -> None:
    open_database(settings.db_path).dispose()

    result = run_mus("migrate-to", "/tmp/other.db", env=mus_env())

    assert result.returncode == 2
    assert "takes a database server's URL" in result.stderr
