"""Item delegates shared by the window's tables."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem


class ElideDelegate(QStyledItemDelegate):
    """Text that loses the part given by `mode` when its column is narrow."""

    def __init__(self, mode: Qt.TextElideMode, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mode = mode

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = self._mode


def middle_elide(parent: QObject | None = None) -> ElideDelegate:
    """Folders lose their middle: both the root and the last folder stay readable."""
    return ElideDelegate(Qt.TextElideMode.ElideMiddle, parent)


def left_elide(parent: QObject | None = None) -> ElideDelegate:
    """Track paths lose their start: the file name and the folders nearest it are
    what tell two copies apart ("…/copy/01 Intro.flac")."""
    return ElideDelegate(Qt.TextElideMode.ElideLeft, parent)
