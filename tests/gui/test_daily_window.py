"""The window as a daily tool, through its real widgets on a real library (the
broker does not answer here; tests/gui/test_end_to_end.py has real workers)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontMetrics
from PySide6.QtWidgets import QStyle

from mus_desktop.config import Settings
from mus_desktop.gui.browse.index import Scope
from mus_desktop.gui.status import StatusFilter
from mus_desktop.gui.table.model import Column
from mus_desktop.gui.window import HINT_PAGE, TABLE_PAGE, MainWindow
from mus_desktop.library.engine import Database
from tests.gui.helpers import add_track, mixed_library, set_status
from tools.audiogen import make_library


def _open(qtbot, window_factory, settings: Settings, db: Database, rows: int) -> MainWindow:
    window = window_factory(settings, db)
    window.resize(1280, 760)
    window.show()
    qtbot.waitUntil(lambda: window.model.counts().total == rows)
    return window


def _set_filter(window: MainWindow, status_filter: StatusFilter) -> None:
    window.filter_box.setCurrentIndex(window.filter_box.findData(status_filter))


def test_selection_follows_the_tracks_through_filters_and_search(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    ids = mixed_library(db)
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    window.selection.select_ids([ids["error"], ids["complete"]], ids["error"])
    qtbot.waitUntil(lambda: window.detail.title.text() == "broken.mp3")

    _set_filter(window, StatusFilter.COMPLETE)
    assert window.selection.selected_ids() == [ids["complete"]]
    # The current track is hidden: the pane shows nothing, Retry is off everywhere.
    qtbot.waitUntil(lambda: window.detail.track_id is None)
    assert not window.retry_action.isEnabled()

    _set_filter(window, StatusFilter.ALL)  # the hidden track comes back selected
    assert sorted(window.selection.selected_ids()) == sorted([ids["error"], ids["complete"]])
    qtbot.waitUntil(lambda: window.detail.title.text() == "broken.mp3")
    assert window.retry_action.isEnabled()

    window.search.setText("intro")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    assert window.selection.selected_ids() == [ids["complete"]]
    window.table.sortByColumn(Column.PATH, Qt.SortOrder.DescendingOrder)
    assert window.selection.selected_ids() == [ids["complete"]]


def test_a_live_change_keeps_the_selected_track_in_view(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    """Under Errors, a selected track that a worker retries stays listed (and shown in
    the pane) until the person changes the filter; how it ended is said."""
    ids = mixed_library(db)
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    _set_filter(window, StatusFilter.ERRORS)
    assert window.select_track(ids["error"])
    qtbot.waitUntil(lambda: window.detail.track_id == ids["error"])
    messages: list[str] = []
    window.messageShown.connect(messages.append)

    window.retry_selected()  # the broker is down: marked for retry, PENDING
    qtbot.waitUntil(lambda: window.model.index(0, Column.STATUS).data() == "Pending")
    assert window.selection.selected_ids() == [ids["error"]]
    set_status(db, ids["error"], "COMPLETE")  # as a worker would
    qtbot.waitUntil(lambda: window.model.index(0, Column.STATUS).data() == "Complete")
    assert window.selection.selected_ids() == [ids["error"]]
    assert window.detail.track_id == ids["error"]
    qtbot.waitUntil(lambda: "broken.mp3: complete" in messages)

    _set_filter(window, StatusFilter.MISSING)
    _set_filter(window, StatusFilter.ERRORS)
    assert window.model.rowCount() == 0


def test_the_error_is_readable_at_1280_by_760(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    ids = mixed_library(db)
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    position = window.model.position_of(ids["error"])
    index = window.model.index(position, Column.STATUS)
    rect = window.table.visualRect(index)
    viewport = window.table.viewport().rect()
    assert viewport.contains(rect.topLeft())
    assert rect.width() >= 180
    assert index.data().startswith("Error: metadata: not an audio file")
    path = window.table.visualRect(window.model.index(position, Column.PATH))
    assert viewport.contains(path.topLeft()) and path.width() >= 100


def test_duplicate_copies_are_adjacent_and_tell_apart(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    home = "/home/someone/Music/Library/Archive/2019"
    first = add_track(db, f"{home}/Aurora/Silent Garden.m4a", content_hash="x", title="Silent")
    add_track(db, f"{home}/Zed/Other.m4a", content_hash="y", title="Other")
    second = add_track(db, f"{home}/Backup/Silent Garden.m4a", content_hash="x", title="Silent")
    add_track(db, f"{home}/Zed/Other copy.m4a", content_hash="y", title="Other")
    window = _open(qtbot, window_factory, offline_settings, db, 4)
    window.show_duplicates_of(second)
    assert window.selection.selected_ids() == [second]
    positions = sorted([window.model.position_of(first), window.model.position_of(second)])
    assert positions[1] - positions[0] == 1

    width = window.table.horizontalHeader().sectionSize(Column.PATH)
    margin = 2 * (window.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
    metrics = QFontMetrics(window.table.font())
    shown = {
        metrics.elidedText(window.model.index(p, Column.PATH).data(), Qt.TextElideMode.ElideLeft,
                           width - margin)
        for p in positions
    }  # fmt: skip
    assert len(shown) == 2, shown  # the folders that differ stay visible


def test_the_sidebar_scopes_the_table(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    for number in (2, 1, 3):
        add_track(db, f"/m/Ann/Lp/{number}.flac", title=f"Song {number}", artist="Ann",
                  album="Lp", track_number=number)  # fmt: skip
    add_track(db, "/m/Bob/x.flac", title="Else", artist="Bob", album="Ep")
    window = _open(qtbot, window_factory, offline_settings, db, 4)
    window.sidebar.select_scope(Scope("Ann", "Lp"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    titles = [window.model.index(r, Column.TITLE).data() for r in range(3)]
    assert titles == ["Song 1", "Song 2", "Song 3"]
    assert window.counts_label.text().startswith("3 of 4 shown")
    window.sidebar.select_scope(None)
    assert window.model.rowCount() == 4


def test_an_empty_library_shows_how_to_fill_it(
    qtbot, window_factory, offline_settings: Settings, db: Database, tmp_path: Path
) -> None:
    window = window_factory(offline_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.pages.currentIndex() == HINT_PAGE)
    assert window.empty_hint.import_button.isVisible()

    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    drop = QMimeData()
    drop.setUrls([QUrl.fromLocalFile(str(library.root))])
    buttons = (Qt.DropAction.CopyAction, drop, Qt.MouseButton.LeftButton,
               Qt.KeyboardModifier.NoModifier)  # fmt: skip
    # Delivered by hand: outside a real drag, QApplication drops drop events.
    enter = QDragEnterEvent(QPoint(50, 50), *buttons)
    window.event(enter)
    assert enter.isAccepted()
    window.event(QDropEvent(QPointF(50, 50), *buttons))
    qtbot.waitUntil(lambda: window.model.counts().total == 2, timeout=30000)
    assert window.pages.currentIndex() == TABLE_PAGE


def test_columns_from_the_view_menu_and_keys(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    mixed_library(db)
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    header = window.table.horizontalHeader()
    assert header.isSectionHidden(Column.ERROR) and not header.isSectionHidden(Column.PATH)
    window.columns_menu.aboutToShow.emit()
    by_text = {action.text(): action for action in window.columns_menu.actions()}
    by_text["Path"].setChecked(False)
    by_text["Error"].setChecked(True)
    header.moveSection(header.visualIndex(Column.ERROR), 1)
    window.close()

    again = _open(qtbot, window_factory, offline_settings, db, 5)
    header = again.table.horizontalHeader()
    assert header.isSectionHidden(Column.PATH) and not header.isSectionHidden(Column.ERROR)
    assert header.visualIndex(Column.ERROR) == 1

    again.activateWindow()
    again.table.setFocus()
    qtbot.keyClick(again.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert again.search.hasFocus()
    qtbot.keyClicks(again.search, "zebra")
    qtbot.waitUntil(lambda: again.model.rowCount() == 1)
    qtbot.keyClick(again.search, Qt.Key.Key_Escape)
    assert again.search.text() == ""
    qtbot.waitUntil(lambda: again.model.rowCount() == 5)

    again.table.setFocus()
    qtbot.keyClick(again.table, Qt.Key.Key_Tab)
    assert not again.table.hasFocus()  # Tab leaves the table


def test_context_menu_opens_on_the_clicked_row(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    ids = mixed_library(db)
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    position = window.model.position_of(ids["error"])
    point = window.table.visualRect(window.model.index(position, Column.TITLE)).center()
    window.table.customContextMenuRequested.emit(point)
    menu = window.context_menu
    qtbot.waitUntil(menu.isVisible)
    assert window.selection.selected_ids() == [ids["error"]]
    retry = next(a for a in menu.actions() if a.text().startswith("Retry"))
    assert retry.isEnabled()
    menu.close()


def test_context_menu_on_a_whole_selection_acts_on_every_row(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    """The menu's actions are worked out from the model's sets (no row read until an
    action runs): what is enabled, and Copy Path, must still be right."""
    from datetime import datetime

    from PySide6.QtGui import QGuiApplication

    from tests.gui.helpers import mark_missing

    ids = mixed_library(db)
    mark_missing(db, ids["pending"], datetime(2024, 1, 2, 3, 4))
    window = _open(qtbot, window_factory, offline_settings, db, 5)
    window.table.selectAll()
    point = window.table.visualRect(window.model.index(0, Column.TITLE)).center()
    window.table.customContextMenuRequested.emit(point)
    menu = window.context_menu
    enabled = {a.text(): a.isEnabled() for a in menu.actions() if a.text()}
    assert enabled == {
        "Retry": True,
        "Open": False,
        "Open Containing Folder": False,
        "Copy Path": True,
        "Show Duplicates": True,
        "Locate…": False,
        "Forget…": True,
        "Move to Trash…": True,
    }
    next(a for a in menu.actions() if a.text() == "Copy Path").trigger()
    copied = QGuiApplication.clipboard().text().splitlines()
    assert sorted(copied) == sorted(
        window.model.index(r, Column.PATH).data() for r in range(window.model.rowCount())
    )
    menu.close()


def test_help_about_names_the_library_and_the_broker(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    from PySide6.QtWidgets import QMenu, QMessageBox

    window = _open(qtbot, window_factory, offline_settings, db, 0)
    qtbot.waitUntil(lambda: "unreachable" in window.broker_label.text(), timeout=10000)
    menus = {menu.title(): menu for menu in window.menuBar().findChildren(QMenu)}
    next(a for a in menus["&Help"].actions() if a.text() == "About mus").trigger()
    box = next(b for b in window.findChildren(QMessageBox) if b.windowTitle() == "About mus")
    assert box.isVisible()
    assert f"Library: {offline_settings.database_label}" in box.text()
    assert "Broker: broker unreachable" in box.text()


def test_the_detail_pane_names_the_same_recording_and_why_a_track_was_not_merged(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    from datetime import datetime

    from tests.gui.helpers import mark_missing

    first = add_track(db, "/m/a/Song.flac", title="Song", content_hash="c1", audio_hash="a1")
    add_track(db, "/m/b/Song (tagged).flac", title="Song", content_hash="c2", audio_hash="a1")
    lost = [
        add_track(db, f"/m/old/{n}.flac", title="Old", content_hash=f"o{n}", audio_hash="a9")
        for n in (1, 2)
    ]
    for track_id in lost:
        mark_missing(db, track_id, datetime(2024, 1, 1))
    new = add_track(db, "/m/new/Song.flac", title="New", content_hash="c9", audio_hash="a9")
    window = _open(qtbot, window_factory, offline_settings, db, 5)

    window.select_track(first)
    qtbot.waitUntil(lambda: window.detail.recordings.isVisible())
    assert window.detail.recordings.text() == "#2: /m/b/Song (tagged).flac"
    assert not window.detail.duplicates.isVisible()

    window.select_track(new)
    qtbot.waitUntil(lambda: window.detail.identity_note.isVisible())
    assert window.detail.identity_note.text().startswith(
        f"Same recording as 2 missing tracks (#{lost[0]}, #{lost[1]}): not merged"
    )
