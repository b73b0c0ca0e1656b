"""Scale rows: a library of BENCH_SCALE tracks (e.g. `BENCH_SCALE=20000,100000`), per size.

Nothing runs unless BENCH_SCALE is set. Each size is a library of small generated tracks
(`make_library`: the bench's five formats, 0.2 s of audio, no padding, covers embedded
in a third of the albums and in a `cover.jpg` in another third; ~19 KB a file), made
once under `bench-results/scale-<size>` and reused while its parameters are the same,
and read once before the first run (page cache warm for every tool).

Per run (BENCH_SCALE_RUNS, default 1), in a fresh scratch folder (new mus database,
cache, runtime and log folders, so the private broker starts cold; a new beets library):

1. import, order rotating between runs: `mus import --wait` to process exit; the compute
   floor on the same files (`benchmarks.floor`); `beet import -A -q` to process exit,
   killed past BENCH_BEETS_BUDGET_S (default 720 s: a 20,000-track import took 449 s
   here), after which the row says how many items it had stored, and beets is not run
   again at that size;
2. the unchanged rescan: `mus import` (no --wait) and `beet update` (only when its
   import finished; its stored mtimes are then current, its best case: the run counts
   the zero ones), whole processes, alternating;
3. a rescan after moving a quarter of the album folders under the root (`mus import`,
   whole process; then they are moved back): mus only, with the track rows before and
   after and those marked missing, which should be equal, equal and 0;
4. `mus status`, whole process.

Every mus command runs under `procwatch.run_watched`, which samples the peak RSS of each
kind of process in its tree (the command, RQ workers, work horses, the broker); beets'
import is sampled the same way (it is one process). Figures are medians of the runs,
with the cost per file beside each, so growth from one size to the next is visible.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks import beets, floor
from benchmarks.common import (
    FORMATS,
    TRACKS_PER_ALBUM,
    Context,
    Row,
    audio_files,
    ensure_generated,
    env_int,
    fmt_mb,
    fmt_s,
    median,
    move_back,
    move_quarter,
    mus_bin,
    mus_env,
    read_every_file,
    scratch,
)
from benchmarks.procwatch import run_watched

SECTION = "Scale"
SMALL: dict[str, Any] = {"formats": list(FORMATS), "seconds": 0.2, "pad_bytes": 0}
SEED = 41
BEETS_BUDGET_S = 720
BEETS_POLL_S = 0.25
KIND_LABELS = {"cli": "command", "worker": "RQ worker", "work_horse": "work horse"}
"""Short names of procwatch's kinds of process (the broker's is its own)."""


def sizes() -> list[int]:
    """BENCH_SCALE: comma-separated track counts; empty when unset."""
    raw = os.environ.get("BENCH_SCALE", "")
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"bench: BENCH_SCALE={raw!r} is not a list of whole numbers") from None


@dataclass
class Figures:
    """One size's raw figures over its runs, in seconds unless the name says otherwise."""

    tracks: int
    mus_import: list[float] = field(default_factory=list)
    floors: list[dict[str, Any]] = field(default_factory=list)
    beets_import: list[float] = field(default_factory=list)
    beets_unfinished: dict[str, int] = field(default_factory=dict)
    """Set when beets' import was killed at the budget: the budget and the items it had."""
    beets_rss: list[int] = field(default_factory=list)
    mus_rescan: list[float] = field(default_factory=list)
    beets_update: list[float] = field(default_factory=list)
    beets_zero_mtimes: list[int] = field(default_factory=list)
    mus_move: list[float] = field(default_factory=list)
    move: list[dict[str, int]] = field(default_factory=list)
    mus_status: list[float] = field(default_factory=list)
    peaks: dict[str, dict[str, int]] = field(default_factory=dict)
    """Peak RSS (bytes) per mus command measured, per kind of process, over the runs."""

    def note_peaks(self, command: str, rss: dict[str, int]) -> None:
        kept = self.peaks.setdefault(command, {})
        for kind, value in rss.items():
            kept[kind] = max(kept.get(kind, 0), value)


