"""The backend the app and the CLI use: a broker, a queue and (maybe) local workers.

`start_backend` never raises because the broker is down: the window must still
open and browse the library. It returns a Backend whose `queue` is None and
whose `describe()` says why.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from types import TracebackType

from redis import Redis
from redis import exceptions as redis_errors
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from rq import Queue

from mus_desktop.config import Settings
from mus_desktop.processing.queue import BrokerError, make_queue, redact_url
from mus_desktop.processing.rq_adapter import live_workers, queued_jobs
from mus_desktop.runtime.broker import PrivateBroker, ping
from mus_desktop.runtime.workers import LocalWorkerPool

log = logging.getLogger(__name__)


def _client(url: str) -> Redis:
    """A client that gives up within seconds when the broker is gone (redis-py's default
    retries ten times with backoff), so a status line never hangs the window."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=10.0,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), 2),
    )


@dataclass
class Backend:
    """Where work goes: `queue` is None when the broker cannot be reached."""

    settings: Settings
    url: str | None
    private: bool
    redis: Redis | None = None
    queue: Queue | None = None
    error: str | None = None
    _broker: PrivateBroker | None = field(default=None, repr=False)
    _pool: LocalWorkerPool | None = field(default=None, repr=False)
    _paused: bool = field(default=False, repr=False)

    def describe(self) -> str:
        """One line for a status bar: '3 workers on private broker', 'broker unreachable: …'."""
        if self.queue is None or self.url is None:
            reason = (self.error or "unknown reason").splitlines()[0]
            return f"broker unreachable: {reason}"
        count = self.worker_count()
        where = "private broker" if self.private else redact_url(self.url)
        return f"{count} worker{'' if count == 1 else 's'} on {where}"

    def live_workers(self) -> int:
        """RQ workers on this library's queue (ours or anyone's) that still run."""
        if self.queue is None:
            return 0
        try:
            return len(live_workers(self.queue))
        except redis_errors.RedisError:
            return 0

    def worker_count(self) -> int:
        """The workers on this library's queue: those registered that still run, and
        those of our pool that run but are not registered (yet, or again).

        RQ lists a worker once it has registered, about a second after it was
        forked (longer on a busy machine): counting only those, the window
        said "0 workers" right after starting its own, and kept saying it
        while they worked whenever the next count was late.
        """
        if self.queue is None:
            return 0
        try:
            registered = live_workers(self.queue)
        except redis_errors.RedisError:
            return 0
        here = socket.gethostname()
        listed = {worker.pid for worker in registered if worker.hostname == here}
        pool = self._pool
        starting = [pid for pid in pool.running_pids() if pid not in listed] if pool else []
        return len(registered) + len(starting)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Our local workers take no more jobs (each finishes the batch in hand); queued
        work stays queued. Workers that others run on the same broker (another
        window, `mus worker`, a server) are not ours to pause. Returns at once."""
        self._paused = True
        if self._pool is not None:
            self._pool.pause()

    def resume(self) -> None:
        """Our local workers take jobs again (see LocalWorkerPool.pause)."""
        self._paused = False
        if self._pool is not None:
            self._pool.resume()

    def queue_depth(self) -> int:
        """Jobs waiting in the queue (not those being worked on)."""
        if self.queue is None:
            return 0
        try:
            return queued_jobs(self.queue)
        except redis_errors.RedisError:
            return 0

    @property
    def started_workers(self) -> int:
        """How many of the live workers this backend started."""
        return self._pool.alive() if self._pool else 0

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers this backend started, and the private broker if no one
        else uses it now (another app instance, its workers, a `mus worker`),
        whoever started it.

        Workers get `timeout` seconds to finish their jobs. They are stopped
        first: each uses the private broker until it exits.
        """
        if self._pool is not None:
            self._pool.stop(timeout)
            self._pool = None
        if self.redis is not None:
            self.redis.close()  # from_url: closing the client closes its pool
        broker, self._broker = self._broker, None
        if broker is not None and broker.release():
            log.info("stopped the private broker: no one else uses it")

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_backend(
    settings: Settings, *, start_workers: bool = True, fork_workers_here: bool = False
) -> Backend:
    """Connect to the configured broker, or the private one (starting it if need be).

    With `start_workers`, starts local workers until `settings.workers` are
    live on this queue, counting workers that others (another app instance,
    Supervisor) already run. `fork_workers_here`: see LocalWorkerPool.
    """
    broker: PrivateBroker | None = None
    if settings.redis_url:
        url = settings.redis_url
        reason = ping(url, timeout=2.0)
        if reason is not None:
            return Backend(settings, url=url, private=False, error=reason)
    else:  # ensure_running returns once the broker answers, used by us until stop()
        broker = PrivateBroker(settings.runtime_dir, settings.log_dir)
        try:
            url = broker.ensure_running()
        except BrokerError as exc:
            broker.release()
            return Backend(settings, url=None, private=True, error=str(exc))
    redis = _client(url)
    backend = Backend(
        settings,
        url=url,
        private=broker is not None,
        redis=redis,
        queue=make_queue(redis, settings),
        _broker=broker,
    )
    if start_workers and settings.workers > 0:
        missing = settings.workers - backend.live_workers()
        if missing > 0:
            pool = LocalWorkerPool(settings, url, missing, fork_here=fork_workers_here)
            pool.start()
            backend._pool = pool
    return backend


def probe_broker(settings: Settings) -> dict[str, object]:
    """What `mus doctor` reports about the broker; starts nothing."""
    private = not settings.redis_url
    url = settings.redis_url or PrivateBroker(settings.runtime_dir, settings.log_dir).url
    reason = ping(url, timeout=2.0)
    report: dict[str, object] = {
        "url": redact_url(url),
        "private": private,
        "answers": reason is None,
        "reason": reason,
        "live_workers": None,
        "queue_depth": None,
    }
    if reason is not None:
        if private:
            report.update(url=None, reason="private broker not started")
        return report
    redis = _client(url)
    try:
        queue = make_queue(redis, settings)
        report.update(live_workers=len(live_workers(queue)), queue_depth=queued_jobs(queue))
    except redis_errors.RedisError as exc:
        report.update(answers=False, reason=str(exc))
    finally:
        redis.close()
    return report
