"""The track table's view: rows selected whole, status colours as row colours,
paths elided from the left, columns movable and remembered (table/columns.py)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from mus_desktop.gui.delegates import left_elide
from mus_desktop.gui.table.columns import apply_defaults
from mus_desktop.gui.table.model import Column, TrackTableModel


def make_track_table(model: TrackTableModel, parent: QWidget | None = None) -> QTableView:
    table = QTableView(parent)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setAlternatingRowColors(False)  # the status colours are the row colours
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTabKeyNavigation(False)  # Tab leaves the table for the next widget
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setItemDelegateForColumn(Column.PATH, left_elide(table))
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    vertical = table.verticalHeader()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(table.fontMetrics().height() + 8)
    vertical.hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setSectionsMovable(True)
    # The header asks the selection model whether each column is wholly
    # selected, whatever highlightSections says, on every paint; with many
    # rows selected, Qt answers that by visiting every row through the
    # model (~0.25 s per column for 100,000). Its own empty selection
    # model answers at once; the header never shows the selection anyway.
    header.setSelectionModel(QItemSelectionModel(model, header))
    apply_defaults(header)
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    return table
