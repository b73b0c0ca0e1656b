"""Library folders in the window: the folder watcher it runs, the status bar's
word on it, and the Library Folders dialog. Real files, a real library, the
real watcher; real workers where tracks must end complete."""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from mus_desktop.config import Settings, load_settings
from mus_desktop.gui.dialogs.folders import FOLDER, TRACKS, WATCH
from mus_desktop.gui.status import Kind
from mus_desktop.gui.table.model import Column
from mus_desktop.gui.watch_status import scan_message, watch_details, watch_summary
from mus_desktop.gui.window import MainWindow
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import add_folders, list_folders
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import ScanReport
from mus_desktop.watching.watcher import FolderState
from tests.gui.helpers import shown
from tools.audiogen import Manifest, make_library, make_track

STARTED = 20000
"""ms: the broker found unreachable (or started), then the catch-up scan."""


@pytest.fixture
def followed(tmp_path: Path, db: Database) -> Manifest:
    """One album of two tracks in a folder recorded as the library's one library folder."""
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    assert add_folders(db, [library.root]).added
    return library


def _track_id(db: Database, path: str) -> int:
    with db.read() as session:
        track_id = session.scalar(select(Track.id).where(Track.path == path))
    assert track_id is not None, path
    return track_id


def _missing(window: MainWindow) -> int:
    return window.model.counts().by_kind.get(Kind.MISSING, 0)


def _complete(window: MainWindow) -> int:
    return window.model.counts().by_kind.get(Kind.COMPLETE, 0)


@pytest.mark.slow
def test_music_copied_into_a_library_folder_shows_up_and_completes_with_no_click(
    qtbot, window_factory, broker_settings: Settings, db: Database, followed: Manifest, tmp_path
) -> None:
    window = window_factory(broker_settings, db)
    messages: list[str] = []
    window.messageShown.connect(messages.append)
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=60000)
    qtbot.waitUntil(lambda: _complete(window) == 2, timeout=60000)  # the catch-up scan's

    incoming = make_library(tmp_path / "incoming", albums=2, tracks_per_album=2, seed=7)
    shutil.copytree(incoming.root, followed.root / "New Arrivals")
    total = 2 + len(incoming.entries)
    qtbot.waitUntil(lambda: window.model.rowCount() == total, timeout=20000)
    qtbot.waitUntil(lambda: _complete(window) == total, timeout=30000)
    assert any(message.startswith("Library folders: +") for message in messages), messages
    assert window.counts_label.text() == f"{total} tracks · {total} complete"

    # Renamed on disk: the same track, at its new path, still complete.
    first, second = followed.entries
    renamed = Path(first.path).with_stem("Renamed")
    first_id = _track_id(db, first.path)
    os.rename(first.path, renamed)
    qtbot.waitUntil(
        lambda: shown(window.model, first_id, Column.PATH) == str(renamed), timeout=10000
    )
    assert shown(window.model, first_id, Column.STATUS) == "Complete"

    # Edited on disk: read again, with its new title.
    assert second.format is not None and second.tags is not None
    second_id = _track_id(db, second.path)
    make_track(Path(second.path), second.format, replace(second.tags, title="Edited"))
    qtbot.waitUntil(lambda: shown(window.model, second_id, Column.TITLE) == "Edited", timeout=20000)
    assert shown(window.model, second_id, Column.STATUS) == "Complete"
    assert window.model.rowCount() == total


def test_the_status_bar_follows_a_library_folder_going_offline_and_back(
    qtbot, window_factory, offline_settings: Settings, db: Database, followed: Manifest
) -> None:
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=STARTED)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    assert "Watched" in window.folders_label.toolTip()

    unplugged = followed.root.with_name("unplugged")
    followed.root.rename(unplugged)  # a drive unplugged: its root is gone
    qtbot.waitUntil(
        lambda: window.folders_label.text() == "watching 1 folder · 1 offline", timeout=10000
    )
    assert "the folder is gone" in window.folders_label.toolTip()
    assert _missing(window) == 0
    assert window.model.rowCount() == 2

    unplugged.rename(followed.root)
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=10000)
    assert _missing(window) == 0
    assert window.model.rowCount() == 2


