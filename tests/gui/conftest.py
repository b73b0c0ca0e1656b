"""GUI tests run offscreen; each gets its own library (see tests/conftest.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.engine import Database
from mus_desktop.library.rows import ChangeFollower
from tests.engines import both_engines


@pytest.fixture(autouse=True)
def qt_settings_dir(tmp_path: Path, qapp) -> Path:
    """Window state (QSettings) goes under tmp_path, never the real home."""
    from mus_desktop.gui.app import application

    application()
    folder = tmp_path / "qsettings"
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture
def offline_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A library whose configured broker does not answer (nothing listens on port 1)."""
    monkeypatch.setenv("MUS_REDIS_URL", "redis://127.0.0.1:1/0")
    return load_settings()


@pytest.fixture
def window_factory(qtbot) -> Iterator:
    """Builds MainWindows and shuts each down (threads, workers) after the test."""
    from mus_desktop.gui.window import MainWindow

    made: list[MainWindow] = []

    def make(settings: Settings, db) -> MainWindow:
        window = MainWindow(settings, db)
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.shutdown()


@pytest.fixture
def follower(db: Database) -> Iterator[ChangeFollower]:
    """The watcher's reader: its own long-lived connection to the library."""
    follower = ChangeFollower(db)
    yield follower
    follower.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """This suite runs on both library engines (tests/engines.py)."""
    both_engines(metafunc)
