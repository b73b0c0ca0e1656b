"""Live changes taken a slice at a time, so that the window answers while workers write.

Two workers committing a batch every ~25 ms each bring the window ~900 changed
rows a poll. At a million rows the table and the sidebar take ~45 µs a row
when every row is shown, and far more when rows move in and out of a filter
(each one shifts the shown ids), so one poll taken at once held the GUI
thread 45-300 ms (tools/gui_bench.py's stall). Taken a slice per turn of the
event loop, each slice sized to take about SLICE_MS, clicks, keys and repaints
get in between; the work is the same.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from mus_desktop.library.rows import Changes

SLICE_MS = 15.0
"""What a slice should take: with a repaint of the table (~25 ms at a million
rows) a turn of the event loop stays under 50 ms."""
FIRST_SLICE = 200
"""Rows (or removed ids) in a first slice: ~10 ms when every row is shown."""
SLICE_LIMITS = (20, 500)
"""The fewest and most rows a slice takes, whatever the last one took; a slice
takes at most twice as many as the one before (the next rows may cost more)."""


def split_off(changes: Changes, size: int) -> tuple[Changes, Changes | None]:
    """The first `size` of `changes`' removed ids and rows together (the removed
    ids first, as `TrackTableModel.apply_changes` takes them), and the rest
    (None when nothing is left). A batch of up to `size` stays whole, so that
    a row a merge deletes and the row it merged into change at once."""
    gone = changes.removed[:size]
    came = changes.rows[: size - len(gone)]
    rest = Changes(changes.rows[len(came) :], changes.removed[len(gone) :])
    return Changes(came, gone), (rest if rest.rows or rest.removed else None)


class ChangePacer(QObject):
    """Hands the change feed's batches on, one slice per turn of the event loop."""

    def __init__(
        self,
        apply: Callable[[Changes], None],
        drained: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._apply = apply
        self._drained = drained
        self._waiting: deque[Changes] = deque()
        self._size = FIRST_SLICE
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next)

    def take(self, changes: Changes) -> None:
        """Queue a batch: its slices are applied in order, after those already queued."""
        if changes.rows or changes.removed:
            self._waiting.append(changes)
        if self._waiting and not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        """Drop what is queued (the window is closing)."""
        self._timer.stop()
        self._waiting.clear()

    def _next(self) -> None:
        if not self._waiting:
            return
        piece, rest = split_off(self._waiting.popleft(), self._size)
        if rest is not None:
            self._waiting.appendleft(rest)
        started = time.perf_counter()
        self._apply(piece)
        took_ms = max((time.perf_counter() - started) * 1000, 0.1)
        taken = len(piece.rows) + len(piece.removed)
        low, high = SLICE_LIMITS
        self._size = max(low, min(high, 2 * taken, int(taken * SLICE_MS / took_ms)))
        if self._waiting:
            self._timer.start()
        else:
            self._drained()
