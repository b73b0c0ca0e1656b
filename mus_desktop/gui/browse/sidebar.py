"""The browse sidebar: "All tracks", then artists and their albums with their
counts, a mark on those holding an errored or missing track; selecting one
scopes the track table (a `browse.Scope`).

The tree's model is hand-made over `browse.ArtistIndex` so a change batch
costs its own size: each album or artist whose counts moved gets one
`dataChanged`, one that appeared or went one insert or remove, and the
albums of an artist are listed (sorted) only once the view asks for them.
The artist filter lives in the same model: it lists fewer artists, where a
QSortFilterProxyModel would re-filter and re-map on every update.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeView, QVBoxLayout, QWidget

from mus_desktop.gui.browse.index import ArtistIndex, Key, Scope, Tally, order_key
from mus_desktop.gui.status import Kind, status_icon
from mus_desktop.gui.words import plural
from mus_desktop.library.rows import TrackRow

Index = QModelIndex | QPersistentModelIndex

SCOPE_ROLE = Qt.ItemDataRole.UserRole + 1
"""An item's `Scope`; None for "All tracks"."""

UNKNOWN_ARTIST = "Unknown artist"
UNKNOWN_ALBUM = "Unknown album"

# A batch changing more than a quarter of the listed artists (and more than a
# few) resets the model: measured, an inserted artist costs the tree about five
# times what relisting one does, a changed one about twice.
_RESET_SHARE = 4
_RESET_MIN = 64

_TOP = 0
"""The internal id of top-level items; an album's is its artist's uid (from 1)."""


def _artist_label(artist: str) -> str:
    return artist or UNKNOWN_ARTIST


def _marks(tally: Tally) -> str | None:
    """What the mark stands for, in words ("2 errors · 1 missing"); None when unmarked."""
    if not tally.marked:
        return None
    parts = []
    if tally.errors:
        parts.append(plural(tally.errors, "error"))
    if tally.missing:
        parts.append(f"{tally.missing:,} missing")
    return " · ".join(parts)


