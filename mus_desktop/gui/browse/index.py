"""Browsing by artist and album, without widgets: the `Scope` a sidebar selection
stands for, and `ArtistIndex`, the counts per artist and album kept up to date
from the same rows and change batches as the track table.

Names are compared exactly as the rows carry them, never case-folded: "Björk"
and "björk" as two distinct tags are two entries (next to each other, since the
order ignores case). "" is the unknown artist or album, listed last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from mus_desktop.gui.status import Kind, kind_of, kinds_of
from mus_desktop.gui.table.sorting import artist_of, listed_artists, natural_key, values_of
from mus_desktop.library.rows import TrackRow

Key = tuple[str, str]
"""(artist, album): an album of the index; the artist is the listed artist."""

_FINE, _ERRORED, _MISSING = 0, 1, 2
_STATE_OF_KIND = {Kind.ERROR: _ERRORED, Kind.MISSING: _MISSING}


@dataclass(frozen=True)
class Scope:
    """What the sidebar selects: one artist's tracks, or one album of theirs.

    `artist` is the listed artist (`sorting.artist_of`: album artist, else
    artist); "" is the unknown artist, and `album` "" the unknown album.
    `album` None means every album of the artist.
    """

    artist: str
    album: str | None = None

    def matches(self, row: TrackRow) -> bool:
        return artist_of(row) == self.artist and (self.album is None or row.album == self.album)


@lru_cache(maxsize=1 << 16)
def order_key(name: str) -> tuple[bool, str, str]:
    """Where an artist or album name sorts: natural order, case ignored, the
    unknown ("") last; names differing only in case by their exact text."""
    return (name == "", natural_key(name), name)


@dataclass(slots=True)
class Tally:
    """The tracks of an artist or album, and how many are errored or missing."""

    tracks: int = 0
    errors: int = 0
    """Errored and present: a missing track counts as missing only."""
    missing: int = 0

    @property
    def marked(self) -> bool:
        """Whether it holds a track that needs attention."""
        return bool(self.errors or self.missing)

    def add(self, state: int, step: int) -> None:
        self.tracks += step
        if state == _ERRORED:
            self.errors += step
        elif state == _MISSING:
            self.missing += step


def _entry(row: TrackRow) -> tuple[str, str, int]:
    return artist_of(row), row.album, _STATE_OF_KIND.get(kind_of(row), _FINE)


def _entries(rows: Sequence[TrackRow]) -> Counter[tuple[str, str, int]]:
    """How many of `rows` have each `_entry`, counted by C loops over the columns
    (a million rows: ~0.5 s rather than ~2.5 s row by row)."""
    states = [_STATE_OF_KIND.get(kind, _FINE) for kind in kinds_of(rows)]
    return Counter(zip(listed_artists(rows), values_of("album", rows), states, strict=True))


class ArtistIndex:
    """Track counts per artist and per album, changed a batch at a time.

    A batch comes with the rows as they were (`before`), so the index keeps
    nothing per track (a dict of a million entries took ~110 MB) and a batch
    costs its own size: an update that moves no count (most of them: a status
    going from pending to complete) changes nothing here.
    """

    def __init__(self) -> None:
        self._artists: dict[str, Tally] = {}
        self._albums: dict[str, dict[str, Tally]] = {}
        self.total = Tally()

    def set_rows(self, rows: Iterable[TrackRow]) -> None:
        """Count every row anew (the initial load)."""
        self._artists = {}
        self._albums = {}
        self.total = Tally()
        for entry, count in _entries(rows if isinstance(rows, Sequence) else list(rows)).items():
            self._count(entry, count)

    def apply_changes(self, rows: Sequence[TrackRow], before: Sequence[TrackRow]) -> set[Key]:
        """Take rows inserted or updated (as they are now), with the rows of the
        tracks updated or deleted as they were counted (`before`).

        Returns the albums whose counts changed, appeared or went (their
        artists' counts changed with them).
        """
        if not before:  # rows new to the index (a part of the first load)
            steps = _entries(rows)
        else:
            steps = Counter()
            was = {row.id: _entry(row) for row in before}
            for row in rows:
                entry = _entry(row)
                old = was.pop(row.id, None)
                if old == entry:
                    continue
                if old is not None:
                    steps[old] -= 1
                steps[entry] += 1
            for gone in was.values():
                steps[gone] -= 1
        for entry, step in steps.items():
            if step:
                self._count(entry, step)
        return {entry[:2] for entry, step in steps.items() if step}

    def _count(self, entry: tuple[str, str, int], step: int) -> None:
        artist, album, state = entry
        self.total.add(state, step)
        artist_tally = self._artists.get(artist)
        if artist_tally is None:
            artist_tally = self._artists[artist] = Tally()
            self._albums[artist] = {}
        artist_tally.add(state, step)
        albums = self._albums[artist]
        album_tally = albums.get(album)
        if album_tally is None:
            album_tally = albums[album] = Tally()
        album_tally.add(state, step)
        if not album_tally.tracks:
            del albums[album]
        if not artist_tally.tracks:
            del self._artists[artist]
            del self._albums[artist]

    # -- what the sidebar asks -------------------------------------------------

    def artists(self) -> list[str]:
        """Every artist, in order."""
        return sorted(self._artists, key=order_key)

    def albums(self, artist: str) -> list[str]:
        """The albums of `artist`, in order (none for an artist not listed)."""
        return sorted(self._albums.get(artist, ()), key=order_key)

    def artist_tally(self, artist: str) -> Tally | None:
        return self._artists.get(artist)

    def album_tally(self, artist: str, album: str) -> Tally | None:
        return self._albums.get(artist, {}).get(album)

    def __contains__(self, scope: Scope) -> bool:
        """Whether `scope` still holds any track."""
        if scope.album is None:
            return scope.artist in self._artists
        return scope.album in self._albums.get(scope.artist, ())
