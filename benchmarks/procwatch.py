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
    (the RQ worker process), a work horse (the fork that runs one job) and the broker."""

    rss: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, value: int) -> None:
        self.rss[kind] = max(self.rss.get(kind, 0), value)


def _kind(process: psutil.Process, worker_pids: set[int], root_pid: int) -> str:
    if process.pid == root_pid:
        return "cli"
    cmdline = process.cmdline()
    if any("valkey" in part or "redis-server" in part or "dragonfly" in part for part in cmdline):
        return "broker"
    if "worker" in cmdline:
        if process.ppid() in worker_pids:
            return "work_horse"  # forked from a worker: same command line, worker parent
        worker_pids.add(process.pid)
        return "worker"
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
    worker_pids: set[int] = set()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for process in tree:
            try:
                peaks.note(_kind(process, worker_pids, proc.pid), process.memory_info().rss)
            except psutil.Error:
                continue  # exited between listing and reading
        time.sleep(POLL_SECONDS)
    return peaks
