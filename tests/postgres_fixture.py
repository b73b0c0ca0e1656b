"""A real PostgreSQL server for tests (tools/postgres_server.py).

Use from a conftest:

    from tests.postgres_fixture import postgres_server  # noqa: F401

`postgres_server` (session) has `.new_database()`, which creates an empty
database and gives its `postgresql://` URL. A test that takes the server away
uses `own_postgres`: a server of its own, whose one database MUS_DB names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.postgres_server import PostgresServer, start_postgres

__all__ = ["PostgresServer", "postgres_server", "start_postgres"]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.remove()


@dataclass(frozen=True)
class OwnLibrary:
    server: PostgresServer
    url: str


@pytest.fixture
def own_postgres(
    settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OwnLibrary]:
    """A PostgreSQL server of the test's own (to stop and start) and an empty
    library database on it, which MUS_DB names (set after `settings` set its own)."""
    server = start_postgres(tmp_path / "own-server")
    try:
        url = server.new_database()
        monkeypatch.setenv("MUS_DB", url)
        yield OwnLibrary(server, url)
    finally:
        server.remove()
