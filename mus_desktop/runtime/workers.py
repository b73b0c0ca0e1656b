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

A worker runs mus's batch job and nothing else (`MusJob`), rides out a broker
restart (`_ReconnectingRetry`), registers again when the broker lost its
registration (`MusWorker.heartbeat`), and ends when the process that forked
it does (`end_with_parent`: pool workers, work horses).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from redis import exceptions as redis_errors
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.client import Pipeline
from redis.retry import Retry
from rq import Worker, worker_registration
from rq.job import Job
from rq.serializers import JSONSerializer

from mus_desktop.config import Settings, load_settings
from mus_desktop.processing.queue import JOB_FUNCTION, queue_name
from mus_desktop.runtime import forkserver
from mus_desktop.runtime.broker import BrokerUnreachable, PrivateBroker, ping
from mus_desktop.runtime.memory import keep_freed_memory

STOP_POLL_SECONDS = 0.02
HEARTBEAT_SECONDS = 5
"""How often a worker tells the broker it is alive, idle or busy: a worker whose
registration the broker lost (a flush, a restart without its data) is counted
again within this long."""
RECONNECT_WAIT_CAP = 2.0
"""The longest wait between two attempts to reach a broker that went away."""

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_LOADED_BY = os.getpid()
"""The process that imported this module: the one that forks pool workers, that
is `mus import --wait` itself or the fork server (which preloads this module)."""

log = logging.getLogger("rq.worker")
"""RQ's worker logger, which `Worker.work` sets up: our lines read like its own."""


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True).prctl


def end_with_parent(parent_pid: int) -> None:
    """Have this process get SIGTERM when its parent dies, as it would have if it
    died already (Linux; elsewhere only the second half holds).

    For a process forked by `parent_pid`, called first thing in the child:
    PR_SET_PDEATHSIG takes effect from now on, and a parent that died before
    it did has left the child to init (or a subreaper), which `getppid` shows.
    """
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        signal.raise_signal(signal.SIGTERM)


class RefusedJob(Exception):
    """A job names a function other than mus's batch job: it fails, unrun."""


class MusJob(Job):
    """RQ's Job, able to run mus's batch job (processing.queue.JOB_FUNCTION) only.

    RQ imports and calls whatever function a job names, and the JSON
    serializer does not change that: anyone who can write to the broker could
    otherwise run `os.system` in a worker. Every worker loads jobs through
    this class (`MusWorker.job_class`: RQ builds the worker's queues and their
    registries with it), so a job naming anything else, however it got into
    the broker, fails in its work horse before anything is imported, and RQ's
    log line names the function.

    Callbacks and webhooks are ignored for the same reason (mus sets none):
    RQ would import a callback named in the job's hash, even while cleaning
    its registries in the worker itself, and send a webhook's request to
    any URL. Relies on RQ 3.0 reading them through the `*_callback`
    properties and `send_webhooks`.
    """

    @property
    def func(self) -> Callable[..., Any]:
        if self.func_name != JOB_FUNCTION or self.instance is not None:
            named = repr(self.func_name)[:100]
            raise RefusedJob(f"refused to run {named}: a mus worker runs {JOB_FUNCTION} only")
        return super().func

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def send_webhooks(self, status: str, *, exc_string: str | None = None) -> None:
        return None


