"""How retried tracks ended, in words for the status bar.

A retried track is first put back to PENDING by the services thread, then
processed by a worker; the window learns both through the change feed. A
track counts as ended once it has been seen queued again (or the retry was
reported done) and then reached COMPLETE or ERROR.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mus_desktop.gui.words import plural
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import TrackRow


@dataclass
class _Retried:
    title: str
    queued: bool = False


class RetryFollower:
    """The retried tracks still under way, by id."""

    def __init__(self) -> None:
        self._under_way: dict[int, _Retried] = {}

    def __len__(self) -> int:
        return len(self._under_way)

    def expect(self, rows: Iterable[TrackRow]) -> None:
        """Follow these errored rows from now on."""
        for row in rows:
            self._under_way[row.id] = _Retried(row.title)

    def queued(self) -> None:
        """The services thread says the retries asked so far are in the queue."""
        for retried in self._under_way.values():
            retried.queued = True

    def follow(self, rows: Sequence[TrackRow], removed: Sequence[int]) -> str:
        """Take a batch of changed rows; returns the status-bar line for the retried
        tracks that ended in it ("" when none did)."""
        if not self._under_way:
            return ""
        for track_id in removed:
            self._under_way.pop(track_id, None)
        complete: list[str] = []
        failed: list[tuple[str, str]] = []
        for row in rows:
            retried = self._under_way.get(row.id)
            if retried is None:
                continue
            if row.status == ProcessingStatus.ERROR and retried.queued:
                failed.append((retried.title, row.error.partition("\n")[0]))
            elif row.status == ProcessingStatus.COMPLETE:
                complete.append(retried.title)  # the name the person retried
            else:
                retried.queued = retried.queued or row.status != ProcessingStatus.ERROR
                continue
            del self._under_way[row.id]
        return ended_message(complete, failed)


def ended_message(complete: Sequence[str], failed: Sequence[tuple[str, str]]) -> str:
    """'Empty Cover: complete', 'Bomb Cover failed again: …', or for several at
    once '3 retried tracks ended: 2 complete, 1 failed again'."""
    if len(complete) + len(failed) == 1:
        if complete:
            return f"{complete[0]}: complete"
        title, error = failed[0]
        return f"{title} failed again: {error}"
    if not complete and not failed:
        return ""
    parts = []
    if complete:
        parts.append(f"{len(complete):,} complete")
    if failed:
        parts.append(f"{len(failed):,} failed again")
    ended = plural(len(complete) + len(failed), "retried track")
    return f"{ended} ended: {', '.join(parts)}"
