"""How a music manager orders things: names in natural order, tracks of an album
by disc and number, artists by album artist. No Qt here; the table and the
sidebar share these keys."""

from __future__ import annotations

import re
from typing import Any

from mus_desktop.library.rows import TrackRow

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


def artist_of(row: TrackRow) -> str:
    """The artist a track is listed under: its album artist, else its artist ("" if none)."""
    return row.album_artist or row.artist


def album_order(row: TrackRow) -> tuple[Any, ...]:
    """Within an album: disc, track, then title (a track without a number last)."""
    return (
        row.disc_number or 0,
        row.track_number if row.track_number is not None else 1 << 30,
        natural_key(row.title),
    )
