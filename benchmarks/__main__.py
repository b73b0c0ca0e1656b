"""`python -m benchmarks` (what `make bench` runs): every measurement, one table, one JSON.

Settings: BENCH_TRACKS (default 2000), BENCH_RUNS (runs per comparison, default 5),
BENCH_PAD_KB (tag padding per file, default 1000 KiB, so files are ~1 MB),
BENCH_ONLY (comma-separated module names: library_ops, engines, floor, queue_overhead,
hashing, window, watch_libraries, watching, scale); watching: BENCH_WATCH_TRACKS (default
20000), and both watching modules BENCH_WATCH_IDLE_SECONDS (default 60). `engines` starts a
PostgreSQL server of its own (Debian's `postgresql`, as `make test` installs).

Scale rows run only when BENCH_SCALE is set: comma-separated library sizes in tracks (e.g.
`BENCH_SCALE=20000,100000`), each a library of small generated tracks made once under
bench-results/scale-<size>; BENCH_SCALE_RUNS (runs per size, default 1) and
BENCH_BEETS_BUDGET_S (beets' import is killed past it and the row says how far it got;
default 720, which a 20,000-track import fits).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    engines,
    floor,
    hashing,
    library_ops,
    queue_overhead,
    scale,
    watch_libraries,
    watching,
    window,
)
from benchmarks.common import REPO, Context, Row, ensure_library, env_int, machine

MODULES = {
    "library_ops": library_ops,
    "engines": engines,
    "floor": floor,
    "queue_overhead": queue_overhead,
    "hashing": hashing,
    "window": window,
    "watch_libraries": watch_libraries,
    "watching": watching,
    "scale": scale,
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(rows: list[Row]) -> str:
    lines = [
        "| section | measure | mus | other | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        cells = (row.section, row.measure, row.mus, row.other, row.ratio, row.target, met)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    out_dir = REPO / "bench-results"
    ctx = Context(
        tracks=env_int("BENCH_TRACKS", 2000),
        runs=max(1, env_int("BENCH_RUNS", 5)),
        pad_kb=env_int("BENCH_PAD_KB", 1000),
        library=out_dir / "library",
        python=Path(sys.executable),
        bin_dir=Path(sys.executable).parent,
    )
    only = [part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()]
    only = only or list(MODULES)
    unknown = set(only) - set(MODULES)
    if unknown:
        raise SystemExit(f"bench: BENCH_ONLY names unknown modules: {', '.join(sorted(unknown))}")
    out_dir.mkdir(exist_ok=True)
    ensure_library(ctx)
    started = time.perf_counter()
    rows: list[Row] = []
    for name in only:
        print(f"== {name}", flush=True)
        rows += MODULES[name].run(ctx)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "tracks": ctx.tracks,
            "runs": ctx.runs,
            "pad_kb": ctx.pad_kb,
            "scale": scale.sizes(),
        },
        "seconds": round(time.perf_counter() - started, 1),
        "rows": [row.as_json() for row in rows],
    }
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if set(only) == set(MODULES):
        shutil.copyfile(out_dir / "bench.json", REPO / "docs" / "benchmarks.json")
    info = report["machine"]
    print(f"\n{info['nproc']} x {info['cpu']}, Python {info['python']}, {info['system']}")
    print(f"{ctx.tracks} tracks of ~{ctx.pad_kb} KiB, median of {ctx.runs} runs\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
