"""The Library Folders dialog: the folders the library follows, how each is
watched, and Add, Remove and Rescan now.

The dialog never touches SQLite on the GUI thread. Its list is read on the
thread pool (a handful of quick queries), tagged with a request number so that
only the latest answer is shown; adding and removing go to the services
thread by signals (removing a folder may forget 100,000 tracks) and come back
through `show_added` and `show_removed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mus_desktop.gui.delegates import middle_elide
from mus_desktop.gui.watch_status import mode_word
from mus_desktop.gui.words import local_time, plural
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import AddReport, Folder, list_folders
from mus_desktop.library.paths import display_path

if TYPE_CHECKING:
    from mus_desktop.watching.watcher import FolderState

COLUMNS = ("Folder", "Watch", "Tracks", "Missing", "Last scan", "Note")
FOLDER, WATCH, TRACKS, MISSING, LAST_SCAN, NOTE = range(len(COLUMNS))
WIDTHS = (300, 90, 70, 70, 130)
REFRESH_DELAY_MS = 300
"""Scans and state changes come in bursts; the list is read once they pause."""


class _Signals(QObject):
    listed = Signal(int, object)
    """(request number, list[Folder])"""
    failed = Signal(int, str)


class _ListFolders(QRunnable):
    def __init__(self, request: int, db: Database, signals: _Signals) -> None:
        super().__init__()
        self._request = request
        self._db = db
        self._signals = signals

    def run(self) -> None:
        try:
            folders = list_folders(self._db)
        except Exception as exc:  # a locked database: the dialog says so
            self._signals.failed.emit(self._request, str(exc))
            return
        self._signals.listed.emit(self._request, folders)


def _item(text: str, tooltip: str = "", number: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tooltip:
        item.setToolTip(tooltip)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class FoldersDialog(QDialog):
    addRequested = Signal(object)
    """list[str]: folders to record as library folders."""
    removeRequested = Signal(str)
    """A library folder to forget, with its tracks."""
    rescanRequested = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Library Folders")
        self._db = db
        self._request = 0
        self._folders: list[Folder] = []
        self._states: dict[str, FolderState] = {}
        self._removing: str | None = None
        self._listed = False
        self.confirm_box: QMessageBox | None = None
        self.forget_button: QPushButton | None = None
        self._signals = _Signals(self)
        self._signals.listed.connect(self._show_folders)
        self._signals.failed.connect(self._show_failure)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)

        intro = QLabel(
            "mus follows these folders: music added, moved, changed or deleted in them "
            "shows up in the library by itself."
        )
        intro.setWordWrap(True)
        self.table = self._build_table()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("Reading the library folders…")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.add_button = buttons.addButton("Add…", QDialogButtonBox.ButtonRole.ActionRole)
        self.add_button.setToolTip("Follow another folder of music")
        self.remove_button = buttons.addButton("Remove", QDialogButtonBox.ButtonRole.ActionRole)
        self.remove_button.setToolTip("Stop following the selected folder and forget its tracks")
        self.rescan_button = buttons.addButton("Rescan Now", QDialogButtonBox.ButtonRole.ActionRole)
        self.rescan_button.setToolTip("Look through every library folder for changes now")
        self.add_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.rescan_button.clicked.connect(self.rescan)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(980, 420)
        self._update_buttons()

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.setItemDelegateForColumn(FOLDER, middle_elide(table))
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for column, width in enumerate(WIDTHS):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.itemSelectionChanged.connect(self._on_selection)
        return table

    # -- what comes in -------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the library folders again, off the GUI thread."""
        self._refresh_timer.stop()
        self._request += 1
        QThreadPool.globalInstance().start(_ListFolders(self._request, self._db, self._signals))

    def schedule_refresh(self) -> None:
        """Refresh once a burst of scans or state changes has passed."""
        self._refresh_timer.start()

    def set_states(self, states: Sequence[FolderState] | None) -> None:
        """The watcher's latest word on each folder; the counts are read again."""
        self._states = {state.path: state for state in states or ()}
        self._fill(self.selected_folder())
        self.schedule_refresh()

    def show_added(self, report: AddReport) -> None:
        lines = report.lines()
        if report.added:
            lines.append("mus scans it now and follows it from then on.")
        self.message.setText("\n".join(lines))
        self.refresh()

    def show_removed(self, folder: str, forgotten: int) -> None:
        self._removing = None
        self.message.setText(
            f"Forgot {display_path(folder)} and its {plural(forgotten, 'track')}; "
            "no file was touched."
        )
        self.refresh()

    def show_change_failed(self, message: str) -> None:
        self._removing = None
        self.message.setText(message)
        self.refresh()

    @Slot(int, object)
    def _show_folders(self, request: int, folders: list[Folder]) -> None:
        if request != self._request:
            return
        first = not self._listed
        self._listed = True
        selected = self.selected_folder()
        self._folders = folders
        self._fill(selected)
        if first:
            self.message.setText("" if folders else "No library folders yet: Add… follows one.")

    @Slot(int, str)
    def _show_failure(self, request: int, message: str) -> None:
        if request == self._request:
            self.message.setText(f"Cannot read the library folders: {message}")

    def _fill(self, selected: str | None) -> None:
        """Show `_folders` with the watcher's states, `selected` selected again."""
        self.table.clearSelection()
        self.table.setRowCount(len(self._folders))
        for row, folder in enumerate(self._folders):
            state = self._states.get(folder.path)
            mode = state.mode if state is not None else folder.watch_mode
            error = self._error_of(folder.path)
            shown = display_path(folder.path)
            cells = (
                _item(shown, shown),
                _item(mode_word(mode)),
                _item(f"{folder.tracks:,}", number=True),
                _item(f"{folder.missing:,}", number=True),
                _item(local_time(folder.last_scan_at), "The last scan of the whole folder"),
                _item(error or "", error or ""),
            )
            for column, item in enumerate(cells):
                self.table.setItem(row, column, item)
            if folder.path == selected:
                self.table.selectRow(row)
        self._on_selection()

    # -- what the user does --------------------------------------------------------------

    def selected_folder(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._folders):
            return None
        return self._folders[rows[0].row()].path

    def select_folder(self, path: str) -> bool:
        for row, folder in enumerate(self._folders):
            if folder.path == path:
                self.table.selectRow(row)
                return True
        return False

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Follow a folder of music")
        if folder:
            self.add_folder(folder)

    def add_folder(self, path: str) -> None:
        self.message.setText(f"Adding {display_path(path)}…")
        self.addRequested.emit([path])

    def confirm_remove(self) -> None:
        """Ask, naming what is forgotten; the dialog stays live while it asks."""
        path = self.selected_folder()
        if path is None or self._removing is not None:
            return
        folder = next(folder for folder in self._folders if folder.path == path)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove library folder",
            f"Stop following {display_path(path)} and forget its {plural(folder.tracks, 'track')}?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText(
            "No file is touched: the music stays where it is on disk. Its tags, covers "
            "and errors are forgotten; adding the folder again reads them anew."
        )
        forget = box.addButton(
            f"Forget {plural(folder.tracks, 'track')}", QMessageBox.ButtonRole.DestructiveRole
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _result, b=box, p=path: self._confirmed(p, b.clickedButton() == forget)
        )
        self.confirm_box = box
        self.forget_button = forget
        box.open()

    def _confirmed(self, path: str, forget: bool) -> None:
        self.confirm_box = None
        self.forget_button = None
        if forget:
            self._removing = path
            self.message.setText(f"Forgetting the tracks of {display_path(path)}…")
            self.removeRequested.emit(path)
        self._update_buttons()

    def rescan(self) -> None:
        self.message.setText(
            "Looking through every library folder; what changed shows up in the library."
        )
        self.rescanRequested.emit()

    def _on_selection(self) -> None:
        """The selected folder's note in full, selectable (a sysctl to copy, say)."""
        path = self.selected_folder()
        error = self._error_of(path) if path is not None else None
        self.note.setText(f"{display_path(path)}: {error}" if path is not None and error else "")
        self.note.setVisible(bool(error))
        self._update_buttons()

    def _error_of(self, path: str) -> str | None:
        state = self._states.get(path)
        if state is not None:
            return state.error
        return next((folder.watch_error for folder in self._folders if folder.path == path), None)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_folder() is not None and self._removing is None)
        self.rescan_button.setEnabled(bool(self._folders))
