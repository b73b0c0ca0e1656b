"""The search box's test of the held rows: every word, case-folded, in a row's
title, artist, album or path. No Qt here.

Nothing is kept per row (a case-folded copy of every title and path would cost
~180 MB at a million rows): the distinct artist and album names are matched
once per word, and titles and paths are case-folded as they are tested, or not
at all for a word of digits and punctuation (no character case-folds into those).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter

from mus_desktop.library.rows import TrackRow


def folded_names(rows: Iterable[TrackRow]) -> dict[str, str]:
    """Every artist and album name of `rows`, and its case-folded form."""
    rows = rows if isinstance(rows, Sequence) else list(rows)
    names = {*map(attrgetter("artist"), rows), *map(attrgetter("album"), rows)}
    return {name: name.casefold() for name in names}


def names_holding(word: str, folded: dict[str, str]) -> set[str]:
    """The names of `folded` (a name → its case-folded form) whose folded form
    holds `word`."""
    return {name for name, folded_name in folded.items() if word in folded_name}


def rows_holding(
    words: Sequence[str], rows: Sequence[TrackRow], folded: dict[str, str]
) -> list[TrackRow]:
    """The rows of `rows` that hold every word (case-folded), in their order; each
    word tested on the rows the words before kept, the word of the fewest
    matching names first (a word matching many names likely holds many rows)."""
    by_word = sorted(
        ((word, names_holding(word, folded)) for word in words), key=lambda pair: len(pair[1])
    )
    held = rows if isinstance(rows, list) else list(rows)
    for word, names in by_word:
        held = _holding(word, names, held)
    return held


def _holding(word: str, names: set[str], rows: list[TrackRow]) -> list[TrackRow]:
    """The rows that hold `word` in their title or path, or whose artist or album
    is one of `names` (those that hold it). One comprehension per case, so that a
    row costs a few bytecodes."""
    folded = not word.isascii() or any(map(str.isalpha, word))
    if names and folded:
        return [
            r
            for r in rows
            if r.album in names
            or r.artist in names
            or word in r.title.casefold()
            or word in r.path.casefold()
        ]
    if names:
        return [
            r
            for r in rows
            if r.album in names or r.artist in names or word in r.title or word in r.path
        ]
    if folded:
        return [r for r in rows if word in r.title.casefold() or word in r.path.casefold()]
    return [r for r in rows if word in r.title or word in r.path]
