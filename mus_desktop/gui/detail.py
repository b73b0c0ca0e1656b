"""The detail pane: everything about the selected track, and the actions on it
(the same `TrackActions` as the table's context menu, given with `set_actions`).

Reading the track and decoding its cover happen on a QThreadPool thread
(QImage is safe there, QPixmap is not); the result comes back by a signal
tagged with a request number, so a slow answer for a track the user has
already left is dropped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QColor, QFont, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mus_desktop.gui.actions.menu import TrackActions
from mus_desktop.gui.status import Kind, action_icon, kind_for, stage_word, status_icon
from mus_desktop.gui.table.model import format_duration
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackDetail, TrackRow, track_detail

COVER_SIZE = 200

FIELDS = (
    "Missing since",
    "Last seen at",
    "Track",
    "Disc",
    "Year",
    "Genre",
    "Album artist",
    "Duration",
    "Format",
    "Bitrate",
    "Sample rate",
    "Channels",
    "Size",
    "Path",
    "Device / inode",
    "Content hash",
    "Added",
    "Updated",
)


class _Signals(QObject):
    ready = Signal(int, object, object)
    """(request number, TrackDetail | None, QImage | None)"""
    failed = Signal(int, str)


class _LoadDetail(QRunnable):
    def __init__(
        self, request: int, db: Database, track_id: int, thumbnails: Path, signals: _Signals
    ) -> None:
        super().__init__()
        self._request = request
        self._db = db
        self._track_id = track_id
        self._thumbnails = thumbnails
        self._signals = signals

    def run(self) -> None:
        try:
            detail = track_detail(self._db, self._track_id)
        except Exception as exc:  # a locked database: the pane says so
            self._signals.failed.emit(self._request, str(exc))
            return
        image = None
        if detail is not None and detail.track.artwork_hash:
            decoded = QImage(str(self._thumbnails / f"{detail.track.artwork_hash}.jpg"))
            if not decoded.isNull():
                image = decoded.scaled(
                    COVER_SIZE,
                    COVER_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
        self._signals.ready.emit(self._request, detail, image)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _size(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _grouped(digest: str | None) -> str:
    """A long hex digest in groups of 16, so that it can wrap in a narrow pane."""
    if not digest:
        return ""
    return " ".join(digest[start : start + 16] for start in range(0, len(digest), 16))


def status_text(detail: TrackDetail) -> str:
    """The status line: the word, the stage, and for a missing file what it was."""
    track = detail.track
    stage = stage_word(track.processing_status)
    if track.missing_since is not None:
        return f"Missing (was {stage.lower()})"
    if track.processing_status == ProcessingStatus.ERROR and track.failed_stage:
        return f"Error in the {track.failed_stage} stage"
    return stage


def field_values(detail: TrackDetail) -> dict[str, str]:
    """The pane's fields as text; empty strings are hidden."""
    track = detail.track
    inode = "" if track.inode is None else f"{track.device} / {track.inode}"
    return {
        "Track": "" if track.track_number is None else str(track.track_number),
        "Disc": "" if track.disc_number is None else str(track.disc_number),
        "Year": "" if track.year is None else str(track.year),
        "Genre": track.genre or "",
        "Album artist": track.album_artist or "",
        "Duration": format_duration(track.duration),
        "Format": track.format or "",
        "Bitrate": "" if track.bitrate is None else f"{round(track.bitrate / 1000)} kbit/s",
        "Sample rate": "" if track.sample_rate is None else f"{track.sample_rate} Hz",
        "Channels": "" if track.channels is None else str(track.channels),
        "Size": _size(track.size),
        "Path": "" if track.missing_since is not None else detail.path,
        "Device / inode": inode,
        "Content hash": _grouped(track.content_hash),
        "Added": _when(track.added_at),
        "Updated": _when(track.updated_at),
        "Missing since": _when(track.missing_since),
        "Last seen at": detail.path if track.missing_since is not None else "",
    }


def track_row(detail: TrackDetail) -> TrackRow:
    """The shown track as a table row, what `TrackActions` acts on."""
    track = detail.track
    return TrackRow(
        track.id,
        track.processing_status,
        track.title or Path(detail.path).name,
        track.artist or "",
        track.album or "",
        track.track_number,
        track.duration,
        track.format or "",
        detail.path,
        track.last_error_message or "",
        track.missing_since,
        track.content_hash,
        track.album_artist or "",
        track.disc_number,
    )


