"""Hashing speed: `content_hash` (BLAKE3, in-process) against `sha256sum` and `b2sum`.

All three read the same files, already in the page cache (a warm-up pass reads them first),
in alternating order; MB/s is total bytes over the median wall time. The coreutils tools
run as one subprocess over all the files, so their process start-up is amortized.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks.common import Context, Row, audio_files, median, timed_run

SAMPLE_BYTES = 512 * 2**20


def _sample(ctx: Context) -> tuple[list[Path], int]:
    """The first files of the library up to SAMPLE_BYTES, and their total size in bytes."""
    chosen, total = [], 0
    for path in audio_files(ctx.library):
        if total >= SAMPLE_BYTES:
            break
        chosen.append(path)
        total += path.stat().st_size
    return chosen, total


def _content_hash(files: list[Path]) -> float:
    from mus_desktop.processing.hashing import content_hash

    started = time.perf_counter()
    for path in files:
        content_hash(path)
    return time.perf_counter() - started


def run(ctx: Context) -> list[Row]:
    files, total = _sample(ctx)
    tools = {name: shutil.which(name) for name in ("sha256sum", "b2sum")}
    times: dict[str, list[float]] = {"content_hash": [], **{name: [] for name in tools}}
    _content_hash(files)  # warm the page cache
    for index in range(ctx.runs):
        order = list(times) if index % 2 == 0 else list(reversed(times))
        for name in order:
            if name == "content_hash":
                times[name].append(_content_hash(files))
            elif tools[name]:
                times[name].append(timed_run([tools[name], *map(str, files)], env=None))
    speed = {name: total / 1e6 / median(values) for name, values in times.items() if values}
    others = ", ".join(f"{name} {speed[name]:.0f} MB/s" for name in tools if name in speed)
    return [
        Row(
            "Hashing",
            f"`content_hash` (BLAKE3) on {len(files)} files, {total / 1e6:.0f} MB in page cache",
            f"{speed['content_hash']:.0f} MB/s",
            others,
            ", ".join(
                f"{speed['content_hash'] / speed[name]:.1f}x {name}"
                for name in tools
                if name in speed
            ),
            data={"bytes": total, "files": len(files), "seconds": times, "mb_per_s": speed},
        )
    ]
