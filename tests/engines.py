"""Running a suite on both library engines.

A suite's conftest calls `both_engines(metafunc)` from `pytest_generate_tests`:
every test there that uses a library (the `settings` fixture, directly or not)
then runs once on SQLite and once on PostgreSQL (tests/postgres_fixture.py),
as `test_x[sqlite]` and `test_x[postgresql]`. A test about SQLite itself (its
file, its PRAGMAs, its locking) is marked `sqlite_only`; one about PostgreSQL
parametrises `library_engine` itself.
"""

from __future__ import annotations

import pytest

ENGINES = ("sqlite", "postgresql")


def both_engines(metafunc: pytest.Metafunc) -> None:
    if "library_engine" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        if "library_engine" in str(marker.args[0]):
            return  # the test chose its engine
    metafunc.parametrize("library_engine", ENGINES, indirect=True)
