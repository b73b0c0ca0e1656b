"""Sort orders the track table keeps between sorts. No Qt here."""

from __future__ import annotations

import random
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from itertools import compress, filterfalse, islice, repeat
from operator import eq, is_, is_not
from typing import Any, NamedTuple

import numpy as np

from mus_desktop.gui.table.sorting import SLICE, PartKeys, values_of
from mus_desktop.library.rows import TrackRow

SortKey = Callable[[TrackRow], Any]
"""A row's sort key; None means blank (blanks go last whichever way a column sorts)."""


class ColumnKeys(NamedTuple):
    """How a column sorts."""

    key: SortKey
    """One row's key (a changed row put back in place)."""
    keyer: Callable[[Sequence[TrackRow]], PartKeys]
    """Given every row, the keys of any part of them: in the order of `key`'s (with
    `then_by`), quicker to work out (C loops over a column, not a call per row)
    or to compare."""
    then_by: Callable[[Sequence[TrackRow]], list[Any]] | None = None
    """Where the keyer's keys tie but `key`'s do not: the keys of those rows that
    break the tie (the titles of tracks of one album with one number)."""


class SortedColumn:
    """One column's ascending order of every row, kept between sorts.

    Working out a column's keys is most of a sort's cost; keeping the keys
    would cost ~100 MB a column at a million rows. This keeps the order (8 bytes
    a row) and the ids changed since, which the next sort puts back in place
    when they are few, and re-sorts when not.

    The order is an array of ids, not a list of the rows' id objects: a list in
    a sort's order points all over the rows' memory, and a pass over a million
    of its ids (what a filter in the sort's order does) took ~0.3 s where one
    over the array takes ~0.1 s, for the same 8 bytes an id.
    """

    __slots__ = ("blank", "key", "order", "stale")

    def __init__(self, key: SortKey, order: array[int], blank: list[int]) -> None:
        self.key = key
        self.order = order
        """Ids in ascending order of their keys."""
        self.blank = blank
        """Ids whose key is blank (None), in their rows' order."""
        self.stale: set[int] = set()

    @classmethod
    def of_rows(
        cls, keys_of: ColumnKeys, rows: Sequence[TrackRow], *, in_steps: bool = False
    ) -> SortedColumn:
        """The column's order of `rows`. With `in_steps`, for a thread beside the GUI
        thread, no C call is long and no more than SLICE rows' keys are held at
        once (`_buckets`); otherwise the keys of every row are worked out once,
        ~1.7x quicker."""
        keys_of_part = keys_of.keyer(rows)
        if in_steps and len(rows) > SLICE:
            parts, blank = _buckets(rows, keys_of_part)
        else:
            parts, blank = [rows], []
        order = array("q")
        for part in parts:
            ids = values_of("id", part)
            keys = keys_of_part(part)
            blank += compress(ids, map(is_, keys, repeat(None)))
            key_of = _by_id(ids, keys)
            keyed = sorted(compress(ids, map(is_not, keys, repeat(None))), key=key_of.__getitem__)
            del keys
            if keys_of.then_by is not None:
                _break_ties(keyed, key_of, part, keys_of.then_by)
            order.extend(keyed)
        return cls(keys_of.key, order, blank)

    def repair(self, rows: Mapping[int, TrackRow]) -> bool:
        """Put the stale ids back in place; False when there are too many to do so."""
        if not self.stale:
            return True
        if len(self.stale) * REPAIR_SHARE > len(self.order) + len(self.blank):
            return False
        stale = self.stale
        key = self.key
        order = array("q", filterfalse(stale.__contains__, self.order))
        self.blank = list(filterfalse(stale.__contains__, self.blank))
        placed: list[tuple[Any, int]] = []
        for track_id in sorted(stale):
            row = rows.get(track_id)
            if row is None:
                continue
            wanted = key(row)
            if wanted is None:
                self.blank.append(track_id)
            else:
                placed.append((wanted, track_id))
        placed.sort(key=lambda pair: pair[0])
        self.order = _merged(order, placed, lambda track_id: key(rows[track_id]))
        self.stale = set()
        return True


REPAIR_SHARE = 20
"""A column is sorted anew rather than repaired once more than 1/REPAIR_SHARE of
its rows changed: each changed row costs ~20 keys worked out to put back, a
row of a new sort about one."""


