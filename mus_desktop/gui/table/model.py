"""The track table: a QAbstractTableModel over plain `TrackRow` tuples.

All rows live in an id→row dict; the visible rows are an array of ids in display
order, filtered and sorted in Python (a QSortFilterProxyModel took ~20 s to
sort 100k rows; a Python sort of the same tuples takes a fraction of a second).
Live changes from the watcher arrive as rows: a row still shown gets
`dataChanged` and stays where it is (rows do not jump under the pointer); a row
that starts matching the filter is inserted at its sorted place; one that
stops matching is removed.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import compress, count, repeat
from operator import eq, itemgetter
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QPalette

from mus_desktop.gui.browse.index import Scope
from mus_desktop.gui.status import (
    WORDS,
    Kind,
    StatusFilter,
    filter_kinds,
    kind_of,
    kinds_of,
    row_colours,
    status_icon,
)
from mus_desktop.gui.table.fields import HEADERS, Column
from mus_desktop.gui.table.keys import SORT_KEYS, column_keys
from mus_desktop.gui.table.orders import SortedColumn, in_order_of, indexable_by_id
from mus_desktop.gui.table.search import folded_names, rows_holding
from mus_desktop.gui.table.sorting import natural_key, values_of
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow

# Beyond this many rows entering or leaving the filter at once, one reset is
# cheaper than that many insert/remove signals.
_RESET_THRESHOLD = 2000
FOUND_BY_SCAN = 16
"""Up to this many shown ids are found by one scan of the shown ids (`_found`)."""

Index = QModelIndex | QPersistentModelIndex


TRACK_ID_ROLE = Qt.ItemDataRole.UserRole + 1

Stage = Callable[[list[TrackRow]], list[TrackRow]]
"""A part of the filter: the rows of a list that pass it, in their order."""

_ID = itemgetter(0)
"""A `TrackRow`'s id, as a C function for `map`."""


def format_duration(seconds: float | None) -> str:
    """m:ss, or h:mm:ss from an hour up; empty when unknown."""
    if seconds is None:
        return ""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class Prepared:
    """What the watcher works out from every row of the first load, beside the GUI
    thread, for the model to keep (`finish_loading`)."""

    rows: int
    orders: Mapping[Column, SortedColumn]
    """The orders of the columns costly to sort (`keys.orders_of`)."""
    folded_names: dict[str, str]
    """Every artist and album name, case-folded (`folded_names`)."""


@dataclass(frozen=True)
class Counts:
    """What the status bar shows; status kinds count present tracks only."""

    total: int
    by_kind: dict[Kind, int]
    duplicates: int

    @property
    def outstanding(self) -> int:
        return self.by_kind.get(Kind.PENDING, 0) + self.by_kind.get(Kind.IN_PROGRESS, 0)


def _group_key(row: TrackRow) -> int | None:
    """The duplicate group a row counts in: its audio hash (exact copies share it,
    and so does the same recording with other tags), else its content hash (a
    format without an audio hash, a track not hashed since schema 4). A missing
    track counts in none."""
    if row.missing_since is not None:
        return None
    return row.recording_key if row.recording_key is not None else row.content_key


def _group_keys(rows: Sequence[TrackRow]) -> list[int | None]:
    """`_group_key` of every row."""
    return [
        None if gone is not None else (recording if recording is not None else content)
        for gone, recording, content in zip(
            values_of("missing_since", rows),
            values_of("recording_key", rows),
            values_of("content_key", rows),
            strict=True,
        )
    ]


def _ids_by_kind(rows: Sequence[TrackRow], ids: list[int]) -> dict[Kind, list[int]]:
    """The ids of `rows` (in `ids`, the same order) by `kind_of` their row."""
    kinds = kinds_of(rows)
    return {kind: list(compress(ids, map(eq, kinds, repeat(kind)))) for kind in set(kinds)}


