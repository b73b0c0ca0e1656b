"""Peak resident memory of a process tree, sampled while it runs (psutil)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

import psutil

POLL_SECONDS = 0.05


@dataclass
class Peaks:
    """Largest RSS (bytes) seen per kind of process: the `mus` command itself, the fork
    server the local workers come from, a worker (the RQ worker process), a work horse
    (the fork that runs one job) and the broker."""

    rss: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, value: int) -> None:
        self.rss[kind] = max(self.rss.get(kind, 0), value)


_CHILD_KIND = {"cli": "fork_server", "fork_server": "worker", "worker": "work_horse"}
"""Forked processes share their parent's command line: their parent's kind says theirs."""


def _kind(process: psutil.Process, kinds: dict[int, str], root_pid: int) -> str:
    if process.pid == root_pid:
        return "cli"
    cmdline = " ".join(process.cmdline())
    if any(name in cmdline for name in ("valkey", "redis-server", "dragonfly")):
        return "broker"
    if "multiprocessing.forkserver" in cmdline:
        return _CHILD_KIND.get(kinds.get(process.ppid(), ""), "other")
    if " worker" in cmdline:  # `mus worker`: its horses share its command line
        return "work_horse" if kinds.get(process.ppid()) == "worker" else "worker"
    return "other"


def run_watched(command: list[str], env: dict[str, str]) -> tuple[float, Peaks, str]:
    """Run `command`, sampling its process tree's RSS every POLL_SECONDS.

    Returns (wall seconds, peaks, stdout). Raises if the command fails.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = watch(proc)
    elapsed = time.perf_counter() - started
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{command} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return elapsed, peaks, out.decode()


def watch(proc: subprocess.Popen[bytes]) -> Peaks:
    """Sample the RSS of `proc` and its descendants until `proc` exits.

    Its pipes are not read meanwhile: fine for commands that print little.
    """
    peaks = Peaks()
    kinds: dict[int, str] = {proc.pid: "cli"}
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for process in tree:
            try:
                kind = kinds.setdefault(process.pid, _kind(process, kinds, proc.pid))
                peaks.note(kind, process.memory_info().rss)
            except psutil.Error:
                continue  # exited between listing and reading
        time.sleep(POLL_SECONDS)
    return peaks
