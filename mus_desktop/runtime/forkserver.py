"""The fork server that local workers are forked from.

A fresh `mus worker` spends ~0.37 s importing SQLAlchemy, RQ, mutagen and
Pillow before it can take a job. multiprocessing's fork server imports them
once; each worker is then a `fork()` of it, ready in milliseconds, and the
fork happens in that single-threaded process: the window has threads, so it
must not fork itself. This module imports nothing heavy, so the window starts
the server first thing and the server's imports overlap with its own start.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

CONTEXT = multiprocessing.get_context("forkserver")

PRELOADED_MODULES = ["mus_desktop.runtime.workers", "mus_desktop.processing.pipeline"]
"""The worker's module and the batch job's (processing.queue.JOB_FUNCTION)."""


def warm_up() -> None:
    """Start the fork server now, if it is not running; returns without waiting for it.

    Idempotent, and cheap when the server already runs.
    """
    CONTEXT.set_forkserver_preload(PRELOADED_MODULES)
    multiprocessing.forkserver.ensure_running()
