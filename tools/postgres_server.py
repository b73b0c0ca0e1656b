"""A throwaway PostgreSQL server for the tests and the benchmarks: Debian's
`postgresql` package, a cluster in a temporary folder, reached on a unix socket
only (tests/postgres_fixture.py, benchmarks/engines.py).

`start_postgres(folder)` makes and starts one; it has `.new_database()`, which
creates an empty database and gives its `postgresql://` URL, `.stop()` and
`.start()` (the tests take the server away mid-work), and `.remove()`.

Our own few lines rather than pytest-postgresql: the tests run as root in CI,
and PostgreSQL refuses to run as root, so the cluster is made and run as the
`postgres` account the package creates; and the server gets a parent-death
signal, so a killed test run leaves no server behind.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from mus_desktop.processes import end_with_parent

START_TIMEOUT = 30.0
PORT = 5432  # only the socket's name: the server listens on no TCP port


def postgres_bin_dir() -> Path | None:
    """Where the server's programs are: on PATH, else the newest Debian install."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    installs = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    return Path(installs[-1]) if installs else None


def _as_server_user() -> dict[str, object]:
    """Popen arguments to run a server program: as `postgres` when we are root."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    socket_dir: Path
    log_path: Path
    durable: bool = False
    """fsync and full-page writes as PostgreSQL's defaults (the benchmarks); the
    tests turn them off."""
    process: subprocess.Popen[bytes] | None = None
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str) -> str:
        return f"postgresql://mus@/{database}?host={self.socket_dir}&port={PORT}"

    def start(self) -> None:
        parent = os.getpid()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    *("-D", str(self.data_dir), "-k", str(self.socket_dir), "-p", str(PORT)),
                    *("-c", "listen_addresses=", "-c", "max_connections=200"),
                    *(() if self.durable else ("-c", "fsync=off", "-c", "full_page_writes=off")),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # SIGINT: PostgreSQL's fast shutdown. Set after the change of user,
                # which would clear it.
                preexec_fn=lambda: end_with_parent(parent, signal.SIGINT),
                **_as_server_user(),  # type: ignore[arg-type]
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"test PostgreSQL did not start:\n{self.log_path.read_text()}"
                    ) from None
                time.sleep(0.1)

    def stop(self, *, immediately: bool = False) -> None:
        """Stop the server: fast shutdown, or (`immediately`) as if it crashed."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT if immediately else signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def remove(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def new_database(self) -> str:
        """An empty database of its own; its URL."""
        name = f"mus_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_postgres(tmp_dir: Path, *, durable: bool = False) -> PostgresServer:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="mus-pg-", dir="/tmp"))  # a short socket path
    server = PostgresServer(
        bin_dir, root / "data", root, Path(tmp_dir) / "postgres.log", durable=durable
    )
    try:
        user = _as_server_user()
        if user:
            os.chown(root, user["user"], user["group"])  # type: ignore[arg-type]
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                "mus",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            **user,  # type: ignore[arg-type]
        )
        server.start()
    except BaseException:  # a cluster that did not start leaves nothing behind
        server.remove()
        raise
    return server