class Positions:
    """Where each shown track is: its id → its position in the table.

    An array indexed by id (4 bytes a track; a dict took ~80 MB at a million
    rows), unless the ids run too far past the count for one (ids come from a
    file: a row numbered in the billions must not allocate gigabytes), then a dict.
    The array is filled by numpy: ~7 ms for a million shown rows, where a C loop
    of Python calls took ~120 ms, paid again after every live change that moved
    rows in or out of a filter.
    """

    __slots__ = ("_table",)

    def __init__(self, shown: Sequence[int]) -> None:
        ids = np.asarray(shown, dtype=np.int64)  # an array("q") is read in place
        top = int(ids.max()) if len(ids) else 0
        self._table: array[int] | dict[int, int]
        if indexable_by_id(top, len(shown)):
            table = np.full(top + 1, -1, dtype=np.int32)
            table[ids] = np.arange(len(ids), dtype=np.int32)
            self._table = array("i", table.tobytes())
        else:
            self._table = {track_id: position for position, track_id in enumerate(shown)}

    def get_many(self, track_ids: Sequence[int]) -> list[int | None]:
        """`get` of each id, in their order, in C loops where it can (a million
        ids: ~0.1 s, against ~1.2 s one `get` at a time)."""
        table = self._table
        if isinstance(table, dict):
            return list(map(table.get, track_ids))
        if not track_ids or min(track_ids) < 0 or max(track_ids) >= len(table):
            return list(map(self.get, track_ids))
        return [
            None if position < 0 else position for position in map(table.__getitem__, track_ids)
        ]

    def get(self, track_id: int) -> int | None:
        table = self._table
        if isinstance(table, dict):
            return table.get(track_id)
        if not 0 <= track_id < len(table):
            return None
        position = table[track_id]
        return None if position < 0 else position


