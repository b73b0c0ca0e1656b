"""Import, rescan and move: `mus` against beets on the same files, alternating, per run.

Each run gets fresh scratch folders: a new mus database, cache, runtime and log folder (so
the private broker starts cold and its start-up is *included* in the import time) and a new
beets library. The audio files are read once before the first run and stay in the page
cache across runs (both tools read them warm).

Per run: import with each tool (order alternates between runs), rescan the unchanged
library with each, then move a quarter of the album folders elsewhere under the root and
rescan with each, then move them back.

Every ratio is process to process, same files, same run. The import's headline is exit
to exit; mus's last status write is a second row. `beet update` is at its best case when
its stored mtimes are current (it reads a file again only when its mtime changed or was
stored as 0); the run counts the zero ones after `beet import -A` and the row says how
many there were (beets 2.14 stores them all). The move is not like for like and says so:
mus re-identifies the moved tracks, beets' update only drops the items it no longer finds
(the moved files are not in its library afterwards).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import beets
from benchmarks.common import (
    Context,
    Row,
    audio_files,
    fmt_mb,
    fmt_s,
    median,
    move_back,
    move_quarter,
    mus_bin,
    mus_env,
    read_every_file,
    scratch,
    timed_run,
)
from benchmarks.procwatch import run_watched

SCAN_REPEATS = 5


@dataclass
class Figures:
    """Raw figures of all runs, in seconds unless the name says otherwise."""

    mus_import_final: list[float] = field(default_factory=list)
    mus_import_exit: list[float] = field(default_factory=list)
    beets_import: list[float] = field(default_factory=list)
    mus_rescan: list[float] = field(default_factory=list)
    mus_scan_in_process: list[float] = field(default_factory=list)
    mus_startup: list[float] = field(default_factory=list)
    beets_update: list[float] = field(default_factory=list)
    beets_zero_mtimes: list[int] = field(default_factory=list)
    """Items stored with mtime 0 after `beet import -A`, per run (read again by update)."""
    mus_move_rescan: list[float] = field(default_factory=list)
    beets_move_update: list[float] = field(default_factory=list)
    move: list[dict[str, int]] = field(default_factory=list)
    peaks: list[dict[str, int]] = field(default_factory=list)


def _final_offset(db_path: Path, started: datetime) -> float:
    """Seconds from `started` to the last track's last status write (its `updated_at`)."""
    with sqlite3.connect(db_path) as connection:
        last, unfinished = connection.execute(
            "SELECT max(updated_at), sum(processing_status NOT IN ('COMPLETE', 'ERROR')) FROM track"
        ).fetchone()
    if unfinished:
        raise RuntimeError(f"mus import --wait returned with {unfinished} unfinished tracks")
    return (datetime.fromisoformat(last) - started.replace(tzinfo=None)).total_seconds()


def _mus_import(ctx: Context, env: dict[str, str], figures: Figures) -> None:
    started = datetime.now(UTC)
    elapsed, peaks = run_watched([mus_bin(ctx), "import", str(ctx.library), "--wait"], env)
    figures.mus_import_exit.append(elapsed)
    figures.mus_import_final.append(_final_offset(Path(env["MUS_DB"]), started))
    figures.peaks.append(peaks.rss)


def _scan_in_process(ctx: Context, db_path: Path) -> float:
    """Median of several in-process `scanner.scan` calls: the walk, the stats, one SELECT."""
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.scanner import scan

    db = open_database(db_path)
    times = []
    for _ in range(SCAN_REPEATS):
        started = time.perf_counter()
        report = scan(db, [ctx.library])
        times.append(time.perf_counter() - started)
        if report.to_process or report.new or report.moved:
            raise RuntimeError(f"in-process rescan found changes: {report.summary()}")
    db.engine.dispose()
    return median(times)


def _startup(ctx: Context, env: dict[str, str]) -> float:
    """Python start-up plus the modules `mus import` loads when it finds nothing to
    queue, doing nothing else (imported as the command does, with the garbage
    collector paused)."""
    code = (
        "import mus_desktop.cli\n"
        "from mus_desktop.cli.common import imports_without_gc\n"
        "with imports_without_gc():\n"
        "    import mus_desktop.library.scanner"
    )
    return timed_run([str(ctx.python), "-c", code], env)


