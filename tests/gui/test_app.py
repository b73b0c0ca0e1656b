"""Starting the app: names for QSettings, and a library that cannot be opened."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtWidgets import QApplication

from mus_desktop.config import Settings, load_settings
from mus_desktop.gui.app import application, open_error_box, try_open
from mus_desktop.library.engine import Database


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


def test_a_database_server_that_does_not_answer_is_no_reason_not_to_open(
    qapp, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for the broker: the window opens and says so (tests/gui/test_shared_library.py)."""
    nobody = tmp_path / "no-server"
    nobody.mkdir()
    monkeypatch.setenv("MUS_DB", f"postgresql://mus:s3cret@/musdb?host={nobody}")

    opened = try_open(load_settings())

    assert isinstance(opened, Database)
    assert "s3cret" not in opened.label
    opened.dispose()
