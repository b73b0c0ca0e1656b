"""The track table's columns as a person arranges them: widths that leave the
error and the path readable at 1280x760, columns shown or hidden from the View
menu, moved by dragging their header; all remembered with the header's state."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHeaderView, QMenu

from mus_desktop.gui.table.model import HEADERS, Column

DEFAULT_WIDTHS = {
    Column.STATUS: 192,  # an errored row reads "Error: <its message>" here
    Column.TITLE: 130,
    Column.ARTIST: 100,
    Column.ALBUM: 100,
    Column.NUMBER: 28,
    Column.DURATION: 58,
    Column.FORMAT: 56,
    Column.PATH: 100,  # the last column: it takes the room left, and loses its start
    Column.ERROR: 240,
}
HIDDEN_BY_DEFAULT = (Column.FORMAT, Column.ERROR)
"""The error's whole text is in the Status column and the tooltip; the format
in the detail pane."""
ALWAYS_SHOWN = (Column.TITLE,)


def apply_defaults(header: QHeaderView) -> None:
    """The default order, widths and hidden columns."""
    for column in Column:
        header.moveSection(header.visualIndex(column), column)
        header.resizeSection(column, DEFAULT_WIDTHS[column])
        header.setSectionHidden(column, column in HIDDEN_BY_DEFAULT)


def fill_columns_menu(menu: QMenu, header: QHeaderView, parent: QObject) -> None:
    """Menu items that show or hide each column (Title always stays), and Reset."""
    menu.clear()
    for column in Column:
        action = QAction(HEADERS[column], parent)
        action.setCheckable(True)
        action.setChecked(not header.isSectionHidden(column))
        action.setEnabled(column not in ALWAYS_SHOWN)
        action.toggled.connect(lambda shown, c=column: header.setSectionHidden(c, not shown))
        menu.addAction(action)
    menu.addSeparator()
    reset = QAction("Reset Columns", parent)
    reset.triggered.connect(lambda: apply_defaults(header))
    menu.addAction(reset)