def _ensure_scale_library(ctx: Context, tracks: int) -> Context:
    """The size's library (generated once) and the bench's settings pointed at it."""
    albums = max(1, tracks // TRACKS_PER_ALBUM)
    root = ctx.library.parent / f"scale-{tracks}"
    stamp = {"albums": albums, "tracks": TRACKS_PER_ALBUM, "seed": SEED, **SMALL}
    ensure_generated(root, stamp, albums, **{**SMALL, "formats": FORMATS, "seed": SEED})
    return dataclasses.replace(ctx, tracks=albums * TRACKS_PER_ALBUM, library=root)


def _mus(ctx: Context, env: dict[str, str], figures: Figures, name: str, *args: str) -> float:
    """A whole `mus` command, its process tree's peak RSS kept under `name`."""
    elapsed, peaks = run_watched([mus_bin(ctx), *args], env)
    figures.note_peaks(name, peaks.rss)
    return elapsed


def _beets_import(ctx: Context, env: dict[str, str], budget_s: int) -> tuple[float | None, int]:
    """`beet import -A -q` to process exit: (seconds, or None when it was killed at the
    budget; its peak RSS)."""
    command = [beets.beet(ctx), "import", "-A", "-q", str(ctx.library)]
    started = time.perf_counter()
    peak = 0
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        watched = psutil.Process(proc.pid)
        while proc.poll() is None and time.perf_counter() - started < budget_s:
            try:
                peak = max(peak, watched.memory_info().rss)
                proc.wait(BEETS_POLL_S)
            except (psutil.Error, subprocess.TimeoutExpired):
                continue
        elapsed = time.perf_counter() - started
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            return None, peak
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"beet import failed: {err.read().decode()[-2000:]}")
    return elapsed, peak


def _rows_and_missing(db_path: Path) -> dict[str, int]:
    """Track rows in mus's database, and those marked missing."""
    with sqlite3.connect(db_path) as connection:
        rows, missing = connection.execute(
            "SELECT count(*), coalesce(sum(missing_since IS NOT NULL), 0) FROM track"
        ).fetchone()
    return {"rows": int(rows), "missing": int(missing)}


def _import(
    ctx: Context,
    order: list[str],
    env: dict[str, str],
    beets_env: dict[str, str],
    figures: Figures,
    budget_s: int,
) -> bool:
    """The run's imports in `order`; True when beets imported the library in this run."""
    beets_done = False
    for part in order:
        if part == "mus":
            figures.mus_import.append(
                _mus(ctx, env, figures, "import", "import", str(ctx.library), "--wait")
            )
        elif part == "floor":
            figures.floors.append(floor.measure(ctx, ctx.library))
        elif not figures.beets_unfinished:
            elapsed, rss = _beets_import(ctx, beets_env, budget_s)
            figures.beets_rss.append(rss)
            if elapsed is None:
                home = Path(beets_env["BEETSDIR"])
                figures.beets_unfinished = {"budget_s": budget_s, "items": beets.item_count(home)}
            else:
                figures.beets_import.append(elapsed)
                beets_done = True
    return beets_done


def _move(ctx: Context, env: dict[str, str], figures: Figures) -> None:
    """Rescan after moving a quarter of the album folders; then move them back."""
    db_path = Path(env["MUS_DB"])
    before = _rows_and_missing(db_path)
    moves = move_quarter(ctx.library)
    try:
        moved = sum(len(audio_files(target)) for _album, target in moves)
        figures.mus_move.append(_mus(ctx, env, figures, "move", "import", str(ctx.library)))
    finally:
        move_back(ctx.library, moves)
    after = _rows_and_missing(db_path)
    figures.move.append(
        {
            "tracks_moved": moved,
            "rows_before": before["rows"],
            "rows_after": after["rows"],
            "missing_after": after["missing"],
        }
    )


def _one_run(ctx: Context, index: int, figures: Figures, budget_s: int) -> None:
    parts = ["mus", "floor", "beets"]
    order = parts[index % 3 :] + parts[: index % 3]
    with scratch("ms") as home:
        env = mus_env(home / "m")
        beets_home = home / "b"
        beets_env = beets.prepare(beets_home)
        beets_done = _import(ctx, order, env, beets_env, figures, budget_s)
        for tool in ("mus", "beets") if index % 2 == 0 else ("beets", "mus"):
            if tool == "mus":
                figures.mus_rescan.append(
                    _mus(ctx, env, figures, "rescan", "import", str(ctx.library))
                )
            elif beets_done:
                figures.beets_zero_mtimes.append(beets.zero_mtimes(beets_home))
                figures.beets_update.append(beets.update(ctx, beets_env))
        _move(ctx, env, figures)
        figures.mus_status.append(_mus(ctx, env, figures, "status", "status"))
    beets_text = f"{figures.beets_import[-1]:.1f} s" if beets_done else "not finished or not run"
    print(
        f"scale {figures.tracks}, run {index + 1}: mus import {figures.mus_import[-1]:.1f} s, "
        f"floor {figures.floors[-1]['floor_s']:.1f} s, beets {beets_text}",
        flush=True,
    )


def _per_file(seconds: float, files: int) -> str:
    return f"{fmt_s(seconds)} = {seconds / files * 1000:.3f} ms/file"


