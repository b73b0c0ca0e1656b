"""The private broker's guardian: stops the server once no process uses it.

`broker.PrivateBroker` starts it beside the server, as a script that imports
nothing beyond the standard library (`nice -n 19 python -I -S guardian.py
USERS_LOCK PIDFD`), handing it a pidfd of the server.

Every process that uses the private broker holds a shared flock on
USERS_LOCK, which the kernel drops when the process dies, SIGKILL included.
Every POLL_SECONDS the guardian tries for an exclusive lock; once it gets
one, nobody uses the server, and it sends it SIGTERM (valkey and redis then
flush their append-only file, Dragonfly saves its snapshot). It holds the
lock until the server has exited, so that a process wanting the broker
meanwhile waits, then finds none and starts a fresh one. A user that
releases the broker last stops the server itself; the guardian is for the
users that die. It exits as soon as the server does, however that happens.

The pidfd, unlike a pid, cannot come to name another process once the server
has exited and been reaped (by its starter, or by init).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import sys

POLL_SECONDS = 0.2
"""How soon after its last user dies the server is stopped, at most."""
STOP_SECONDS = 10.0
"""How long the server gets to save and exit after SIGTERM before SIGKILL."""


def _send(pidfd: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has exited meanwhile
        signal.pidfd_send_signal(pidfd, sig)


def guard(users_lock: str, pidfd: int) -> None:
    """Return once the server behind `pidfd` has exited, stopping it when unused."""
    server = select.poll()
    server.register(pidfd, select.POLLIN)  # readable once the process has exited
    lock = os.open(users_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    while not server.poll(POLL_SECONDS * 1000):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # in use
        print("--- mus: the private broker has no user left: stopping it", flush=True)
        _send(pidfd, signal.SIGTERM)
        if not server.poll(STOP_SECONDS * 1000):
            _send(pidfd, signal.SIGKILL)
            server.poll()
        return


if __name__ == "__main__":
    guard(sys.argv[1], int(sys.argv[2]))
