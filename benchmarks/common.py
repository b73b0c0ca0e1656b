"""What every measurement shares: settings, the generated library, timing and result rows."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FORMATS = ("mp3", "flac", "ogg", "opus", "m4a")
TRACKS_PER_ALBUM = 10
MOVED_FOLDER = "Moved Albums"
"""Where the move measurements put a quarter of the album folders, under the library."""


@dataclass
class Row:
    """One line of the table: a figure, what it is compared with, and the target."""

    section: str
    measure: str
    mus: str
    other: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None
    data: dict[str, object] = field(default_factory=dict)
    """The raw figures (all runs, units in the key names) for bench.json."""

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Context:
    """The run's settings (from BENCH_* variables) and the library every module uses."""

    tracks: int
    runs: int
    pad_kb: int
    library: Path
    python: Path
    bin_dir: Path

    @property
    def albums(self) -> int:
        return max(1, self.tracks // TRACKS_PER_ALBUM)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"bench: {name}={raw!r} is not a whole number") from None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ensure_library(ctx: Context) -> None:
    """Generate the library once; reuse it while its parameters are the same."""
    ensure_generated(
        ctx.library,
        {"albums": ctx.albums, "tracks": TRACKS_PER_ALBUM, "pad_kb": ctx.pad_kb},
        ctx.albums,
        formats=FORMATS,
        seconds=1.0,
        pad_bytes=ctx.pad_kb * 1024,
        seed=1,
    )


def ensure_generated(root: Path, stamp: dict[str, object], albums: int, **options: Any) -> None:
    """`make_library(root, albums, TRACKS_PER_ALBUM, **options)` once; reused while the
    parameters written in `root/.bench-stamp` are `stamp`."""
    from tools.audiogen import make_library

    stamp_file = root / ".bench-stamp"
    wanted = json.dumps(stamp)
    if stamp_file.exists() and stamp_file.read_text() == wanted:
        return
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    manifest = make_library(root, albums, TRACKS_PER_ALBUM, **options)
    stamp_file.write_text(wanted)
    print(
        f"generated {len(manifest.entries)} tracks in {root.name} "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def audio_files(root: Path) -> list[Path]:
    from mus_desktop.library.walk import is_audio_name

    return sorted(
        Path(folder, name)
        for folder, _dirs, names in os.walk(root)
        for name in names
        if is_audio_name(name)
    )


def album_folders(root: Path) -> list[Path]:
    return sorted(
        album
        for artist in root.iterdir()
        if artist.is_dir() and artist.name != MOVED_FOLDER
        for album in artist.iterdir()
        if album.is_dir()
    )


def move_quarter(root: Path) -> list[tuple[Path, Path]]:
    moves = []
    for album in album_folders(root)[::4]:
        target = root / MOVED_FOLDER / album.parent.name / album.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(album, target)
        moves.append((album, target))
    return moves


def move_back(root: Path, moves: list[tuple[Path, Path]]) -> None:
    for album, target in moves:
        os.rename(target, album)
    for folder, _dirs, _files in os.walk(root / MOVED_FOLDER, topdown=False):
        os.rmdir(folder)


def read_every_file(root: Path) -> None:
    """Read the library once before the first timed run.

    On this VM, memory left alone for a minute is slow to touch again (the
    host reclaims it), page cache included: whichever tool ran first after a
    pause paid ~0.5 s for it (mus measured 1.7 s after 45 s idle, 1.25 s
    next), even with every page resident. Reading the files once puts that
    cost here, outside both tools' figures.
    """
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(Path(folder, name), "rb", buffering=0) as file:
                while file.read(1 << 20):
                    pass


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh folder under /tmp (short, so the broker's unix socket path fits)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def mus_bin(ctx: Context) -> str:
    """The `mus` command of the bench's environment."""
    return str(ctx.bin_dir / "mus")


def mus_env(home: Path) -> dict[str, str]:
    """Environment for a `mus` run with its own database, cache, runtime and log folders,
    so the private broker starts cold and nothing is shared with another run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MUS_")}
    env.update(
        MUS_DB=str(home / "library.db"),
        MUS_CACHE_DIR=str(home / "cache"),
        MUS_RUNTIME_DIR=str(home / "run"),
        MUS_LOG_DIR=str(home / "log"),
    )
    return env


def timed_run(command: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    """Run `command` to completion and return its wall time in seconds; fail loudly."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def fmt_mb(value: int) -> str:
    return f"{value / 2**20:.0f} MB"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def inotify_watches() -> int:
    """inotify watches this process holds, from /proc/self/fdinfo (one line per watch)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                total += sum(1 for line in info if line.startswith("inotify wd:"))
        except OSError:
            continue
    return total
