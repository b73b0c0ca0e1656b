"""Watching library folders on Linux (inotify): watchdog against watchfiles, process to process.

Every figure comes from a fresh child process (`python -m benchmarks.watch_libraries KIND
ARGS`) that imports one library, measures itself and prints one JSON line; the two libraries
never run at the same time and their order alternates between runs. The trees live in a
scratch folder under /tmp, made once per module run:

- setup tree: 200 artists x 10 albums (2,000 album folders, 2,201 with the artists and the
  root), 2 tiny files per album;
- idle tree: the same folders with 10 tiny files per album (20,000 files).

Measures (watchdog: `InotifyObserver`, one recursive `schedule()`, a handler counting every
event; watchfiles: `watchfiles.watch()` with its defaults, debounce 1,600 ms and step 50 ms,
plus a `stop_event`; the setup time uses `RustNotify()` directly, which is what `watch()`
creates before it first waits):

1. start watching the setup tree: from the call to "ready" (watches in place), per run;
2. idle: CPU (getrusage, all threads) and RSS of a process watching the idle tree for
   BENCH_WATCH_IDLE_SECONDS (default 60), BENCH_WATCH_IDLE_RUNS times (default 1);
3. bursts: a separate writer process writes 10,000 files (100 folders x 100 files, each
   written and closed) into the watched idle tree, either into 100 existing album folders or
   into 100 folders it creates first; the watcher reports callbacks/batches, distinct paths,
   missing files and the time from the writer's last close to the last event delivered
   (CLOCK_MONOTONIC in both processes), BENCH_WATCH_BURST_RUNS times (default BENCH_RUNS);
4. the watch limit: in a child that has entered a private user namespace, where
   /proc/sys/user/max_inotify_watches is lowered for that namespace only (the system-wide
   fs.inotify.max_user_watches is never written), what each library raises when a tree
   needs more watches than allowed, and what happens to folders created after watching began.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Context, Row, env_int, inotify_watches, median, scratch

SECTION = "watching: watchdog vs watchfiles"
LIBRARIES = ("watchdog", "watchfiles")
ARTISTS, ALBUMS = 200, 10
SETUP_FILES, IDLE_FILES = 2, 10
BURST_FOLDERS, BURST_FILES = 100, 100
FILE_BYTES = b"\0" * 256
QUIET_S = 2.0
"""A burst is over once nothing was delivered for this long after the writer's end (more than
watchfiles' 1.6 s debounce, so a batch still being grouped is waited for)."""
BURST_MAX_WAIT_S = 60.0
SETTLE_S = 1.0
LIMIT = 50
"""inotify watches allowed in the watch-limit child's private user namespace."""
LIMIT_TREE, LIMIT_START_TREE, LIMIT_NEW_FOLDERS = 100, 40, 20
CLONE_NEWUSER = 0x10000000
CHILD_TIMEOUT_S = 300


# --- run in the children ---------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _import(library: str) -> tuple[float, str]:
    started = time.perf_counter()
    if library == "watchdog":
        importlib.import_module("watchdog.observers.inotify")
        version = importlib.import_module("watchdog.version").VERSION_STRING
    else:
        version = importlib.import_module("watchfiles").VERSION
    return time.perf_counter() - started, version


def _wait_released(limit_s: float = 5.0) -> float | None:
    """Seconds until this process holds no inotify watch any more (None: still some)."""
    started = time.monotonic()
    while inotify_watches():
        if time.monotonic() - started > limit_s:
            return None
        time.sleep(0.01)
    return time.monotonic() - started


