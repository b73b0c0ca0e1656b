"""The main window on a real library, with a broker that does not answer."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from sqlalchemy import insert

from mus_desktop.config import Settings
from mus_desktop.gui.status import StatusFilter
from mus_desktop.gui.table.model import Column
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from tests.gui.helpers import add_track, mark_missing, mixed_library, set_status


def test_window_browses_the_library_when_the_broker_is_down(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    ids = mixed_library(db)
    window = window_factory(offline_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    qtbot.waitUntil(lambda: "broker unreachable" in window.broker_label.text(), timeout=10000)
    assert window.counts_label.text() == (
        "5 tracks · 2 complete · 1 pending · 1 in progress · 1 error · 2 duplicates"
    )
    assert window.progress.isVisible()
    assert window.retry_all_action.isEnabled()

    assert window.select_track(ids["error"])
    qtbot.waitUntil(lambda: window.detail.error.text().startswith("metadata: not an audio"))
    assert window.detail.error_box.isVisible()
    assert window.detail.retry_button.isEnabled()
    assert window.retry_action.isEnabled()

    assert window.select_track(ids["complete"])
    qtbot.waitUntil(lambda: window.detail.title.text() == "Intro")
    assert "/music/copy/01 Intro.flac" in window.detail.duplicates.text()
    assert window.detail.fields["Content hash"].text() == "h1"
    assert not window.detail.error_box.isVisible()
    assert not window.retry_action.isEnabled()


def test_retry_follows_the_errored_tracks_in_a_select_all(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    ids = mixed_library(db)
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)

    window.table.selectAll()
    assert window.retry_action.isEnabled()
    assert window.selected_errored_ids() == [ids["error"]]

    set_status(db, ids["error"], "COMPLETE")  # a worker retried it meanwhile
    qtbot.waitUntil(lambda: not window.retry_action.isEnabled())
    assert window.selected_errored_ids() == []


def test_painting_the_header_does_not_walk_a_large_selection(
    qtbot, window_factory, offline_settings: Settings, db: Database, monkeypatch
) -> None:
    with db.write() as session:
        session.execute(
            insert(Track),
            [{"path": f"/music/{n:04}.mp3", "processing_status": "COMPLETE"} for n in range(2000)],
        )
    window = window_factory(offline_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 2000)
    window.table.selectAll()

    asked = []
    row_count = window.model.rowCount
    monkeypatch.setattr(window.model, "rowCount", lambda *args: asked.append(1) or row_count())
    window.table.horizontalHeader().grab()  # paints every section

    assert len(asked) < 100  # through the table's own selection model: 18,010 times


def test_missing_track_detail_says_where_and_since_when(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    track = add_track(db, "/music/gone/song.flac", "COMPLETE", title="Gone")
    mark_missing(db, track, datetime(2024, 3, 2, 10, 30))
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.model.index(0, Column.STATUS).data() == "Missing"
    window.select_track(track)
    qtbot.waitUntil(lambda: window.detail.title.text() == "Gone")
    assert window.detail.fields["Last seen at"].text() == "/music/gone/song.flac"
    assert window.detail.fields["Missing since"].text() == "2024-03-02 10:30:00 UTC"


def test_filter_and_search_from_the_toolbar(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    mixed_library(db)
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    window.filter_box.setCurrentText(StatusFilter.ERRORS.value)
    assert window.model.rowCount() == 1
    window.filter_box.setCurrentText(StatusFilter.ALL.value)
    qtbot.keyClicks(window.search, "aurora")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    window.table.sortByColumn(Column.PATH, Qt.SortOrder.DescendingOrder)
    assert window.model.index(0, Column.PATH).data() == "/music/copy/01 Intro.flac"


def test_live_rows_and_state_survive_a_restart(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    mixed_library(db)
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    window.table.sortByColumn(Column.TITLE, Qt.SortOrder.DescendingOrder)
    window.table.horizontalHeader().resizeSection(Column.ARTIST, 231)
    add_track(db, "/music/Z/zz.flac", "PENDING", title="Zulu")
    qtbot.waitUntil(lambda: window.model.rowCount() == 6)
    assert window.model.index(0, Column.TITLE).data() == "Zulu"
    window.close()

    again = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: again.model.rowCount() == 6)
    header = again.table.horizontalHeader()
    assert header.sectionSize(Column.ARTIST) == 231
    assert header.sortIndicatorSection() == Column.TITLE
    assert again.model.index(0, Column.TITLE).data() == "Zulu"


def test_counts_stay_visible_beside_a_message_and_say_how_many_are_shown(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    """A message (an import, a retry) has a place of its own and never hides the counts;
    under a filter or a search the counts say how many of the tracks are listed."""
    mixed_library(db)
    window = window_factory(offline_settings, db)
    window.resize(1280, 760)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)

    window.import_folder("/nowhere/at/all")
    assert window.message_label.text() == "Importing /nowhere/at/all…"
    assert window.counts_label.isVisible()
    assert window.counts_label.text().startswith("5 tracks · 2 complete")

    window.filter_box.setCurrentIndex(window.filter_box.findData(StatusFilter.ERRORS.value))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.counts_label.text().startswith("1 of 5 shown · ")
    window.search.setText("Intro")
    window.filter_box.setCurrentIndex(window.filter_box.findData(StatusFilter.ALL.value))
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("2 of 5 shown"))
    window.search.clear()
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("5 tracks · "))
