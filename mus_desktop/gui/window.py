"""The main window: menus, toolbar, the artist sidebar, the track table (or the
empty library's hint), the detail pane, the status bar.

The GUI thread only shows things. Rows come from the watcher thread, work
goes to the services thread (which also runs the folder watcher and the
track actions' file work), details and the library folders load on the
thread pool.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QStyle,
)

from mus_desktop.config import Settings
from mus_desktop.gui.actions.menu import TrackActions
from mus_desktop.gui.actions.retry_follow import RetryFollower
from mus_desktop.gui.actions.work import TrackWork
from mus_desktop.gui.browse.sidebar import LibrarySidebar
from mus_desktop.gui.change_pacer import ChangePacer
from mus_desktop.gui.detail import DetailPane
from mus_desktop.gui.dialogs.about import about_text
from mus_desktop.gui.dialogs.folders import FoldersDialog
from mus_desktop.gui.dialogs.settings import SettingsDialog
from mus_desktop.gui.empty_hint import EmptyLibraryHint
from mus_desktop.gui.services import BrokerState, ServicesThread
from mus_desktop.gui.status import (
    Kind,
    StatusFilter,
    action_icon,
    row_colours,
    status_icon,
)
from mus_desktop.gui.status_bar import WindowStatusBar, broker_text
from mus_desktop.gui.table.columns import fill_columns_menu
from mus_desktop.gui.table.model import TRACK_ID_ROLE, Column, Prepared, TrackTableModel
from mus_desktop.gui.table.selection import SelectionKeeper
from mus_desktop.gui.table.view import make_track_table
from mus_desktop.gui.watch_status import scan_message
from mus_desktop.gui.watcher import WatcherThread
from mus_desktop.gui.words import plural
from mus_desktop.library.engine import Database
from mus_desktop.library.folders import AddReport
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import Changes, TrackRow
from mus_desktop.library.scanner import ScanReport

if TYPE_CHECKING:
    from mus_desktop.watching.watcher import FolderState

SEARCH_DELAY_MS = 200
DETAIL_REFRESH_MS = 300
TABLE_PAGE, HINT_PAGE = 0, 1


def dropped_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """The local files and folders a drag carries (none for text, web links…)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


