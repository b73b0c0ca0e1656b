"""Another process commits status changes; the window follows and stays responsive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from mus_desktop.config import Settings
from mus_desktop.gui.status import Kind
from mus_desktop.gui.table.model import Column
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track

ROOT = Path(__file__).resolve().parents[2]


def test_window_follows_another_process(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    with db.write() as session:
        session.add_all(Track(path=f"/music/t{n:03d}.flac") for n in range(1, 201))
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 200)
    assert window.model.counts().by_kind[Kind.PENDING] == 200
    window.table.sortByColumn(Column.PATH, Qt.SortOrder.AscendingOrder)

    ticks = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start()

    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.status_writer", str(offline_settings.database)],
        cwd=ROOT,
    )
    try:

        def finished() -> bool:
            counts = window.model.counts().by_kind
            return counts.get(Kind.COMPLETE) == 195 and counts.get(Kind.ERROR) == 5

        qtbot.waitUntil(finished, timeout=60000)
        assert writer.wait(timeout=30) == 0
    finally:
        writer.kill()
        heartbeat.stop()

    # The GUI thread kept running its timers while rows streamed in.
    assert len(ticks) > 10
    assert window.counts_label.text() == "200 tracks · 195 complete · 5 errors"
    assert window.progress.isHidden()
    error_row = window.model.position_of(40)
    assert error_row is not None
    index = window.model.index(error_row, Column.TITLE)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "art: no luck for track 40"
    assert window.model.index(error_row, Column.STATUS).data() == "Error: art: no luck for track 40"


def test_live_changes_repaint_only_rows_on_screen(
    qtbot, window_factory, offline_settings: Settings, db: Database
) -> None:
    """A change to a row scrolled out of sight asks for no repaint; one on screen
    does, and a row scrolled to shows its new state."""
    with db.write() as session:
        session.add_all(Track(path=f"/music/t{n:04d}.flac") for n in range(1, 501))
    window = window_factory(offline_settings, db)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 500)
    window.table.sortByColumn(Column.PATH, Qt.SortOrder.AscendingOrder)
    first, last = window._rows_on_screen()
    assert first == 0 and 0 < last < 499
    repainted: list[tuple[int, int]] = []
    window.model.dataChanged.connect(lambda a, b, _roles=(): repainted.append((a.row(), b.row())))

    with db.write() as session:
        session.get(Track, 500).processing_status = "COMPLETE"  # the last row: off screen
    qtbot.waitUntil(lambda: window.model.counts().by_kind.get(Kind.COMPLETE) == 1)
    assert repainted == []
    with db.write() as session:
        session.get(Track, 1).processing_status = "COMPLETE"  # the first row: on screen
    qtbot.waitUntil(lambda: window.model.counts().by_kind.get(Kind.COMPLETE) == 2)
    qtbot.waitUntil(lambda: repainted == [(0, 0)])
    window.table.scrollToBottom()
    bottom = window.model.index(499, Column.STATUS)
    assert bottom.data() == "Complete"
