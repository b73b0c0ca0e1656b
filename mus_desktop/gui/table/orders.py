"""Sort orders the track table keeps between sorts. No Qt here."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from mus_desktop.library.rows import TrackRow

SortKey = Callable[[TrackRow], Any]
"""A row's sort key; None means blank (blanks go last whichever way a column sorts)."""


class ColumnKeys(NamedTuple):
    """How a column sorts."""

    key: SortKey
    """One row's key (a changed row put back in place)."""
    every: Callable[[Sequence[TrackRow]], list[Any]] | None = None
    """Every row's key at once, in the same order as `key`'s but quicker to work
    out or to compare; None: `key` row by row."""


REPAIR_LIMIT = 5000
"""Beyond this many rows changed since a column was last sorted, sorting it anew
is cheaper than putting each back in place (~20 keys worked out per row)."""


class SortedColumn:
    """One column's ascending order of every row, kept between sorts.

    Working out a column's keys is most of a sort's cost (a million natural-order
    titles: ~1.2 s of 1.7 s); keeping the keys would cost ~100 MB a column. This
    keeps the order (8 bytes a row) and the ids changed since, which the next
    sort puts back in place one by one when they are few, and re-sorts when not.
    """

    __slots__ = ("blank", "key", "order", "stale")

    def __init__(self, keys_of: ColumnKeys, rows: Sequence[TrackRow]) -> None:
        self.key = keys_of.key
        ids = [row.id for row in rows]
        keys = keys_of.every(rows) if keys_of.every else list(map(self.key, rows))
        keyed = [at for at, value in enumerate(keys) if value is not None]
        keyed.sort(key=keys.__getitem__)
        self.order = [ids[at] for at in keyed]
        self.blank = [ids[at] for at, value in enumerate(keys) if value is None]
        self.stale: set[int] = set()

    def repair(self, rows: Mapping[int, TrackRow]) -> bool:
        """Put the stale ids back in place; False when there are too many to do so."""
        if not self.stale:
            return True
        if len(self.stale) > REPAIR_LIMIT:
            return False
        stale = self.stale
        self.order = [track_id for track_id in self.order if track_id not in stale]
        self.blank = [track_id for track_id in self.blank if track_id not in stale]
        key = self.key
        for track_id in sorted(stale):
            row = rows.get(track_id)
            if row is None:
                continue
            wanted = key(row)
            if wanted is None:
                self.blank.append(track_id)
                continue
            at = bisect_right(self.order, wanted, key=lambda other: key(rows[other]))
            self.order.insert(at, track_id)
        self.stale = set()
        return True