class MainWindow(QMainWindow):
    importRequested = Signal(str)
    retryRequested = Signal(object)
    locateRequested = Signal(int, str)
    forgetRequested = Signal(object)
    trashRequested = Signal(object)
    pauseRequested = Signal(bool)
    messageShown = Signal(str)
    """Each status-bar message, as it is shown ("" when one is cleared)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        super().__init__()
        self.setWindowTitle("mus")  # the icon is the application's (gui.app.application)
        self.setAcceptDrops(True)
        self._settings = settings
        self._db = db
        self._watch_setting = settings.watch
        self.message_boxes: list[QMessageBox] = []
        self.folder_states: list[FolderState] | None = None
        """The folder watcher's latest report; None until its first."""
        self.folders_dialog: FoldersDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.broker_state: BrokerState | None = None
        self._loaded = False
        self._shut_down = False
        self._retries = RetryFollower()
        self.context_menu: QMenu | None = None

        self.model = TrackTableModel(self.palette(), self)
        self.model.countsChanged.connect(self._update_counts)
        self.track_actions = TrackActions(self)
        self._build_toolbar()
        self._build_table()
        self.sidebar = LibrarySidebar()
        self.sidebar.scopeChanged.connect(self._apply_filter)
        self.detail = DetailPane(db, settings.thumbnail_dir)
        self.detail.set_actions(self.track_actions)
        self.detail.set_palette_tint(row_colours(self.palette()))
        self.detail.retryRequested.connect(lambda track_id: self.retry([track_id]))
        self.empty_hint = EmptyLibraryHint()
        self.empty_hint.importRequested.connect(self._choose_folder)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty_hint)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.pages)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([190, 780, 300])
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self._build_menus()
        self._build_status_bar()
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_REFRESH_MS)
        self._detail_timer.timeout.connect(self.detail.refresh)
        self._restore_state()

        self._changes = ChangePacer(self._apply_changes, self._on_selection, self)
        self.watcher = WatcherThread(db)
        self.watcher.watcher.loaded_part.connect(self._on_loaded_part)
        self.watcher.watcher.loaded.connect(self._on_loaded)
        self.watcher.watcher.changed.connect(self._on_changed)
        self.watcher.watcher.failed.connect(self._on_watch_failed)
        self.watcher.watcher.recovered.connect(
            lambda: self.show_message("The library answers again", 10000)
        )
        self.services = ServicesThread(settings, db)
        svc = self.services.services
        svc.brokerChanged.connect(self._on_broker)
        svc.importFinished.connect(self._on_import_finished)
        svc.retryFinished.connect(self._on_retry_finished)
        svc.failed.connect(self._on_service_failed)
        svc.foldersAdded.connect(self._on_folders_added)
        svc.folderRemoved.connect(self._on_folder_removed)
        svc.folderChangeFailed.connect(self._on_folder_change_failed)
        svc.pausedChanged.connect(self._on_paused)
        svc.folder_watch.scanned.connect(self._on_folders_scanned)
        svc.folder_watch.foldersChanged.connect(self._on_folder_states)
        svc.folder_watch.unavailable.connect(self._on_watch_unavailable)
        self.importRequested.connect(svc.import_folder)
        self.retryRequested.connect(svc.retry)
        self.pauseRequested.connect(lambda paused: svc.pause() if paused else svc.resume())
        # The file work of the track actions (hashing a located file, trashing) runs
        # in the services thread, after any import asked for before it.
        self.track_work = TrackWork(db, settings)
        self.track_work.moveToThread(self.services.thread)
        self.locateRequested.connect(self.track_work.locate)
        self.forgetRequested.connect(self.track_work.forget)
        self.trashRequested.connect(self.track_work.trash)
        self.services.thread.finished.connect(self.track_work.deleteLater)
        self.track_work.finished.connect(lambda text: self.show_message(text, 15000))
        self.track_work.failed.connect(self._on_service_failed)
        self.track_work.processRequested.connect(svc.process)
        self._connect_track_actions()
        self.watcher.start()
        self.services.start()

    # -- building ------------------------------------------------------------

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("Library")
        toolbar.setObjectName("library-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.import_action = QAction(action_icon("import"), "Import Folder…", self)
        self.import_action.setShortcut(QKeySequence.StandardKey.Open)
        self.import_action.setToolTip("Add a folder of music to the library")
        self.import_action.triggered.connect(self._choose_folder)
        folder_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        self.folders_action = QAction(folder_icon, "Library Folders…", self)
        self.folders_action.setToolTip("The folders the library follows by itself")
        self.folders_action.triggered.connect(self.open_folders_dialog)
        self.retry_action = QAction(action_icon("retry"), "Retry", self)
        self.retry_action.setToolTip("Process the selected errored tracks again")
        self.retry_action.setEnabled(False)
        self.retry_action.triggered.connect(self.retry_selected)
        self.retry_all_action = QAction(status_icon(Kind.ERROR), "Retry All Errored", self)
        self.retry_all_action.setToolTip("Process every errored track again")
        self.retry_all_action.setEnabled(False)
        self.retry_all_action.triggered.connect(lambda: self.retry(None))
        for action in (
            self.import_action,
            self.folders_action,
            self.retry_action,
            self.retry_all_action,
        ):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Show "))
        self.filter_box = QComboBox()
        self.filter_box.setAccessibleName("Status filter")
        for status_filter in StatusFilter:
            self.filter_box.addItem(status_filter.value, status_filter)
        self.filter_box.currentIndexChanged.connect(self._apply_filter)
        toolbar.addWidget(self.filter_box)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search title, artist, album, path")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search")
        self.search.setMaximumWidth(360)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_timer.start)
        toolbar.addWidget(self.search)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.folders_action)
        file_menu.addSeparator()
        self.settings_action = QAction("Settings…", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(self.open_settings_dialog)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        processing = bar.addMenu("&Processing")
        self.pause_action = QAction("Pause Processing", self)
        self.pause_action.setCheckable(True)
        self.pause_action.setToolTip(
            "Local workers finish the batch in hand and take no more; queued work is kept"
        )
        self.pause_action.toggled.connect(self.pauseRequested)
        processing.addAction(self.pause_action)
        processing.addAction(self.retry_action)
        processing.addAction(self.retry_all_action)

        view = bar.addMenu("&View")
        self.sidebar_action = QAction("Artists and Albums", self)
        self.sidebar_action.setCheckable(True)
        self.sidebar_action.setChecked(True)
        self.sidebar_action.toggled.connect(self.sidebar.setVisible)
        self.detail_action = QAction("Details", self)
        self.detail_action.setCheckable(True)
        self.detail_action.setChecked(True)
        self.detail_action.toggled.connect(self.detail.setVisible)
        view.addAction(self.sidebar_action)
        view.addAction(self.detail_action)
        self.columns_menu = view.addMenu("Columns")
        header = self.table.horizontalHeader()
        self.columns_menu.aboutToShow.connect(
            lambda: fill_columns_menu(self.columns_menu, header, self)
        )
        view.addSeparator()
        find = QAction("Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_search)
        view.addAction(find)
        self.clear_search_action = QAction("Clear Search", self)
        self.clear_search_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_search_action.setEnabled(False)
        self.clear_search_action.triggered.connect(self.search.clear)
        self.search.textChanged.connect(
            lambda text: self.clear_search_action.setEnabled(bool(text))
        )
        view.addAction(self.clear_search_action)

        help_menu = bar.addMenu("&Help")
        about = QAction("About mus", self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _build_table(self) -> None:
        table = make_track_table(self.model)
        table.customContextMenuRequested.connect(self._show_context_menu)
        table.doubleClicked.connect(lambda _index: self.open_selected())
        table.selectionModel().selectionChanged.connect(self._on_selection)
        table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table = table
        self.model.show_changes_within(self._rows_on_screen)
        self.selection = SelectionKeeper(table, self.model)
        self.selection.restored.connect(self._after_reset)
        for keys, slot in (
            (QKeySequence.StandardKey.Copy, self.copy_selected_paths),
            (QKeySequence.StandardKey.Delete, self.forget_selected),
            (QKeySequence(Qt.Key.Key_Return), self.open_selected),
            (QKeySequence(Qt.Key.Key_Enter), self.open_selected),
        ):
            shortcut = QShortcut(QKeySequence(keys), table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)

    def _build_status_bar(self) -> None:
        self.status_bar = WindowStatusBar(self.statusBar(), self._watch_setting)
        self.status_bar.messageShown.connect(self.messageShown)
        # Its parts, by the names the tests and tools read them.
        self.counts_label = self.status_bar.counts_label
        self.message_label = self.status_bar.message_label
        self.progress = self.status_bar.progress
        self.folders_label = self.status_bar.folders_label
        self.broker_label = self.status_bar.broker_label

    def _connect_track_actions(self) -> None:
        actions = self.track_actions
        actions.retryRequested.connect(self.retry)
        actions.showDuplicatesRequested.connect(self.show_duplicates_of)
        actions.locateRequested.connect(self.locateRequested)
        actions.forgetRequested.connect(self.forgetRequested)
        actions.trashRequested.connect(self.trashRequested)
        actions.messageShown.connect(lambda text: self.show_message(text, 10000))

    # -- state kept between runs ---------------------------------------------

    def _restore_state(self) -> None:
        state = QSettings()
        geometry = state.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 760)
        splitter = state.value("window/panes")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        header = state.value("table/columns")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        index = self.filter_box.findText(str(state.value("table/filter", StatusFilter.ALL.value)))
        self.filter_box.setCurrentIndex(max(index, 0))
        self.sidebar_action.setChecked(state.value("window/sidebar", "true") != "false")
        self.detail_action.setChecked(state.value("window/details", "true") != "false")

    def save_state(self) -> None:
        state = QSettings()
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/panes", self.splitter.saveState())
        state.setValue("table/columns", self.table.horizontalHeader().saveState())
        state.setValue("table/filter", self.filter_box.currentText())
        state.setValue("window/sidebar", "true" if self.sidebar_action.isChecked() else "false")
        state.setValue("window/details", "true" if self.detail_action.isChecked() else "false")
        state.sync()

    # -- what the user does --------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of music")
        if folder:
            self.import_folder(folder)

    def import_folder(self, folder: str) -> None:
        """Scan `folder` (or a file) and queue its tracks, off the GUI thread."""
        self.show_message(f"Importing {folder}…")
        self.importRequested.emit(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event)
        if not paths:
            return
        event.acceptProposedAction()
        for path in paths:
            self.import_folder(path)

    def open_folders_dialog(self) -> FoldersDialog:
        """Show the Library Folders dialog (one, kept while the window lives)."""
        dialog = self.folders_dialog
        if dialog is None:
            dialog = FoldersDialog(self._db, self)
            svc = self.services.services
            dialog.addRequested.connect(svc.add_library_folders)
            dialog.removeRequested.connect(svc.remove_library_folder)
            dialog.rescanRequested.connect(self._rescan_folders)
            self.folders_dialog = dialog
        dialog.set_states(self.folder_states)
        dialog.refresh()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def open_settings_dialog(self) -> SettingsDialog:
        dialog = self.settings_dialog
        if dialog is None:
            dialog = SettingsDialog(self)
            dialog.saved.connect(lambda text: self.show_message(text, 15000))
            self.settings_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_about(self) -> QMessageBox:
        state = self.broker_state
        text = about_text(self._settings, "starting…" if state is None else broker_text(state))
        box = QMessageBox(
            QMessageBox.Icon.Information, "About mus", text, QMessageBox.StandardButton.Ok, self
        )
        box.setTextFormat(Qt.TextFormat.PlainText)  # a path may hold "<"
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        return box

    def _rescan_folders(self) -> None:
        """Asked of the watcher from here: it takes the request from any thread, and
        queued to the services thread it would wait behind an import under way."""
        self.services.services.folder_watch.rescan_all()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    @property
    def library_loaded(self) -> bool:
        """Whether every row of the library has been read (the table fills in parts)."""
        return self._loaded

    def selected_rows(self) -> Sequence[TrackRow]:
        return self.selection.selected_view()

    def selected_errored_ids(self) -> list[int]:
        return [row.id for row in self._selected_errored()]

    def _selected_errored(self) -> list[TrackRow]:
        """The selected errored rows, read by ranges of selected rows.

        Never one index per selected row: with all of 100,000 tracks selected,
        listing them took 1.7 s, and Retry's state is checked after every
        change the watcher brings.
        """
        errored: list[TrackRow] = []
        for selected in self.table.selectionModel().selection():
            errored.extend(self.model.errored_rows(selected.top(), selected.bottom()))
        return errored

    def retry_selected(self) -> None:
        rows = self._selected_errored()
        if rows:
            self._retries.expect(rows)
            self.retry([row.id for row in rows])

    def retry(self, track_ids: Sequence[int] | None) -> None:
        """Re-queue these errored tracks (None: all of them), off the GUI thread; the
        status bar says how each ended."""
        if track_ids is None:
            self._retries.expect(self.model.errored_rows(0, self.model.rowCount() - 1))
        else:
            rows = (self.model.row(track_id) for track_id in track_ids)
            self._retries.expect(
                row for row in rows if row is not None and row.status == ProcessingStatus.ERROR
            )
        self.retryRequested.emit(None if track_ids is None else list(track_ids))

    def open_selected(self) -> None:
        self.track_actions.open_rows(self.selected_rows())

    def copy_selected_paths(self) -> None:
        self.track_actions.copy_paths(self.selected_rows())

    def forget_selected(self) -> None:
        self.track_actions.forget_rows(self.selected_rows())

    def _show_context_menu(self, point: QPoint) -> None:
        index = self.table.indexAt(point)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row()):
            self.table.setCurrentIndex(index)
            self.table.selectRow(index.row())
        if self.context_menu is not None:
            self.context_menu.deleteLater()
        duplicates = self.model.duplicate_ids()
        self.context_menu = self.track_actions.menu_for(
            self.selection.selected_view(),
            lambda row: row.id in duplicates,
            self.selection.facts(),
        )
        self.context_menu.popup(self.table.viewport().mapToGlobal(point))

    def show_duplicates_of(self, track_id: int) -> None:
        """The Duplicates view with `track_id` selected among its copies."""
        self.search.clear()
        self.sidebar.select_scope(None)
        self.filter_box.setCurrentIndex(self.filter_box.findData(StatusFilter.DUPLICATES))
        self._apply_filter()
        self.select_track(track_id)

    def select_track(self, track_id: int) -> bool:
        """Select and show `track_id` if the current filter shows it."""
        position = self.model.position_of(track_id)
        if position is None:
            return False
        index = self.model.index(position, Column.TITLE)
        self.table.setCurrentIndex(index)
        self.table.selectRow(position)
        self.table.scrollTo(index)
        return True

    def _apply_filter(self) -> None:
        self._search_timer.stop()
        status_filter = StatusFilter(self.filter_box.currentData())
        self.model.set_filter(status_filter, self.search.text(), self.sidebar.scope())
        self._update_counts()
        self._on_selection()

    # -- what comes back -----------------------------------------------------

    @Slot(object)
    def _on_loaded_part(self, rows: list[TrackRow]) -> None:
        self.model.add_loaded(rows)
        self.sidebar.apply_changes(rows, [])

    @Slot(object, object)
    def _on_loaded(self, rows: list[TrackRow], prepared: Prepared) -> None:
        self._on_loaded_part(rows)
        self.model.finish_loading(prepared)
        self._loaded = True
        self._apply_filter()
        # The rows live as long as the window. Out of the cyclic collector's sight,
        # a full collection no longer walks all of them: at 100,000 tracks each took
        # ~100 ms of the GUI thread, a stall while workers write (tools/gui_bench.py).
        gc.collect()
        gc.freeze()

    @Slot(object)
    def _on_changed(self, changes: Changes) -> None:
        """A poll's changes: the retries that ended say so now; the table and the
        sidebar take the rows a slice at a time (`ChangePacer`)."""
        if not self._loaded or self._shut_down:
            return
        ended = self._retries.follow(changes.rows, changes.removed)
        if ended:
            self.show_message(ended, 15000)
        self._changes.take(changes)

    def _apply_changes(self, changes: Changes) -> None:
        selection = self.table.selectionModel()
        before = self.model.held_rows([*(row.id for row in changes.rows), *changes.removed])
        self.model.apply_changes(changes.rows, changes.removed, keep=selection.isRowSelected)
        self.sidebar.apply_changes(changes.rows, before)
        shown = self.detail.track_id
        if shown is not None and (
            shown in changes.removed or any(row.id == shown for row in changes.rows)
        ):
            self._detail_timer.start()

    @Slot(str)
    def _on_watch_failed(self, message: str) -> None:
        self.show_message(message)

    @Slot(object)
    def _on_broker(self, state: BrokerState) -> None:
        self.broker_state = state
        self.status_bar.show_broker(state)

    @Slot(bool)
    def _on_paused(self, paused: bool) -> None:
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.show_message(
            "Processing paused: queued work waits" if paused else "Processing resumed", 10000
        )

    @Slot(str, object, object)
    def _on_import_finished(self, folder: str, report: ScanReport, added: AddReport | None) -> None:
        summary = report.summary()
        followed = " · followed from now on" if added is not None and added.added else ""
        self.show_message(f"{folder}: {summary}{followed}", 15000)
        if report.problems or report.fatal:
            self._message(
                QMessageBox.Icon.Warning,
                "Import problems",
                f"{folder}: {summary}",
                "\n".join(report.problems),
            )

    @Slot(object)
    def _on_folder_states(self, states: list[FolderState]) -> None:
        self.folder_states = states
        self.status_bar.show_folders(states)
        if self.folders_dialog is not None:
            self.folders_dialog.set_states(states)

    @Slot(str)
    def _on_watch_unavailable(self, reason: str) -> None:
        self.status_bar.show_not_watching(reason)

    @Slot(object)
    def _on_folders_scanned(self, report: ScanReport) -> None:
        message = scan_message(report)
        if message:
            self.show_message(message, 10000)
        if self.folders_dialog is not None and self.folders_dialog.isVisible():
            self.folders_dialog.schedule_refresh()

    @Slot(object)
    def _on_folders_added(self, report: AddReport) -> None:
        if self.folders_dialog is not None:
            self.folders_dialog.show_added(report)

    @Slot(str, int)
    def _on_folder_removed(self, folder: str, forgotten: int) -> None:
        self.show_message(
            f"Forgot {folder} and its {plural(forgotten, 'track')}; no file was touched", 10000
        )
        if self.folders_dialog is not None:
            self.folders_dialog.show_removed(folder, forgotten)

    @Slot(str)
    def _on_folder_change_failed(self, message: str) -> None:
        if self.folders_dialog is not None:
            self.folders_dialog.show_change_failed(message)
        else:
            self._message(QMessageBox.Icon.Warning, "mus", message, "")

    @Slot(int)
    def _on_retry_finished(self, count: int) -> None:
        self._retries.queued()
        self.show_message(f"{plural(count, 'track')} queued again", 10000)

    @Slot(str)
    def _on_service_failed(self, message: str) -> None:
        self._message(QMessageBox.Icon.Warning, "mus", message, "")

    def _message(self, icon: QMessageBox.Icon, title: str, text: str, details: str) -> None:
        """A non-blocking message box: the window keeps updating behind it."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if details:
            box.setInformativeText(details)
        box.finished.connect(lambda _result, b=box: self._forget_box(b))
        self.message_boxes.append(box)
        box.show()

    def _forget_box(self, box: QMessageBox) -> None:
        if box in self.message_boxes:
            self.message_boxes.remove(box)

    def _on_selection(self, *_args: object) -> None:
        self.retry_action.setEnabled(self._any_selected_errored())

    def _any_selected_errored(self) -> bool:
        """Asked after every change: by the model's set of errored ids, never by
        reading the selected rows (100,000 of them took 48 ms, three times a filter)."""
        return self.selection.selected_among(self.model.ids_of_kind(Kind.ERROR)) > 0

    def _rows_on_screen(self) -> tuple[int, int]:
        """The first and last rows the table shows; (0, -1) for none."""
        if not self.table.isVisible():
            return 0, -1
        first = self.table.rowAt(0)
        if first < 0:
            return 0, -1
        last = self.table.rowAt(self.table.viewport().height() - 1)
        return first, last if last >= 0 else self.model.rowCount() - 1

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self.model.removing_rows:
            # The current track left the table and Qt moved on to a neighbour the
            # person never chose: show nothing rather than a track they did not pick.
            self.detail.show_track(None)
            return
        track_id = current.data(TRACK_ID_ROLE)
        if track_id != self.detail.track_id:
            self.detail.show_track(track_id)

    def _after_reset(self) -> None:
        """After a filter, search or large change: the pane shows the current track
        only if the table still shows it (else the empty state)."""
        self._on_current(self.table.currentIndex(), QModelIndex())
        self._on_selection()

    def show_message(self, text: str, timeout_ms: int = 0) -> None:
        """A message beside the counts (never over them), cleared after `timeout_ms`."""
        self.status_bar.show_message(text, timeout_ms)

    def _update_counts(self) -> None:
        counts = self.model.counts()
        self.status_bar.show_counts(counts, self.model.rowCount())
        self.pages.setCurrentIndex(HINT_PAGE if self._loaded and counts.total == 0 else TABLE_PAGE)
        self.retry_all_action.setEnabled(counts.by_kind.get(Kind.ERROR, 0) > 0)

    # -- theme and shutdown --------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self.model.set_palette(self.palette())
            self.detail.set_palette_tint(row_colours(self.palette()))
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the watcher, then the workers (each finishes its batch) and broker."""
        if self._shut_down:
            return
        self._shut_down = True
        gc.unfreeze()  # what _on_loaded froze is collectable again once the window goes
        for dialog in (self.folders_dialog, self.settings_dialog):
            if dialog is not None:
                dialog.hide()
        self.hide()
        self._changes.stop()
        self.watcher.stop()
        self.services.stop()
