"""Start-up of the `mus` command: imports run with the garbage collector paused."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mus_desktop.cli.common import imports_without_gc


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # give the test session's objects back to the collector


def test_collector_is_paused_while_importing_and_back_after() -> None:
    gc.unfreeze()
    with imports_without_gc():
        assert not gc.isenabled()
        import mus_desktop.processing.pipeline  # noqa: F401
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what was imported is frozen


def test_collector_is_back_after_a_failed_import() -> None:
    with pytest.raises(ImportError), imports_without_gc():
        import mus_desktop_no_such_module  # noqa: F401
    assert gc.isenabled()
