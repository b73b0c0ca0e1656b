"""The table's selection, kept on the same tracks.

Qt keeps a selection by position, and a model reset (a filter, a search, a
large live change) clears it. `SelectionKeeper` reads the selected track ids
just before a reset and selects them again just after, by runs of adjacent
rows, so 100,000 selected tracks cost a handful of ranges, not one call each.
Selected tracks a filter hides are remembered too, and selected again when a
later filter shows them, until the person selects something else.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import is_
from typing import overload

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Signal,
)
from PySide6.QtWidgets import QTableView

from mus_desktop.gui.actions.menu import SelectionFacts
from mus_desktop.gui.status import Kind
from mus_desktop.gui.table.model import TRACK_ID_ROLE, Column, TrackTableModel
from mus_desktop.library.rows import TrackRow

_SELECT_ROWS = (
    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
)


def runs(positions: Iterable[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive positions, in order."""
    first = last = None
    for position in sorted(positions):
        if last is not None and position == last + 1:
            last = position
            continue
        if first is not None and last is not None:
            yield first, last
        first = last = position
    if first is not None and last is not None:
        yield first, last


class SelectedRows(Sequence[TrackRow]):
    """The rows of some ranges of the table, as a sequence that reads them only
    when first indexed or iterated: building 100,000 rows for a context menu
    that is then closed would cost more than the menu."""

    def __init__(self, model: TrackTableModel, ranges: list[tuple[int, int]]) -> None:
        self._model = model
        self._ranges = ranges
        self._rows: list[TrackRow] | None = None

    def _read(self) -> list[TrackRow]:
        if self._rows is None:
            self._rows = [
                row for first, last in self._ranges for row in self._model.rows_in(first, last)
            ]
        return self._rows

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in self._ranges)

    @overload
    def __getitem__(self, index: int) -> TrackRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[TrackRow]: ...
    def __getitem__(self, index: int | slice) -> TrackRow | Sequence[TrackRow]:
        return self._read()[index]

    def __iter__(self) -> Iterator[TrackRow]:
        return iter(self._read())


class SelectionKeeper(QObject):
    """Selects the same tracks again after each reset of the table's model."""

    restored = Signal()
    """After a reset: the selection is back (the current track may be gone)."""

    def __init__(self, table: QTableView, model: TrackTableModel) -> None:
        super().__init__(table)
        self._table = table
        self._model = model
        self._kept: Sequence[int] = []
        self._current: int | None = None
        self._hidden: list[int] = []
        """Selected tracks the filter hides, selected again once shown."""
        self._hidden_current: int | None = None
        self._restoring = False
        model.modelAboutToBeReset.connect(self._remember)
        model.modelReset.connect(self._restore)
        table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    def selected_ids(self) -> list[int]:
        """The selected tracks' ids, in table order."""
        return self._selected_id_array().tolist()

    def _selected_id_array(self) -> array[int]:
        """`selected_ids` as an array: copied from the model's, no int object made
        per id (a million selected ids as a list cost ~40 MB more at the peak of
        a filter change)."""
        ids = array("q")
        for selected in self._table.selectionModel().selection():
            ids.extend(self._model.ids_in(selected.top(), selected.bottom()))
        return ids

    def selected_view(self) -> SelectedRows:
        """The selected rows, read only when used (see `SelectedRows`)."""
        model = self._model
        return SelectedRows(
            model, [(r.top(), r.bottom()) for r in self._table.selectionModel().selection()]
        )

    def facts(self) -> SelectionFacts:
        """What applies to the selection, from the model's sets of ids, never by
        reading the selected rows."""
        model = self._model
        ranges = self._ranges()
        return SelectionFacts(
            sum(last - first + 1 for first, last in ranges),
            self.selected_among(model.ids_of_kind(Kind.ERROR), ranges) > 0,
            self.selected_among(model.ids_of_kind(Kind.MISSING), ranges),
            self.selected_among(model.duplicate_ids(), ranges) > 0,
        )

    def selected_among(self, ids: set[int], ranges: list[tuple[int, int]] | None = None) -> int:
        """How many of `ids` are selected: by looking their positions up in the
        selected ranges when they are fewer than the selected rows (the usual
        case: a few errored tracks, a million rows selected), else by reading
        the selected ids."""
        ranges = self._ranges() if ranges is None else ranges
        if not ids or not ranges:
            return 0
        if len(ids) >= sum(last - first + 1 for first, last in ranges):
            model = self._model
            return sum(len(ids.intersection(model.ids_in(*run))) for run in ranges)
        firsts = [first for first, _last in ranges]
        found = 0
        for position in self._model.positions_of(ids):
            if position is not None:
                at = bisect_right(firsts, position) - 1
                found += at >= 0 and position <= ranges[at][1]
        return found

    def _ranges(self) -> list[tuple[int, int]]:
        """(first, last) of each selected range, in table order."""
        selection = self._table.selectionModel().selection()
        return sorted((selected.top(), selected.bottom()) for selected in selection)

    def current_id(self) -> int | None:
        return self._table.currentIndex().data(TRACK_ID_ROLE)

    def select_ids(self, ids: Iterable[int], current: int | None) -> None:
        """Select the shown ones of `ids`, with `current` the current row if shown."""
        self._select_positions(self._model.positions_of(ids), current)

    def _select_positions(self, where: list[int | None], current: int | None) -> None:
        model = self._model
        positions = [p for p in where if p is not None]
        selection = QItemSelection()
        last_column = model.columnCount() - 1
        for first, last in runs(positions):
            selection.select(model.index(first, 0), model.index(last, last_column))
        selection_model = self._table.selectionModel()
        selection_model.select(selection, _SELECT_ROWS)
        position = None if current is None else model.position_of(current)
        if position is None:
            selection_model.setCurrentIndex(
                QModelIndex(), QItemSelectionModel.SelectionFlag.NoUpdate
            )
            return
        index = model.index(position, Column.TITLE)
        selection_model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        self._table.scrollTo(index)

    def _on_selection_changed(self) -> None:
        if not self._restoring:
            self._hidden = []
            self._hidden_current = None

    def _remember(self) -> None:
        self._kept = self._selected_id_array()
        self._kept.extend(self._hidden)
        current = self.current_id()
        self._current = current if current is not None else self._hidden_current

    def _restore(self) -> None:
        kept, self._kept = self._kept, []
        model = self._model
        where = model.positions_of(kept)
        self._hidden = list(compress(kept, map(is_, where, repeat(None))))
        current = self._current
        shown = current is not None and model.position_of(current) is not None
        self._hidden_current = None if shown else current
        self._restoring = True
        try:
            if kept or current is not None:
                self._select_positions(where, current)
        finally:
            self._restoring = False
        self.restored.emit()
