"""How a track's state looks: its kind, word, icon and row colour, and the
status filters of the toolbar.

Colours are a hue blended into the palette's base colour, so a dark theme
gets dark tinted rows with readable text rather than pastel bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from functools import cache
from operator import attrgetter
from pathlib import Path

from PySide6.QtGui import QColor, QIcon, QPalette

from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


class Kind(str, Enum):
    """What a row shows: the processing status, or missing, which trumps it."""

    PENDING = "pending"
    IN_PROGRESS = "progress"
    COMPLETE = "complete"
    ERROR = "error"
    MISSING = "missing"


WORDS = {
    Kind.PENDING: "Pending",
    Kind.IN_PROGRESS: "In progress",
    Kind.COMPLETE: "Complete",
    Kind.ERROR: "Error",
    Kind.MISSING: "Missing",
}

HUES = {
    Kind.PENDING: QColor("#5b8def"),
    Kind.IN_PROGRESS: QColor("#e6a23c"),
    Kind.COMPLETE: QColor("#3fae5a"),
    Kind.ERROR: QColor("#e04848"),
    Kind.MISSING: QColor("#9a6fd6"),
}

# Keyed by the enum's members: a str Enum member hashes and compares like its
# value, so the plain strings rows carry from SQLite find them.
_KIND_OF_STATUS = {
    ProcessingStatus.PENDING: Kind.PENDING,
    ProcessingStatus.METADATA_DONE: Kind.IN_PROGRESS,
    ProcessingStatus.ART_DONE: Kind.IN_PROGRESS,
    ProcessingStatus.COMPLETE: Kind.COMPLETE,
    ProcessingStatus.ERROR: Kind.ERROR,
}

_STAGE_WORDS = {
    ProcessingStatus.PENDING: "Pending: waiting to be read",
    ProcessingStatus.METADATA_DONE: "In progress: tags read, cover next",
    ProcessingStatus.ART_DONE: "In progress: cover found, finishing",
    ProcessingStatus.COMPLETE: "Complete",
    ProcessingStatus.ERROR: "Error",
}

# Sorting the status column groups rows in the order work flows.
SORT_RANK = {kind: rank for rank, kind in enumerate(Kind)}


def kind_for(status: str, missing: bool) -> Kind:
    if missing:
        return Kind.MISSING
    return _KIND_OF_STATUS.get(status, Kind.PENDING)


def kind_of(row: TrackRow) -> Kind:
    return kind_for(row.status, row.missing_since is not None)


def kinds_of(rows: Sequence[TrackRow]) -> list[Kind]:
    """`kind_of` every row, by C loops over their columns and one lookup per
    distinct status, not a call per row (the table and the sidebar count parts of
    10,000 rows with it)."""
    statuses = list(map(attrgetter("status"), rows))
    kind = {status: kind_for(status, False) for status in set(statuses)}
    return [
        kind[status] if gone is None else Kind.MISSING
        for status, gone in zip(statuses, map(attrgetter("missing_since"), rows), strict=True)
    ]


def stage_word(status: str) -> str:
    """The processing status in words, for the detail pane."""
    return _STAGE_WORDS.get(status, status)


def blend(base: QColor, hue: QColor, amount: float) -> QColor:
    """`amount` of `hue` mixed into `base`."""
    keep = 1.0 - amount
    return QColor.fromRgbF(
        base.redF() * keep + hue.redF() * amount,
        base.greenF() * keep + hue.greenF() * amount,
        base.blueF() * keep + hue.blueF() * amount,
    )


def row_colours(palette: QPalette) -> dict[Kind, QColor]:
    """A background per kind, tinted into the palette's base colour."""
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightnessF() < 0.5
    amount = 0.30 if dark else 0.20
    return {kind: blend(base, hue, amount) for kind, hue in HUES.items()}


@cache
def status_icon(kind: Kind) -> QIcon:
    return QIcon(str(RESOURCES / f"status-{kind.value}.svg"))


@cache
def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "mus.svg"))


@cache
def action_icon(name: str) -> QIcon:
    """A toolbar icon: resources/action-<name>.svg."""
    return QIcon(str(RESOURCES / f"action-{name}.svg"))


class StatusFilter(str, Enum):
    ALL = "All"
    PENDING = "Pending"
    IN_PROGRESS = "In progress"
    COMPLETE = "Complete"
    ERRORS = "Errors"
    MISSING = "Missing"
    DUPLICATES = "Duplicates"


_FILTER_KINDS = {
    StatusFilter.PENDING: {Kind.PENDING},
    StatusFilter.IN_PROGRESS: {Kind.PENDING, Kind.IN_PROGRESS},
    StatusFilter.COMPLETE: {Kind.COMPLETE},
    StatusFilter.ERRORS: {Kind.ERROR},
    StatusFilter.MISSING: {Kind.MISSING},
}


def filter_kinds(status_filter: StatusFilter) -> set[Kind] | None:
    """The kinds a filter keeps; None for All and Duplicates (not a kind)."""
    return _FILTER_KINDS.get(status_filter)
