"""Measure the window on a large library; prints one JSON object.

    python -m tools.gui_bench [--tracks 100000] [--seconds 5] [--writers 2]

Figures:
- build_s: bulk-inserting the library (not the window's cost).
- first_rows_s: from creating the main window to its table showing rows
  (the watcher thread reads the rows in parts; the GUI thread shows the first).
- all_rows_s: from creating the main window to every row read and in order,
  with the orders the watcher works out after reading (gui/watcher.py
  ORDERED_AT_LOAD).
- sort_title_s / sort_title_desc_s: `model.sort` on the title column, GUI
  thread, the first time after the load and the other way round.
- sort_artist_s: the first sort by artist (album artist, album, disc, track).
- sort_slowest_other_s / sort_slowest_other: the slowest first sort of the other
  columns, each sorted once, and which column it was.
- filter_search_s: a status filter plus a search word over every row.
- sidebar_build_s: the artist and album sidebar filled from every row.
- keep_selection_filter_s: with every row selected, a status filter change
  through the toolbar, the selection kept on the same tracks (~90% of them).
- context_menu_first_ms / context_menu_ms: right-click on a row with every row
  selected, to the menu shown; the first time in the process, and again.
- stall_*: lateness of a 10 ms QTimer on the GUI thread while `writers`
  processes commit status updates (transactions of 50 rows) for `seconds`,
  with every row selected (Ctrl+A), so that the Retry button's state is
  worked out over the whole selection after each change; rows_followed is
  how many changed rows the window took in meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BATCH = 50


@contextmanager
def late_ticks() -> Iterator[list[float]]:
    """How late each tick of a 10 ms timer on the GUI thread comes, in seconds."""
    from PySide6.QtCore import Qt, QTimer

    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - 0.010))
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        yield lateness
    finally:
        timer.stop()


def build(db_path: Path, tracks: int) -> float:
    from sqlalchemy import insert

    from mus_desktop.library.engine import open_database
    from mus_desktop.library.models import ProcessingStatus, Track

    rng = random.Random(7)
    db = open_database(db_path)
    started = time.perf_counter()
    chunk = 10_000
    for start in range(0, tracks, chunk):
        rows = []
        for n in range(start, min(tracks, start + chunk)):
            album = n // 12
            rows.append(
                {
                    "path": f"/srv/music/Artist {album % 997}/Album {album}/{n % 12 + 1:02d} "
                    f"Track {n}.flac",
                    "processing_status": (
                        ProcessingStatus.COMPLETE
                        if rng.random() < 0.9
                        else ProcessingStatus.PENDING
                    ),
                    "title": f"Song {rng.randrange(10**9):09d}",
                    "artist": f"Artist {album % 997}",
                    "album": f"Album {album}",
                    "track_number": n % 12 + 1,
                    "duration": 120 + rng.random() * 300,
                    "format": "FLAC",
                    "content_hash": f"{n:064x}",
                    "audio_hash": f"{n + tracks:064x}",  # a real library has both
                }
            )
        with db.write() as session:
            session.execute(insert(Track), rows)
    db.dispose()
    return time.perf_counter() - started


def writer(db_path: str, seconds: float, seed: int) -> int:
    """Commit status changes to random tracks, in transactions of BATCH (50) rows."""
    from sqlalchemy import func, select, update

    from mus_desktop.library.engine import open_database
    from mus_desktop.library.models import ProcessingStatus, Track

    statuses = tuple(ProcessingStatus)
    rng = random.Random(seed)
    db = open_database(db_path)
    with db.read() as session:
        top = int(session.scalar(select(func.max(Track.id))) or 0)
    deadline = time.monotonic() + seconds
    changed = 0
    while time.monotonic() < deadline:
        ids = [rng.randint(1, top) for _ in range(BATCH)]
        with db.write() as session:
            session.execute(
                update(Track)
                .where(Track.id.in_(ids))
                .values(processing_status=rng.choice(statuses))
            )
        changed += len(ids)
        time.sleep(0.02)
    db.dispose()
    print(changed)
    return 0


def measure(tracks: int, seconds: float, writers: int, temp: Path) -> dict[str, object]:
    os.environ.update(
        MUS_DB=str(temp / "library.db"),
        MUS_CACHE_DIR=str(temp / "cache"),
        MUS_RUNTIME_DIR=str(temp / "run"),
        MUS_LOG_DIR=str(temp / "log"),
        MUS_REDIS_URL="redis://127.0.0.1:1/0",  # no broker: the GUI alone is measured
        XDG_CONFIG_HOME=str(temp / "config"),
    )
    build_s = build(temp / "library.db", tracks)

    from PySide6.QtCore import QCoreApplication, Qt

    from mus_desktop.config import load_settings
    from mus_desktop.gui.app import application
    from mus_desktop.gui.status import StatusFilter
    from mus_desktop.gui.table.model import Column
    from mus_desktop.gui.window import MainWindow
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.rows import Changes

    application()
    settings = load_settings()
    db = open_database(settings.db_path)

    def spin(condition, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.001)

    started = time.perf_counter()
    window = MainWindow(settings, db)
    window.resize(1400, 800)
    window.show()
    spin(lambda: window.model.rowCount() > 0)
    window.table.viewport().repaint()
    first_rows_s = time.perf_counter() - started
    spin(lambda: window.library_loaded, timeout=600)
    all_rows_s = time.perf_counter() - started

    clock = time.perf_counter()
    window.model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    sort_title_s = time.perf_counter() - clock
    clock = time.perf_counter()
    window.model.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    sort_title_desc_s = time.perf_counter() - clock
    clock = time.perf_counter()
    window.model.sort(Column.ARTIST, Qt.SortOrder.AscendingOrder)
    sort_artist_s = time.perf_counter() - clock
    others: dict[str, float] = {}
    for column in Column:
        if column not in (Column.TITLE, Column.ARTIST):
            clock = time.perf_counter()
            window.model.sort(column, Qt.SortOrder.AscendingOrder)
            others[column.name.lower()] = time.perf_counter() - clock
    slowest_other = max(others, key=others.__getitem__)
    window.model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)  # the search's sort, as before
    clock = time.perf_counter()
    window.model.set_filter(StatusFilter.COMPLETE, "album 12")
    filter_search_s = time.perf_counter() - clock
    window.model.set_filter(StatusFilter.ALL, "")

    every_row = window.model.rows_in(0, window.model.rowCount() - 1)
    clock = time.perf_counter()
    window.sidebar.set_rows(every_row)
    sidebar_build_s = time.perf_counter() - clock
    del every_row

    window.table.selectAll()
    complete = window.filter_box.findData(StatusFilter.COMPLETE)
    clock = time.perf_counter()
    window.filter_box.setCurrentIndex(complete)
    keep_selection_filter_s = time.perf_counter() - clock
    kept = len(window.selection.selected_ids())
    window.filter_box.setCurrentIndex(window.filter_box.findData(StatusFilter.ALL))
    window.table.selectAll()

    point = window.table.visualRect(window.model.index(3, Column.TITLE)).center()
    menu_ms = []
    for _ in range(2):  # the first pays once for PySide's lazily made enum types
        spin(lambda: False, timeout=0.5)  # the repaints the selection asked for, first
        clock = time.perf_counter()
        window.table.customContextMenuRequested.emit(point)
        spin(window.context_menu.isVisible, timeout=5)
        menu_ms.append((time.perf_counter() - clock) * 1000)
        window.context_menu.close()

    followed = [0]

    def count_followed(changes: Changes) -> None:
        followed[0] += len(changes.rows)

    window.watcher.watcher.changed.connect(count_followed)
    window.table.selectAll()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.gui_bench",
                "--writer",
                str(settings.db_path),
                str(seconds),
                str(seed),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(writers)
    ]
    with late_ticks() as lateness:
        spin(lambda: all(p.poll() is not None for p in procs), timeout=seconds + 60)
        spin(lambda: False, timeout=0.5)
    committed = sum(int(p.stdout.read().strip() or 0) for p in procs if p.stdout)
    ordered = sorted(lateness)
    window.shutdown()
    db.dispose()
    return {
        "tracks": tracks,
        "build_s": round(build_s, 3),
        "first_rows_s": round(first_rows_s, 3),
        "all_rows_s": round(all_rows_s, 3),
        "sort_title_s": round(sort_title_s, 3),
        "sort_artist_s": round(sort_artist_s, 3),
        "sort_title_desc_s": round(sort_title_desc_s, 3),
        "sort_slowest_other_s": round(others[slowest_other], 3),
        "sort_slowest_other": slowest_other,
        "filter_search_s": round(filter_search_s, 3),
        "sidebar_build_s": round(sidebar_build_s, 3),
        "keep_selection_filter_s": round(keep_selection_filter_s, 3),
        "selection_kept_rows": kept,
        "context_menu_first_ms": round(menu_ms[0], 1),
        "context_menu_ms": round(menu_ms[1], 1),
        "writers": writers,
        "write_seconds": seconds,
        "rows_committed": committed,
        "rows_followed": followed[0],
        "stall_max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
        "stall_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1) if ordered else None,
        "stall_median_ms": round(ordered[len(ordered) // 2] * 1000, 1) if ordered else None,
        "timer_ticks": len(lateness),
        "cpu_cores": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--writer", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.writer:
        db_path, seconds, seed = args.writer
        return writer(db_path, float(seconds), int(seed))
    with tempfile.TemporaryDirectory(prefix="mus-guibench-") as temp:  # 600 MB at 1M tracks
        figures = measure(args.tracks, args.seconds, args.writers, Path(temp))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
