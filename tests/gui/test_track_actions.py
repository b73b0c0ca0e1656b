"""Acting on tracks where they are: the table's context menu and the detail pane's
buttons (gui/actions/menu.py), and the work behind them (gui/actions/work.py), on a
real library with real audio files, driven through the real menu and dialogs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from mus_desktop.config import Settings
from mus_desktop.gui.actions.menu import TrackActions
from mus_desktop.gui.actions.work import TrackWork
from mus_desktop.gui.detail import DetailPane
from mus_desktop.gui.table.model import TrackTableModel
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import add_folders
from mus_desktop.library.models import Track
from mus_desktop.library.rows import ChangeFollower, TrackRow
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from tests.gui.helpers import mark_missing, mixed_library
from tools.audiogen import Tags, make_track

INTRO = Tags("Intro", "Aurora", "Dawn", "Aurora", 1, 2, 1, 2001, "Pop")
OUTRO = Tags("Outro", "Aurora", "Dawn", "Aurora", 2, 2, 1, 2001, "Pop")
MENU = [
    "Retry",
    "Open",
    "Open Containing Folder",
    "Copy Path",
    "Show Duplicates",
    "Locate…",
    "Forget…",
    "Move to Trash…",
]


@dataclass
class Desk:
    """What the window would hold: the actions, a model for `is_duplicate`, and the
    rows as the watcher reads them."""

    actions: TrackActions
    model: TrackTableModel
    db: Database
    opened: list[QUrl] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def rows(self) -> dict[int, TrackRow]:
        follower = ChangeFollower(self.db)
        try:
            rows = follower.load()
        finally:
            follower.close()
        self.model.set_rows(rows)
        return {row.id: row for row in rows}

    def menu(self, *track_ids: int) -> QMenu:
        rows = self.rows()
        return self.actions.menu_for([rows[i] for i in track_ids], self.model.is_duplicate)


@pytest.fixture
def desk(qtbot: QtBot, db: Database) -> Iterator[Desk]:
    parent = QWidget()
    qtbot.addWidget(parent)
    actions = TrackActions(parent)
    desk = Desk(actions, TrackTableModel(parent.palette(), parent), db)

    def opener(url: QUrl) -> bool:
        desk.opened.append(url)
        return True

    actions.opener = opener
    actions.messageShown.connect(desk.messages.append)
    yield desk
    if actions.dialog is not None:
        actions.dialog.close()


def enabled(menu: QMenu) -> dict[str, bool]:
    return {a.text(): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def trigger(menu: QMenu, text: str) -> None:
    [action] = [a for a in menu.actions() if a.text() == text]
    assert action.isEnabled(), text
    action.trigger()


def confirmation(actions: TrackActions) -> QMessageBox:
    box = actions.dialog
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    return box


def click(qtbot: QtBot, box: QMessageBox, text: str) -> None:
    [button] = [b for b in box.buttons() if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def track_ids(db: Database) -> dict[int, tuple[str, bool]]:
    """(path, missing) of every track, by id."""
    with db.read() as session:
        return {
            track.id: (track.path, track.missing_since is not None)
            for track in session.scalars(select(Track))
        }


def processed(db: Database, settings: Settings, root: Path, *paths: Path) -> list[int]:
    """Record `root` as a library folder, scan it and process what it holds; the ids of
    the tracks at `paths`."""
    add_folders(db, [root])
    run_batch(db, settings, scan(db, [root]).to_process)
    by_path = {path: track_id for track_id, (path, _missing) in track_ids(db).items()}
    return [by_path[str(path)] for path in paths]


# -- the menu ----------------------------------------------------------------------


def test_the_menu_offers_each_action_where_it_applies(desk: Desk, db: Database) -> None:
    ids = mixed_library(db)
    mark_missing(db, ids["pending"], datetime(2024, 1, 2))

    error = enabled(desk.menu(ids["error"]))
    duplicate = enabled(desk.menu(ids["dup"]))
    missing = enabled(desk.menu(ids["pending"]))
    mixed = enabled(desk.menu(ids["pending"], ids["complete"], ids["error"]))

    assert list(error) == MENU
    assert [text for text, on in error.items() if on] == [
        "Retry",
        "Open",
        "Open Containing Folder",
        "Copy Path",
    ]
    assert [text for text, on in duplicate.items() if on] == [
        "Open",
        "Open Containing Folder",
        "Copy Path",
        "Show Duplicates",
        "Move to Trash…",
    ]
    assert [text for text, on in missing.items() if on] == ["Copy Path", "Locate…", "Forget…"]
    assert [text for text, on in mixed.items() if on] == [
        "Retry",
        "Copy Path",
        "Show Duplicates",
        "Forget…",
        "Move to Trash…",
    ]


def test_retry_and_show_duplicates_ask_the_window(desk: Desk, db: Database, qtbot: QtBot) -> None:
    ids = mixed_library(db)

    with qtbot.waitSignal(desk.actions.retryRequested) as retry:
        trigger(desk.menu(ids["complete"], ids["error"]), "Retry")
    with qtbot.waitSignal(desk.actions.showDuplicatesRequested) as duplicates:
        trigger(desk.menu(ids["pending"], ids["dup"]), "Show Duplicates")

    assert retry.args == [[ids["error"]]]
    assert duplicates.args == [ids["dup"]]


def test_open_and_open_containing_folder_open_the_file_and_its_folder(
    desk: Desk, db: Database, settings: Settings, tmp_path: Path
) -> None:
    song = make_track(tmp_path / "music" / "Dawn" / "01 Intro.flac", "flac", INTRO)
    [track_id] = processed(db, settings, tmp_path / "music", song)

    trigger(desk.menu(track_id), "Open")
    trigger(desk.menu(track_id), "Open Containing Folder")

    assert desk.opened == [QUrl.fromLocalFile(str(song)), QUrl.fromLocalFile(str(song.parent))]
    assert desk.messages == [f"Opened {song.name}", f"Opened {song.parent}"]


def test_open_checks_the_file_first(
    desk: Desk, db: Database, settings: Settings, tmp_path: Path
) -> None:
    song = make_track(tmp_path / "music" / "01 Intro.flac", "flac", INTRO)
    [track_id] = processed(db, settings, tmp_path / "music", song)
    menu = desk.menu(track_id)
    song.unlink()  # gone since the menu was made, not yet noticed by a scan
    trigger(menu, "Open")
    os.mkfifo(song)
    desk.actions.open_rows(list(desk.rows().values()))

    assert desk.opened == []
    assert desk.messages == [
        "Cannot open 'Intro': file not found",
        "Cannot open 'Intro': it is a FIFO",
    ]


def test_copy_path_puts_every_selected_path_on_the_clipboard(desk: Desk, db: Database) -> None:
    ids = mixed_library(db)

    trigger(desk.menu(ids["complete"], ids["dup"], ids["error"]), "Copy Path")

    assert QGuiApplication.clipboard().text() == (
        "/music/A/01 Intro.flac\n/music/copy/01 Intro.flac\n/music/C/broken.mp3"
    )
    assert desk.messages == ["Copied 3 paths"]


# -- Locate ------------------------------------------------------------------------


@pytest.fixture
def moved_away(db: Database, settings: Settings, tmp_path: Path) -> tuple[int, Path]:
    """A processed track whose file was moved out of its library folder: a real scan
    marked it missing. (its id, where its file is now)"""
    root = tmp_path / "music"
    song = make_track(root / "Dawn" / "01 Intro.flac", "flac", INTRO)
    [track_id] = processed(db, settings, root, song)
    moved = tmp_path / "elsewhere" / "intro.flac"
    moved.parent.mkdir()
    shutil.move(song, moved)
    assert scan(db, [root]).missing == 1
    return track_id, moved


def test_locate_picks_the_file_and_the_track_keeps_its_id(
    desk: Desk, db: Database, settings: Settings, qtbot: QtBot, moved_away: tuple[int, Path]
) -> None:
    track_id, moved = moved_away
    work = TrackWork(db, settings)
    desk.actions.locateRequested.connect(work.locate)

    trigger(desk.menu(track_id), "Locate…")
    chooser = desk.actions.dialog
    assert isinstance(chooser, QFileDialog)
    assert chooser.windowTitle() == "Locate 'Intro'"
    chooser.selectFile(str(moved))
    with qtbot.waitSignal(work.finished) as finished:
        chooser.accept()

    assert finished.args[0].startswith("Located 'Intro': the track keeps its id and history")
    assert track_ids(db) == {track_id: (str(moved), False)}
    assert desk.actions.dialog is None


def test_locate_of_a_different_file_says_so_and_changes_nothing(
    db: Database, settings: Settings, qtbot: QtBot, moved_away: tuple[int, Path], tmp_path: Path
) -> None:
    track_id, _moved = moved_away
    # Other audio (a longer signal): the same audio with other tags is the track, retagged.
    other = make_track(tmp_path / "elsewhere" / "outro.flac", "flac", OUTRO, seconds=1.5)
    before = track_ids(db)
    work = TrackWork(db, settings)

    with qtbot.waitSignal(work.failed) as failed:
        work.locate(track_id, str(other))

    assert failed.args == [
        "outro.flac is a different file from 'Intro' (neither its content nor its audio is "
        "the track's); nothing was changed"
    ]
    assert track_ids(db) == before


# -- Forget ------------------------------------------------------------------------


def test_forget_removes_only_missing_tracks_after_a_confirmation(
    desk: Desk, db: Database, settings: Settings, qtbot: QtBot
) -> None:
    ids = mixed_library(db)
    mark_missing(db, ids["pending"], datetime(2024, 1, 2))
    work = TrackWork(db, settings)
    asked: list[object] = []
    desk.actions.forgetRequested.connect(asked.append)
    desk.actions.forgetRequested.connect(work.forget)

    trigger(desk.menu(ids["pending"], ids["complete"]), "Forget…")
    box = confirmation(desk.actions)
    assert box.text() == "Forget 1 missing track?"
    assert "No file is touched" in box.informativeText()
    assert "The 1 present track selected is kept." in box.informativeText()
    click(qtbot, box, "Cancel")
    assert asked == []

    desk.actions.forget_rows([desk.rows()[ids["pending"]], desk.rows()[ids["complete"]]])
    with qtbot.waitSignal(work.finished) as finished:
        click(qtbot, confirmation(desk.actions), "Forget")

    assert asked == [[ids["pending"]]]
    assert finished.args == ["Forgot 1 missing track; no file was touched"]
    assert set(track_ids(db)) == set(ids.values()) - {ids["pending"]}


def test_forget_checks_again_that_the_tracks_are_missing(
    desk: Desk, db: Database, settings: Settings, qtbot: QtBot
) -> None:
    ids = mixed_library(db)
    desk.actions.forget_rows([desk.rows()[ids["complete"]]])  # Delete on a present track
    work = TrackWork(db, settings)

    with qtbot.waitSignal(work.failed) as failed:
        work.forget([ids["complete"]])  # missing when asked, found again since

    assert desk.actions.dialog is None
    assert desk.messages == ["Only missing tracks can be forgotten"]
    assert failed.args == ["Nothing was forgotten: the tracks are not missing any more"]
    assert set(track_ids(db)) == set(ids.values())


# -- Move to Trash -----------------------------------------------------------------


@pytest.fixture
def trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The desktop's trash, under a temporary XDG_DATA_HOME."""
    data = tmp_path / "xdg-data"
    data.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data / "Trash"