class BrowseModel(QAbstractItemModel):
    """The sidebar's tree: row 0 "All tracks", then the listed artists; an
    artist's children are its albums."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.counts = ArtistIndex()
        self._artists: list[str] = []
        """The artists listed (those the filter passes), in order."""
        self._albums: dict[str, list[str]] = {}
        """The albums of the listed artists the view has asked for, in order."""
        self._uids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._filter = ""

    # -- what the view asks ----------------------------------------------------

    def index(self, row: int, column: int, parent: Index | None = None) -> QModelIndex:
        # Bounds checked here rather than by hasIndex (a call back into rowCount):
        # the tree asks for every artist's index at each layout.
        if column != 0 or row < 0:
            return QModelIndex()
        if parent is None or not parent.isValid():
            if row > len(self._artists):
                return QModelIndex()
            return self.createIndex(row, 0, _TOP)
        if not self._is_artist(parent):
            return QModelIndex()
        artist = self._artists[parent.row() - 1]
        if row >= len(self._album_list(artist)):
            return QModelIndex()
        return self.createIndex(row, 0, self._uid(artist))

    def parent(self, child: Index) -> QModelIndex:
        if not child.isValid() or child.internalId() == _TOP:
            return QModelIndex()
        row = self._artist_row(self._names[child.internalId()])
        return QModelIndex() if row is None else self.createIndex(row, 0, _TOP)

    def rowCount(self, parent: Index | None = None) -> int:
        if parent is None or not parent.isValid():
            return 1 + len(self._artists)
        if self._is_artist(parent):
            return len(self._album_list(self._artists[parent.row() - 1]))
        return 0

    def columnCount(self, parent: Index | None = None) -> int:
        return 1

    def hasChildren(self, parent: Index | None = None) -> bool:
        # Every listed artist has an album: no need to sort its albums to say so.
        return parent is None or not parent.isValid() or self._is_artist(parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        found = self._item(index)
        if found is None:
            return None
        scope, tally = found
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self._label(scope)} ({tally.tracks:,})"
        if role == SCOPE_ROLE:
            return scope
        if scope is None:
            return None
        if role == Qt.ItemDataRole.DecorationRole and tally.marked:
            return status_icon(Kind.ERROR if tally.errors else Kind.MISSING)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleDescriptionRole):
            return _marks(tally)
        return None

    # -- what the sidebar asks -------------------------------------------------

    def index_of(self, scope: Scope | None) -> QModelIndex:
        """The item of `scope`; invalid when it is not listed."""
        if scope is None:
            return self.createIndex(0, 0, _TOP)
        row = self._artist_row(scope.artist)
        if row is None:
            return QModelIndex()
        if scope.album is None:
            return self.createIndex(row, 0, _TOP)
        position = _position(self._album_list(scope.artist), scope.album)
        if position is None:
            return QModelIndex()
        return self.createIndex(position, 0, self._uid(scope.artist))

    def set_rows(self, rows: Iterable[TrackRow]) -> None:
        self.beginResetModel()
        self.counts.set_rows(rows)
        self._relist()
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """List only the artists whose name contains `text` (case ignored)."""
        folded = text.strip().casefold()
        if folded == self._filter:
            return
        self._filter = folded
        self.beginResetModel()
        self._relist()
        self.endResetModel()

    def apply_changes(self, rows: Sequence[TrackRow], before: Sequence[TrackRow]) -> None:
        changed = self.counts.apply_changes(rows, before)
        if not changed:
            return
        every = self.createIndex(0, 0, _TOP)
        self.dataChanged.emit(every, every)
        albums_of: dict[str, list[str]] = {}
        for artist, album in changed:
            albums_of.setdefault(artist, []).append(album)
        if len(albums_of) > max(_RESET_MIN, len(self._artists) // _RESET_SHARE):
            self.beginResetModel()
            self._relist()
            self.endResetModel()
            return
        for artist, albums in albums_of.items():
            self._update_artist(artist, albums)

    # -- internals -------------------------------------------------------------

    def _relist(self) -> None:
        """The listed artists anew (inside a model reset)."""
        artists = self.counts.artists()
        if self._filter:
            artists = [artist for artist in artists if self._passes(artist)]
        self._artists = artists
        self._albums = {}

    def _passes(self, artist: str) -> bool:
        return self._filter in _artist_label(artist).casefold()

    def _uid(self, artist: str) -> int:
        uid = self._uids.get(artist)
        if uid is None:
            uid = self._uids[artist] = len(self._uids) + 1
            self._names[uid] = artist
        return uid

    def _is_artist(self, index: Index) -> bool:
        return index.internalId() == _TOP and index.row() > 0

    def _artist_row(self, artist: str) -> int | None:
        position = _position(self._artists, artist)
        return None if position is None else position + 1

    def _album_list(self, artist: str) -> list[str]:
        albums = self._albums.get(artist)
        if albums is None:
            albums = self._albums[artist] = self.counts.albums(artist)
        return albums

    def _item(self, index: Index) -> tuple[Scope | None, Tally] | None:
        row = index.row()
        if index.internalId() == _TOP:
            if row == 0:
                return None, self.counts.total
            artist = self._artists[row - 1]
            tally = self.counts.artist_tally(artist)
            return None if tally is None else (Scope(artist), tally)
        artist = self._names[index.internalId()]
        albums = self._albums.get(artist)
        if albums is None or row >= len(albums):
            return None
        tally = self.counts.album_tally(artist, albums[row])
        return None if tally is None else (Scope(artist, albums[row]), tally)

    @staticmethod
    def _label(scope: Scope | None) -> str:
        if scope is None:
            return "All tracks"
        if scope.album is None:
            return _artist_label(scope.artist)
        return scope.album or UNKNOWN_ALBUM

    def _update_artist(self, artist: str, albums: list[str]) -> None:
        row = self._artist_row(artist)
        listed = self.counts.artist_tally(artist) is not None and self._passes(artist)
        if row is None:
            if listed:
                position = bisect_left(self._artists, order_key(artist), key=order_key)
                self.beginInsertRows(QModelIndex(), position + 1, position + 1)
                self._artists.insert(position, artist)
                self.endInsertRows()
            return
        if not listed:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._artists[row - 1]
            self._albums.pop(artist, None)
            self.endRemoveRows()
            return
        parent = self.createIndex(row, 0, _TOP)
        self.dataChanged.emit(parent, parent)
        shown = self._albums.get(artist)
        if shown is not None:  # else the view has not seen them: nothing to tell
            for album in albums:
                self._update_album(parent, shown, (artist, album))

    def _update_album(self, parent: QModelIndex, shown: list[str], key: Key) -> None:
        artist, album = key
        position = bisect_left(shown, order_key(album), key=order_key)
        there = position < len(shown) and shown[position] == album
        exists = self.counts.album_tally(artist, album) is not None
        if there and not exists:
            self.beginRemoveRows(parent, position, position)
            del shown[position]
            self.endRemoveRows()
        elif exists and not there:
            self.beginInsertRows(parent, position, position)
            shown.insert(position, album)
            self.endInsertRows()
        elif there:
            index = self.createIndex(position, 0, self._uid(artist))
            self.dataChanged.emit(index, index)


def _position(names: list[str], name: str) -> int | None:
    """Where `name` is in `names` (kept in `order_key` order), if it is."""
    position = bisect_left(names, order_key(name), key=order_key)
    return position if position < len(names) and names[position] == name else None


class LibrarySidebar(QWidget):
    """A filter line over the artist and album tree; the selection is a scope."""

    scopeChanged = Signal(object)
    """The selected `Scope`, or None for all tracks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = BrowseModel(self)
        self._scope: Scope | None = None
        self._quiet = False
        self._expanded: set[str] = set()

        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter artists")
        self.filter.setAccessibleName("Filter artists")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter)
        self.filter.returnPressed.connect(lambda: self.tree.setFocus())

        self.tree = QTreeView()
        self.tree.setAccessibleName("Artists and albums")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setModel(self.model)
        self.model.modelReset.connect(self._expand_again)  # after the view's own reset
        self.tree.selectionModel().selectionChanged.connect(self._on_selection)
        self.tree.expanded.connect(lambda index: self._on_expanded(index, True))
        self.tree.collapsed.connect(lambda index: self._on_expanded(index, False))
        self.setFocusProxy(self.tree)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self._select(self.model.index_of(None))

    def scope(self) -> Scope | None:
        return self._scope

    def select_scope(self, scope: Scope | None) -> None:
        """Select `scope` (All when it is not listed); scopeChanged if that changes the scope."""
        index = self.model.index_of(scope)
        self._select(index if index.isValid() else self.model.index_of(None))

    def set_rows(self, rows: Iterable[TrackRow]) -> None:
        """Every row anew (the initial load)."""
        with self._keeping_scope():
            self.model.set_rows(rows)

    def apply_changes(self, rows: Sequence[TrackRow], before: Sequence[TrackRow]) -> None:
        """Rows inserted or updated, with the rows of the tracks updated or deleted
        as they were before (`ArtistIndex.apply_changes`)."""
        with self._keeping_scope():
            self.model.apply_changes(rows, before)

    @contextmanager
    def _keeping_scope(self) -> Iterator[None]:
        """The selection stays on its artist or album through a change, else
        falls back to All; the tree stays scrolled where it was."""
        scrolled = self.tree.verticalScrollBar().value()
        self._quiet = True
        try:
            yield
            index = self.model.index_of(self._scope)
            if not index.isValid():
                index = self.model.index_of(None)
            if not self.tree.selectionModel().isSelected(index):
                self.tree.expand(index.parent())
                self.tree.setCurrentIndex(index)
                self.tree.verticalScrollBar().setValue(scrolled)
        finally:
            self._quiet = False
        self._set_scope(index.data(SCOPE_ROLE))

    def _expand_again(self) -> None:
        """After a model reset: the artists expanded before and still listed
        expanded again (one hidden by the filter, once it shows again)."""
        for artist in list(self._expanded):
            index = self.model.index_of(Scope(artist))
            if index.isValid():
                self.tree.expand(index)

    def _on_filter(self, text: str) -> None:
        with self._keeping_scope():
            self.model.set_filter(text)

    def _on_expanded(self, index: QModelIndex, expanded: bool) -> None:
        scope = index.data(SCOPE_ROLE)
        if scope is None or scope.album is not None:
            return
        if expanded:
            self._expanded.add(scope.artist)
        else:
            self._expanded.discard(scope.artist)

    def _select(self, index: QModelIndex) -> None:
        if index.parent().isValid():
            self.tree.expand(index.parent())
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)

    def _on_selection(self) -> None:
        if self._quiet:
            return
        selected = self.tree.selectionModel().selectedIndexes()
        if not selected:  # a Ctrl+click took the selection away: back to All
            self._select(self.model.index_of(None))
            return
        self._set_scope(selected[0].data(SCOPE_ROLE))

    def _set_scope(self, scope: Scope | None) -> None:
        if scope != self._scope:
            self._scope = scope
            self.scopeChanged.emit(scope)
