"""What the runtime tests queue: mus's own batch job on real audio files, and a
function no worker may run (a worker runs processing.queue.JOB_FUNCTION only).

Importing this module with MUS_TEST_IMPORT_MARKER set leaves that file behind:
a worker asked to run `tests.runtime.jobs.touch` must fail the job without
importing the module, which the file's absence shows.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from rq import Queue
from rq.job import Job

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.scanner import scan
from mus_desktop.processing.queue import JOB_FUNCTION
from tools.audiogen import make_library

if _marker := os.environ.get("MUS_TEST_IMPORT_MARKER"):
    Path(_marker).write_text("imported")


def touch(path: str, text: str = "done") -> str:
    """Leaves a file behind: a test sees whether a worker ran it."""
    Path(path).write_text(text)
    return text


def recorded_tracks(settings: Settings, folder: Path, count: int = 1) -> list[int]:
    """`count` real audio files written under `folder` and recorded in the library:
    their ids, PENDING, as `mus import` leaves them."""
    library = make_library(folder, albums=1, tracks_per_album=count)
    db = open_database(settings.db_path)
    try:
        return scan(db, [library.root]).to_process
    finally:
        db.dispose()


def enqueue_batch(queue: Queue, track_ids: Sequence[int]) -> Job:
    """One job of mus's batch job over `track_ids`, as the app queues them."""
    return queue.enqueue(JOB_FUNCTION, list(track_ids))


def statuses(settings: Settings, track_ids: Sequence[int]) -> list[str]:
    """The processing status of each track, in the order given."""
    with closing(sqlite3.connect(settings.db_path)) as connection:
        found = dict(connection.execute("SELECT id, processing_status FROM track").fetchall())
    return [found[track_id] for track_id in track_ids]
