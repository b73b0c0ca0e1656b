"""How a music manager orders things: names in natural order, tracks of an album
by disc and number, artists by album artist. No Qt here; the table and the
sidebar share these keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from operator import add, attrgetter
from typing import Any, TypeVar

from mus_desktop.library.rows import TrackRow

T = TypeVar("T")
U = TypeVar("U")

SLICE = 20_000
"""Items one C call goes over in `in_slices` (and the other loops over a whole
column here): ~5-10 ms, so a thread working out orders lets the GUI thread in
between (Python switches threads between bytecodes, never inside one C call)."""


def in_slices(work: Callable[[Sequence[T]], Iterable[U]], items: Sequence[T]) -> list[U]:
    """`list(work(items))` for a `work` that goes item by item, SLICE items at a time."""
    done: list[U] = []
    for start in range(0, len(items), SLICE):
        done += work(items[start : start + SLICE])
    return done


def values_of(name: str, rows: Sequence[TrackRow]) -> list[Any]:
    """Every row's field `name`, in their order."""
    return in_slices(partial(map, attrgetter(name)), rows)


_DIGITS = re.compile(r"\d+")
_LONGEST_RUN = 0x1F
"""Digit runs up to this many digits (leading zeros aside) compare as numbers;
longer ones, which no real name has, compare among themselves as text."""


def _number(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return chr(min(len(digits), _LONGEST_RUN)) + digits


def natural_key(value: str) -> str:
    """Text in natural order: "Track 2" before "Track 10", case ignored.

    A string, not a tuple of parts: each run of digits becomes a control
    character giving its length, then the digits, so a longer number sorts
    after a shorter one and plain string comparison (C speed: a million titles
    sort ~3x faster than as tuples) gives the natural order. A number sorts
    before any text at the same place."""
    folded = value.casefold()
    if not _DIGITS.search(folded):
        return folded  # most names: no substitution to pay for
    return _DIGITS.sub(_number, folded)


_SIGNIFICANT_DIGITS = re.compile(r"0*(\d+)")
_LENGTH_MARKS = [chr(min(length, _LONGEST_RUN)) for length in range(_LONGEST_RUN + 1)]
_SEPARATOR = "\x00"


def natural_keys(values: Sequence[str]) -> list[str]:
    """`natural_key` of every value, ~2.5x quicker than one call each (a million
    titles with a number each: ~0.9 s rather than ~2.2 s).

    Each SLICE of values is joined into one string that is case-folded and split
    at its digit runs in C; only the runs' length marks are worked out, by
    `map`. A value holding the separator itself is keyed one by one."""
    keys: list[str] = []
    for start in range(0, len(values), SLICE):
        part = values[start : start + SLICE]
        pieces = _SIGNIFICANT_DIGITS.split(_SEPARATOR.join(part).casefold())
        runs = pieces[1::2]  # the digits of each run, leading zeros split off
        longest = max(map(len, runs), default=0)
        marks = _LENGTH_MARKS + [chr(_LONGEST_RUN)] * max(0, longest - _LONGEST_RUN)
        pieces[1::2] = map(add, map(marks.__getitem__, map(len, runs)), runs)
        folded = "".join(pieces).split(_SEPARATOR)
        keys += folded if len(folded) == len(part) else map(natural_key, part)
    return keys


def artist_of(row: TrackRow) -> str:
    """The artist a track is listed under: its album artist, else its artist ("" if none)."""
    return row.album_artist or row.artist


def listed_artists(rows: Sequence[TrackRow]) -> list[str]:
    """`artist_of` every row, by C loops over the two columns."""
    pairs = zip(values_of("album_artist", rows), values_of("artist", rows), strict=True)
    return [album_artist or artist for album_artist, artist in pairs]


_NO_NUMBER = 1 << 30
"""Where a track without a number goes among its album's numbers: last."""


def album_order(row: TrackRow) -> tuple[Any, ...]:
    """Within an album: disc, track, then title (a track without a number last)."""
    return (
        row.disc_number or 0,
        row.track_number if row.track_number is not None else _NO_NUMBER,
        natural_key(row.title),
    )


PartKeys = Callable[[Sequence[TrackRow]], list[Any]]
"""The sort keys of any part of a set of rows, each the key the row has in the whole."""


def album_order_keyer(rows: Sequence[TrackRow], by_artist: bool) -> PartKeys:
    """For parts of `rows`: each row's place by (artist if `by_artist`), album, disc
    and track, as an int that sorts as those do; None for a row without the album
    (or artist) it is listed by. Rows tied on all four go by title (`album_order`):
    the sort breaks those ties (`orders.SortedColumn`).

    Quicker and smaller than a tuple per row (a million rows, the whole sort by
    artist: 1.8 s rather than 2.9 s; 32 bytes a key rather than ~170): names
    become their rank among the distinct names of `rows`, and the numbers are
    offset by the smallest of `rows`, so a part's keys are those of the whole."""
    album_rank, album_span = _ranks(values_of("album", rows))
    artist_rank, _ = _ranks(
        {*values_of("album_artist", rows), *values_of("artist", rows)} if by_artist else ()
    )
    discs, numbers = _discs(rows), _numbers(rows)
    low_disc, low_number = min(discs, default=0), min(numbers, default=0)
    disc_span = max(discs, default=0) - low_disc + 1
    number_span = max(numbers, default=0) - low_number + 1
    del discs, numbers

    def keys(part: Sequence[TrackRow]) -> list[Any]:
        listed = values_of("album", part)
        placed = in_slices(partial(map, album_rank.__getitem__), listed)
        if by_artist:
            listed = listed_artists(part)
            artists = in_slices(partial(map, artist_rank.__getitem__), listed)
            placed = [a * album_span + b for a, b in zip(artists, placed, strict=True)]
        placed = [
            (key * disc_span + disc - low_disc) * number_span + number - low_number
            for key, disc, number in zip(placed, _discs(part), _numbers(part), strict=True)
        ]
        return [key if name else None for name, key in zip(listed, placed, strict=True)]

    return keys


def _discs(rows: Sequence[TrackRow]) -> list[int]:
    return [disc or 0 for disc in values_of("disc_number", rows)]


def _numbers(rows: Sequence[TrackRow]) -> list[int]:
    return [_NO_NUMBER if n is None else n for n in values_of("track_number", rows)]


def _ranks(names: Iterable[str]) -> tuple[dict[str, int], int]:
    """Each distinct name's place among them in natural order (names with the same
    natural key share one), and how many places there are."""
    rank_of: dict[str, int] = {}
    rank, previous = -1, None
    for key, name in sorted((natural_key(name), name) for name in set(names)):
        if key != previous:
            rank, previous = rank + 1, key
        rank_of[name] = rank
    return rank_of, rank + 1