def _wait_for_watches(count: int, limit_s: float = 60.0) -> int:
    deadline = time.monotonic() + limit_s
    while (held := inotify_watches()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return held


Batch = tuple[float, list[tuple[str, str]]]
"""When a callback ran (CLOCK_MONOTONIC) and the (kind, path) pairs it delivered."""


def _watch_until(library: str, root: str, stop: threading.Event, batches: list[Batch]) -> None:
    """Watch `root` in this thread the way an application would, until `stop` is set.

    watchdog: an InotifyObserver with one recursive schedule; each handler call is one batch
    of one event (plus its destination path for moves). watchfiles: `watch()` with its
    defaults and `stop_event`; each yielded set is one batch."""
    if library == "watchdog":
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers.inotify import InotifyObserver

        class Recorder(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                pairs = [(event.event_type, os.fsdecode(event.src_path))]
                if event.dest_path:
                    pairs.append((event.event_type, os.fsdecode(event.dest_path)))
                batches.append((time.monotonic(), pairs))

        observer = InotifyObserver()
        observer.schedule(Recorder(), root, recursive=True)
        observer.start()
        try:
            stop.wait()
        finally:
            observer.stop()
            observer.join()
    else:
        import watchfiles

        for changes in watchfiles.watch(
            root, stop_event=stop, debug=False, force_polling=False, raise_interrupt=False
        ):
            batches.append((time.monotonic(), [(change.name, path) for change, path in changes]))


def _start_watching(library: str, root: str, dirs: int) -> dict[str, Any]:
    """Time from the call to ready on a fresh process; then check one event arrives."""
    import_s, version = _import(library)
    rss_before_kb = _status_kb("VmRSS")
    probe = Path(root, "Artist 199", "Album 09", "probe.mp3")
    if library == "watchdog":
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers.inotify import InotifyObserver

        seen = threading.Event()

        class Probe(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if os.fsdecode(event.src_path) == str(probe):
                    seen.set()

        started = time.perf_counter()
        observer = InotifyObserver()
        observer.schedule(Probe(), root, recursive=True)
        scheduled = time.perf_counter()
        observer.start()
        ready = time.perf_counter()
        watches = inotify_watches()
        probe_started = time.perf_counter()
        probe.write_bytes(FILE_BYTES)
        seen.wait(10)
        probe_s = time.perf_counter() - probe_started if seen.is_set() else None
        observer.stop()
        observer.join()
        split = {"schedule_s": scheduled - started, "start_s": ready - scheduled}
    else:
        from watchfiles._rust_notify import RustNotify

        started = time.perf_counter()
        # The arguments watchfiles.watch() passes by default (debug, force_polling,
        # poll_delay_ms, recursive, ignore_permission_denied), polling off.
        notify = RustNotify([root], False, False, 300, True, False)
        ready = time.perf_counter()
        watches = inotify_watches()
        probe_started = time.perf_counter()
        probe.write_bytes(FILE_BYTES)
        probe_s = None
        deadline = time.monotonic() + 10
        while probe_s is None and time.monotonic() < deadline:
            changes = notify.watch(1600, 50, 1000, None)
            if isinstance(changes, set) and any(path == str(probe) for _c, path in changes):
                probe_s = time.perf_counter() - probe_started
        notify.close()
        split = {}
    probe.unlink()
    if watches < dirs:
        raise RuntimeError(f"{library}: {watches} inotify watches for {dirs} folders")
    return {
        "library": library,
        "version": version,
        "import_s": import_s,
        "ready_s": ready - started,
        "watches": watches,
        "probe_event_s": probe_s,
        "rss_after_import_kb": rss_before_kb,
        "rss_watching_kb": _status_kb("VmRSS"),
        **split,
    }


def _idle(library: str, root: str, dirs: int, seconds: int) -> dict[str, Any]:
    """CPU and memory of a process watching `root` and nothing happening, for `seconds`."""
    import_s, version = _import(library)
    rss_before_kb = _status_kb("VmRSS")
    stop = threading.Event()
    figures: dict[str, Any] = {}

    def meter() -> None:
        try:
            figures["watches"] = _wait_for_watches(dirs)
            time.sleep(SETTLE_S)
            cpu, wall = _cpu_s(), time.monotonic()
            time.sleep(seconds)
            figures["cpu_s"] = _cpu_s() - cpu
            figures["wall_s"] = time.monotonic() - wall
            figures["rss_kb"] = _status_kb("VmRSS")
            figures["threads"] = len(os.listdir("/proc/self/task"))
        finally:
            stop.set()

    batches: list[Batch] = []
    thread = threading.Thread(target=meter, daemon=True)
    thread.start()
    _watch_until(library, root, stop, batches)
    thread.join()
    return {
        "library": library,
        "version": version,
        "import_s": import_s,
        "rss_after_import_kb": rss_before_kb,
        "events": len(batches),
        **figures,
    }


def _burst_files(root: str, mode: str) -> list[Path]:
    if mode == "existing":
        folders = [
            Path(root, f"Artist {artist:03d}", f"Album {album:02d}")
            for artist in range(BURST_FOLDERS // ALBUMS)
            for album in range(ALBUMS)
        ]
    else:
        folders = [Path(root, f"New Album {index:03d}") for index in range(BURST_FOLDERS)]
    return [folder / f"burst-{index:03d}.mp3" for folder in folders for index in range(BURST_FILES)]


def _write(root: str, mode: str) -> dict[str, Any]:
    """The writer process: every file written and closed, new folders made first if asked."""
    files = _burst_files(root, mode)
    started = time.monotonic()
    folder = None
    for path in files:
        if mode == "new" and path.parent != folder:
            folder = path.parent
            folder.mkdir()
        with open(path, "wb") as file:
            file.write(FILE_BYTES)
    return {"start": started, "end": time.monotonic(), "files": len(files)}


def _burst(library: str, root: str, dirs: int, mode: str) -> dict[str, Any]:
    """Watch `root`, say "ready" once every folder is watched, read the writer's figures from
    stdin when it is done, and collect events until QUIET_S passed without any."""
    _import(library)
    stop = threading.Event()
    batches: list[Batch] = []
    figures: dict[str, Any] = {}

    def conductor() -> None:
        try:
            figures["watches"] = _wait_for_watches(dirs)
            figures["cpu_ready_s"] = _cpu_s()
            print("ready", flush=True)
            writer = json.loads(sys.stdin.readline())
            figures["writer"] = writer
            while True:
                time.sleep(0.1)
                last = max(writer["end"], batches[-1][0]) if batches else writer["end"]
                now = time.monotonic()
                if now - last >= QUIET_S or now - writer["end"] > BURST_MAX_WAIT_S:
                    break
            figures["cpu_s"] = _cpu_s() - figures["cpu_ready_s"]
        finally:
            stop.set()

    thread = threading.Thread(target=conductor, daemon=True)
    thread.start()
    _watch_until(library, root, stop, batches)
    thread.join()
    writer = figures["writer"]
    expected = {str(path) for path in _burst_files(root, mode)}
    reported = {path for _when, pairs in batches for _kind, path in pairs}
    kinds = Counter(kind for _when, pairs in batches for kind, _path in pairs)
    during = [when for when, _pairs in batches if when >= writer["start"]]
    return {
        "library": library,
        "mode": mode,
        "watches": figures["watches"],
        "batches": len(batches),
        "events": sum(len(pairs) for _when, pairs in batches),
        "events_by_kind": dict(kinds),
        "distinct_paths": len(reported),
        "files_reported": len(expected & reported),
        "files_missing": len(expected - reported),
        "writer_s": writer["end"] - writer["start"],
        "last_event_after_writer_s": (during[-1] - writer["end"]) if during else None,
        "first_event_after_start_s": (during[0] - writer["start"]) if during else None,
        "cpu_s": figures["cpu_s"],
        "rss_kb_with_recorded_events": _status_kb("VmRSS"),
    }


def _private_watch_limit(limit: int) -> None:
    """Enter a new user namespace (this process only) and lower its inotify watch limit.

    /proc/sys/user/max_inotify_watches is per user namespace, and a namespace's watches
    also count against its parents', so this limits this process without writing the
    system-wide fs.inotify.max_user_watches. The namespace ends with the process."""
    import ctypes

    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare(CLONE_NEWUSER): {os.strerror(error)}")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    Path("/proc/sys/user/max_inotify_watches").write_text(str(limit))
    if int(Path("/proc/sys/user/max_inotify_watches").read_text()) != limit:
        raise OSError("the namespace's max_inotify_watches did not change")


def _describe(error: BaseException) -> dict[str, Any]:
    message = str(error)
    return {
        "type": type(error).__name__,
        "errno": getattr(error, "errno", None),
        "message": message if len(message) < 160 else message[:157] + "...",
    }


class _CountWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def _limit_at_start(library: str, root: str) -> dict[str, Any]:
    call = ""
    error: BaseException | None = None
    if library == "watchdog":
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers.inotify import InotifyObserver

        observer = InotifyObserver()
        try:
            call = "schedule()"
            observer.schedule(FileSystemEventHandler(), root, recursive=True)
            call = "start()"
            observer.start()
            call = ""
        except OSError as caught:
            error = caught
        finally:
            if observer.is_alive():
                observer.stop()
                observer.join()
        running = InotifyObserver()
        running.start()
        try:
            running.schedule(FileSystemEventHandler(), root, recursive=True)
            running_error = None
        except OSError as caught:
            running_error = {"call": "schedule() on a started observer", **_describe(caught)}
        running_alive = running.is_alive()
        running.stop()
        running.join()
        extra = {"on_running_observer": running_error, "observer_alive_after": running_alive}
    else:
        import watchfiles

        watching = watchfiles.watch(
            root, debug=False, force_polling=False, yield_on_timeout=True, rust_timeout=100
        )
        try:
            call = "first next() of watch(), in RustNotify()"
            next(watching)
            call = ""
        except OSError as caught:
            error = caught
        finally:
            watching.close()
        extra = {}
    if error is not None:
        error.args = tuple(str(arg).replace(root, "<root>") for arg in error.args)
    return {
        "call": call,
        "error": _describe(error) if error else None,
        "watches_left": inotify_watches(),
        "released_after_s": _wait_released(),
        **extra,
    }


def _limit_after_start(library: str, root: str) -> dict[str, Any]:
    """Watch a tree that leaves a few watches free, then make more folders than that and
    write one file into each: what is raised, logged and reported."""
    warnings = _CountWarnings()
    logging.getLogger().addHandler(warnings)
    stop = threading.Event()
    batches: list[Batch] = []
    failure: list[BaseException] = []

    def watch() -> None:
        try:
            _watch_until(library, root, stop, batches)
        except BaseException as error:
            failure.append(error)

    _wait_released()
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    held = _wait_for_watches(LIMIT_START_TREE + 1, 10)
    new = [Path(root, f"New {index:02d}") for index in range(LIMIT_NEW_FOLDERS)]
    for folder in new:
        folder.mkdir()
    time.sleep(1.0)
    for folder in new:
        (folder / "new.mp3").write_bytes(FILE_BYTES)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not failure:
        time.sleep(0.1)
        last = batches[-1][0] if batches else 0.0
        if batches and time.monotonic() - last > QUIET_S:
            break
    watches_after = inotify_watches()
    stop.set()
    thread.join(10)
    logging.getLogger().removeHandler(warnings)
    for folder in new:
        shutil.rmtree(folder, ignore_errors=True)
    reported = {path for _when, pairs in batches for _kind, path in pairs}
    return {
        "watches_at_start": held,
        "watches_after": watches_after,
        "new_folders": len(new),
        "new_files_reported": sum(1 for folder in new if str(folder / "new.mp3") in reported),
        "raised": _describe(failure[0]) if failure else None,
        "warnings_logged": len(warnings.records),
        "first_warning": warnings.records[0] if warnings.records else None,
    }


def _limit(library: str, tree: str, start_tree: str) -> dict[str, Any]:
    try:
        _private_watch_limit(LIMIT)
    except OSError as error:
        return {"library": library, "reproduced": False, "reason": str(error)}
    _import(library)
    at_start = _limit_at_start(library, tree)
    return {
        "library": library,
        "reproduced": True,
        "limit": LIMIT,
        "system_max_user_watches": int(Path("/proc/sys/fs/inotify/max_user_watches").read_text()),
        "at_start": at_start,
        "after_start": _limit_after_start(library, start_tree),
    }


def _versions() -> dict[str, Any]:
    return {library: _import(library)[1] for library in LIBRARIES}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "versions": _versions,
    "start": _start_watching,
    "idle": _idle,
    "write": _write,
    "burst": _burst,
    "limit": _limit,
}


def _child_main(argv: list[str]) -> int:
    kind, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    print(json.dumps(CHILDREN[kind](**args)), flush=True)
    return 0


# --- run in the benchmark process ------------------------------------------------------------


def _command(ctx: Context, kind: str, args: dict[str, Any]) -> list[str]:
    return [str(ctx.python), "-m", "benchmarks.watch_libraries", kind, json.dumps(args)]


def _child(ctx: Context, kind: str, **args: Any) -> dict[str, Any]:
    done = subprocess.run(
        _command(ctx, kind, args), cwd=REPO, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
    )
    if done.returncode != 0:
        raise RuntimeError(f"watch child {kind} {args} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _make_tree(root: Path, files: int) -> int:
    """200 artists x 10 albums with `files` tiny files each; returns the folder count."""
    for artist in range(ARTISTS):
        for album in range(ALBUMS):
            folder = root / f"Artist {artist:03d}" / f"Album {album:02d}"
            folder.mkdir(parents=True)
            for track in range(files):
                (folder / f"{track + 1:02d} Track.mp3").write_bytes(FILE_BYTES)
    return 1 + ARTISTS + ARTISTS * ALBUMS


def _burst_once(ctx: Context, library: str, root: Path, dirs: int, mode: str) -> dict[str, Any]:
    args = {"library": library, "root": str(root), "dirs": dirs, "mode": mode}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            _command(ctx, "burst", args),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert proc.stdin is not None and proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                proc.kill()
                proc.wait()
                err.seek(0)
                raise RuntimeError(f"{library} burst child failed: {err.read().decode()[-2000:]}")
            writer = _child(ctx, "write", root=str(root), mode=mode)
            proc.stdin.write(json.dumps(writer) + "\n")
            proc.stdin.close()
            out = proc.stdout.read()
            proc.wait(CHILD_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for path in _burst_files(str(root), mode):
                path.unlink(missing_ok=True)
            if mode == "new":
                for index in range(BURST_FOLDERS):
                    shutil.rmtree(root / f"New Album {index:03d}", ignore_errors=True)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{library} burst child failed: {err.read().decode()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _orders(runs: int) -> list[tuple[str, str]]:
    return [LIBRARIES if index % 2 == 0 else LIBRARIES[::-1] for index in range(runs)]


def _spread(values: list[float], fmt: Callable[[float], str]) -> str:
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(median(values))} ({fmt(min(values))}..{fmt(max(values))})"


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _ratio(dog: float, files: float) -> str:
    if not files:
        return "n/a"
    ratio = dog / files
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def _mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def _pct(value: float) -> str:
    return f"{value:.3f} %"


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _pair(
    measure: str,
    runs: dict[str, list[dict[str, Any]]],
    key: Callable[[dict[str, Any]], float],
    fmt: Callable[[float], str],
    ratio: bool = True,
) -> Row:
    dog = [key(run) for run in runs["watchdog"]]
    files = [key(run) for run in runs["watchfiles"]]
    return Row(
        SECTION,
        measure,
        _spread(dog, fmt),
        _spread(files, fmt),
        _ratio(median(dog), median(files)) if ratio else "",
        data={"watchdog": dog, "watchfiles": files},
    )


def _start_rows(runs: dict[str, list[dict[str, Any]]], dirs: int) -> list[Row]:
    watches = {lib: runs[lib][-1]["watches"] for lib in LIBRARIES}
    rows = [
        _pair(
            f"start watching {ARTISTS * ALBUMS:,} album folders ({ARTISTS} artists x {ALBUMS}, "
            f"{SETUP_FILES} files each; {dirs:,} folders): call → ready, fresh process. "
            "watchdog: InotifyObserver schedule(recursive) + start(); watchfiles: RustNotify() "
            "(what watch() builds first). Columns: watchdog | watchfiles; ratio = watchdog ÷ "
            "watchfiles",
            runs,
            lambda run: run["ready_s"],
            _ms,
        ),
        _pair(
            f"inotify watches held once ready (of {dirs:,} folders)",
            runs,
            lambda run: run["watches"],
            _count,
            ratio=False,
        ),
        _pair(
            "import of the library in a fresh process",
            runs,
            lambda run: run["import_s"],
            _ms,
        ),
    ]
    rows[1].data["watches"] = watches
    rows[0].data["runs"] = runs
    return rows


def _idle_rows(runs: dict[str, list[dict[str, Any]]], seconds: int, dirs: int) -> list[Row]:
    files = ARTISTS * ALBUMS * IDLE_FILES
    rows = [
        _pair(
            f"idle: CPU of the watching process, % of one core over {seconds} s, "
            f"{files:,} files in {dirs:,} folders, nothing changing (user + system, all threads)",
            runs,
            lambda run: 100 * run["cpu_s"] / run["wall_s"],
            _pct,
        ),
        _pair(
            "idle: RSS of the watching process (Python + library + watch)",
            runs,
            lambda run: run["rss_kb"],
            _mb,
        ),
        _pair(
            "idle: RSS added by the watch (RSS above - RSS after the import)",
            runs,
            lambda run: run["rss_kb"] - run["rss_after_import_kb"],
            _mb,
        ),
        _pair(
            "idle: threads in the watching process",
            runs,
            lambda run: run["threads"],
            _count,
            ratio=False,
        ),
    ]
    rows[0].data["runs"] = runs
    return rows


def _burst_rows(runs: dict[str, list[dict[str, Any]]], mode: str) -> list[Row]:
    where = (
        f"into {BURST_FOLDERS} existing album folders"
        if mode == "existing"
        else f"into {BURST_FOLDERS} folders the writer creates"
    )
    head = f"burst, {BURST_FOLDERS * BURST_FILES:,} files {where}"
    rows = [
        _pair(
            f"{head}: callbacks (watchdog, one per event) | batches (watchfiles yields)",
            runs,
            lambda run: run["batches"],
            _count,
            ratio=False,
        ),
        _pair(
            f"{head}: distinct paths reported (files and folders)",
            runs,
            lambda run: run["distinct_paths"],
            _count,
            ratio=False,
        ),
        _pair(
            f"{head}: files missing from the events (of {BURST_FOLDERS * BURST_FILES:,})",
            runs,
            lambda run: run["files_missing"],
            _count,
            ratio=False,
        ),
        _pair(
            f"{head}: writer's last close → last event delivered (watchfiles: default "
            "debounce 1,600 ms and step 50 ms included)",
            runs,
            lambda run: _or_nan(run["last_event_after_writer_s"]),
            _ms,
        ),
        _pair(
            f"{head}: writer's first open → first event delivered",
            runs,
            lambda run: _or_nan(run["first_event_after_start_s"]),
            _ms,
        ),
        _pair(
            f"{head}: CPU of the watching process from ready to the end (s)",
            runs,
            lambda run: run["cpu_s"],
            lambda value: f"{value:.2f} s",
        ),
    ]
    rows[0].data["runs"] = runs
    return rows


def _limit_cell(result: dict[str, Any]) -> tuple[str, str]:
    if not result.get("reproduced"):
        return f"not reproduced: {result.get('reason')}", ""
    at_start, after = result["at_start"], result["after_start"]
    error = at_start["error"]
    if error is None:
        first = "nothing raised"
    else:
        first = (
            f"{error['type']}(errno {error['errno']}) {error['message']!r} from {at_start['call']}"
        )
        if at_start.get("on_running_observer"):
            running = at_start["on_running_observer"]
            first += f"; same from {running['call']}"
        left, released = at_start["watches_left"], at_start["released_after_s"]
        if not left:
            first += "; no watch left behind"
        elif released is None:
            first += f"; {left} watches still held 5 s later"
        else:
            first += f"; {left} watches held just after, all released {_ms(released)} later"
    raised = after["raised"]
    second = (
        f"{'raised ' + raised['type'] if raised else 'nothing raised'}, "
        f"{after['warnings_logged']} warnings logged, "
        f"{after['new_files_reported']} of {after['new_folders']} new folders' files reported"
    )
    return first, second


def _limit_rows(results: dict[str, dict[str, Any]]) -> list[Row]:
    dog_first, dog_second = _limit_cell(results["watchdog"])
    files_first, files_second = _limit_cell(results["watchfiles"])
    return [
        Row(
            SECTION,
            f"watch limit (private user namespace, max_inotify_watches={LIMIT}), tree of "
            f"{LIMIT_TREE} folders: what is raised, and where",
            dog_first,
            files_first,
            data=results,
        ),
        Row(
            SECTION,
            f"watch limit, watching {LIMIT_START_TREE + 1} folders then "
            f"{LIMIT_NEW_FOLDERS} folders created with a file each",
            dog_second,
            files_second,
        ),
    ]


def run(ctx: Context) -> list[Row]:
    try:
        versions = _child(ctx, "versions")
    except RuntimeError as error:
        reason = (str(error).strip().splitlines() or ["no output"])[-1]
        print(f"watch_libraries: watchdog and watchfiles are needed ({reason})", flush=True)
        return [Row(SECTION, f"not measured: {reason}", "not measured", met=False)]
    idle_seconds = max(1, env_int("BENCH_WATCH_IDLE_SECONDS", 60))
    idle_runs = max(1, env_int("BENCH_WATCH_IDLE_RUNS", 1))
    burst_runs = max(1, env_int("BENCH_WATCH_BURST_RUNS", ctx.runs))
    print(f"watchdog {versions['watchdog']}, watchfiles {versions['watchfiles']}", flush=True)
    with scratch("wl") as base:
        setup_root, idle_root = base / "setup", base / "idle"
        dirs = _make_tree(setup_root, SETUP_FILES)
        _make_tree(idle_root, IDLE_FILES)
        limit_tree, start_tree = base / "limit", base / "limit-start"
        for index in range(LIMIT_TREE):
            (limit_tree / f"Folder {index:03d}").mkdir(parents=True)
        for index in range(LIMIT_START_TREE):
            (start_tree / f"Folder {index:03d}").mkdir(parents=True)

        start: dict[str, list[dict[str, Any]]] = {lib: [] for lib in LIBRARIES}
        for index, order in enumerate(_orders(ctx.runs)):
            for lib in order:
                start[lib].append(
                    _child(ctx, "start", library=lib, root=str(setup_root), dirs=dirs)
                )
            print(
                f"start run {index + 1}/{ctx.runs}: watchdog "
                f"{_ms(start['watchdog'][-1]['ready_s'])}, watchfiles "
                f"{_ms(start['watchfiles'][-1]['ready_s'])}",
                flush=True,
            )

        idle: dict[str, list[dict[str, Any]]] = {lib: [] for lib in LIBRARIES}
        for order in _orders(idle_runs):
            for lib in order:
                idle[lib].append(
                    _child(
                        ctx,
                        "idle",
                        library=lib,
                        root=str(idle_root),
                        dirs=dirs,
                        seconds=idle_seconds,
                    )
                )
                run_ = idle[lib][-1]
                print(
                    f"idle {lib}: {100 * run_['cpu_s'] / run_['wall_s']:.3f} % of a core, "
                    f"RSS {_mb(run_['rss_kb'])}",
                    flush=True,
                )

        bursts: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for mode in ("existing", "new"):
            bursts[mode] = {lib: [] for lib in LIBRARIES}
            for index, order in enumerate(_orders(burst_runs)):
                for lib in order:
                    bursts[mode][lib].append(_burst_once(ctx, lib, idle_root, dirs, mode))
                dog, files = bursts[mode]["watchdog"][-1], bursts[mode]["watchfiles"][-1]
                print(
                    f"burst ({mode}) run {index + 1}/{burst_runs}: watchdog "
                    f"{dog['batches']} callbacks, {dog['files_missing']} missing, last event "
                    f"+{_ms(dog['last_event_after_writer_s'] or 0)}; watchfiles "
                    f"{files['batches']} batches, {files['files_missing']} missing, last "
                    f"+{_ms(files['last_event_after_writer_s'] or 0)}",
                    flush=True,
                )

        limits = {
            lib: _child(ctx, "limit", library=lib, tree=str(limit_tree), start_tree=str(start_tree))
            for lib in LIBRARIES
        }

    rows = _start_rows(start, dirs) + _idle_rows(idle, idle_seconds, dirs)
    for mode in ("existing", "new"):
        rows += _burst_rows(bursts[mode], mode)
    rows += _limit_rows(limits)
    rows[0].data["versions"] = versions
    return rows


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