class TrackTableModel(QAbstractTableModel):
    countsChanged = Signal()

    def __init__(self, palette: QPalette, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[int, TrackRow] = {}
        self._top_id = 0
        """At least the largest id held."""
        self._visible = array("q")
        """The ids shown, in their order (an array: see `SortedColumn`)."""
        self._pos = Positions([])
        self._pos_dirty = False
        self._by_kind: dict[Kind, set[int]] = {kind: set() for kind in Kind}
        """Ids by kind: counts for the status bar, and for a selection of 100,000
        rows what applies to it (`selection_facts`) by set operations."""
        self._alone: dict[int, int] = {}
        """Group key → the id of the only present track with it."""
        self._groups: dict[int, set[int]] = {}
        """Group key → the ids of two or more present tracks sharing it: duplicates.
        (A set per track would cost ~270 MB at a million tracks.)"""
        self._duplicates = 0
        self._sorted: dict[Column, SortedColumn] = {}
        self._folded_names: dict[str, str] | None = None
        """Every artist and album name held (and some no longer held), case-folded:
        a search matches each word against these once, not row by row. Made by
        the watcher at load (`Prepared`), or at the first search, then added to
        as rows come."""
        self._filter = StatusFilter.ALL
        self._words: list[str] = []
        self._scope: Scope | None = None
        self._sticky: set[int] = set()
        """Rows a live change took out of the filter but that stay shown while
        selected (see `apply_changes`); forgotten at the next filter change."""
        self._sort_column: Column | None = None
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._brushes: dict[Kind, QBrush] = {}
        self.removing_rows = False
        """True while shown rows leave: the view then moves its current row by itself."""
        self._rows_on_screen: Callable[[], tuple[int, int]] | None = None
        self.set_palette(palette)

    # -- what the view asks --------------------------------------------------

    def rowCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._visible)

    def columnCount(self, parent: Index | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)] if 0 <= section < len(Column) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._visible):
            return None
        row = self._rows[self._visible[index.row()]]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.STATUS and self._filter == StatusFilter.DUPLICATES:
                return self._duplicate_status(row)
            return self._text(row, Column(column))
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._brushes[kind_of(row)]
        if role == Qt.ItemDataRole.DecorationRole and column == Column.STATUS:
            return status_icon(kind_of(row))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
            Column.NUMBER,
            Column.DURATION,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == TRACK_ID_ROLE:
            return row.id
        return None

    @staticmethod
    def _text(row: TrackRow, column: Column) -> str:
        if column == Column.STATUS:
            kind = kind_of(row)
            if kind == Kind.ERROR and row.error:
                # The message where the eye already is: the Error column may be off-screen.
                first_line = row.error.partition("\n")[0]
                return f"Error: {first_line}"
            return WORDS[kind]
        if column == Column.NUMBER:
            return "" if row.track_number is None else str(row.track_number)
        if column == Column.DURATION:
            return format_duration(row.duration)
        if column == Column.ERROR:
            return row.error.partition("\n")[0]
        return str(getattr(row, column.name.lower()))

    def _duplicate_status(self, row: TrackRow) -> str:
        """The Status cell in the Duplicates view: which kind of copy the row is, and
        its error if it has one (its colour and icon still say its processing state)."""
        kind = self.duplicate_kind(row).capitalize()
        status = self._text(row, Column.STATUS)
        if not kind:  # a row kept in view while selected, no longer a duplicate
            return status
        return f"{kind} · {status}" if status.startswith("Error") else kind

    @staticmethod
    def _tooltip(row: TrackRow) -> str | None:
        if row.error:
            return row.error
        if row.missing_since is not None:
            return f"Missing since {row.missing_since:%Y-%m-%d %H:%M}; last seen at {row.path}"
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = Column(column) if 0 <= column < len(Column) else None
        self._sort_order = order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._visible[index.row()], index.column()) for index in persistent]
        self._visible = self._in_order(self._visible)
        self._pos_dirty = True
        if persistent:
            where = self._found({track_id for track_id, _col in kept})
            self.changePersistentIndexList(
                persistent, [self.index(where.get(track_id, 0), col) for track_id, col in kept]
            )
        self.layoutChanged.emit()

    # -- what the window asks ------------------------------------------------

    def errored_rows(self, first: int, last: int) -> list[TrackRow]:
        """The errored rows shown at positions `first` to `last` (inclusive)."""
        rows = self._rows
        error = ProcessingStatus.ERROR
        shown = (rows[track_id] for track_id in self._visible[first : last + 1])
        return [row for row in shown if row.status == error]

    def ids_in(self, first: int, last: int) -> array[int]:
        """Ids of the rows shown at positions `first` to `last` (inclusive)."""
        return self._visible[first : last + 1]

    def rows_in(self, first: int, last: int) -> list[TrackRow]:
        rows = self._rows
        return [rows[track_id] for track_id in self._visible[first : last + 1]]

    def held_rows(self, track_ids: Iterable[int]) -> list[TrackRow]:
        """The rows held of these tracks, shown or not (none for an id not held)."""
        rows = self._rows
        return [row for track_id in track_ids if (row := rows.get(track_id)) is not None]

    def row(self, track_id: int) -> TrackRow | None:
        """The row of `track_id`, shown or not."""
        return self._rows.get(track_id)

    def positions_of(self, track_ids: Iterable[int]) -> list[int | None]:
        """The positions of these tracks (None for one not shown), in their order."""
        track_ids = track_ids if isinstance(track_ids, Sequence) else list(track_ids)
        if not track_ids:  # no need to work out every position (~0.4 s at a million rows)
            return []
        self._ensure_positions()
        return self._pos.get_many(track_ids)

    def duplicate_ids(self) -> set[int]:
        """Ids of the present tracks whose content another present track shares."""
        return {track_id for ids in self._groups.values() for track_id in ids}

    def ids_of_kind(self, kind: Kind) -> set[int]:
        """Ids of every track of `kind`, shown or not (the model's own set: do not change it)."""
        return self._by_kind[kind]

    def position_of(self, track_id: int) -> int | None:
        self._ensure_positions()
        return self._pos.get(track_id)

    def counts(self) -> Counts:
        by_kind = {kind: len(ids) for kind, ids in self._by_kind.items() if ids}
        return Counts(len(self._rows), by_kind, self._duplicates)

    def duplicate_kind(self, row: TrackRow) -> str:
        """How `row` duplicates the others of its group: 'exact copy' (another file
        has its bytes), 'same audio, other tags' (the same recording, retagged:
        its audio hash with other bytes), 'exact copy (+ retag)' for both, or ""
        when it is no duplicate."""
        key = _group_key(row)
        group = self._groups.get(key, ()) if key is not None else ()
        if len(group) < 2:
            return ""
        same_bytes = sum(1 for i in group if self._rows[i].content_key == row.content_key)
        if 1 < same_bytes < len(group):
            return "exact copy (+ retag)"  # short: the Status column is ~190 px wide
        if same_bytes > 1:
            return "exact copy"
        return "same audio, other tags"

    def is_duplicate(self, row: TrackRow) -> bool:
        key = _group_key(row)
        return key is not None and key in self._groups

    def set_palette(self, palette: QPalette) -> None:
        self._brushes = {kind: QBrush(colour) for kind, colour in row_colours(palette).items()}
        if self._visible:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._visible) - 1, len(Column) - 1),
                [Qt.ItemDataRole.BackgroundRole],
            )

    def set_rows(self, rows: Iterable[TrackRow]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = {}
        self._top_id = 0
        self._sorted = {}
        self._folded_names = None
        self._by_kind = {kind: set() for kind in Kind}
        self._alone = {}
        self._groups = {}
        self._duplicates = 0
        self._take(rows if isinstance(rows, Sequence) else list(rows))
        self._refilter()
        self.endResetModel()
        self.countsChanged.emit()

    def add_loaded(self, rows: Sequence[TrackRow]) -> None:
        """Take one part of the initial load: the rows that match the filter go at
        the end, so the first part shows while the rest is read. `finish_loading`
        puts them in order."""
        self._take(rows)
        shown = list(rows)
        for stage in self._stages():
            shown = stage(shown)
        if shown:
            start = len(self._visible)
            self.beginInsertRows(QModelIndex(), start, start + len(shown) - 1)
            self._visible.extend(map(_ID, shown))
            self._pos_dirty = True
            self.endInsertRows()
        self.countsChanged.emit()

    def finish_loading(self, prepared: Prepared | None = None) -> None:
        """After the last part: the filter and the sort over every row at once (a
        row of the first part may have become a duplicate of one read later).
        What was `prepared` from every row loaded is kept for the sorts and
        searches to come; not when it counts other rows than the ones held (the
        model was filled otherwise)."""
        if prepared is not None and prepared.rows == len(self._rows):
            self._sorted.update(prepared.orders)
            self._folded_names = prepared.folded_names
        if self._filter == StatusFilter.DUPLICATES:
            self.beginResetModel()
            self._refilter()
            self.endResetModel()
        elif self._effective_sort()[0] is not None:
            self.sort(self._sort_column if self._sort_column is not None else -1, self._sort_order)

    def set_filter(
        self, status_filter: StatusFilter, text: str, scope: Scope | None = None
    ) -> None:
        """Show the rows of `status_filter` that contain every word of `text`, within
        `scope` (an artist or album of the sidebar; None: the whole library)."""
        words = text.casefold().split()
        if (status_filter, words, scope) == (self._filter, self._words, self._scope):
            return
        self._filter = status_filter
        self._words = words
        self._scope = scope
        self._sticky = set()
        self.beginResetModel()
        self._refilter()
        self.endResetModel()

    def apply_changes(
        self,
        rows: Sequence[TrackRow],
        removed: Sequence[int],
        keep: Callable[[int], bool] | None = None,
    ) -> None:
        """Take rows inserted or updated, and ids deleted, in the database since the last call.

        A shown row that stops matching the filter leaves, unless `keep(position)`
        says to keep it (the window keeps the selected rows: a retried track
        stays in view under the Errors filter until the person moves on).
        """
        if not rows and not removed:
            return
        touched: list[TrackRow] = []  # the rows as they were and as they are
        for track_id in removed:
            gone = self._rows.pop(track_id, None)
            if gone is not None:
                self._count(gone, -1)
                self._forget(track_id)
                touched.append(gone)
        for row in rows:
            old = self._rows.get(row.id)
            if old is not None:
                self._count(old, -1)
                touched.append(old)
            self._rows[row.id] = row
            self._top_id = max(self._top_id, row.id)
            self._forget(row.id)
            self._count(row, +1)
            self._know_names(row)
            touched.append(row)
        affected = {row.id for row in rows} | set(removed)
        if self._filter == StatusFilter.DUPLICATES:
            # A row can join or leave the duplicates because another row of its group changed.
            for row in touched:
                affected |= self._members(_group_key(row))
        self._ensure_positions()
        matches_filter = self._matcher()
        shown, enter, leave = [], [], []
        for track_id in affected:
            position = self._pos.get(track_id)
            row = self._rows.get(track_id)
            matches = row is not None and matches_filter(row)
            if position is None and matches:
                enter.append(track_id)
            elif position is not None and not matches:
                if row is not None and keep is not None and keep(position):
                    self._sticky.add(track_id)
                    shown.append(position)
                else:
                    leave.append(position)
            elif position is not None:
                shown.append(position)
        self._emit_changed(shown)
        if len(enter) + len(leave) > _RESET_THRESHOLD:
            self.beginResetModel()
            self._refilter(self._kept_sticky(keep))
            self.endResetModel()
        else:
            self._remove_positions(leave)
            self._insert_ids(enter)
        self.countsChanged.emit()

    # -- internals -----------------------------------------------------------

    def _take(self, rows: Sequence[TrackRow]) -> None:
        """Add rows not held yet (a part of the load), by C loops over their columns
        where it can (a million rows: ~1.5 s of the GUI thread rather than ~3 s)."""
        ids = values_of("id", rows)
        self._rows.update(zip(ids, rows, strict=True))
        self._top_id = max(self._top_id, max(ids, default=0))
        for kind, members in _ids_by_kind(rows, ids).items():
            self._by_kind[kind].update(members)
        alone, groups = self._alone, self._groups
        for key, track_id in zip(_group_keys(rows), ids, strict=True):
            if key is None:
                continue
            if key in alone or key in groups:
                self._join(key, track_id)
            else:
                alone[key] = track_id  # most rows: the first of their content
        for column in self._sorted.values():
            column.stale.update(ids)
        if self._folded_names is not None:
            for row in rows:
                self._know_names(row)

    def _know_names(self, row: TrackRow) -> None:
        if (names := self._folded_names) is not None:
            for name in (row.artist, row.album):
                if name not in names:
                    names[name] = name.casefold()

    def _members(self, key: int | None) -> set[int]:
        """The ids of the present tracks in group `key`."""
        if key is None:
            return set()
        if (ids := self._groups.get(key)) is not None:
            return set(ids)
        alone = self._alone.get(key)
        return set() if alone is None else {alone}

    def _join(self, key: int, track_id: int) -> None:
        group = self._groups.get(key)
        if group is not None:
            group.add(track_id)
            self._duplicates += 1
            return
        other = self._alone.pop(key, None)
        if other is None or other == track_id:
            self._alone[key] = track_id
            return
        self._groups[key] = {other, track_id}
        self._duplicates += 2

    def _leave(self, key: int, track_id: int) -> None:
        group = self._groups.get(key)
        if group is None:
            if self._alone.get(key) == track_id:
                del self._alone[key]
            return
        if track_id not in group:
            return
        group.discard(track_id)
        if len(group) > 1:
            self._duplicates -= 1
            return
        del self._groups[key]
        self._alone[key] = group.pop()
        self._duplicates -= 2

    def _count(self, row: TrackRow, step: int) -> None:
        """Count `row` in (step +1) or out of (-1) the status kinds and its duplicate group."""
        if step > 0:
            self._by_kind[kind_of(row)].add(row.id)
        else:
            self._by_kind[kind_of(row)].discard(row.id)
        key = _group_key(row)
        if key is None:
            return
        if step > 0:
            self._join(key, row.id)
        else:
            self._leave(key, row.id)

    def _forget(self, track_id: int) -> None:
        """Mark what was worked out from a row that changed or went."""
        for column in self._sorted.values():
            column.stale.add(track_id)

    def _kept_sticky(self, keep: Callable[[int], bool] | None) -> set[int]:
        """The sticky rows still kept, read before a reset moves the positions."""
        if keep is None:
            return set()
        self._ensure_positions()
        kept = set()
        for track_id in self._sticky:
            position = self._pos.get(track_id)
            if position is not None and track_id in self._rows and keep(position):
                kept.add(track_id)
        self._sticky = kept
        return kept

    def _matcher(self) -> Callable[[TrackRow], bool]:
        """The filter, the scope and the search as one test of a held row."""
        stages = self._stages()
        return lambda row: all(stage([row]) for stage in stages)

    def _stages(self, *, status: bool = True) -> list[Stage]:
        """The filter (the status one unless `status` is False), the scope and the
        search, each keeping the rows of a list that pass it: a filter change
        runs them over a million rows, each over what the one before kept, so
        each is a loop in C or a comprehension rather than a call per row."""
        stages: list[Stage] = []
        if self._filter == StatusFilter.DUPLICATES:
            is_duplicate = self.is_duplicate
            stages.append(lambda rows: [r for r in rows if is_duplicate(r)])
        elif status and (held := self._status_test()) is not None:
            stages.append(lambda rows: list(compress(rows, map(held, map(_ID, rows)))))
        if (scope := self._scope) is not None:
            stages.append(lambda rows: [r for r in rows if scope.matches(r)])
        if self._words:
            stages.append(partial(self._holding, self._words))
        return stages

    def _status_test(self) -> Callable[[int], bool] | None:
        """Whether an id is of a kind the status filter keeps, by the sets of
        ids; None when it keeps every kind (All, Duplicates)."""
        kinds = filter_kinds(self._filter)
        if kinds is None:
            return None
        sets = [self._by_kind[kind] for kind in kinds]
        return sets[0].__contains__ if len(sets) == 1 else set().union(*sets).__contains__

    def _holding(self, words: list[str], rows: list[TrackRow]) -> list[TrackRow]:
        """The rows that hold every word (`search.rows_holding`)."""
        if self._folded_names is None:
            self._folded_names = folded_names(self._rows.values())
        return rows_holding(words, rows, self._folded_names)

    def _refilter(self, also: set[int] | frozenset[int] = frozenset()) -> None:
        """The visible rows anew from the filter and sort (inside a model reset),
        with the ids in `also` shown whether they match or not.

        A filter that reads no row (a status, by its sets of ids) runs over every
        id in the sort's order and keeps it: ~0.1 s less at a million rows than
        picking the shown ids out of the order afterwards. One that reads rows
        (a search, a scope, duplicates) runs over them in their own order, the
        order they lie in memory (in a sort's order, reading a million rows took
        twice as long), the status filter taking them from the held rows in
        the same pass."""
        reads_rows = bool(self._words) or self._scope is not None
        reads_rows |= self._filter == StatusFilter.DUPLICATES
        if reads_rows:
            held = self._status_test()
            rows = self._rows.values()
            kept = list(rows if held is None else compress(rows, map(held, self._rows)))
            for stage in self._stages(status=False):
                kept = stage(kept)
            ids = list(map(_ID, kept))
        else:
            every = self._every_in_order()
            held = self._status_test()
            shown = every if held is None else array("q", filter(held, every))
        if also:
            chosen = also.union(ids if reads_rows else shown)
            ids = list(filter(chosen.__contains__, self._rows))
            reads_rows = True
        self._visible = self._in_order(ids) if reads_rows else shown
        self._pos_dirty = True  # worked out when first asked: a selection to restore, a change

    def _every_in_order(self) -> array[int]:
        """Every id held, in the sort's order (the rows' own order when unsorted)."""
        column, descending = self._effective_sort()
        if column is None:
            return array("q", self._rows)
        kept = self._sorted_column(column)
        every = kept.order[::-1] if descending else kept.order[:]
        every.extend(kept.blank)
        return every

    def _sorted_column(self, column: Column) -> SortedColumn:
        """`column`'s order of every row, brought up to date."""
        kept = self._sorted.get(column)
        if kept is None or not kept.repair(self._rows):
            rows = list(self._rows.values())
            kept = self._sorted[column] = SortedColumn.of_rows(column_keys(column), rows)
        return kept

    def _effective_sort(self) -> tuple[Column | None, bool]:
        """(column, descending): the header's sort; unsorted within an artist or album
        of the sidebar, that one's tracks in album order."""
        if self._sort_column is None and self._scope is not None:
            return (Column.ALBUM if self._scope.album is not None else Column.ARTIST), False
        return self._sort_column, self._sort_order == Qt.SortOrder.DescendingOrder

    def _in_order(self, ids: Sequence[int]) -> array[int]:
        """`ids` in the order shown: the sort's, copies together under Duplicates,
        their own when unsorted."""
        if self._filter == StatusFilter.DUPLICATES:
            return array("q", self._sort_duplicates(ids))
        if self._effective_sort()[0] is None:
            return array("q", ids)
        every = self._every_in_order()
        if len(ids) == len(self._rows):
            return every
        return in_order_of(every, ids, self._top_id)

    def _sort_duplicates(self, ids: Sequence[int]) -> list[int]:
        """The copies of one content next to each other, each group in path order;
        groups in the order of the sorted column's key of their first copy (by
        path when unsorted), groups with no key last."""
        rows = self._rows
        groups: dict[int | None, list[int]] = {}
        for track_id in ids:
            groups.setdefault(_group_key(rows[track_id]), []).append(track_id)
        for members in groups.values():
            members.sort(key=lambda track_id: natural_key(rows[track_id].path))
        column, descending = self._effective_sort()
        keyed: list[tuple[Any, list[int]]] = []
        blank: list[list[int]] = []
        key = SORT_KEYS[column] if column is not None else None
        for members in groups.values():
            if key is None:
                keyed.append((natural_key(rows[members[0]].path), members))
                continue
            values = (key(rows[track_id]) for track_id in members)
            present = [value for value in values if value is not None]
            if present:
                keyed.append((max(present) if descending else min(present), members))
            else:
                blank.append(members)
        keyed.sort(key=lambda pair: pair[0], reverse=descending)
        ordered = [track_id for _key, members in keyed for track_id in members]
        ordered.extend(track_id for members in blank for track_id in members)
        return ordered

    def _found(self, track_ids: set[int]) -> dict[int, int]:
        """The positions of a few shown ids (the current row's and the selection's
        corners, after a sort), found by one scan in C (~40 ms at a million rows),
        rather than every row's position worked out (~0.3 s); many ids the
        second way."""
        if len(track_ids) > FOUND_BY_SCAN:
            self._ensure_positions()
            return {track_id: self._pos.get(track_id) or 0 for track_id in track_ids}
        shown = self._visible
        at = compress(count(), map(track_ids.__contains__, shown))
        return {shown[position]: position for position in at}

    def _rebuild_positions(self) -> None:
        self._pos = Positions(self._visible)
        self._pos_dirty = False

    def _ensure_positions(self) -> None:
        if self._pos_dirty:
            self._rebuild_positions()

    def show_changes_within(self, rows_on_screen: Callable[[], tuple[int, int]]) -> None:
        """Tell views of live changes only in the rows `rows_on_screen()` gives
        (first, last; last < first for none): the rest are painted from their
        current data when scrolled to. Live changes land all over a million
        rows, and one change signal spanning them repainted the whole table
        (~25 ms) several times a second while workers wrote."""
        self._rows_on_screen = rows_on_screen

    def _emit_changed(self, positions: list[int]) -> None:
        if self._rows_on_screen is not None and positions:
            first, last = self._rows_on_screen()
            positions = [position for position in positions if first <= position <= last]
        if not positions:
            return
        last_column = len(Column) - 1
        if len(positions) > 64:
            top, bottom = min(positions), max(positions)
            self.dataChanged.emit(self.index(top, 0), self.index(bottom, last_column))
            return
        for position in positions:
            self.dataChanged.emit(self.index(position, 0), self.index(position, last_column))

    def _remove_positions(self, positions: list[int]) -> None:
        self.removing_rows = True
        try:
            for position in sorted(positions, reverse=True):
                self.beginRemoveRows(QModelIndex(), position, position)
                del self._visible[position]
                self.endRemoveRows()
        finally:
            self.removing_rows = False
        if positions:
            self._pos_dirty = True

    def _insert_ids(self, ids: list[int]) -> None:
        for track_id in sorted(ids):
            position = self._insert_position(self._rows[track_id])
            self.beginInsertRows(QModelIndex(), position, position)
            self._visible.insert(position, track_id)
            self.endInsertRows()
        if ids:
            self._pos_dirty = True

    def _position_in_group(self, row: TrackRow) -> int:
        """After the last shown copy of `row`'s content (the end when none is shown)."""
        copies = self._members(_group_key(row))
        # A scan, not the positions map: that one is stale while rows go in one by one.
        positions = [
            position
            for position, track_id in enumerate(self._visible)
            if track_id in copies and track_id != row.id
        ]
        return max(positions) + 1 if positions else len(self._visible)

    def _insert_position(self, row: TrackRow) -> int:
        """Where `row` belongs in the current sort (the end when unsorted).

        Rows updated in place may have left the list slightly out of order;
        the binary search still lands on a sensible neighbour.
        """
        if self._filter == StatusFilter.DUPLICATES:
            return self._position_in_group(row)
        column, descending = self._effective_sort()
        if column is None:
            return len(self._visible)
        key = SORT_KEYS[column]
        wanted = key(row)
        if wanted is None:
            return len(self._visible)
        low, high = 0, len(self._visible)
        while low < high:
            middle = (low + high) // 2
            here = key(self._rows[self._visible[middle]])
            if here is None or (here < wanted if descending else wanted < here):
                high = middle
            else:
                low = middle + 1
        return low
