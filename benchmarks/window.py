"""The window's figures, from `tools/gui_bench.py` (run offscreen).

gui_bench prints one JSON object (first rows of a generated database, sort and filter
times, GUI-thread stalls while two writer processes commit). Each numeric field becomes a
row, so new fields appear without changes here. The window's peak RSS is sampled here
(psutil), from the gui_bench process itself, which builds the database and runs the window.

BENCH_WINDOW_TRACKS (comma-separated, default 100000) runs it at each size; with
1000000 (the issue 16 goals, ~4 minutes, ~1 GB) the rows carry that size's targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from benchmarks.common import REPO, Context, Row
from benchmarks.procwatch import watch

SETTINGS_KEYS = ("tracks", "writers", "write_seconds", "cpu_cores")
TARGETS = {  # the window's goals by library size, as upper bounds
    100_000: {  # issues 12 and earlier
        "first_rows_s": 2.0,
        "context_menu_ms": 100.0,
        "context_menu_first_ms": 100.0,
        "keep_selection_filter_s": 0.2,
        "sidebar_build_s": 1.0,
        "stall_max_ms": 50.0,
    },
    1_000_000: {  # issue 16
        "first_rows_s": 2.0,
        "sort_title_s": 1.0,
        "sort_title_desc_s": 1.0,
        "sort_artist_s": 1.0,
        "sort_slowest_other_s": 1.0,
        "filter_search_s": 0.5,
        "stall_max_ms": 50.0,
    },
}
RSS_TARGETS = {1_000_000: 2**30}


def _format(key: str, value: float) -> str:
    if key.endswith("_ms"):
        return f"{value:.1f} ms"
    if key.endswith("_s"):
        return f"{value:.3f} s"
    return f"{value:g}"


def _which(key: str, figures: dict[str, object]) -> str:
    """For the slowest of the other columns' sorts: which column it was."""
    return f" ({figures.get('sort_slowest_other')})" if key == "sort_slowest_other_s" else ""


def _run_gui_bench(ctx: Context, tracks: int) -> tuple[str, str, int, int]:
    """(stdout, stderr, exit status, peak RSS of the gui_bench process in bytes)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [str(ctx.python), "-m", "tools.gui_bench", "--tracks", str(tracks)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        peaks = watch(proc)
        out.seek(0)
        err.seek(0)
        return out.read().decode(), err.read().decode(), proc.returncode, peaks.rss.get("cli", 0)


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_WINDOW_TRACKS", "").strip() or "100000"
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"bench: BENCH_WINDOW_TRACKS={raw!r} is not a list of numbers") from None


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    for tracks in _sizes():
        rows += _rows_at(ctx, tracks)
    return rows


def _rows_at(ctx: Context, tracks: int) -> list[Row]:
    stdout, stderr, status, rss = _run_gui_bench(ctx, tracks)
    try:
        figures = json.loads(stdout[stdout.index("{") :])
    except ValueError:
        reason = (stderr.strip().splitlines() or ["no output"])[-1]
        return [Row("Window", f"tools/gui_bench.py --tracks {tracks} failed: {reason}", "n/a")]
    setup = {key: figures.get(key) for key in SETTINGS_KEYS}
    targets = TARGETS.get(tracks, {})
    rows = [
        Row(
            "Window",
            f"gui_bench, {tracks:,} tracks: {key}{_which(key, figures)}",
            _format(key, value),
            target="" if key not in targets else f"< {_format(key, targets[key])}",
            met=None if key not in targets else value < targets[key],
            data={key: value, "tracks": tracks},
        )
        for key, value in figures.items()
        if key not in SETTINGS_KEYS and isinstance(value, int | float)
    ]
    rss_target = RSS_TARGETS.get(tracks)
    rows.append(
        Row(
            "Memory",
            f"peak RSS, window process (gui_bench, {tracks:,} tracks)",
            f"{rss / 2**20:.0f} MB",
            target="" if rss_target is None else f"< {rss_target / 2**20:.0f} MB",
            met=None if rss_target is None else rss < rss_target,
            data={"window_rss_bytes": rss, "gui_bench_settings": setup, "exit_status": status},
        )
    )
    if status != 0:
        rows.append(
            Row("Window", "gui_bench exit status (after printing its figures)", str(status))
        )
    return rows
