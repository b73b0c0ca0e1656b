"""The window's status bar: the library's counts (always visible), messages in a
place of their own, the processing progress, the library folders' watch state
and the broker's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar

from mus_desktop.gui.services import BrokerState
from mus_desktop.gui.status import Kind
from mus_desktop.gui.table.model import Counts
from mus_desktop.gui.watch_status import watch_details, watch_summary
from mus_desktop.gui.words import plural

if TYPE_CHECKING:
    from mus_desktop.watching.watcher import FolderState


def counts_text(counts: Counts, shown: int | None = None) -> str:
    """The status bar's summary, e.g. '120 tracks · 100 complete · 3 errors', led by
    '12 of 120 shown' when a filter or search hides some (`shown` rows listed)."""
    parts = [plural(counts.total, "track")]
    if shown is not None and shown != counts.total:
        parts[0] = f"{shown:,} of {counts.total:,} shown"
    words = {
        Kind.COMPLETE: ("complete", "complete"),
        Kind.PENDING: ("pending", "pending"),
        Kind.IN_PROGRESS: ("in progress", "in progress"),
        Kind.ERROR: ("error", "errors"),
        Kind.MISSING: ("missing", "missing"),
    }
    for kind, (one, many) in words.items():
        value = counts.by_kind.get(kind, 0)
        if value:
            parts.append(plural(value, one, many))
    if counts.duplicates:
        parts.append(plural(counts.duplicates, "duplicate"))
    return " · ".join(parts)


def broker_text(state: BrokerState) -> str:
    """'2 workers on private broker · paused · 120 batches queued'."""
    text = state.text
    if state.paused:
        text += " · paused"
    if state.reachable and state.queued_jobs:
        text += f" · {plural(state.queued_jobs, 'batch', 'batches')} queued"
    return text


PROGRESS_EVERY_MS = 250


class WindowStatusBar(QObject):
    """Fills a QStatusBar; the window hands it what changed."""

    messageShown = Signal(str)
    """Each message, as it is shown ("" when one is cleared)."""

    def __init__(self, bar: QStatusBar, watch_setting: str) -> None:
        super().__init__(bar)
        self._watch_setting = watch_setting
        self._peak_outstanding = 0
        self._outstanding = 0
        self.counts_label = QLabel("Reading the library…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m processed")
        self.progress.hide()
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_EVERY_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        self.folders_label = QLabel(watch_summary(None, watch_setting))
        self.broker_label = QLabel("starting the broker…")
        # Messages in a place of their own: QStatusBar.showMessage would hide the counts.
        self.message_label = QLabel()
        self.message_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(lambda: self.show_message(""))
        bar.addWidget(self.counts_label)
        bar.addWidget(self.message_label, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.folders_label)
        bar.addPermanentWidget(self.broker_label)

    @Slot()
    def show_message(self, text: str, timeout_ms: int = 0) -> None:
        """A message beside the counts (never over them), cleared after `timeout_ms`."""
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self.messageShown.emit(text)
        if timeout_ms:
            self._message_timer.start(timeout_ms)
        else:
            self._message_timer.stop()

    def show_counts(self, counts: Counts, shown: int) -> None:
        """The counts, and the progress of the work outstanding since it last was none."""
        self.counts_label.setText(counts_text(counts, shown))
        outstanding = counts.outstanding
        if outstanding == 0:
            self._peak_outstanding = 0
            self.progress.hide()
            return
        self._peak_outstanding = max(self._peak_outstanding, outstanding)
        self._outstanding = outstanding
        if self.progress.isHidden():
            self._show_progress()
            self.progress.show()
        elif not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        """The bar's value, at most once every PROGRESS_EVERY_MS, painted with the
        rest of the window: QProgressBar.setValue repaints at once, and a repaint
        at once paints whatever else waits (the table: ~25 ms at a million rows),
        while live changes bring new counts many times a second."""
        if self._peak_outstanding:
            self.progress.setUpdatesEnabled(False)  # no repaint at once
            self.progress.setRange(0, self._peak_outstanding)
            self.progress.setValue(self._peak_outstanding - self._outstanding)
            self.progress.setUpdatesEnabled(True)  # an update, painted in its turn

    def show_broker(self, state: BrokerState) -> None:
        self.broker_label.setText(broker_text(state))
        self.broker_label.setToolTip(state.text)

    def show_folders(self, states: list[FolderState]) -> None:
        self.folders_label.setText(watch_summary(states, self._watch_setting))
        self.folders_label.setToolTip(watch_details(states))

    def show_not_watching(self, reason: str) -> None:
        self.folders_label.setText("not watching")
        self.folders_label.setToolTip(reason)
