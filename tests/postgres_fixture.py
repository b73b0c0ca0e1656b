"""A real PostgreSQL server for tests (tools/postgres_server.py).

Use from a conftest:

    from tests.postgres_fixture import postgres_server  # noqa: F401

`postgres_server` (session) has `.new_database()`, which creates an empty
database and gives its `postgresql://` URL. A test that takes the server away
starts its own with `start_postgres`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.postgres_server import PostgresServer, start_postgres

__all__ = ["PostgresServer", "postgres_server", "start_postgres"]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.remove()
