"""Small pieces of the window's wording, shared by its parts."""

from __future__ import annotations

from datetime import UTC, datetime


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 track', '1,204 tracks'; `many` for irregular plurals ('batches')."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def local_time(moment: datetime | None, never: str = "never") -> str:
    """A moment the library recorded (naive UTC) in the local time zone, to the minute."""
    if moment is None:
        return never
    return f"{moment.replace(tzinfo=UTC).astimezone():%Y-%m-%d %H:%M}"