def _beets_import_cell(figures: Figures) -> tuple[str, str]:
    """(beets' cell, the ratio) of the import row."""
    if figures.beets_unfinished:
        left = figures.beets_unfinished
        cell = (
            f"did not finish within {left['budget_s']} s: "
            f"{left['items']:,} of {figures.tracks:,} items stored"
        )
        return cell, f"> {left['budget_s'] / median(figures.mus_import):.0f}x"
    beets_s = median(figures.beets_import)
    return _per_file(beets_s, figures.tracks), f"{beets_s / median(figures.mus_import):.1f}x"


def _memory_text(figures: Figures) -> str:
    parts = []
    for command, rss in figures.peaks.items():
        kinds = ", ".join(
            f"{KIND_LABELS.get(kind, kind)} {fmt_mb(value)}" for kind, value in sorted(rss.items())
        )
        parts.append(f"{command}: {kinds}")
    return "; ".join(parts)


def _rows(figures: Figures, runs: int) -> list[Row]:
    n = figures.tracks
    size = f"{n:,} tracks"
    of_runs = f"median of {runs}" if runs > 1 else "1 run"
    beets_cell, beets_ratio = _beets_import_cell(figures)
    last_move = figures.move[-1]
    case = (
        f"beets' best case: {max(figures.beets_zero_mtimes)} items stored with mtime 0"
        if figures.beets_zero_mtimes
        else "beets not run"
    )
    rescan_other = (
        _per_file(median(figures.beets_update), n)
        if figures.beets_update
        else "not run (import did not finish)"
    )
    return [
        Row(
            SECTION,
            f"{size}: `mus import --wait` to process exit (cold private broker, default "
            f"workers) vs `beet import -A -q` to process exit; {of_runs}",
            _per_file(median(figures.mus_import), n),
            beets_cell,
            beets_ratio,
            data={
                "mus_exit_s": figures.mus_import,
                "beets_s": figures.beets_import,
                "beets_unfinished": figures.beets_unfinished,
            },
        ),
        floor.ratio_row(
            SECTION,
            f"{size}: `mus import --wait` to process exit vs the compute floor (see Floor), "
            f"same run; {of_runs}",
            figures.mus_import,
            figures.floors,
            goal=1.5,
        ),
        Row(
            SECTION,
            f"{size}: the floor's work, per file (one process)",
            floor.parts_text(figures.floors),
        ),
        Row(
            SECTION,
            f"{size}: unchanged rescan, `mus import` (no --wait) vs `beet update` (whole "
            f"processes; {case}); {of_runs}",
            _per_file(median(figures.mus_rescan), n),
            rescan_other,
            f"{median(figures.beets_update) / median(figures.mus_rescan):.1f}x"
            if figures.beets_update
            else "",
            data={
                "mus_s": figures.mus_rescan,
                "beets_s": figures.beets_update,
                "beets_zero_mtimes": figures.beets_zero_mtimes,
            },
        ),
        Row(
            SECTION,
            f"{size}: rescan after moving {last_move['tracks_moved']:,} tracks (¼ of the "
            f"albums) under the root, `mus import` (whole process; mus only); track rows "
            "before → after, missing after",
            _per_file(median(figures.mus_move), n)
            + f"; {last_move['rows_before']:,} → {last_move['rows_after']:,}, "
            f"{last_move['missing_after']} missing",
            data={"mus_s": figures.mus_move, "runs": figures.move},
        ),
        Row(
            SECTION,
            f"{size}: `mus status` (whole process); {of_runs}",
            _per_file(median(figures.mus_status), n),
            data={"mus_s": figures.mus_status},
        ),
        Row(
            "Memory",
            f"{size}: peak RSS per process, by mus command (and `beet import`), over {of_runs}",
            _memory_text(figures),
            f"beet import {fmt_mb(max(figures.beets_rss))}" if figures.beets_rss else "",
            data={"peaks": figures.peaks, "beets_rss_bytes": figures.beets_rss},
        ),
    ]


def run(ctx: Context) -> list[Row]:
    runs = max(1, env_int("BENCH_SCALE_RUNS", 1))
    budget_s = env_int("BENCH_BEETS_BUDGET_S", BEETS_BUDGET_S)
    rows: list[Row] = []
    for tracks in sizes():
        scaled = _ensure_scale_library(ctx, tracks)
        read_every_file(scaled.library)
        figures = Figures(scaled.tracks)
        started = time.perf_counter()
        for index in range(runs):
            _one_run(scaled, index, figures, budget_s)
        print(f"scale {scaled.tracks}: {time.perf_counter() - started:.0f} s", flush=True)
        rows += _rows(figures, runs)
    return rows