class _ReconnectingRetry(Retry):
    """redis-py's retry policy for a worker's connection: a command that fails
    because the broker went away (a restart, say) is tried again, with backoff,
    until the broker answers, unless the worker is stopping (`stopping`).

    RQ itself retries only its wait for the next job; a failure anywhere else
    (recording a job's end, a heartbeat) ended the worker with a traceback.
    The first failure of an outage logs one line; `MusWorker.heartbeat` logs
    the next once the broker answers again. Each attempt is redis-py's own
    (`retries=0`: it disconnects, for the next attempt to connect again);
    only the waiting between them is ours, which works the same from redis-py
    5 to 8.
    """

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 0)
        self.stopping = False
        self.lost_at: float | None = None
        self._waits = ExponentialBackoff(cap=RECONNECT_WAIT_CAP, base=0.05)

    def __deepcopy__(self, memo: dict[int, object]) -> _ReconnectingRetry:
        # redis-py copies the policy into each connection: keep one, so that
        # `stopping` reaches them all.
        return self

    def call_with_retry(
        self, do: Callable[[], Any], fail: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        failures = 0
        while True:
            try:
                return super().call_with_retry(do, fail, *args, **kwargs)
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
                if self.stopping:
                    raise
                failures += 1
                if self.lost_at is None:
                    self.lost_at = time.monotonic()
                    reason = " ".join(str(error).split())
                    log.warning("the broker does not answer (%s): retrying until it does", reason)
                time.sleep(self._waits.compute(failures))


class MusWorker(Worker):
    """RQ's forking Worker, made safe and durable for mus. Relies on RQ 3.0's:

    - `job_class`, with which RQ loads every job: see MusJob.
    - `_shutdown`: RQ 3.0 stops an idle worker by raising StopRequested from
      its SIGTERM handler. When the signal lands inside a logging call,
      `logging` swallows the exception ("--- Logging error ---") and the worker
      carries on taking jobs until it is killed. Recording the request first
      makes the main loop stop after the current job whatever happens to the
      exception. It also ends the retries of a broker outage.
    - `unsubscribe`: on the way out RQ unsubscribes from its command channel,
      then tells the listener thread to stop and joins it. The thread wakes on
      the server's reply to the unsubscribe; if that comes before the stop flag
      is set, it waits for the next message (60 s): with redis-py 5 to 7 a 1 s
      stall (RQ's join timeout) in about one exit in five, with 8, whose
      `PubSubWorkerThread.stop` joins without one, 60 s in every exit. Setting
      the flag first, without that join (redis-py's `_running` event), closes
      the race.
    - `heartbeat`, which RQ calls at least every `worker_ttl - 15` seconds while
      idle and every `job_monitoring_interval` while busy (both set from
      HEARTBEAT_SECONDS in `_work`): registers the worker again if the
      broker lost it, as `rq.worker_registration.register` and
      `Worker.serialize` do at its birth.
    - `setup_work_horse_signals`, the first thing a work horse does: from then
      on it ends with its worker (see `end_with_parent`).
    """

    job_class = MusJob

    def _shutdown(self) -> None:
        self._stop_requested = True
        retry = self.connection.get_retry()
        if isinstance(retry, _ReconnectingRetry):
            retry.stopping = True
        super()._shutdown()

    def unsubscribe(self) -> None:
        if self.pubsub_thread:
            self.pubsub_thread._running.clear()
        super().unsubscribe()

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        super().heartbeat(timeout, pipeline)
        if self.is_horse:
            return
        self._register_again_if_gone()
        retry = self.connection.get_retry()
        if isinstance(retry, _ReconnectingRetry) and retry.lost_at is not None:
            away = time.monotonic() - retry.lost_at
            retry.lost_at = None
            self.log.info("Worker %s: the broker answers again (after %.0f s)", self.name, away)

    def _register_again_if_gone(self) -> None:
        """Register again if the broker no longer lists this worker (FLUSHALL, or a
        restart that lost the data): otherwise the app, `mus doctor` and `mus
        import` count no worker while it runs, and start others or warn."""
        listed = worker_registration.WORKERS_BY_QUEUE_KEY % self.queues[0].name
        if self.connection.sismember(listed, self.key):
            return
        self.log.warning(
            "Worker %s: the broker lost its registration: registering again", self.name
        )
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping={**self.serialize(), "state": self.get_state()})
            worker_registration.register(self, pipe)
            pipe.expire(self.key, self.worker_ttl + 60)
            pipe.execute()

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # SIGTERM now ends the horse at once
        if self.pid is not None:
            end_with_parent(self.pid)


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
        raise BrokerUnreachable(settings.redis_url, reason)
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
    retry = _ReconnectingRetry()
    connection = Redis.from_url(url, retry=retry)
    worker = MusWorker(
        [queue_name(settings.db_path)],  # RQ builds the queue with MusJob
        connection=connection,
        serializer=JSONSerializer,
        worker_ttl=HEARTBEAT_SECONDS + 15,  # RQ waits worker_ttl - 15 s for a job
        job_monitoring_interval=HEARTBEAT_SECONDS,
    )
    try:
        worker.work(burst=burst, logging_level="INFO")
    except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
        if not retry.stopping:
            raise
        # Stopping with the broker gone: the registration it could not remove expires.
        log.warning("Worker %s: stopped without the broker (%s)", worker.name, exc)
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
    multiprocessing sends them SIGTERM (a warm shutdown) on the way out, and
    should it die, the kernel does (see `_worker_process`).
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
