"""A FolderWatcher on real library folders: a real database, real file-system events
(inotify) or polling, and, for the work a scan queues, real workers on the test broker.

`watch_mode` runs a test once with MUS_WATCH=events and once with MUS_WATCH=polling
(MUS_POLL_SECONDS=1). `follow(roots, workers=...)` records the roots as library
folders, starts the backend (local workers on the test broker, forked by the fork
server as the window's are) and a FolderWatcher whose scans are queued as the window
and `mus watch` queue them, and waits for its catch-up scan.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from mus_desktop.config import Settings, load_settings
from mus_desktop.library.engine import Database, open_database
from mus_desktop.library.folders import add_folders
from mus_desktop.library.models import ProcessingStatus, Track
from mus_desktop.library.scanner import ScanReport
from mus_desktop.processing.service import queue_scanned
from mus_desktop.runtime.backend import Backend, start_backend
from mus_desktop.watching.watcher import FolderState, FolderWatcher
from tests.runtime.conftest import wait_until

COMPLETE = ProcessingStatus.COMPLETE.value
MODES = ["events", "polling"]


@dataclass(frozen=True)
class Row:
    """What a person sees of a track."""

    id: int
    path: str
    status: str
    title: str | None
    content_hash: str | None
    missing: bool
    error: str | None


def rows(db: Database) -> dict[str, Row]:
    """Every track, by path."""
    with db.read() as session:
        tracks = session.scalars(select(Track)).all()
        return {
            t.path: Row(
                t.id,
                t.path,
                t.processing_status,
                t.title,
                t.content_hash,
                t.missing_since is not None,
                t.last_error_message,
            )
            for t in tracks
        }


def describe(found: dict[str, Row]) -> str:
    """The tracks, a line each, for a failure's message."""
    return "\n".join(
        f"  {row.id} {row.status} missing={row.missing} {row.title!r} {path}"
        f"{' ' + row.error if row.error else ''}"
        for path, row in sorted(found.items(), key=lambda item: item[1].id)
    )


def under(found: dict[str, Row], folder: Path | str) -> dict[str, Row]:
    prefix = f"{folder}/"
    return {path: row for path, row in found.items() if path.startswith(prefix)}


@dataclass
class Following:
    """A running watcher and what it reported."""

    db: Database
    settings: Settings
    watcher: FolderWatcher
    backend: Backend | None
    reports: list[ScanReport] = field(default_factory=list)
    folder_states: list[list[FolderState]] = field(default_factory=list)

    def rows(self) -> dict[str, Row]:
        return rows(self.db)

    def state(self, folder: Path | str) -> FolderState | None:
        return next((s for s in self.watcher.states() if s.path == str(folder)), None)

    def wait_rows(
        self, predicate: Callable[[dict[str, Row]], object], what: str, timeout: float = 30.0
    ) -> dict[str, Row]:
        """Wait until the tracks satisfy `predicate`; returns them as they were then."""
        seen: dict[str, Row] = {}

        def check() -> object:
            nonlocal seen
            seen = self.rows()
            return predicate(seen)

        try:
            wait_until(check, what, timeout)
        except pytest.fail.Exception:
            pytest.fail(f"gave up waiting for {what}; tracks:\n{describe(seen)}")
        return seen

    def wait_complete(
        self, paths: Sequence[str], what: str = "the tracks to be COMPLETE", timeout: float = 30.0
    ) -> dict[str, Row]:
        return self.wait_rows(
            lambda found: all(
                p in found and found[p].status == COMPLETE and not found[p].missing for p in paths
            ),
            what,
            timeout,
        )

    def wait_all_complete(
        self, count: int, what: str = "the first processing", timeout: float = 30.0
    ) -> dict[str, Row]:
        """Wait until the library holds `count` tracks, every one COMPLETE and present."""
        return self.wait_rows(
            lambda found: (
                len(found) == count
                and all(row.status == COMPLETE and not row.missing for row in found.values())
            ),
            what,
            timeout,
        )

    def wait_state(self, folder: Path | str, modes: Sequence[str], timeout: float = 20.0) -> None:
        wait_until(
            lambda: (state := self.state(folder)) is not None and state.mode in modes,
            f"{folder} to be {' or '.join(modes)} (now {self.state(folder)})",
            timeout,
        )


@pytest.fixture(params=MODES)
def watch_mode(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> str:
    """After `settings`, so that what it sets is overridden here."""
    monkeypatch.setenv("MUS_WATCH", request.param)
    monkeypatch.setenv("MUS_POLL_SECONDS", "1")
    monkeypatch.setenv("MUS_WATCH_MAX_FOLDERS", "0")
    monkeypatch.setenv("MUS_WORKERS", "1")
    return str(request.param)


@pytest.fixture
def watch_settings(watch_mode: str, broker_settings: Settings) -> Settings:
    """The test's library and the test broker, with `watch_mode` in force."""
    return load_settings()


@pytest.fixture
def follow(
    watch_settings: Settings,
) -> Iterator[Callable[..., Following]]:
    started: list[tuple[Database, FolderWatcher, Backend | None]] = []

    def start(
        roots: Sequence[Path], *, workers: bool = True, settings: Settings | None = None
    ) -> Following:
        settings = settings or load_settings()
        db = open_database(settings.db_path)
        added = add_folders(db, roots)
        assert len(added.added) == len(roots), added.lines()
        backend = start_backend(settings, start_workers=workers) if workers else None
        if backend is not None:
            assert backend.queue is not None, backend.describe()
        lock = threading.Lock()
        following: Following

        def scanned(report: ScanReport) -> None:
            if backend is not None:
                queue_scanned(report, backend.queue, settings)
            with lock:
                following.reports.append(report)

        def folders_changed(states: list[FolderState]) -> None:
            following.folder_states.append(states)

        watcher = FolderWatcher(db, settings, scanned, folders_changed)
        following = Following(db, settings, watcher, backend)
        started.append((db, watcher, backend))
        watcher.start()
        wait_until(lambda: watcher.scans >= 1, "the catch-up scan", 30)
        return following

    yield start

    for db, watcher, backend in reversed(started):
        watcher.stop()
        if backend is not None:
            backend.stop()
        db.dispose()


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "20m") -> Iterator[Path]:
    """A tmpfs mounted on `folder` (made if need be) for the block; unmounted after,
    whatever the test did with it."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        unmount_all(folder)


def unmount(folder: Path, timeout: float = 10.0) -> None:
    """Unmount `folder`, trying again while something still uses it (a poll under way)."""
    wait_until(
        lambda: subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0,
        f"{folder} to unmount",
        timeout,
    )


def unmount_all(folder: Path) -> None:
    """Whatever is mounted on `folder`, gone (lazily, if in use)."""
    for _ in range(5):
        if not folder.is_mount():
            return
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
