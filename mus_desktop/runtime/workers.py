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
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

import psutil
from redis import Redis
from rq import Worker
from rq.serializers import JSONSerializer

from mus_desktop.config import Settings, load_settings
from mus_desktop.processing.queue import make_queue
from mus_desktop.runtime import forkserver
from mus_desktop.runtime.broker import BrokerUnreachable, PrivateBroker, ping
from mus_desktop.runtime.memory import keep_freed_memory

STOP_POLL_SECONDS = 0.02


def resolve_broker_url(settings: Settings) -> str:
    """The configured broker if it answers, else the private one (started if need
    be, and answering once started). Raises BrokerError (BrokerUnreachable)."""
    if not settings.redis_url:
        return PrivateBroker(settings.runtime_dir, settings.log_dir).ensure_running()
    reason = ping(settings.redis_url, timeout=3.0)
    if reason is not None:
        raise BrokerUnreachable(settings.redis_url, reason)
    return settings.redis_url


class MusWorker(Worker):
    """RQ's forking Worker, with a shutdown that is neither lost nor slow.

    RQ 3.0 stops an idle worker by raising StopRequested from its SIGTERM
    handler. When the signal lands inside a logging call, `logging` swallows
    the exception ("--- Logging error ---") and the worker carries on taking
    jobs until it is killed. Recording the request first makes the main loop
    stop after the current job whatever happens to the exception.

    On the way out RQ unsubscribes from its command channel, then tells the
    listener thread to stop and joins it. The thread wakes on the server's
    reply to the unsubscribe; if that comes before the stop flag is set, it
    waits for the next message (60 s): with redis-py 5 to 7 a 1 s stall (RQ's
    join timeout) in about one exit in five, with 8, whose
    `PubSubWorkerThread.stop` joins without one, 60 s in every exit. Setting
    the flag first, without that join (redis-py's `_running` event), closes
    the race.
    """

    def _shutdown(self) -> None:
        self._stop_requested = True
        super()._shutdown()

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.pubsub_thread._running.clear()
        super().unsubscribe()


def worker_alive(worker: Worker) -> bool:
    """Whether a registered worker still runs.

    RQ lists a worker until its heartbeat key expires, minutes after a
    SIGKILL or an OOM kill; for a worker on this host its pid decides. A
    zombie (a killed worker its parent has not reaped yet, as `mus import
    --wait` does only when it stops its pool) does not run.
    """
    if worker.hostname != socket.gethostname() or not worker.pid:
        return True
    try:
        return psutil.Process(worker.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def run_worker(settings: Settings, *, burst: bool = False) -> int:
    """Run one RQ worker on this library's queue until SIGTERM (or, with burst, until empty).

    SIGTERM is RQ's warm shutdown: the running job finishes, then the worker
    exits. Raises BrokerUnreachable if the broker does not answer.
    """
    url = resolve_broker_url(settings)
    from mus_desktop.processing import pipeline  # not at the top: the CLI and window import us

    pipeline.prepare_worker(settings)
    keep_freed_memory()
    connection = Redis.from_url(url)
    worker = MusWorker(
        [make_queue(connection, settings)],
        connection=connection,
        serializer=JSONSerializer,
    )
    worker.work(burst=burst, logging_level="INFO")
    return 0


def _worker_process(env: dict[str, str], log_path: str) -> None:
    """A pool worker's main, in a child of the fork server (modules already imported).

    Runs in its own session, so a Ctrl+C in the terminal that started the app
    does not reach it, with its output appended to the workers' log and the
    environment the pool was started with (the fork server's own may be older).
    """
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
        if self.handle is None or not self.handle.is_running():
            return False
        try:
            return self.handle.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
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
    multiprocessing sends them SIGTERM (a warm shutdown) on the way out.
    """

    def __init__(
        self, settings: Settings, redis_url: str, count: int, *, fork_here: bool = False
    ) -> None:
        self.settings = settings
        self.redis_url = redis_url
        self.count = count
        self.fork_here = fork_here
        self.log_path = Path(settings.log_dir) / "workers.log"
        self._workers: list[_PoolWorker] = []

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers if worker.process.pid]

    def start(self) -> None:
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

    def alive(self) -> int:
        return sum(1 for worker in self._workers if worker.running())

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown: running jobs get `timeout` seconds to finish.

        Stragglers then get a second SIGTERM (RQ's cold shutdown, which also
        kills the work horse) and finally SIGKILL.
        """
        self._signal_all(signal.SIGTERM)
        if not self._wait_all(timeout):
            # RQ ignores a repeated signal within a second of the first.
            time.sleep(1.1)
            self._signal_all(signal.SIGTERM)
            if not self._wait_all(5.0):
                self._signal_all(signal.SIGKILL)
                self._wait_all(5.0)
        self._workers = [worker for worker in self._workers if worker.running()]

    def _signal_all(self, sig: signal.Signals) -> None:
        for worker in self._workers:
            worker.signal(sig)

    def _wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while any(worker.running() for worker in self._workers):
            if time.monotonic() >= deadline:
                return False
            time.sleep(STOP_POLL_SECONDS)
        return True
