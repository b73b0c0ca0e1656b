"""The actions a person takes on tracks, where the tracks are: the table's context
menu and the detail pane's buttons share one `TrackActions`.

What needs the library or the disk beyond a look is asked for by a signal and
done by `TrackWork` (actions/work.py) in the services thread: the window
connects the two. What is done here is what needs only the rows shown: open a
file or its folder, copy paths, choose the file for Locate and confirm what
cannot be undone.

The confirmations and the file chooser are real dialogs, opened window-modal
with `open()` rather than `exec()`: the event loop keeps running, and the
dialog open now is `TrackActions.dialog`, which a test drives like a person
would (selects a file, clicks a button).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QMessageBox, QStyle, QWidget

from mus_desktop.gui.status import action_icon
from mus_desktop.gui.words import plural
from mus_desktop.library.access import file_type
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow
from mus_desktop.library.walk import AUDIO_EXTENSIONS

Opener = Callable[[QUrl], bool]
IsDuplicate = Callable[[TrackRow], bool]

_ERROR = ProcessingStatus.ERROR.value
_NAMES_IN_CONFIRMATION = 10


def _audio_filter() -> str:
    patterns = " ".join(f"*{ext} *{ext.upper()}" for ext in sorted(AUDIO_EXTENSIONS))
    return f"Audio files ({patterns});;All files (*)"


@dataclass(frozen=True)
class SelectionFacts:
    """What decides which actions apply to a selection. The window works them out
    from the model's sets of ids (a selection of 100,000 rows in milliseconds);
    `of_rows` from the rows themselves."""

    count: int
    errored: bool
    missing: int
    duplicate: bool
    """Whether a present track of the selection has a copy."""

    @classmethod
    def of_rows(cls, rows: Sequence[TrackRow], is_duplicate: IsDuplicate) -> SelectionFacts:
        return cls(
            len(rows),
            any(row.status == _ERROR for row in rows),
            len(_missing(rows)),
            any(is_duplicate(row) for row in _present(rows)),
        )


def _present(rows: Sequence[TrackRow]) -> list[TrackRow]:
    return [row for row in rows if row.missing_since is None]


def _missing(rows: Sequence[TrackRow]) -> list[TrackRow]:
    return [row for row in rows if row.missing_since is not None]


class TrackActions(QObject):
    """The track actions, for the rows a person selected.

    `opener` opens a URL on the desktop (QDesktopServices.openUrl); replace it
    to see the URL instead. `dialog` is the confirmation or file chooser open
    now, if any.
    """

    retryRequested = Signal(object)
    """Ids of the errored tracks to process again."""
    showDuplicatesRequested = Signal(int)
    """A duplicate track's id: show its copies."""
    locateRequested = Signal(int, str)
    """(missing track's id, the file picked for it)."""
    forgetRequested = Signal(object)
    """Ids of missing tracks to forget, confirmed."""
    trashRequested = Signal(object)
    """Ids of duplicates whose files go to the trash, confirmed."""
    messageShown = Signal(str)
    """A one-line message for the status bar."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.opener: Opener = QDesktopServices.openUrl
        self.dialog: QDialog | None = None

    # -- the menu --------------------------------------------------------------

    def menu_for(
        self,
        rows: Sequence[TrackRow],
        is_duplicate: IsDuplicate,
        facts: SelectionFacts | None = None,
    ) -> QMenu:
        """The context menu for the selected `rows`, each action enabled only where it
        applies (`facts`, worked out from the rows when not given: with them, the
        rows are only read when an action runs). The caller shows it (`exec`) and
        then deletes it (`deleteLater`)."""
        if facts is None:
            facts = SelectionFacts.of_rows(rows, is_duplicate)
        one_present = facts.count == 1 and facts.missing == 0
        has_duplicate = facts.duplicate
        menu = QMenu(self._parent)

        def add(
            text: str,
            icon: QIcon,
            enabled: bool,
            act: Callable[[], None],
            keys: QKeySequence | None = None,
        ) -> None:
            action = menu.addAction(icon, text)
            action.setEnabled(enabled)
            if keys is not None:
                # A hint of the window's key for it; the window's own shortcut does the work.
                action.setShortcut(keys)
                action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(act)

        style = self._parent.style()
        add("Retry", action_icon("retry"), facts.errored, lambda: self.retry_rows(rows))
        menu.addSeparator()
        add(
            "Open",
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
            one_present,
            lambda: self.open_rows(rows),
            QKeySequence(Qt.Key.Key_Return),
        )
        add(
            "Open Containing Folder",
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon),
            one_present,
            lambda: self.open_folders(rows),
        )
        add(
            "Copy Path",
            QIcon.fromTheme("edit-copy"),
            facts.count > 0,
            lambda: self.copy_paths(rows),
            QKeySequence(QKeySequence.StandardKey.Copy),
        )
        menu.addSeparator()
        add(
            "Show Duplicates",
            QIcon(),
            has_duplicate,
            lambda: self.show_duplicates(rows, is_duplicate),
        )
        menu.addSeparator()
        add(
            "Locate…",
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            facts.count == 1 and facts.missing == 1,
            lambda: self.locate(rows[0]),
        )
        add(
            "Forget…",
            style.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton),
            facts.missing > 0,
            lambda: self.forget_rows(rows),
            QKeySequence(QKeySequence.StandardKey.Delete),
        )
        add(
            "Move to Trash…",
            style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon),
            has_duplicate,
            lambda: self.trash_rows(rows, is_duplicate),
        )
        return menu

    # -- what the menu, the pane and the window's keys call ----------------------

    def retry_rows(self, rows: Sequence[TrackRow]) -> None:
        ids = [row.id for row in rows if row.status == _ERROR]
        if ids:
            self.retryRequested.emit(ids)
        else:
            self.messageShown.emit("None of the selected tracks has an error to retry")

    def open_rows(self, rows: Sequence[TrackRow]) -> None:
        """Open the one selected track with the desktop's default player."""
        path = self._one_file(rows)
        if path is not None:
            self._open(QUrl.fromLocalFile(path), os.path.basename(path))

    def open_folders(self, rows: Sequence[TrackRow]) -> None:
        """Open the folder of the one selected track in the file manager."""
        path = self._one_file(rows)
        if path is not None:
            folder = os.path.dirname(path)
            self._open(QUrl.fromLocalFile(folder), folder)

    def copy_paths(self, rows: Sequence[TrackRow]) -> None:
        """Put the paths of `rows` on the clipboard, one a line."""
        if not rows:
            return
        QGuiApplication.clipboard().setText("\n".join(row.path for row in rows))
        self.messageShown.emit(f"Copied {plural(len(rows), 'path')}")

    def show_duplicates(self, rows: Sequence[TrackRow], is_duplicate: IsDuplicate) -> None:
        row = next((row for row in _present(rows) if is_duplicate(row)), None)
        if row is not None:
            self.showDuplicatesRequested.emit(row.id)

    def locate(self, row: TrackRow) -> None:
        """Let the person pick the file of the missing track `row` (a file chooser);
        the pick is sent as `locateRequested`."""
        if row.missing_since is None:
            self.messageShown.emit(f"'{row.title}' is not missing")
            return
        start = os.path.dirname(row.path)
        while start and not os.path.isdir(start):
            parent = os.path.dirname(start)
            start = "" if parent == start else parent
        dialog = QFileDialog(self._parent, f"Locate '{row.title}'", start, _audio_filter())
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.fileSelected.connect(lambda path: self.locateRequested.emit(row.id, path))
        self._show(dialog)

    def forget_rows(self, rows: Sequence[TrackRow]) -> None:
        """Ask to forget the missing tracks of `rows` (present ones are kept)."""
        missing = _missing(rows)
        if not missing:
            self.messageShown.emit("Only missing tracks can be forgotten")
            return
        kept = len(rows) - len(missing)
        details = (
            "The library forgets everything it knows about "
            f"{'it' if len(missing) == 1 else 'them'}. No file is touched: "
            "a file that comes back is added as a new track."
        )
        if kept:
            verb = "is" if kept == 1 else "are"
            details += f" The {plural(kept, 'present track')} selected {verb} kept."
        self._confirm(
            "Forget Missing Tracks",
            f"Forget {plural(len(missing), 'missing track')}?",
            details,
            missing,
            "Forget",
            lambda: self.forgetRequested.emit([row.id for row in missing]),
        )

    def trash_rows(self, rows: Sequence[TrackRow], is_duplicate: IsDuplicate) -> None:
        """Ask to move the files of the duplicates among `rows` to the trash."""
        duplicates = [row for row in _present(rows) if is_duplicate(row)]
        if not duplicates:
            self.messageShown.emit("Only duplicates can be moved to the trash")
            return
        self._confirm(
            "Move to Trash",
            f"Move {plural(len(duplicates), 'duplicate')} to the trash?",
            "The file goes to the desktop's trash, where it can be restored, and the library "
            "forgets its track. Another copy of its content stays; the last copy is never "
            "moved.",
            duplicates,
            "Move to Trash",
            lambda: self.trashRequested.emit([row.id for row in duplicates]),
        )

    # -- helpers -----------------------------------------------------------------

    def _one_file(self, rows: Sequence[TrackRow]) -> str | None:
        """The path of the one track of `rows` if it is a regular file; else None, said."""
        if len(rows) != 1:
            self.messageShown.emit("Select one track to open")
            return None
        row = rows[0]
        if row.missing_since is not None:
            self.messageShown.emit(f"Cannot open '{row.title}': its file is missing")
            return None
        try:
            mode = os.stat(row.path).st_mode
        except FileNotFoundError:
            self.messageShown.emit(f"Cannot open '{row.title}': file not found")
            return None
        except OSError as exc:
            self.messageShown.emit(f"Cannot open '{row.title}': {exc.strerror}")
            return None
        if not stat.S_ISREG(mode):
            self.messageShown.emit(f"Cannot open '{row.title}': it is {file_type(mode)}")
            return None
        return row.path

    def _open(self, url: QUrl, what: str) -> None:
        if self.opener(url):
            self.messageShown.emit(f"Opened {what}")
        else:
            self.messageShown.emit(f"Cannot open {what}: no application on this desktop opens it")

    def _confirm(
        self,
        title: str,
        question: str,
        details: str,
        rows: Sequence[TrackRow],
        verb: str,
        then: Callable[[], None],
    ) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=self._parent)
        box.setInformativeText(details)
        names = [f"{row.title} ({row.path})" for row in rows[:_NAMES_IN_CONFIRMATION]]
        if len(rows) > _NAMES_IN_CONFIRMATION:
            names.append(f"… and {len(rows) - _NAMES_IN_CONFIRMATION} more")
        box.setDetailedText("\n".join(names))
        go = box.addButton(verb, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        go.clicked.connect(then)
        self._show(box)

    def _show(self, dialog: QDialog) -> None:
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._closed(dialog))
        self.dialog = dialog
        dialog.open()

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
