"""Hashing speed: `content_hash` (BLAKE3, in-process) against `sha256sum` and `b2sum`; and
`hash_digests` (content and audio hash in one read) against today's plain BLAKE3 of the file.

All read the same files, already in the page cache (a warm-up pass reads them first), in
alternating order; MB/s is total bytes over the median wall time. The coreutils tools
run as one subprocess over all the files, so their process start-up is amortized.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.common import Context, Row, audio_files, median, timed_run

if TYPE_CHECKING:
    from mus_desktop.processing.files import CheckedFile

SAMPLE_BYTES = 512 * 2**20
AUDIO_HASH_TARGET = 0.10
"""hash_digests may be at most this much slower (MB/s) than the plain content hash."""


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


def _timed_over(files: list[Path], work: Callable[[CheckedFile], object]) -> float:
    """Wall time of `work(checked)` over every file, each opened the way a worker opens it."""
    from mus_desktop.processing.metadata import open_track_file

    started = time.perf_counter()
    for path in files:
        with open_track_file(path) as checked:
            work(checked)
    return time.perf_counter() - started


def _tools_row(ctx: Context, files: list[Path], total: int) -> Row:
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
    return Row(
        "Hashing",
        f"`content_hash` (BLAKE3) on {len(files)} files, {total / 1e6:.0f} MB in page cache",
        f"{speed['content_hash']:.0f} MB/s",
        others,
        ", ".join(
            f"{speed['content_hash'] / speed[name]:.1f}x {name}" for name in tools if name in speed
        ),
        data={"bytes": total, "files": len(files), "seconds": times, "mb_per_s": speed},
    )


def _audio_hash_rows(ctx: Context, files: list[Path]) -> list[Row]:
    """Per format and overall: hash_digests against the plain BLAKE3, alternating runs."""
    from mus_desktop.processing.hashing import hash_digests, plain_hash

    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(path.suffix.lstrip(".").lower(), []).append(path)
    methods = {"digests": hash_digests, "plain": plain_hash}
    times: dict[str, dict[str, list[float]]] = {
        fmt: {name: [] for name in methods} for fmt in groups
    }
    for index in range(ctx.runs):
        order = list(methods) if index % 2 == 0 else list(reversed(methods))
        for fmt, paths in groups.items():
            for name in order:
                times[fmt][name].append(_timed_over(paths, methods[name]))
    sizes = {fmt: sum(path.stat().st_size for path in paths) for fmt, paths in groups.items()}
    totals = {
        name: [sum(times[fmt][name][run] for fmt in groups) for run in range(ctx.runs)]
        for name in methods
    }
    rows = [
        _audio_hash_row(fmt, len(groups[fmt]), sizes[fmt], times[fmt]) for fmt in sorted(groups)
    ]
    rows.append(_audio_hash_row("all formats", len(files), sum(sizes.values()), totals))
    return rows


def _audio_hash_row(label: str, count: int, size: int, times: dict[str, list[float]]) -> Row:
    speed = {name: size / 1e6 / median(values) for name, values in times.items()}
    slower = 1 - speed["digests"] / speed["plain"]
    return Row(
        "Hashing",
        f"content+audio (`hash_digests`) vs content alone (plain BLAKE3): {label}, "
        f"{count} files, {size / 1e6:.0f} MB",
        f"{speed['digests']:.0f} MB/s",
        f"{speed['plain']:.0f} MB/s",
        f"{slower:.1%} slower" if slower >= 0 else f"{-slower:.1%} faster",
        target=f"≤ {AUDIO_HASH_TARGET:.0%} slower",
        met=slower <= AUDIO_HASH_TARGET,
        data={"bytes": size, "files": count, "seconds": times, "mb_per_s": speed},
    )


def run(ctx: Context) -> list[Row]:
    files, total = _sample(ctx)
    return [_tools_row(ctx, files, total), *_audio_hash_rows(ctx, files)]
