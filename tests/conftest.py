"""Shared fixtures: a private library (database, cache) per test.

The library is a SQLite file, or where a suite runs on both engines
(tests/engines.py) a database of its own on the test PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.engine import Database, open_database
from tests.broker_fixture import redis_server, redis_url  # noqa: F401
from tests.postgres_fixture import own_postgres, postgres_server  # noqa: F401


@pytest.fixture
def library_engine(request: pytest.FixtureRequest) -> str:
    """ "sqlite", unless the suite parametrises it (tests/engines.py)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def settings(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    library_engine: str,
    request: pytest.FixtureRequest,
) -> Settings:
    """Settings pointing at a fresh database (a file under tmp_path, or an empty
    PostgreSQL database) and cache under tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))  # never the user's
    if library_engine == "postgresql":
        monkeypatch.setenv("MUS_DB", request.getfixturevalue("postgres_server").new_database())
    else:
        monkeypatch.setenv("MUS_DB", str(tmp_path / "data" / "library.db"))
    monkeypatch.setenv("MUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MUS_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("MUS_LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("MUS_CONFIG", str(tmp_path / "config" / "settings.json"))  # never the user's
    monkeypatch.delenv("MUS_REDIS_URL", raising=False)
    monkeypatch.delenv("MUS_MUSIC_ROOTS", raising=False)
    monkeypatch.setenv("MUS_WORKERS", "2")
    return load_settings()


@pytest.fixture
def broker_settings(
    settings: Settings,
    redis_url: str,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """`settings` with the test broker (tests/broker_fixture.py) configured."""
    monkeypatch.setenv("MUS_REDIS_URL", redis_url)
    return load_settings()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings.database)
    yield database
    database.dispose()
