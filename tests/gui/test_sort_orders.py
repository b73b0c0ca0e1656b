"""Sort keys worked out for every row at once, and orders worked out in steps or
repaired after changes, must give exactly the order of the row-by-row keys
(which put changed rows back in place)."""

from __future__ import annotations

import random
from typing import Any

from mus_desktop.gui.table.fields import Column
from mus_desktop.gui.table.keys import SORT_KEYS, column_keys
from mus_desktop.gui.table.orders import SortedColumn
from mus_desktop.gui.table.sorting import SLICE, natural_key, natural_keys
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow

NAMES = ["", "ABBA", "abba", "Band 2", "Band 10", "Ärzte", "Zebra", "band 02"]
TITLES = ["Intro", "intro", "Track 2", "Track 10", "Outro 1", "", "Straße 007", "STRASSE 7"]


def _rows(count: int, seed: int) -> list[TrackRow]:
    """Rows full of ties: names differing only in case or leading zeros, repeated
    disc and track numbers, blanks, numbers missing, negative and huge."""
    rng = random.Random(seed)
    return [
        TrackRow(
            id=n + 1,
            status=rng.choice([*ProcessingStatus, "SOMETHING NEW"]),
            title=rng.choice(TITLES),
            artist=rng.choice(NAMES),
            album=rng.choice(NAMES),
            track_number=rng.choice([None, 1, 2, 10, -3, 2**40]),
            duration=rng.choice([None, 0.0, 61.5, 3600.25, 2.0]),
            format=rng.choice(["FLAC", "flac", "MP3", ""]),
            path=f"/m/{rng.choice(NAMES)}/{n}.flac",
            error=rng.choice(["", "", "Cannot read", "cannot read"]),
            missing_since=None,
            content_key=None,
            album_artist=rng.choice(["", "", "Various", "ABBA"]),
            disc_number=rng.choice([None, 0, 1, 2, -1, 1000]),
        )
        for n in range(count)
    ]


def _row_by_row(column: Column, rows: list[TrackRow]) -> tuple[list[int], list[int]]:
    """(ordered ids, blank ids) by the column's one-row key and Python's stable sort."""
    key = SORT_KEYS[column]
    keyed: list[tuple[Any, int]] = [(key(row), row.id) for row in rows]
    order = [i for _k, i in sorted((p for p in keyed if p[0] is not None), key=lambda p: p[0])]
    return order, [i for k, i in keyed if k is None]


def _ids(kept: SortedColumn) -> tuple[list[int], list[int]]:
    return kept.order.tolist(), kept.blank


def test_every_columns_keys_at_once_sort_as_the_row_by_row_keys() -> None:
    for seed in range(10):
        rows = _rows(300, seed)
        for column in Column:
            every_at_once = SortedColumn.of_rows(column_keys(column), rows)
            assert _ids(every_at_once) == _row_by_row(column, rows), (seed, column)


def test_orders_worked_out_in_steps_are_the_same_orders() -> None:
    rows = _rows(SLICE * 2 + 7, seed=3)
    for column in (Column.TITLE, Column.ARTIST, Column.NUMBER, Column.STATUS):
        in_steps = SortedColumn.of_rows(column_keys(column), rows, in_steps=True)
        at_once = SortedColumn.of_rows(column_keys(column), rows)
        assert _ids(in_steps) == _ids(at_once), column


def test_a_repaired_order_is_the_order_of_the_changed_rows() -> None:
    rows = _rows(2000, seed=5)
    changed = {row.id: row for row in _rows(2000, seed=6)[:60]}  # same ids, other values
    rows_now = [changed.get(row.id, row) for row in rows]
    for column in Column:
        kept = SortedColumn.of_rows(column_keys(column), rows)
        kept.stale.update(changed)
        assert kept.repair({row.id: row for row in rows_now})
        fresh = SortedColumn.of_rows(column_keys(column), rows_now)
        assert sorted(kept.blank) == sorted(fresh.blank), column
        keys = [SORT_KEYS[column](next(r for r in rows_now if r.id == i)) for i in kept.order]
        assert keys == sorted(keys), column  # ties may sit in another order


def test_natural_keys_of_many_values_are_each_values_natural_key() -> None:
    rng = random.Random(11)
    alphabet = "aB0123456789 xÄßİﬁ\x00\x01\u0663\uff10"  # Arabic-Indic 3, fullwidth 0
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(5000)]
    values += ["0" * 40 + "1" * 40, "1" * 31, "2" * 32, "000", "a00b", "", "Track 007"]
    assert natural_keys(values) == [natural_key(value) for value in values]


def test_chosen_ids_keep_the_orders_order_dense_or_sparse() -> None:
    """Ids come from a file: ones in the billions are picked without a mask that size."""
    from array import array

    from mus_desktop.gui.table.orders import in_order_of

    dense = array("q", [5, 1, 4, 2, 3])
    assert in_order_of(dense, [2, 5, 3], top=5).tolist() == [5, 2, 3]
    assert in_order_of(dense, [], top=5).tolist() == []
    sparse = array("q", [7, 2**40, 3])
    assert in_order_of(sparse, [3, 2**40], top=2**40).tolist() == [2**40, 3]
