"""The library watcher: a QObject living in its own QThread with its own
database connection. It loads every row once, in parts, then asks a few times
a second whether anything was committed (library/rows.py, ChangeFollower) and
sends on just the rows that changed and the ids of rows deleted. A database
that stops answering is said once, and followed again when it answers.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from mus_desktop.gui.table.fields import Column
from mus_desktop.gui.table.keys import orders_of
from mus_desktop.gui.table.model import Prepared
from mus_desktop.gui.table.search import folded_names
from mus_desktop.library.engine import Database
from mus_desktop.library.rows import ChangeFollower, TrackRow
from mus_desktop.terminal import one_line

POLL_INTERVAL_MS = 250
RETRY_LOAD_MS = 2000
"""How soon the first load is tried again after it failed (a database server down)."""
ORDERED_AT_LOAD = (Column.TITLE, Column.ARTIST, Column.ALBUM, Column.DURATION, Column.PATH)
"""The columns whose order the first load works out before it ends: those with
keys costly to work out or many to compare, so that their first sort of a
million rows is the order applied (~0.1 s), not worked out on the GUI thread
(0.7-3 s each). At a million rows this takes ~9 s of this thread while the rows
already show, and keeps 8 MB a column; the other columns sort in ~0.5 s."""


class LibraryWatcher(QObject):
    loaded_part = Signal(object)
    """list[TrackRow]: a part of every row, at start (a million rows take ~6 s to read)."""
    loaded = Signal(object, object)
    """(list[TrackRow], model.Prepared): the last part (a library of one part comes
    whole, so it shows filtered and sorted at once), and what was worked out
    from every row read for the model to keep (the orders of ORDERED_AT_LOAD)."""
    changed = Signal(object)
    """rows.Changes: rows inserted or updated, and ids deleted, since the last signal."""
    failed = Signal(str)
    recovered = Signal()
    """The library can be read again after a failure."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self._db = db
        self._follower: ChangeFollower | None = None
        self._timer: QTimer | None = None
        self._failing = False
        self._stopped = False
        self._stopping = threading.Event()
        """Set from the GUI thread (`cancel`): the orders worked out after the load
        stop there, so that closing the window does not wait for them."""

    @Slot()
    def start(self) -> None:
        """Runs in the watcher thread: the first load, then the polling timer. A
        first load that fails (a database server not answering yet) is said once
        and tried again every RETRY_LOAD_MS."""
        try:
            self._db.ensure_ready()
            self._follower = ChangeFollower(self._db)
            held: list[TrackRow] = []
            every: list[TrackRow] = []
            for part in self._follower.load_parts():
                if held:
                    self.loaded_part.emit(held)
                held = part
                every += part
        except Exception as exc:  # the database's own words go to the status bar
            if self._follower is not None:
                self._follower.close()
                self._follower = None
            self._say_failed(exc, "")
            if not self._stopped:
                QTimer.singleShot(RETRY_LOAD_MS, self, self.start)
            return
        self._say_answered()
        orders = orders_of(every, ORDERED_AT_LOAD, self._stopping.is_set)
        self.loaded.emit(held, Prepared(len(every), orders, folded_names(every)))
        del every
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    @Slot()
    def _poll(self) -> None:
        if self._follower is None:
            return
        try:
            changes = self._follower.poll()
        except Exception as exc:  # a locked file, a server gone: say so once, keep polling
            self._say_failed(exc, ": showing what was read; following it again once it answers")
            return
        self._say_answered()
        if changes.rows or changes.removed:
            self.changed.emit(changes)

    def _say_failed(self, exc: BaseException, then: str) -> None:
        """`failed`, once until the library can be read again."""
        if not self._failing:
            self._failing = True
            cause = getattr(exc, "orig", None) or exc  # not SQLAlchemy's statement and link
            self.failed.emit(f"Cannot read the library ({one_line(cause)}){then}")

    def _say_answered(self) -> None:
        if self._failing:
            self._failing = False
            self.recovered.emit()

    def cancel(self) -> None:
        """From any thread: work out no more orders (see `_stopping`)."""
        self._stopping.set()

    @Slot()
    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.stop()
        if self._follower is not None:
            self._follower.close()
            self._follower = None


class WatcherThread:
    """Owns the thread and the watcher in it; `start()` then `stop()`."""

    def __init__(self, db: Database) -> None:
        self.thread = QThread()
        self.thread.setObjectName("mus-library-watcher")
        self.watcher = LibraryWatcher(db)
        self.watcher.moveToThread(self.thread)
        self.thread.started.connect(self.watcher.start)
        self.thread.finished.connect(self.watcher.stop)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.watcher.cancel()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()
