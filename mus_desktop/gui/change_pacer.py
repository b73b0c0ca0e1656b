"""Live changes taken a slice at a time, so that the window answers while workers write.

Two workers committing a batch every ~25 ms each bring the window ~900 changed
rows a poll. At a million rows the table and the sidebar take ~45 µs a row, so
one poll taken at once held the GUI thread ~45-60 ms (tools/gui_bench.py's
stall). Taken in slices of SLICE_ROWS, one per turn of the event loop, clicks,
keys and repaints get in between; the work is the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from mus_desktop.library.rows import Changes

SLICE_ROWS = 200
"""Rows (or removed ids) a slice: ~10 ms of the GUI thread at a million rows."""


def in_slices(changes: Changes, size: int = SLICE_ROWS) -> list[Changes]:
    """`changes` as slices of at most `size` rows and removed ids together, in
    their order (the removed ids first, as `TrackTableModel.apply_changes` takes
    them): a batch of up to `size` stays whole, so that a row a merge deletes
    and the row it merged into change at once."""
    removed, rows = changes.removed, changes.rows
    slices: list[Changes] = []
    taken_removed = taken_rows = 0
    while taken_removed < len(removed) or taken_rows < len(rows):
        gone = removed[taken_removed : taken_removed + size]
        came = rows[taken_rows : taken_rows + size - len(gone)]
        slices.append(Changes(came, gone))
        taken_removed += len(gone)
        taken_rows += len(came)
    return slices


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
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._next)

    def take(self, changes: Changes) -> None:
        """Queue a batch: its slices are applied in order, after those already queued."""
        self._waiting.extend(in_slices(changes))
        if self._waiting and not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        """Drop what is queued (the window is closing)."""
        self._timer.stop()
        self._waiting.clear()

    def _next(self) -> None:
        if not self._waiting:
            return
        self._apply(self._waiting.popleft())
        if self._waiting:
            self._timer.start()
        else:
            self._drained()
