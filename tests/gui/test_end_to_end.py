"""The window with a real broker and real workers: import, errors, retry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mus_desktop.config import Settings
from mus_desktop.gui.status import Kind
from mus_desktop.gui.table.model import Column
from mus_desktop.gui.window import MainWindow
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.paths import display_path
from tests.gui.helpers import shown
from tools.audiogen import Tags, make_library, make_track

pytestmark = pytest.mark.slow


@pytest.fixture
def window(qtbot, window_factory, broker_settings: Settings, db: Database) -> MainWindow:
    window = window_factory(broker_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.broker_label.text().startswith("2 workers"), timeout=60000)
    return window


def _row_of(window: MainWindow, path: str) -> int:
    shown = display_path(path)
    for row in range(window.model.rowCount()):
        if window.model.index(row, Column.PATH).data() == shown:
            return row
    raise AssertionError(f"{path} is not shown")


def _error_of(window: MainWindow, track_id: int) -> str | None:
    """A row's error message, as its tooltip shows it whole."""
    return shown(window.model, track_id, Column.TITLE, Qt.ItemDataRole.ToolTipRole)


def _all_final(window: MainWindow, expected: int) -> bool:
    counts = window.model.counts()
    return counts.total == expected and counts.outstanding == 0


def test_import_retry_and_errors_through_the_window(
    qtbot, window: MainWindow, db: Database, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=2, tracks_per_album=3, broken=True)
    window.import_folder(str(library.root))
    total = len(library.entries)
    qtbot.waitUntil(lambda: window.model.rowCount() == total, timeout=60000)
    qtbot.waitUntil(lambda: _all_final(window, total), timeout=180000)

    error_colour = None
    for entry in library.entries:
        row = _row_of(window, entry.path)
        status = window.model.index(row, Column.STATUS).data()
        if entry.expect == "COMPLETE":
            assert status == "Complete", entry.note
        else:
            assert status.startswith(f"Error: {entry.error_stage}: "), entry.note
        if entry.expect == "ERROR":
            tooltip = window.model.index(row, Column.TITLE).data(Qt.ItemDataRole.ToolTipRole)
            assert tooltip.startswith(f"{entry.error_stage}: ")
            colour = window.model.index(row, Column.TITLE).data(Qt.ItemDataRole.BackgroundRole)
            error_colour = error_colour or colour.color().name()
            assert colour.color().name() == error_colour
    assert window.counts_label.text().startswith(f"{total} tracks")
    assert not window.progress.isVisible()

    # A broken file, fixed on disk, then retried from the detail pane.
    fixed = next(e for e in library.broken() if e.path.endswith("truncated.flac"))
    with db.read() as session:
        track_id = session.query(Track.id).filter(Track.path == fixed.path).scalar()
    window.select_track(track_id)
    qtbot.waitUntil(lambda: window.detail.error.text().startswith("metadata: "))
    assert window.detail.error.text() == _error_of(window, track_id)
    mended = Tags("Mended", "Fixer", "Repairs", "Fixer", 1, 1, 1, 2024, "Rock")
    make_track(Path(fixed.path), "flac", mended)
    messages: list[str] = []
    window.messageShown.connect(messages.append)
    title = shown(window.model, track_id, Column.TITLE)
    qtbot.mouseClick(window.detail.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: shown(window.model, track_id, Column.STATUS) == "Complete", timeout=60000
    )
    qtbot.waitUntil(lambda: window.detail.title.text() == "Mended")
    assert not window.detail.error_box.isVisible()
    qtbot.waitUntil(lambda: f"{title}: complete" in messages)
    assert window.selection.selected_ids() == [track_id]  # the selection stayed on it

    # A broken file deleted, then retried with the toolbar: it ends in error again.
    gone = next(e for e in library.broken() if e.path.endswith("zero bytes.mp3"))
    os.unlink(gone.path)
    with db.read() as session:
        gone_id = session.query(Track.id).filter(Track.path == gone.path).scalar()
    window.select_track(gone_id)
    assert window.retry_action.isEnabled()
    window.retry_action.trigger()
    # Pending and back to error may pass between two polls: wait for the new message.
    qtbot.waitUntil(lambda: "not found" in (_error_of(window, gone_id) or ""), timeout=60000)
    # The folder watcher's first full scan of the folder just imported may notice the
    # deletion too, before or after the retry: then the row says Missing, as it should.
    status = shown(window.model, gone_id, Column.STATUS)
    assert status.startswith("Error: metadata: ") or status == "Missing", status
    qtbot.waitUntil(lambda: "not found" in window.detail.error.text())
    gone_title = shown(window.model, gone_id, Column.TITLE)
    qtbot.waitUntil(
        lambda: any(m.startswith(f"{gone_title} failed again: metadata: ") for m in messages)
    )


def test_importing_a_file_or_a_missing_folder_shows_the_problems(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not music")
    window.import_folder(str(notes))
    qtbot.waitUntil(lambda: len(window.message_boxes) == 1, timeout=30000)
    box = window.message_boxes[0]
    assert box.isVisible() and not box.isModal()
    assert "not a folder or an audio file" in box.informativeText()

    window.import_folder(str(tmp_path / "no such folder"))
    qtbot.waitUntil(lambda: len(window.message_boxes) == 2, timeout=30000)
    assert "no such file or folder" in window.message_boxes[1].informativeText()
    assert window.model.counts().by_kind.get(Kind.ERROR, 0) == 0


def test_closing_during_an_import_leaves_no_track_stuck(
    qtbot, window_factory, broker_settings: Settings, db: Database, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=4, tracks_per_album=5)
    first = window_factory(broker_settings, db)
    qtbot.waitUntil(lambda: first.broker_label.text().startswith("2 workers"), timeout=60000)
    first.import_folder(str(library.root))
    qtbot.waitUntil(lambda: first.model.rowCount() > 0, timeout=60000)
    first.shutdown()  # workers get SIGTERM and finish their batch; the rest stays queued

    again = window_factory(broker_settings, db)
    total = len(library.entries)
    qtbot.waitUntil(lambda: _all_final(again, total), timeout=180000)
    assert again.model.counts().by_kind.get(Kind.COMPLETE) == total
