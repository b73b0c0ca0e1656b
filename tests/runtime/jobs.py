"""Tiny job functions the runtime tests enqueue (imported by worker processes by name)."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path


def noop() -> None:
    """Does nothing: for tests that only need some job in the queue."""


def touch(path: str, text: str = "done") -> str:
    """Leaves a file behind, so a test sees that the job really ran."""
    Path(path).write_text(text)
    return text


def slow_touch(started: str, finished: str, seconds: float) -> None:
    """Marks its start, works for `seconds`, then marks its end."""
    Path(started).write_text("started")
    time.sleep(seconds)
    Path(finished).write_text("finished")


def segfault() -> None:
    """Crashes the process the way a broken C library would."""
    ctypes.string_at(0)