def _value_label() -> QLabel:
    label = QLabel()
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class DetailPane(QScrollArea):
    retryRequested = Signal(int)

    def __init__(self, db: Database, thumbnails: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._thumbnails = thumbnails
        self._request = 0
        self._track_id: int | None = None
        self._row: TrackRow | None = None
        """The shown track, once read; with `_duplicate`, what the action buttons act on."""
        self._duplicate = False
        self._actions: TrackActions | None = None
        self._signals = _Signals(self)
        self._signals.ready.connect(self._show)
        self._signals.failed.connect(self._show_failure)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(300)

        body = QWidget()
        layout = QVBoxLayout(body)
        self.cover = QLabel("No cover")
        self.cover.setFixedSize(COVER_SIZE, COVER_SIZE)
        self.cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cover.setFrameShape(QFrame.Shape.StyledPanel)
        layout.addWidget(self.cover, 0, Qt.AlignmentFlag.AlignHCenter)

        self.title = _value_label()
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.subtitle = _value_label()
        status_row = QHBoxLayout()
        self.status_icon = QLabel()
        self.status_word = QLabel()
        status_row.addWidget(self.status_icon)
        status_row.addWidget(self.status_word, 1)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(status_row)
        layout.addLayout(self._build_buttons())

        self.error_box = QFrame()
        self.error_box.setFrameShape(QFrame.Shape.StyledPanel)
        error_layout = QVBoxLayout(self.error_box)
        self.error = _value_label()
        self.retry_button = QPushButton(action_icon("retry"), "Retry")
        self.retry_button.setToolTip("Queue this track again from the stage that failed")
        self.retry_button.clicked.connect(self._retry)
        error_layout.addWidget(self.error)
        error_layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.error_box)

        self.duplicates_title = _value_label()
        self.duplicates_title.setText("<b>Exact copies</b> (the same bytes)")
        self.duplicates = _value_label()
        self.recordings_title = _value_label()
        self.recordings_title.setText("<b>Same recording, other tags</b> (the same audio)")
        self.recordings = _value_label()
        self.identity_note = _value_label()  # why a new track was not merged (rule 6)
        for widget in (
            self.identity_note,
            self.duplicates_title,
            self.duplicates,
            self.recordings_title,
            self.recordings,
        ):
            layout.addWidget(widget)

        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setVerticalSpacing(2)
        self.fields: dict[str, QLabel] = {}
        for name in FIELDS:
            self.fields[name] = _value_label()
            self._form.addRow(name, self.fields[name])
        layout.addLayout(self._form)

        layout.addStretch(1)
        self.setWidget(body)
        self.show_track(None)

    def _build_buttons(self) -> QVBoxLayout:
        """Open and Open Containing Folder for a present track; Locate and Forget for a
        missing one; Move to Trash for a duplicate. Shown once `set_actions` is called."""
        style = self.style()

        def button(
            text: str,
            pixmap: QStyle.StandardPixmap,
            tip: str,
            act: Callable[[TrackActions, TrackRow], None],
        ) -> QPushButton:
            made = QPushButton(style.standardIcon(pixmap), text)
            made.setToolTip(tip)
            made.clicked.connect(lambda: self._act(act))
            return made

        self.open_button = button(
            "Open",
            QStyle.StandardPixmap.SP_MediaPlay,
            "Play the file with the desktop's player",
            lambda actions, row: actions.open_rows([row]),
        )
        self.folder_button = button(
            "Open Containing Folder",
            QStyle.StandardPixmap.SP_DirOpenIcon,
            "Show the file's folder in the file manager",
            lambda actions, row: actions.open_folders([row]),
        )
        self.locate_button = button(
            "Locate…",
            QStyle.StandardPixmap.SP_FileDialogContentsView,
            "Pick the file this track is now: it keeps its id if its content or its audio "
            "is the same",
            lambda actions, row: actions.locate(row),
        )
        self.forget_button = button(
            "Forget…",
            QStyle.StandardPixmap.SP_DialogDiscardButton,
            "Forget this missing track (no file is touched)",
            lambda actions, row: actions.forget_rows([row]),
        )
        self.trash_button = button(
            "Move to Trash…",
            QStyle.StandardPixmap.SP_TrashIcon,
            "Move this copy to the desktop's trash; another copy stays",
            lambda actions, row: actions.trash_rows([row], lambda _row: self._duplicate),
        )
        rows = QVBoxLayout()
        for group in (
            (self.open_button, self.folder_button),
            (self.locate_button, self.forget_button, self.trash_button),
        ):
            row = QHBoxLayout()
            for widget in group:
                row.addWidget(widget)
            row.addStretch(1)
            rows.addLayout(row)
        return rows

    def set_actions(self, actions: TrackActions) -> None:
        """The track actions the buttons call (shared with the table's context menu)."""
        self._actions = actions
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self._row if self._actions is not None else None
        present = row is not None and row.missing_since is None
        missing = row is not None and row.missing_since is not None
        self.open_button.setVisible(present)
        self.folder_button.setVisible(present)
        self.locate_button.setVisible(missing)
        self.forget_button.setVisible(missing)
        self.trash_button.setVisible(present and self._duplicate)

    def _act(self, act: Callable[[TrackActions, TrackRow], None]) -> None:
        # Until the newly selected track is read, the row shown is the one before.
        row = self._row
        if self._actions is not None and row is not None and row.id == self._track_id:
            act(self._actions, row)

    def set_palette_tint(self, colours: dict[Kind, QColor]) -> None:
        """Tint the error box like an error row (palette-aware)."""
        palette = self.error_box.palette()
        palette.setColor(QPalette.ColorRole.Window, colours[Kind.ERROR])
        self.error_box.setPalette(palette)
        self.error_box.setAutoFillBackground(True)

    @property
    def track_id(self) -> int | None:
        return self._track_id

    def show_track(self, track_id: int | None) -> None:
        """Show `track_id` (None: nothing selected); the data arrives later."""
        self._request += 1
        self._track_id = track_id
        if track_id is None:
            self._clear("Select a track to see its details.")
            return
        QThreadPool.globalInstance().start(
            _LoadDetail(self._request, self._db, track_id, self._thumbnails, self._signals)
        )

    def refresh(self) -> None:
        """Read the shown track again (it changed in the database)."""
        if self._track_id is not None:
            self.show_track(self._track_id)

    def _clear(self, message: str) -> None:
        self._row = None
        self._duplicate = False
        self._update_buttons()
        self.title.setText(message)
        self.subtitle.clear()
        self.status_icon.clear()
        self.status_word.clear()
        self.cover.setPixmap(QPixmap())
        self.cover.setText("No cover")
        self.error_box.hide()
        for name in FIELDS:
            self._form.setRowVisible(self.fields[name], False)
        for widget in (
            self.identity_note,
            self.duplicates_title,
            self.duplicates,
            self.recordings_title,
            self.recordings,
        ):
            widget.hide()

    @Slot(int, str)
    def _show_failure(self, request: int, message: str) -> None:
        if request == self._request:
            self._clear(f"Cannot read this track: {message}")

    @Slot(int, object, object)
    def _show(self, request: int, detail: TrackDetail | None, image: QImage | None) -> None:
        if request != self._request:
            return
        if detail is None:
            self._clear("This track is no longer in the library.")
            return
        track = detail.track
        self._row = track_row(detail)
        self._duplicate = bool(detail.duplicates)
        self._update_buttons()
        self.title.setText(track.title or Path(detail.path).name)
        self.subtitle.setText(" — ".join(part for part in (track.artist, track.album) if part))
        kind = kind_for(track.processing_status, track.missing_since is not None)
        self.status_icon.setPixmap(status_icon(kind).pixmap(16, 16))
        self.status_word.setText(status_text(detail))
        if image is None:
            self.cover.setPixmap(QPixmap())
            self.cover.setText("No cover")
        else:
            self.cover.setPixmap(QPixmap.fromImage(image))
        error = track.last_error_message or ""
        self.error.setText(error)
        self.error_box.setVisible(bool(error))
        self.retry_button.setEnabled(track.processing_status == ProcessingStatus.ERROR)
        for name, value in field_values(detail).items():
            self.fields[name].setText(value)
            self._form.setRowVisible(self.fields[name], bool(value))
        for title, label, tracks in (
            (self.duplicates_title, self.duplicates, detail.duplicates),
            (self.recordings_title, self.recordings, detail.same_recording),
        ):
            title.setVisible(bool(tracks))
            label.setVisible(bool(tracks))
            label.setText("<br>".join(f"#{i}: {html.escape(path)}" for i, path in tracks))
        self.identity_note.setText(html.escape(detail.unmerged_note))
        self.identity_note.setVisible(bool(detail.unmerged_note))

    def _retry(self) -> None:
        if self._track_id is not None:
            self.retryRequested.emit(self._track_id)
