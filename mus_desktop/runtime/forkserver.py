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
import os

CONTEXT = multiprocessing.get_context("forkserver")

PRELOADED_MODULES = ["mus_desktop.runtime.workers", "mus_desktop.processing.pipeline"]
"""The worker's module and the batch job's (processing.queue.JOB_FUNCTION)."""


def warm_up() -> None:
    """Start the fork server now, if it is not running; returns without waiting for it.

    Idempotent, and cheap when the server already runs.
    """
    CONTEXT.set_forkserver_preload(PRELOADED_MODULES)
    multiprocessing.forkserver.ensure_running()


def leave_fork_server() -> None:
    """In a pool worker: close its copy of the fork server's "alive" pipe, so that
    the fork server ends when the window does.

    The fork server exits once every copy of that pipe's write end is closed,
    and multiprocessing hands one to each process it forks, so the workers kept
    it running after the window was killed, and it them (they end with it, see
    processes.end_with_parent). A worker starts no process through the fork
    server, which is all the copy is for. Relies on CPython's
    `multiprocessing.forkserver._forkserver._forkserver_alive_fd` (3.8 to
    3.13); a no-op where it is missing, or unset (a worker forked by
    `mus import --wait`, which starts no fork server).
    """
    server = multiprocessing.forkserver._forkserver
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        os.close(alive_fd)
        server._forkserver_alive_fd = None
