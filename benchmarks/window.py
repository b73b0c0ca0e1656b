"""The window's figures, from `tools/gui_bench.py` (run offscreen).

gui_bench prints one JSON object (first rows of a 100k-track database, sort and filter
times, GUI-thread stalls while two writer processes commit). Each numeric field becomes a
row, so new fields appear without changes here. The window's peak RSS is sampled here
(psutil), from the gui_bench process itself, which builds the database and runs the window.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from benchmarks.common import REPO, Context, Row
from benchmarks.procwatch import watch

SETTINGS_KEYS = ("tracks", "writers", "write_seconds", "cpu_cores")
TARGETS = {  # the window's goals at 100,000 tracks (issues 12 and earlier), as upper bounds
    "first_rows_s": 2.0,
    "context_menu_ms": 100.0,
    "context_menu_first_ms": 100.0,
    "keep_selection_filter_s": 0.2,
    "sidebar_build_s": 1.0,
    "stall_max_ms": 50.0,
}


def _format(key: str, value: float) -> str:
    if key.endswith("_ms"):
        return f"{value:.1f} ms"
    if key.endswith("_s"):
        return f"{value:.3f} s"
    return f"{value:g}"


def _run_gui_bench(ctx: Context) -> tuple[str, str, int, int]:
    """(stdout, stderr, exit status, peak RSS of the gui_bench process in bytes)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [str(ctx.python), "-m", "tools.gui_bench"], cwd=REPO, env=env, stdout=out, stderr=err
        )
        peaks = watch(proc)
        out.seek(0)
        err.seek(0)
        return out.read().decode(), err.read().decode(), proc.returncode, peaks.rss.get("cli", 0)


def run(ctx: Context) -> list[Row]:
    stdout, stderr, status, rss = _run_gui_bench(ctx)
    try:
        figures = json.loads(stdout[stdout.index("{") :])
    except ValueError:
        reason = (stderr.strip().splitlines() or ["no output"])[-1]
        return [Row("Window", f"tools/gui_bench.py failed: {reason}", "not measured")]
    setup = {key: figures.get(key) for key in SETTINGS_KEYS}
    rows = [
        Row(
            "Window",
            f"gui_bench: {key}",
            _format(key, value),
            target="" if key not in TARGETS else f"< {_format(key, TARGETS[key])}",
            met=None if key not in TARGETS else value < TARGETS[key],
            data={key: value},
        )
        for key, value in figures.items()
        if key not in SETTINGS_KEYS and isinstance(value, int | float)
    ]
    rows.append(
        Row(
            "Memory",
            f"peak RSS, window process (gui_bench, {setup['tracks']} tracks)",
            f"{rss / 2**20:.0f} MB",
            data={"window_rss_bytes": rss, "gui_bench_settings": setup, "exit_status": status},
        )
    )
    if status != 0:
        rows.append(
            Row("Window", "gui_bench exit status (after printing its figures)", str(status))
        )
    return rows
