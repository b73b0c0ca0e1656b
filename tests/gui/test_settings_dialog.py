"""The Settings dialog, a real one, on a settings file under tmp_path; and Help → About."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from mus_desktop.config import Settings, load_settings
from mus_desktop.gui.dialogs.about import about_text, version
from mus_desktop.gui.dialogs.settings import SettingsDialog


@pytest.fixture
def config_file(settings: Settings) -> Path:
    assert settings.config_path is not None  # MUS_CONFIG, under tmp_path (tests/conftest.py)
    return settings.config_path


def make_dialog(qtbot) -> SettingsDialog:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def save(qtbot, dialog: SettingsDialog) -> None:
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )


def test_a_field_the_environment_sets_is_disabled_with_a_note(
    qtbot, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The settings fixture sets MUS_WORKERS=2; music roots come from nowhere.
    dialog = make_dialog(qtbot)

    assert not dialog.workers.isEnabled()
    assert dialog.workers.value() == 2
    assert dialog.workers_note.text() == "set by MUS_WORKERS in the environment"
    assert dialog.roots.isEnabled() and dialog.add_root_button.isEnabled()
    assert dialog.roots_note.text() == "default"

    monkeypatch.delenv("MUS_WORKERS")
    dialog.hide()
    dialog.show()  # read again when shown again
    assert dialog.workers.isEnabled()
    assert dialog.workers_note.text() == "default"


def test_save_writes_the_file_and_says_when_it_takes_effect(
    qtbot, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text(json.dumps({"workers": 7}))
    music = tmp_path / "Music"
    music.mkdir()
    dialog = make_dialog(qtbot)
    said: list[str] = []
    dialog.saved.connect(said.append)

    assert dialog.add_root(str(music))
    dialog.watch.setCurrentText("polling")
    save(qtbot, dialog)

    assert "from the next start" in dialog.message.text()
    assert said == [dialog.message.text()]
    # The file keeps its own worker count: the environment's 2 is not the file's.
    assert json.loads(config_file.read_text()) == {
        "workers": 7,
        "music_roots": [str(music)],
        "watch": "polling",
    }
    monkeypatch.delenv("MUS_WORKERS")
    settings = load_settings()
    assert (settings.workers, settings.music_roots, settings.watch) == (7, (music,), "polling")


def test_a_root_that_is_not_a_folder_is_refused(qtbot, config_file: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    dialog = make_dialog(qtbot)

    assert not dialog.add_root(str(notes))
    assert dialog.message.text() == f"{notes} is not a folder"
    assert dialog.root_paths() == []

    gone = tmp_path / "gone"
    gone.mkdir()
    assert dialog.add_root(str(gone))
    gone.rmdir()  # removed while the dialog was open
    save(qtbot, dialog)
    assert dialog.message.text() == f"{gone} is not a folder"
    assert not config_file.exists()


def test_remove_takes_the_selected_roots_out(qtbot, config_file: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    dialog = make_dialog(qtbot)
    dialog.add_root(str(first))
    dialog.add_root(str(second))
    assert not dialog.remove_root_button.isEnabled()

    dialog.roots.item(0).setSelected(True)
    qtbot.mouseClick(dialog.remove_root_button, Qt.MouseButton.LeftButton)

    assert dialog.root_paths() == [str(second)]


def test_about_names_the_version_library_cache_and_broker(settings: Settings) -> None:
    text = about_text(settings, "2 workers on private broker")
    assert text.splitlines() == [
        f"Version: {version()}",
        f"Library: {settings.database_label}",
        f"Cache: {settings.cache_dir}",
        f"Settings file: {settings.config_path}",
        "Broker: 2 workers on private broker",
    ]
