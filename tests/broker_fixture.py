"""A real Redis-protocol server for tests: the same binary the app would run.

Use from a conftest:

    from tests.broker_fixture import redis_server, redis_url  # noqa: F401

`redis_server` (session) is a running server with `.url`, `.client()`,
`.flush()` and `.stop()`; `redis_url` (per test) flushes it and gives its URL.
`start_test_server(tmp_dir)` starts a server of your own; call `.stop()`.
The server keeps nothing on disk and listens on a unix socket only.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis

from mus_desktop.runtime.broker import find_server_binary, ping, server_command

START_TIMEOUT = 15.0


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    socket_dir: Path
    log_path: Path

    def client(self) -> Redis:
        return Redis.from_url(self.url)

    def flush(self) -> None:
        """Empty every database, so a test starts with no queues, jobs or workers."""
        with self.client() as client:
            client.flushall()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_test_server(tmp_dir: Path, socket_dir: Path | None = None) -> RunningServer:
    """Start a throwaway server logging to `tmp_dir`; its socket lives in a short /tmp folder
    (`socket_dir`, to start one again where another was).

    (pytest's tmp paths can exceed the 104-byte limit of a unix socket path.)
    """
    kind, binary = find_server_binary()
    socket_dir = socket_dir or Path(tempfile.mkdtemp(prefix="mus-test-", dir="/tmp"))
    socket_path = socket_dir / "redis.sock"
    log_path = Path(tmp_dir) / "server.log"
    command = server_command(
        kind, binary, socket_path=socket_path, data_dir=socket_dir, persistent=False
    )
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    server = RunningServer(f"unix://{socket_path}", process, socket_dir, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while (reason := ping(server.url)) is not None:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"test server did not start ({reason}):\n{log_path.read_text()}")
        time.sleep(0.05)
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_test_server(tmp_path_factory.mktemp("redis-server"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RunningServer) -> str:
    """The session server's URL, flushed for this test."""
    redis_server.flush()
    return redis_server.url
