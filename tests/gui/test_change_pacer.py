"""Live changes reach the table a slice at a time, each in its own turn of the
event loop, so that the window answers while workers write."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from mus_desktop.gui.change_pacer import ChangePacer, in_slices
from mus_desktop.library.rows import Changes, TrackRow


def _rows(first: int, count: int) -> list[TrackRow]:
    return [
        TrackRow(n, "COMPLETE", f"T{n}", "A", "B", None, None, "FLAC", f"/m/{n}.flac",
                 "", None, None, "", None)
        for n in range(first, first + count)
    ]  # fmt: skip


def test_a_large_batch_is_sliced_and_a_small_one_stays_whole() -> None:
    rows, removed = _rows(1, 450), list(range(1000, 1100))
    slices = in_slices(Changes(rows, removed), size=200)
    assert [(len(s.rows), len(s.removed)) for s in slices] == [(100, 100), (200, 0), (150, 0)]
    assert [row for s in slices for row in s.rows] == rows
    assert [i for s in slices for i in s.removed] == removed
    merged = Changes(_rows(7, 1), [8])  # a merge: a row deleted, the one it joined changed
    assert in_slices(merged, size=200) == [merged]


def test_slices_come_in_order_between_other_events(qtbot) -> None:
    applied: list[Changes] = []
    drained: list[int] = []
    ticks: list[int] = []
    pacer = ChangePacer(applied.append, lambda: drained.append(len(applied)))
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: ticks.append(len(applied)))
    heartbeat.start()
    first, second = _rows(1, 450), _rows(1, 450)[::-1]
    pacer.take(Changes(first, []))
    pacer.take(Changes(second, []))
    assert applied == []  # not on the feed's turn: on the turns after
    qtbot.waitUntil(lambda: bool(drained))
    heartbeat.stop()
    assert [row for s in applied for row in s.rows] == first + second  # the later batch last
    assert drained == [len(applied)] == [6]
    assert len(set(ticks)) > 3  # the heartbeat ran between slices, not only after them