def _mus_tracks(db_path: Path) -> dict[int, tuple[str, bool]]:
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT id, path, missing_since IS NOT NULL FROM track")
        return {track_id: (os.fsdecode(path), bool(missing)) for track_id, path, missing in rows}


def _duplicates(db_path: Path) -> int:
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.queries import status_counts

    db = open_database(db_path)
    try:
        return status_counts(db)["duplicates"]
    finally:
        db.engine.dispose()


def _move_test(
    ctx: Context,
    env: dict[str, str],
    beets_env: dict[str, str],
    beets_home: Path,
    order: tuple[str, str],
) -> tuple[float, float, dict[str, int]]:
    db_path = Path(env["MUS_DB"])
    before = _mus_tracks(db_path)
    beets_before = beets.item_count(beets_home)
    moves = move_quarter(ctx.library)
    try:
        moved_prefixes = tuple(str(target) + os.sep for _album, target in moves)
        timings = {}
        for tool in order:
            if tool == "mus":
                timings[tool] = timed_run([mus_bin(ctx), "import", str(ctx.library)], env)
            else:
                timings[tool] = beets.update(ctx, beets_env)
        after = _mus_tracks(db_path)
        moved = len([path for _album, target in moves for path in audio_files(target)])
        kept = sum(
            1
            for track_id, (path, missing) in after.items()
            if path.startswith(moved_prefixes) and track_id in before and not missing
        )
        result = {
            "tracks_moved": moved,
            "mus_kept_id": kept,
            "mus_rows_before": len(before),
            "mus_rows_after": len(after),
            "mus_missing_after": sum(1 for _p, missing in after.values() if missing),
            "mus_duplicates_after": _duplicates(db_path),
            "beets_items_before": beets_before,
            "beets_items_after": beets.item_count(beets_home),
        }
    finally:
        move_back(ctx.library, moves)
    return timings["mus"], timings["beets"], result


def _one_run(ctx: Context, index: int, figures: Figures) -> None:
    first = "mus" if index % 2 == 0 else "beets"
    order = (first, "beets" if first == "mus" else "mus")
    with scratch("mb") as home:
        env = mus_env(home / "m")
        beets_home = home / "b"
        beets_env = beets.prepare(beets_home)
        for tool in order:
            if tool == "mus":
                _mus_import(ctx, env, figures)
            else:
                figures.beets_import.append(beets.import_library(ctx, beets_env))
        for tool in order:
            if tool == "mus":
                figures.mus_rescan.append(
                    timed_run([mus_bin(ctx), "import", str(ctx.library)], env)
                )
            else:
                figures.beets_zero_mtimes.append(beets.zero_mtimes(beets_home))
                figures.beets_update.append(beets.update(ctx, beets_env))
        figures.mus_scan_in_process.append(_scan_in_process(ctx, Path(env["MUS_DB"])))
        figures.mus_startup.append(_startup(ctx, env))
        mus_move, beets_move, move = _move_test(ctx, env, beets_env, beets_home, order)
        figures.mus_move_rescan.append(mus_move)
        figures.beets_move_update.append(beets_move)
        figures.move.append(move)
    print(
        f"run {index + 1}/{ctx.runs}: import mus {figures.mus_import_final[-1]:.2f} s "
        f"(exit {figures.mus_import_exit[-1]:.2f} s), beets {figures.beets_import[-1]:.2f} s; "
        f"rescan mus {figures.mus_rescan[-1]:.2f} s, beets {figures.beets_update[-1]:.2f} s",
        flush=True,
    )


def _ratio_row(
    section: str, measure: str, mus: float, other: float, target: float, data: dict[str, object]
) -> Row:
    ratio = other / mus
    return Row(
        section,
        measure,
        fmt_s(mus),
        fmt_s(other),
        f"{ratio:.1f}x",
        f"≥ {target:g}x",
        ratio >= target,
        data,
    )


