"""Sort keys worked out for every row at once must give exactly the order of the
row-by-row keys (which put changed rows back in place)."""

from __future__ import annotations

import random

from mus_desktop.gui.table.model import SORT_KEYS, Column, _column_keys
from mus_desktop.gui.table.orders import ColumnKeys, SortedColumn
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow

NAMES = ["", "ABBA", "abba", "Band 2", "Band 10", "Ärzte", "Zebra", "band 02"]


def _rows(count: int, seed: int) -> list[TrackRow]:
    """Rows full of ties: names differing only in case or leading zeros, repeated
    disc and track numbers, blanks, numbers missing, negative and huge."""
    rng = random.Random(seed)
    return [
        TrackRow(
            id=n + 1,
            status=ProcessingStatus.COMPLETE,
            title=rng.choice(["Intro", "intro", "Track 2", "Track 10", "Outro 1"]),
            artist=rng.choice(NAMES),
            album=rng.choice(NAMES),
            track_number=rng.choice([None, 1, 2, 10, -3, 2**40]),
            duration=None,
            format="FLAC",
            path=f"/m/{n}.flac",
            error="",
            missing_since=None,
            content_key=None,
            album_artist=rng.choice(["", "", "Various", "ABBA"]),
            disc_number=rng.choice([None, 0, 1, 2, -1, 1000]),
        )
        for n in range(count)
    ]


def _ids(kept: SortedColumn) -> tuple[list[int], list[int]]:
    return kept.order, kept.blank


def test_artist_and_album_keys_of_every_row_sort_as_the_row_by_row_keys() -> None:
    for seed in range(20):
        rows = _rows(300, seed)
        for column in (Column.ARTIST, Column.ALBUM):
            every_at_once = SortedColumn(_column_keys(column), rows)
            row_by_row = SortedColumn(ColumnKeys(SORT_KEYS[column]), rows)
            assert _ids(every_at_once) == _ids(row_by_row), (seed, column)