@pytest.fixture
def two_copies(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "music"
    original = make_track(root / "Dawn" / "01 Intro.flac", "flac", INTRO)
    copy = root / "Copies" / "01 Intro.flac"
    copy.parent.mkdir()
    shutil.copy2(original, copy)
    return original, copy


def test_move_to_trash_trashes_the_copy_and_keeps_the_other(
    desk: Desk,
    db: Database,
    settings: Settings,
    qtbot: QtBot,
    trash: Path,
    two_copies: tuple[Path, Path],
) -> None:
    original, copy = two_copies
    original_id, copy_id = processed(db, settings, original.parents[1], original, copy)
    work = TrackWork(db, settings)
    desk.actions.trashRequested.connect(work.trash)

    trigger(desk.menu(copy_id), "Move to Trash…")
    box = confirmation(desk.actions)
    assert box.text() == "Move 1 duplicate to the trash?"
    with qtbot.waitSignal(work.finished) as finished:
        click(qtbot, box, "Move to Trash")

    assert finished.args == ["Moved 1 duplicate to the trash"]
    assert not copy.exists()
    assert (trash / "files" / copy.name).read_bytes() == original.read_bytes()
    assert track_ids(db) == {original_id: (str(original), False)}

    with qtbot.waitSignal(work.failed) as failed:
        work.trash([original_id])  # asked for on what the menu showed before
    assert failed.args == [
        "Kept 'Intro': no other present file has its exact bytes (a copy with other tags is "
        "another file)"
    ]
    assert original.exists()


def test_move_to_trash_never_trashes_the_last_copy(
    db: Database,
    settings: Settings,
    qtbot: QtBot,
    trash: Path,
    two_copies: tuple[Path, Path],
) -> None:
    original, copy = two_copies
    original_id, copy_id = processed(db, settings, original.parents[1], original, copy)
    original.unlink()  # the other copy is gone; no scan has noticed yet
    work = TrackWork(db, settings)

    with qtbot.waitSignal(work.failed) as failed:
        work.trash([copy_id])

    assert failed.args == [
        "Kept 'Intro': no other copy of its content is there any more: it is the last one"
    ]
    assert copy.exists()
    assert not (trash / "files").exists()
    assert set(track_ids(db)) == {original_id, copy_id}


def test_a_symlink_is_not_another_copy(
    db: Database, settings: Settings, qtbot: QtBot, trash: Path, tmp_path: Path
) -> None:
    original = make_track(tmp_path / "music" / "Dawn" / "01 Intro.flac", "flac", INTRO)
    link = tmp_path / "music" / "Links" / "01 Intro.flac"
    link.parent.mkdir()
    link.symlink_to(original)
    original_id, link_id = processed(db, settings, tmp_path / "music", original, link)
    work = TrackWork(db, settings)

    refusals = []
    for track_id in (original_id, link_id):
        with qtbot.waitSignal(work.failed) as failed:
            work.trash([track_id])
        refusals.extend(failed.args)

    assert refusals == [
        "Kept 'Intro': no other copy of its content is there any more: it is the last one",
        "Kept 'Intro': its file is a symbolic link, not a regular file",
    ]
    assert original.read_bytes() == link.read_bytes()


def test_move_to_trash_only_takes_files_from_library_folders(
    db: Database,
    settings: Settings,
    qtbot: QtBot,
    trash: Path,
    two_copies: tuple[Path, Path],
) -> None:
    original, copy = two_copies
    run_batch(db, settings, scan(db, [original.parents[1]]).to_process)  # not followed
    work = TrackWork(db, settings)
    by_path = {path: track_id for track_id, (path, _) in track_ids(db).items()}

    with qtbot.waitSignal(work.failed) as failed:
        work.trash([by_path[str(copy)]])

    assert failed.args == ["Kept 'Intro': its file is not in a library folder"]
    assert copy.exists()


# -- the detail pane ---------------------------------------------------------------


def click_button(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def buttons(pane: DetailPane) -> list[str]:
    return [
        button.text()
        for button in (
            pane.open_button,
            pane.folder_button,
            pane.locate_button,
            pane.forget_button,
            pane.trash_button,
        )
        if button.isVisibleTo(pane)
    ]


def test_the_detail_pane_offers_the_same_actions(
    desk: Desk,
    db: Database,
    settings: Settings,
    qtbot: QtBot,
    two_copies: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    original, copy = two_copies
    [copy_id] = processed(db, settings, original.parents[1], copy)
    gone = make_track(tmp_path / "music" / "Gone" / "02 Outro.flac", "flac", OUTRO)
    [gone_id] = processed(db, settings, tmp_path / "music", gone)
    gone.unlink()
    scan(db, [tmp_path / "music"])
    pane = DetailPane(db, settings.thumbnail_dir)
    qtbot.addWidget(pane)
    pane.set_actions(desk.actions)
    pane.show()
    assert buttons(pane) == []

    pane.show_track(copy_id)
    qtbot.waitUntil(lambda: pane.title.text() == "Intro")
    assert buttons(pane) == ["Open", "Open Containing Folder", "Move to Trash…"]
    click_button(qtbot, pane.open_button)
    assert desk.opened == [QUrl.fromLocalFile(str(copy))]
    click_button(qtbot, pane.trash_button)
    assert confirmation(desk.actions).text() == "Move 1 duplicate to the trash?"
    click(qtbot, confirmation(desk.actions), "Cancel")

    pane.show_track(gone_id)
    qtbot.waitUntil(lambda: pane.title.text() == "Outro")
    assert buttons(pane) == ["Locate…", "Forget…"]
    click_button(qtbot, pane.forget_button)
    assert confirmation(desk.actions).text() == "Forget 1 missing track?"
    click(qtbot, confirmation(desk.actions), "Cancel")
    click_button(qtbot, pane.locate_button)
    assert isinstance(desk.actions.dialog, QFileDialog)

    pane.show_track(None)
    assert pane.title.text() == "Select a track to see its details."
    assert buttons(pane) == []