def _memory_rows(peaks: list[dict[str, int]]) -> list[Row]:
    kinds = {kind for run in peaks for kind in run}
    rows = []
    labels = {
        "worker": "peak RSS, RQ worker process",
        "work_horse": "peak RSS, work horse (forked per job; shares pages with its worker)",
        "cli": "peak RSS, `mus import --wait` process",
        "broker": "peak RSS, private broker (valkey)",
    }
    for kind, label in labels.items():
        if kind in kinds:
            values = [run.get(kind, 0) for run in peaks]
            rows.append(
                Row("Memory", label, fmt_mb(max(values)), data={f"{kind}_rss_bytes": values})
            )
    return rows


def run(ctx: Context) -> list[Row]:
    figures = Figures()
    read_every_file(ctx.library)
    for index in range(ctx.runs):
        _one_run(ctx, index, figures)
    final, exit_, beets_import = (
        median(figures.mus_import_final),
        median(figures.mus_import_exit),
        median(figures.beets_import),
    )
    rescan, update = median(figures.mus_rescan), median(figures.beets_update)
    moves = figures.move
    all_kept = all(m["mus_kept_id"] == m["tracks_moved"] for m in moves)
    no_dupes = all(
        m["mus_rows_after"] == m["mus_rows_before"] and m["mus_duplicates_after"] == 0
        for m in moves
    )
    last = moves[-1]
    zero = max(figures.beets_zero_mtimes)
    case = (
        "its best case: every stored mtime current, no file read again"
        if zero == 0
        else f"{zero} items stored with mtime 0, read again"
    )
    rows = [
        _ratio_row(
            "Import",
            f"`mus import --wait` to process exit, {ctx.tracks} tracks, cold private broker "
            "and default workers included, vs `beet import -A -q` to process exit",
            exit_,
            beets_import,
            5,
            {"mus_exit_s": figures.mus_import_exit, "beets_s": figures.beets_import},
        ),
        Row(
            "Import",
            "same, mus to its last status write (before stopping workers and broker)",
            fmt_s(final),
            fmt_s(beets_import),
            f"{beets_import / final:.1f}x",
            data={"mus_final_s": figures.mus_import_final},
        ),
        _ratio_row(
            "Rescan",
            "unchanged library: `mus import` (no --wait) vs `beet update` after `import -A` "
            f"({case})",
            rescan,
            update,
            10,
            {
                "mus_s": figures.mus_rescan,
                "beets_s": figures.beets_update,
                "beets_zero_mtimes": figures.beets_zero_mtimes,
            },
        ),
        Row(
            "Rescan",
            "`scanner.scan` alone, in-process (walk + stat + one SELECT; no process, so no ratio)",
            fmt_s(median(figures.mus_scan_in_process)),
            data={"scan_s": figures.mus_scan_in_process},
        ),
        Row(
            "Rescan",
            "Python start-up + imports of an unchanged rescan's `mus import` (no work)",
            fmt_s(median(figures.mus_startup)),
            data={"startup_s": figures.mus_startup},
        ),
        Row(
            "Move",
            f"rescan after moving {last['tracks_moved']} tracks (¼ of the albums): "
            "`mus import` vs `beet update` (not like for like: mus re-identifies the moved "
            "tracks, beets only drops the items it no longer finds)",
            fmt_s(median(figures.mus_move_rescan)),
            fmt_s(median(figures.beets_move_update)),
            f"{median(figures.beets_move_update) / median(figures.mus_move_rescan):.1f}x",
            data={"mus_s": figures.mus_move_rescan, "beets_s": figures.beets_move_update},
        ),
        Row(
            "Move",
            "moved tracks that kept their id (mus) / items left in the library (beets)",
            f"{last['mus_kept_id']} of {last['tracks_moved']}",
            f"{last['beets_items_after']} of {last['beets_items_before']}",
            target="all kept",
            met=all_kept,
            data={"runs": moves},
        ),
        Row(
            "Move",
            "duplicates / extra rows created by the move",
            f"{last['mus_duplicates_after']} / {last['mus_rows_after'] - last['mus_rows_before']}",
            target="0",
            met=no_dupes,
        ),
    ]
    return rows + _memory_rows(figures.peaks)
