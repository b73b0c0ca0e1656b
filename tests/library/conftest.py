"""The library suite runs on both engines (tests/engines.py)."""

from __future__ import annotations

import pytest

from tests.engines import both_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both_engines(metafunc)
