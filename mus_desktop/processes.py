"""Other processes: whether one still runs, and ending with the one that started us.

Used by every layer that keeps track of processes: the RQ adapter (is a
registered worker alive?), the worker pool and the private broker. See
docs/architecture.md, "Processes".
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

import psutil

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def is_running(process: int | psutil.Process) -> bool:
    """Whether `process` (a pid, or a psutil handle, which also tells a reused pid
    apart) runs: it exists and is not a zombie, one that exited and that its
    parent has not reaped yet. A process we may not inspect counts as running."""
    try:
        handle = process if isinstance(process, psutil.Process) else psutil.Process(process)
        return handle.is_running() and handle.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


def end_with_parent(parent_pid: int, signum: int = signal.SIGTERM) -> None:
    """Have this process get `signum` when its parent dies, as it would have if it
    died already (Linux; elsewhere only the second half holds).

    For a process forked by `parent_pid`, called first thing in the child:
    PR_SET_PDEATHSIG takes effect from now on, and a parent that died before
    it did has left the child to init (or a subreaper), which `getppid` shows.
    """
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if os.getppid() != parent_pid:
        signal.raise_signal(signum)
