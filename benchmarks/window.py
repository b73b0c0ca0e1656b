"""The window's figures, from `tools/gui_bench.py` when it exists (run offscreen).

gui_bench prints one JSON object (first rows of a 100k-track database, sort time, longest
GUI-thread stall while two workers commit, peak RSS...). Each numeric field becomes a row,
so new fields appear without changes here.
"""

from __future__ import annotations

import json
import os
import subprocess

from benchmarks.common import REPO, Context, Row

GUI_BENCH = REPO / "tools" / "gui_bench.py"
TIMEOUT_S = 600


def _format(key: str, value: float) -> str:
    if key.endswith("_bytes"):
        return f"{value / 2**20:.0f} MB"
    if key.endswith("_ms"):
        return f"{value:.1f} ms"
    if key.endswith("_s"):
        return f"{value:.3f} s"
    return f"{value:g}"


def run(ctx: Context) -> list[Row]:
    if not GUI_BENCH.exists():
        return [Row("Window", "tools/gui_bench.py not there yet", "not measured")]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [str(ctx.python), "-m", "tools.gui_bench"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    try:
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [Row("Window", f"tools/gui_bench.py failed: {reason}", "not measured")]
    rows = []
    for key, value in figures.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            section = "Memory" if "rss" in key else "Window"
            rows.append(Row(section, f"gui_bench: {key}", _format(key, value), data={key: value}))
    return rows