def test_the_dialog_lists_adds_and_removes_library_folders(
    qtbot, window_factory, offline_settings: Settings, db: Database, followed: Manifest, tmp_path
) -> None:
    window = window_factory(offline_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=STARTED)
    window.folders_action.trigger()
    dialog = window.folders_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    table = dialog.table
    qtbot.waitUntil(lambda: table.rowCount() == 1 and table.item(0, TRACKS).text() == "2")
    assert table.item(0, FOLDER).text() == str(followed.root)
    qtbot.waitUntil(lambda: table.item(0, WATCH).text() == "Watched", timeout=10000)

    assert dialog.select_folder(str(followed.root))
    more = make_library(tmp_path / "more", albums=1, tracks_per_album=1, seed=3)
    dialog.add_folder(str(more.root))
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    assert dialog.selected_folder() == str(followed.root)  # "more" sorts first: row 0
    assert dialog.message.text().startswith(f"added {more.root}")
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=10000)  # scanned by itself
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 2 folders", timeout=10000)

    inside = next(Path(entry.path).parent for entry in followed.entries)
    dialog.add_folder(str(inside))
    qtbot.waitUntil(lambda: "already followed, inside" in dialog.message.text())
    assert dialog.message.text() == f"{inside} is already followed, inside {followed.root}"

    # Remove asks first; Cancel keeps everything.
    assert dialog.select_folder(str(followed.root))
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    box = dialog.confirm_box
    assert box is not None and box.isVisible()
    assert "forget its 2 tracks" in box.text()
    assert "No file is touched" in box.informativeText()
    box.reject()
    assert dialog.confirm_box is None
    assert [folder.path for folder in list_folders(db)] == sorted(
        [str(followed.root), str(more.root)]
    )

    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert dialog.forget_button is not None
    qtbot.mouseClick(dialog.forget_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=10000)
    assert dialog.message.text() == (
        f"Forgot {followed.root} and its 2 tracks; no file was touched."
    )
    assert table.item(0, FOLDER).text() == str(more.root)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=10000)
    assert all(os.path.isfile(entry.path) for entry in followed.entries)


def test_rescan_now_finds_what_an_unwatched_folder_gained(
    qtbot,
    window_factory,
    offline_settings: Settings,
    db: Database,
    followed: Manifest,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MUS_WATCH", "off")
    window = window_factory(load_settings(), db)
    qtbot.waitUntil(
        lambda: window.folders_label.text() == "not watching: MUS_WATCH=off", timeout=STARTED
    )
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)  # scanned at start all the same
    dialog = window.open_folders_dialog()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1)
    assert dialog.table.item(0, WATCH).text() == "Not watched"

    extra = make_library(tmp_path / "extra", albums=1, tracks_per_album=1, seed=9)
    shutil.copytree(extra.root, followed.root / "Extra")
    qtbot.wait(1500)  # longer than the quiet period a watched folder's events wait for
    assert window.model.rowCount() == 2
    qtbot.mouseClick(dialog.rescan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=10000)
    qtbot.waitUntil(lambda: dialog.table.item(0, TRACKS).text() == "3")


def test_an_import_from_the_window_becomes_a_followed_library_folder(
    qtbot, window_factory, offline_settings: Settings, db: Database, tmp_path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    window = window_factory(offline_settings, db)
    messages: list[str] = []
    window.messageShown.connect(messages.append)
    qtbot.waitUntil(
        lambda: window.folders_label.text().startswith("no library folders"), timeout=STARTED
    )

    window.import_folder(str(library.root))
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=10000)
    assert [folder.path for folder in list_folders(db)] == [str(library.root)]
    assert any(message.endswith("followed from now on") for message in messages), messages


def test_shutting_the_window_down_stops_the_folder_watcher(
    qtbot, window_factory, offline_settings: Settings, db: Database, followed: Manifest
) -> None:
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.folders_label.text() == "watching 1 folder", timeout=STARTED)
    assert "mus-folder-watcher" in [thread.name for thread in threading.enumerate()]

    window.shutdown()
    left = [
        thread
        for thread in threading.enumerate()
        if thread.name == "mus-folder-watcher" or type(thread).__module__.startswith("watchdog")
    ]
    assert left == []


def test_the_watch_summary_and_its_tooltip_in_words() -> None:
    limit = (
        "the inotify watch limit is reached: polled instead; raise it with "
        "`sudo sysctl fs.inotify.max_user_watches=524288`"
    )
    states = [
        FolderState("/music/a", "events"),
        FolderState("/music/b <live>", "polling", limit),
        FolderState("/media/usb", "offline", "the folder is gone"),
    ]
    assert watch_summary(None, "auto") == "starting to watch…"
    assert watch_summary([], "auto") == "no library folders: File ▸ Library Folders… adds one"
    assert watch_summary(states[:1], "auto") == "watching 1 folder"
    assert watch_summary(states, "auto") == "watching 3 folders · 1 polled · 1 offline"
    off = [FolderState("/music/a", "off", "MUS_WATCH=off: scanned at start")]
    assert watch_summary(off, "off") == "not watching: MUS_WATCH=off"

    details = watch_details(states)
    assert "<b>/music/b &lt;live&gt;</b><br>Polled: the inotify watch limit" in details
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in details
    assert "<b>/media/usb</b><br>Offline: the folder is gone" in details

    assert scan_message(ScanReport(unchanged=10)) == ""
    found = ScanReport(new=3, moved=1, changed=2, missing=1, problems=["a", "b"])
    assert (
        scan_message(found)
        == "Library folders: +3 new, 1 moved, 2 changed, 1 missing; a (and 1 more)"
    )