def _buckets(
    rows: Sequence[TrackRow], keys_of_part: PartKeys
) -> tuple[list[list[TrackRow]], list[int]]:
    """`rows` split into buckets of about SLICE rows by key (each bucket's keys
    all below the next one's; rows of equal keys in one bucket, in their order),
    and the ids of the rows whose key is blank.

    Splitters from a sample of keys, each row placed by binary search: keys are
    worked out a SLICE at a time and dropped, so a million titles' keys (~80 MB)
    are never held at once; each bucket's are worked out again to sort it."""
    count = len(rows)
    sample = random.Random(count).sample(list(rows), 8 * (count // SLICE + 1))
    splitters = sorted({key for key in keys_of_part(sample) if key is not None})[::8]
    place = partial(bisect_right, splitters)
    into: list[list[TrackRow]] = [[] for _ in range(len(splitters) + 1)]
    blank: list[int] = []
    for start in range(0, count, SLICE):
        part = rows[start : start + SLICE]
        for row, key in zip(part, keys_of_part(part), strict=True):
            if key is None:
                blank.append(row.id)
            else:
                into[place(key)].append(row)
    return into, blank


def _by_id(ids: list[int], keys: list[Any]) -> Sequence[Any] | Mapping[int, Any]:
    """Each id's key, looked up by id: a list indexed by id where ids are dense
    (a sort then moves the rows' own id objects, rather than a million new ints
    for their places: ~32 MB less at a million rows), else a dict."""
    pairs = zip(ids, keys, strict=True)
    top = max(ids, default=0)
    if top > 2 * len(ids) + SLICE:
        return dict(pairs)
    by_id: list[Any] = [None] * (top + 1)
    for track_id, key in pairs:  # a Python loop: a thread doing it lets others in
        by_id[track_id] = key
    return by_id


def _break_ties(
    order: list[int],
    key_of: Sequence[Any] | Mapping[int, Any],
    rows: Sequence[TrackRow],
    then_by: Callable[[Sequence[TrackRow]], list[Any]],
) -> None:
    """Each run of ids with equal keys in `order`, put in the order of `then_by`
    (stable). Ties are found by C loops; only the tied rows' keys of `then_by`
    are worked out."""
    ranked = list(map(key_of.__getitem__, order))
    same_as_next = list(map(eq, ranked, islice(ranked, 1, None)))
    if not any(same_as_next):
        return
    runs: list[list[int]] = []  # [first, last] positions of each run of equal keys
    for at in compress(range(len(same_as_next)), same_as_next):
        if runs and runs[-1][1] == at:
            runs[-1][1] = at + 1
        else:
            runs.append([at, at + 1])
    tied = {order[at] for first, last in runs for at in range(first, last + 1)}
    tied_rows = [row for row in rows if row.id in tied]
    tie_key = dict(zip((row.id for row in tied_rows), then_by(tied_rows), strict=True))
    for first, last in runs:
        order[first : last + 1] = sorted(order[first : last + 1], key=tie_key.__getitem__)


def _merged(order: array[int], placed: list[tuple[Any, int]], key: SortKey) -> array[int]:
    """`order` with each (key, id) of `placed` (ascending) inserted after its equals,
    in one pass: a million ids are copied once, not once per id."""
    merged = array("q")
    done = 0
    for wanted, track_id in placed:
        at = bisect_right(order, wanted, lo=done, key=key)
        merged += order[done:at]
        merged.append(track_id)
        done = at
    merged += order[done:]
    return merged


def indexable_by_id(top: int, count: int) -> bool:
    """Whether a table indexed by id, up to `top`, suits `count` ids: ids come from
    a file, and one in the billions must not allocate gigabytes."""
    return top < min(4 * count + 1_000_000, 2**31 - 1)


def in_order_of(order: array[int], chosen: Iterable[int], top: int) -> array[int]:
    """The ids of `chosen` (a part of `order`), in their order in `order`; `top` is
    at least the largest id of `order`.

    By numpy, each id of `order` looked up in a mask indexed by id: ~15 ms for
    a million ids, where a C loop of Python calls over a bytearray took ~0.14 s
    and lookups in a set of the chosen ids ~0.3 s. In a set when the ids run
    too far past the count for a mask (ids come from a file)."""
    if not indexable_by_id(top, len(order)):
        return array("q", filter(set(chosen).__contains__, order))
    mask = np.zeros(top + 1, dtype=np.bool_)
    mask[np.fromiter(chosen, dtype=np.int64)] = True
    ids = np.frombuffer(order, dtype=np.int64)
    return array("q", ids[mask[ids]].tobytes())
