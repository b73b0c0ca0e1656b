"""The settings file: read, overridden by the environment, bad values named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mus_desktop.config import (
    ConfigError,
    FileSettings,
    Origin,
    Settings,
    Source,
    load_settings,
    read_settings_file,
    write_settings_file,
)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file MUS_CONFIG names, under tmp_path; no override in the environment."""
    path = tmp_path / "elsewhere" / "mine.json"
    monkeypatch.setenv("MUS_CONFIG", str(path))
    for variable in ("MUS_WORKERS", "MUS_MUSIC_ROOTS", "MUS_WATCH"):
        monkeypatch.delenv(variable, raising=False)
    return path


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_no_file_means_the_defaults(config_file: Path) -> None:
    settings = load_settings()
    assert settings.config_path == config_file
    assert settings.workers == (os.cpu_count() or 2)
    assert settings.music_roots == ()
    assert settings.watch == "auto"
    assert set(settings.origins.values()) == {Origin(Source.DEFAULT)}


def test_the_file_mus_config_names_is_read(config_file: Path, tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    write(config_file, {"workers": 3, "music_roots": [str(music)], "watch": "polling"})

    settings = load_settings()

    assert (settings.workers, settings.music_roots, settings.watch) == (3, (music,), "polling")
    assert settings.origins["workers"] == Origin(Source.FILE, str(config_file))
    assert settings.origins["workers"].describe() == f"settings file {config_file}"


def test_the_environment_wins_over_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config_file, {"workers": 3, "watch": "polling"})
    monkeypatch.setenv("MUS_WORKERS", "5")
    monkeypatch.setenv("MUS_WATCH", " ")  # blank counts as unset, as for every variable

    settings = load_settings()

    assert settings.workers == 5
    assert settings.origins["workers"].describe() == "set by MUS_WORKERS in the environment"
    assert settings.watch == "polling"
    assert settings.origins["watch"].source is Source.FILE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"workers": 65}, "workers=65 is out of range (0..64)"),
        ({"workers": "two"}, "workers='two' is not a whole number"),
        ({"workers": True}, "workers=True is not a whole number"),
        ({"watch": "sometimes"}, "watch='sometimes' must be one of auto, events, polling, off"),
        ({"music_roots": "/music"}, "music_roots='/music' is not a list of folders"),
        ({"wrokers": 2}, "unknown setting 'wrokers' (known: workers, music_roots, watch)"),
        ([2], 'must hold a JSON object, such as {"workers": 2}'),
    ],
)
def test_a_bad_value_is_one_line_naming_the_file_and_the_key(
    config_file: Path, data: object, message: str
) -> None:
    write(config_file, data)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"{config_file}: {message}"


def test_a_root_that_is_not_a_folder_is_named(config_file: Path, tmp_path: Path) -> None:
    write(config_file, {"music_roots": [str(tmp_path / "gone")]})
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        f"{config_file}: music_roots names {str(tmp_path / 'gone')!r}, which is not a folder"
    )


def test_a_file_that_is_not_json_is_named(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True)
    config_file.write_text("workers = 2\n")  # TOML, not JSON
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{config_file}: not valid JSON (")
    assert "\n" not in str(caught.value)


def test_a_bad_variable_is_still_named_as_before(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(config_file, {"workers": 3})
    monkeypatch.setenv("MUS_WORKERS", "many")
    with pytest.raises(ConfigError, match=r"^MUS_WORKERS='many' is not a whole number$"):
        load_settings()


def test_mus_config_naming_a_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUS_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^MUS_CONFIG=.* is a folder; it must name the settings"):
        load_settings()


def test_written_settings_read_back_and_leave_no_temporary_file(
    config_file: Path, tmp_path: Path
) -> None:
    music = tmp_path / "Müsic \udcff odd"  # a name that is not valid UTF-8
    music.mkdir()
    write_settings_file(FileSettings(workers=0, music_roots=(music,), watch="off"))

    assert read_settings_file() == FileSettings(workers=0, music_roots=(music,), watch="off")
    assert [p.name for p in config_file.parent.iterdir()] == [config_file.name]
    settings = load_settings()
    assert (settings.workers, settings.music_roots, settings.watch) == (0, (music,), "off")


def test_the_tests_never_read_the_real_settings_file(settings: Settings, tmp_path: Path) -> None:
    assert settings.config_path is not None
    assert settings.config_path.is_relative_to(tmp_path)
