"""Starting the app: names for QSettings, and a library that cannot be opened."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtWidgets import QApplication

from mus_desktop.config import Settings
from mus_desktop.gui.app import application, open_error_box, try_open


def test_application_is_named_for_stable_settings(qapp) -> None:
    app = application()
    assert (app.applicationName(), app.organizationName()) == ("mus", "mus")
    assert not QApplication.windowIcon().isNull()


@pytest.mark.sqlite_only
def test_corrupt_database_is_reported_and_left_alone(qapp, settings: Settings) -> None:
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"this is not a database, it is a shopping list\n" * 100
    settings.db_path.write_bytes(garbage)
    result = try_open(settings)
    assert isinstance(result, Exception)
    box = open_error_box(settings, result)
    assert str(settings.db_path) in box.text()
    assert "The database says: file is not a database" in box.informativeText()
    assert settings.db_path.read_bytes() == garbage


@pytest.mark.sqlite_only
def test_locked_database_is_reported(qapp, settings: Settings) -> None:
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    holder = sqlite3.connect(settings.db_path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE held (x)")
    try:
        result = try_open(settings)
    finally:
        holder.close()
    assert isinstance(result, Exception)
    assert "database is locked" in open_error_box(settings, result).informativeText()
