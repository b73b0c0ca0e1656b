"""Live changes reach the table a slice at a time, each in its own turn of the
event loop, so that the window answers while workers write."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from mus_desktop.gui.change_pacer import ChangePacer, split_off
from mus_desktop.library.rows import Changes, TrackRow


def _rows(first: int, count: int) -> list[TrackRow]:
    return [
        TrackRow(n, "COMPLETE", f"T{n}", "A", "B", None, None, "FLAC", f"/m/{n}.flac",
                 "", None, None, "", None)
        for n in range(first, first + count)
    ]  # fmt: skip


def test_a_batch_splits_removed_ids_first_and_a_small_one_stays_whole() -> None:
    rows, removed = _rows(1, 250), list(range(1000, 1100))
    piece, rest = split_off(Changes(rows, removed), 200)
    assert (piece.removed, piece.rows) == (removed, rows[:100])
    assert rest == Changes(rows[100:], [])
    merged = Changes(_rows(7, 1), [8])  # a merge: a row deleted, the one it joined changed
    assert split_off(merged, 200) == (merged, None)


def test_slices_come_in_order_between_other_events_and_follow_their_cost(qtbot) -> None:
    applied: list[Changes] = []
    drained: list[int] = []
    ticks: list[int] = []

    def apply(piece: Changes) -> None:  # 0.2 ms a row: a slice of 200 takes 40 ms
        applied.append(piece)
        time.sleep(0.0002 * (len(piece.rows) + len(piece.removed)))

    pacer = ChangePacer(apply, lambda: drained.append(len(applied)))
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    heartbeat.timeout.connect(lambda: ticks.append(len(applied)))
    heartbeat.start()
    first, second = _rows(1, 450), _rows(1, 450)[::-1]
    pacer.take(Changes(first, []))
    pacer.take(Changes(second, []))
    assert applied == []  # not on the feed's turn: on the turns after
    qtbot.waitUntil(lambda: bool(drained), timeout=10000)
    heartbeat.stop()
    assert [row for s in applied for row in s.rows] == first + second  # the later batch last
    assert drained == [len(applied)]
    sizes = [len(s.rows) for s in applied]
    assert sizes[0] == 200 and max(sizes[1:]) <= 80  # shrunk to what 15 ms takes: ~75 rows
    assert len(set(ticks)) > len(applied) // 2  # the heartbeat ran between slices
