"""Work where the bytes are: a shared library's jobs go to hosts that see their folder.

A library in PostgreSQL is shared by several hosts, and a host may see a library
folder only over the network, or not at all (library/paths.py, PathMap). So
each library folder of a shared library has a queue of its own beside the
library's queue (`<library queue>.folder<id>`); a track is queued on its
folder's queue, or on the library's for a track under no library folder. A
worker listens on the library's queue and on the queues of the folders its host
sees on a local disk (on a network file system too with MUS_FOLLOW_REMOTE=1),
and looks again while idle (rq_adapter.MusWorker), so a folder added
meanwhile, or mapped on this host, is taken up without a restart.

A library in SQLite is one machine's: one queue, no routing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.models import LibraryFolder, Track
from mus_desktop.library.mounts import left_to_other_hosts
from mus_desktop.library.paths import is_within

FOLDER_QUEUE = ".folder"
LOOKUP_IDS = 10_000
"""Track ids looked up per statement (PostgreSQL takes at most 65,535 parameters)."""


def folder_queue_name(library_queue: str, folder_id: int) -> str:
    return f"{library_queue}{FOLDER_QUEUE}{folder_id}"


@cache
def _opened(target: str) -> Database:
    return open_database(target)


@contextmanager
def _library(target: str) -> Iterator[Database]:
    """The shared library, its connections closed again after use: none may be
    kept across a worker's fork of its work horse."""
    db = _opened(target)
    try:
        yield db
    finally:
        db.engine.dispose()


def folder_queue_keys(connection: Redis, library_queue: str) -> set[str]:
    """The broker's keys of the library's folder queues (those that got a job)."""
    prefix = f"{Queue.redis_queue_namespace_prefix}{library_queue}{FOLDER_QUEUE}"
    keys = (
        key.decode() if isinstance(key, bytes) else key
        for key in connection.smembers(Queue.redis_queues_keys)
    )
    return {key for key in keys if key.startswith(prefix)}


def _folders(db: Database) -> list[tuple[int, str]]:
    """(id, this host's path) of every library folder."""
    with db.read() as session:
        return [
            (row.id, row.path)
            for row in session.execute(select(LibraryFolder.id, LibraryFolder.path))
        ]


def split_by_folder(db: Database, track_ids: Sequence[int]) -> dict[int | None, list[int]]:
    """The tracks by library folder (None: under none), in the order given."""
    folders = _folders(db)
    folder_of: dict[int, int | None] = {}
    with db.read() as session:
        for start in range(0, len(track_ids), LOOKUP_IDS):
            chunk = list(track_ids[start : start + LOOKUP_IDS])
            for track_id, path in session.execute(
                select(Track.id, Track.path).where(Track.id.in_(chunk))
            ):
                folder_of[track_id] = next(
                    (folder_id for folder_id, root in folders if is_within(path, root)), None
                )
    groups: dict[int | None, list[int]] = {}
    for track_id in track_ids:
        groups.setdefault(folder_of.get(track_id), []).append(track_id)
    return groups


class LibraryQueue(Queue):
    """The library's queue. For a shared library (`settings.db_url`), it also
    stands for its folders' queues: `family()` lists them, and `route()` says
    on which queue each track goes."""

    shared_target: str | None = None
    """The shared library's URL, when it is one."""

    def family(self) -> list[Queue]:
        """This queue and every folder queue of the library the broker knows."""
        if self.shared_target is None:
            return [self]
        keys = sorted(folder_queue_keys(self.connection, self.name))
        return [self] + [
            self._sibling(key.removeprefix(self.redis_queue_namespace_prefix)) for key in keys
        ]

    def route(self, track_ids: Sequence[int]) -> list[tuple[Queue, list[int]]]:
        """(queue, its tracks): each track on its folder's queue."""
        if self.shared_target is None or not track_ids:
            return [(self, list(track_ids))]
        with _library(self.shared_target) as db:
            groups = split_by_folder(db, track_ids)
        return [(self._of_folder(folder_id), ids) for folder_id, ids in groups.items()]

    def _of_folder(self, folder_id: int | None) -> Queue:
        if folder_id is None:
            return self
        return self._sibling(folder_queue_name(self.name, folder_id))

    def _sibling(self, name: str) -> Queue:
        return Queue(
            name,
            connection=self.connection,
            serializer=JSONSerializer,
            default_timeout=self._default_timeout,
        )


def family_of(queue: Queue) -> list[Queue]:
    return queue.family() if isinstance(queue, LibraryQueue) else [queue]


def worker_queue_names(settings: Settings, library_queue: str) -> Callable[[], list[str]] | None:
    """For a shared library, what tells a worker the queues to listen on now: the
    library's, then those of the folders this host sees on a local disk."""
    if settings.db_url is None:
        return None
    target = settings.db_url

    def names() -> list[str]:
        with _library(target) as db:
            folders = _folders(db)
        return [library_queue] + [
            folder_queue_name(library_queue, folder_id)
            for folder_id, path in sorted(folders)
            if os.path.isdir(path) and (settings.follow_remote or not left_to_other_hosts(path))
        ]

    return names
