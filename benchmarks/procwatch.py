"""Peak resident memory of a process tree, sampled while it runs (psutil)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

import psutil

POLL_SECONDS = 0.05


@dataclass
class Peaks:
    """Largest RSS (bytes) seen per kind of process: the `mus` command itself, a worker
    (an RQ worker, forked from the `mus` command), a work horse (the fork of a worker that
    runs one job) and the broker."""

    rss: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, value: int) -> None:
        self.rss[kind] = max(self.rss.get(kind, 0), value)


_FORKED_FROM = {"cli": "worker", "worker": "work_horse"}
"""A fork keeps its parent's command line; the parent's kind says what the fork is:
workers are forks of the `mus` command (`mus import --wait`), work horses forks of a worker."""


def _kind(process: psutil.Process, seen: dict[int, tuple[str, str]], root_pid: int) -> str:
    cmdline = " ".join(process.cmdline())
    parent_kind, parent_cmdline = seen.get(process.ppid(), ("", ""))
    if process.pid == root_pid:
        return "cli"
    if any(name in cmdline for name in ("valkey", "redis-server", "dragonfly")):
        return "broker"
    if cmdline == parent_cmdline:
        return _FORKED_FROM.get(parent_kind, "other")
    return "other"


def run_watched(command: list[str], env: dict[str, str]) -> tuple[float, Peaks]:
    """Run `command`, sampling its process tree's RSS every POLL_SECONDS.

    Returns (wall seconds, peaks); its output is dropped. Raises if the command fails.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = watch(proc)
    elapsed = time.perf_counter() - started
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{command} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, peaks


def watch(proc: subprocess.Popen[bytes]) -> Peaks:
    """Sample the RSS of `proc` and its descendants until `proc` exits.

    Its pipes are not read meanwhile: fine for commands that print little.
    """
    peaks = Peaks()
    seen: dict[int, tuple[str, str]] = {}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            # psutil lists a parent before its children: a fork's parent is seen first
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for process in tree:
            try:
                if process.pid not in seen:
                    kind = _kind(process, seen, proc.pid)
                    seen[process.pid] = (kind, " ".join(process.cmdline()))
                peaks.note(seen[process.pid][0], process.memory_info().rss)
            except psutil.Error:
                continue  # exited between listing and reading
        time.sleep(POLL_SECONDS)
    return peaks
