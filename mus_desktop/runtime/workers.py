"""RQ workers: the `mus worker` process, and the pool the app and `mus import --wait` run.

`mus worker` runs RQ's forking `Worker`, not `SimpleWorker`. Each job runs in a
forked work horse: a segfault in a C library (a codec, an image decoder) kills
only the horse, the job is marked failed and reconcile re-enqueues its tracks;
and a horse stuck inside C code past the job timeout is killed, which
SimpleWorker's SIGALRM cannot do (the handler waits for the C call to return).

Measured on RQ 3.0 with valkey 8.1 on a unix socket (2 shared cores), 300
no-op JSON jobs: SimpleWorker 2.1-2.3 ms per job, forking Worker 10.7-11.5 ms.
With real batches a job costs ~40 ms beyond its tracks' work (RQ's
bookkeeping, the fork, the horse's copy-on-write faults on the worker's
memory), so a job is a batch of up to `MUS_BATCH_SIZE` tracks, 500 by
default (see processing/queue.py).
Before the first fork the worker has the job's modules imported, the engine
created and the schema checked (`pipeline.prepare_worker`); a horse only opens
its own connection (SQLite connections must not cross a fork), about 2 ms.

A worker runs mus's batch job and nothing else, rides out a broker restart,
registers again when the broker lost its registration (all three through
processing/rq_adapter.py), and ends when the process that forked it does
(`processes.end_with_parent`: pool workers, work horses). See
docs/architecture.md, "Processes".
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

import psutil
from redis import exceptions as redis_errors

from mus_desktop.config import Settings, load_settings
from mus_desktop.processes import end_with_parent, is_running
from mus_desktop.processing.queue import BrokerUnreachable, queue_name
from mus_desktop.processing.routing import worker_queue_names
from mus_desktop.processing.rq_adapter import make_worker, reconnecting_client
from mus_desktop.runtime import forkserver
from mus_desktop.runtime.broker import PrivateBroker, ping
from mus_desktop.runtime.memory import keep_freed_memory

STOP_POLL_SECONDS = 0.02
IDLE_STOP_SECONDS = 1.5
"""How long `LocalWorkerPool.stop` gives every worker before it asks the idle ones
again (more than the 1 s within which RQ ignores a repeated signal)."""
_LOADED_BY = os.getpid()
"""The process that imported this module: the one that forks pool workers, that
is `mus import --wait` itself or the fork server (which preloads this module)."""


def _broker_for_worker(settings: Settings) -> tuple[str, PrivateBroker | None]:
    """The broker to work on, and the private broker if that is the one, used by
    this worker until it releases it.

    With no broker configured, the private one (started if need be). A pool
    worker is handed the private broker's URL as if configured: it uses it
    too, so that the broker runs until the last worker is gone. Raises
    BrokerError (BrokerUnreachable) if the broker does not answer.
    """
    private = PrivateBroker(settings.runtime_dir, settings.log_dir)
    if not settings.redis_url:
        return private.ensure_running(), private
    if settings.redis_url == private.url:
        private.use()  # before the ping: it cannot be stopped as unused after it
    reason = ping(settings.redis_url, timeout=3.0)
    if reason is not None:
        private.release()
        raise BrokerUnreachable(reason, settings.redis_url)
    return settings.redis_url, private if settings.redis_url == private.url else None


def run_worker(settings: Settings, *, burst: bool = False) -> int:
    """Run one RQ worker on this library's queue until SIGTERM (or, with burst, until empty).

    SIGTERM is RQ's warm shutdown: the running job finishes, then the worker
    exits. Raises BrokerUnreachable if the broker does not answer at the
    start; later it waits for it to answer again. A private broker this
    worker was the last to use is stopped on the way out.
    """
    url, private = _broker_for_worker(settings)
    try:
        return _work(url, settings, burst=burst)
    finally:
        if private is not None:
            private.release()


def _work(url: str, settings: Settings, *, burst: bool) -> int:
    from mus_desktop.processing import pipeline  # not at the top: the CLI and window import us

    pipeline.prepare_worker(settings)
    keep_freed_memory()
    connection, retry = reconnecting_client(url)
    library_queue = queue_name(settings.database)
    worker = make_worker(library_queue, connection, worker_queue_names(settings, library_queue))
    try:
        worker.work(burst=burst, logging_level="INFO")
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        if not retry.stopping:
            raise
        # Stopping with the broker gone: the registration it could not remove expires.
        worker.log.warning("Worker %s: stopped without the broker (%s)", worker.name, exc)
    return 0


def _worker_process(env: dict[str, str], log_path: str) -> None:
    """A pool worker's main, in a child of the fork server or of the process that
    started the pool (modules already imported).

    Ends when that parent does (a window or `mus import --wait` killed with
    SIGKILL leaves no worker behind). Runs in its own session, so a Ctrl+C in
    the terminal that started the app does not reach it, with its output
    appended to the workers' log and the environment the pool was started
    with (the fork server's own may be older).
    """
    forkserver.leave_fork_server()
    end_with_parent(_LOADED_BY if os.getpid() != _LOADED_BY else os.getppid())
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    os.environ.clear()
    os.environ.update(env)
    sys.exit(run_worker(load_settings()))


@dataclass
class _PoolWorker:
    process: BaseProcess
    handle: psutil.Process | None
    """The same process by pid and start time: signalling it never hits a reused pid."""

    def running(self) -> bool:
        """Whether it still runs. multiprocessing alone cannot tell for a fork
        server's child once the fork server is gone (a SIGTERM to the window's
        process group ends it): its workers run on, and then only the pid can."""
        if self.process.is_alive():  # also reaps it, when it is our own child
            return True
        return self.handle is not None and is_running(self.handle)

    def has_work_horse(self) -> bool:
        """Whether it runs a job: RQ forks a work horse for each."""
        try:
            return self.handle is not None and bool(self.handle.children())
        except psutil.NoSuchProcess:
            return False

    def signal(self, sig: signal.Signals) -> None:
        if self.handle is not None and self.running():
            with contextlib.suppress(psutil.NoSuchProcess):
                self.handle.send_signal(sig)


class LocalWorkerPool:
    """`count` workers on `redis_url`, started and stopped by the app or the CLI.

    A worker is a fork of a process that has the worker and job modules
    imported already: by default of the fork server (runtime/forkserver.py);
    with `fork_here`, of the caller itself. `mus import --wait` does that: it
    imports most of those modules anyway, so forking itself spares the fork
    server's second copy of the same imports (~0.3 s of CPU on a two-core
    machine where everything else is waiting for it). The job's own modules
    (mutagen, Pillow: ~22 ms) the workers then import themselves, while the
    command scans: to all-final 30-45 ms sooner than importing them first
    (medians of 10 and 12 alternating runs). Only a single-threaded caller
    holding no SQLite connection may fork here; the window cannot (threads).

    Each worker gets this process's environment (so MUS_DB and the rest carry
    over) with MUS_REDIS_URL set, and appends its output to `workers.log` in
    the log folder. `stop` ends them; should the caller exit without it,
    multiprocessing sends them SIGTERM (a warm shutdown) on the way out, and
    should it die, the kernel does (see `_worker_process`).

    `pause` and `resume` may be called from any thread; neither waits for a
    worker to finish its batch.
    """

    def __init__(
        self, settings: Settings, redis_url: str, count: int, *, fork_here: bool = False
    ) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.count = count
        self.fork_here = fork_here
        self.log_path = Path(settings.log_dir) / "workers.log"
        self.paused = False
        self._workers: list[_PoolWorker] = []
        self._retiring: list[_PoolWorker] = []
        """Workers told to stop by `pause`, finishing the batch in hand."""
        self._lock = threading.Lock()

    @property
    def pids(self) -> list[int]:
        """The pool's workers, those finishing their batch after a pause included."""
        every = [*self._workers, *self._retiring]
        return [worker.process.pid for worker in every if worker.process.pid]

    def running_pids(self) -> list[int]:
        """The pids of the pool's workers that still run (retiring ones included)."""
        every = [*self._workers, *self._retiring]
        return [worker.process.pid for worker in every if worker.process.pid and worker.running()]

    def start(self) -> None:
        with self._lock:
            self._start()

    def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.fork_here:
            context = multiprocessing.get_context("fork")
        else:
            forkserver.warm_up()
            context = forkserver.CONTEXT
        env = {**os.environ, "MUS_REDIS_URL": self.redis_url}
        for _ in range(self.count):
            process = context.Process(
                target=_worker_process,
                args=(env, str(self.log_path)),
                name="mus-worker",
                daemon=True,
            )
            process.start()
            try:
                handle = psutil.Process(process.pid)
            except psutil.Error:
                handle = None  # already gone
            self._workers.append(_PoolWorker(process, handle))

    def pause(self) -> None:
        """Have every worker take no more jobs; returns at once.

        Pausing is stopping the pool's workers, and resuming is starting
        `count` new ones. The alternatives: RQ's `suspend` is a key every
        worker on the broker obeys, so on a shared broker it would also pause
        other people's workers (another window's, a server's); a pause flag
        per worker would need a check in RQ's work loop, and keep idle
        processes around. A stopped worker loses nothing: its warm shutdown
        (SIGTERM) lets it finish the batch in hand, queued jobs stay queued,
        and no state outlives the pool (a fresh start is not paused). A
        worker forks from the fork server in milliseconds, so a resume is
        as quick as a start.

        As in `stop`, an idle worker that missed the warm shutdown gets a
        second SIGTERM after IDLE_STOP_SECONDS (from a timer thread): one
        with no work horse has no batch to finish.
        """
        with self._lock:
            if self.paused:
                return
            self.paused = True
            leaving, self._workers = self._workers, []
            self._retiring = [worker for worker in self._retiring if worker.running()] + leaving
        for worker in leaving:
            worker.signal(signal.SIGTERM)
        straggling = threading.Timer(IDLE_STOP_SECONDS, self._stop_idle, args=(leaving,))
        straggling.daemon = True
        straggling.start()

    def _stop_idle(self, leaving: list[_PoolWorker]) -> None:
        for worker in leaving:
            if not worker.has_work_horse():
                worker.signal(signal.SIGTERM)

    def resume(self) -> None:
        """Start `count` workers again after `pause`; those still finishing the batch
        they had when paused end once it is done."""
        with self._lock:
            if not self.paused:
                return
            self.paused = False
            self._start()

    def alive(self) -> int:
        """The pool's workers that still run (retiring ones included)."""
        return sum(1 for worker in [*self._workers, *self._retiring] if worker.running())

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown: running jobs get `timeout` seconds to finish.

        Stragglers then get a second SIGTERM (RQ's cold shutdown, which also
        kills the work horse) and finally SIGKILL. Workers paused and still
        finishing their batch are stopped the same way.
        """
        with self._lock:
            self._workers += self._retiring
            self._retiring = []
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        self._signal_all(signal.SIGTERM)
        if not self._wait_all(IDLE_STOP_SECONDS):
            # An idle worker can miss the warm shutdown: when the signal lands inside
            # RQ's logging call just before it blocks waiting for a job, `logging`
            # swallows RQ's StopRequested and the worker waits out its dequeue
            # timeout (minutes). One with no work horse has no job to finish: the
            # second SIGTERM (a cold shutdown) loses nothing.
            self._signal_all(signal.SIGTERM, only_idle=True)
            if not self._wait_all(max(0.0, timeout - IDLE_STOP_SECONDS)):
                time.sleep(1.1)  # RQ ignores a repeated signal within a second of the first
                self._signal_all(signal.SIGTERM)
                if not self._wait_all(5.0):
                    self._signal_all(signal.SIGKILL)
                    self._wait_all(5.0)
        self._workers = [worker for worker in self._workers if worker.running()]

    def _signal_all(self, sig: signal.Signals, *, only_idle: bool = False) -> None:
        for worker in self._workers:
            if not only_idle or not worker.has_work_horse():
                worker.signal(sig)

    def _wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while any(worker.running() for worker in self._workers):
            if time.monotonic() >= deadline:
                return False
            time.sleep(STOP_POLL_SECONDS)
        return True
