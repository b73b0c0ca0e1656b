"""The compute floor of an import, against `mus import --wait` on the same files.

The floor is the work no import can skip, done the way mus does it, in one process with
no database, no broker, no queue and no worker start-up: the walk that lists the audio
files, then for each file its open and stat (`metadata.open_track_file`), the tags
(`parse_audio` + `read_metadata`, the metadata stage's one mutagen parse), both hashes in
one read (`hashing.hash_digests`) and its cover found (`artwork.find_artwork`, from the
parse or the folder), and one thumbnail per distinct cover (`artwork.make_thumbnail`
into a fresh folder: it makes each cover's thumbnail once, as the import does). malloc is
tuned as in a worker (`runtime.memory.keep_freed_memory`). That time, divided by the
workers mus's import starts by default on this machine (`Settings.workers`, read in the
same environment as the import), is the floor: perfect parallel work with nothing
around it. Its Python start-up and imports are not in it (a child process times its
loop).

The row's ratio is `mus import --wait` (fresh database, cache and cold private broker,
process start to exit) over the floor: how far the whole import is from the work
itself. Not like for like by design, so the row says what each side holds. Per run the
two alternate on the files, read once before the first run (page cache warm for both).

`python -m benchmarks.floor ROOT THUMBNAIL_DIR` is the child: it prints the figures as
JSON. `run(ctx)` is `BENCH_ONLY=floor`, on the bench's library; `benchmarks.scale` uses
`measure` and `ratio_row` at each BENCH_SCALE size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO,
    Context,
    Row,
    audio_files,
    fmt_s,
    median,
    mus_bin,
    mus_env,
    read_every_file,
    scratch,
    timed_run,
)

SECTION = "Floor"
PARTS = ("open_tags_s", "hash_s", "art_s")
"""Where the floor's per-file time goes: open + stat + mutagen parse + tags; both hashes;
cover found + thumbnail (made once per distinct cover)."""


def compute(root: Path, thumbnail_dir: Path) -> dict[str, Any]:
    """The floor's work over `root`, timed in this process (see the module docstring)."""
    from mus_desktop.config import load_settings
    from mus_desktop.processing.artwork import find_artwork, make_thumbnail
    from mus_desktop.processing.hashing import hash_digests
    from mus_desktop.processing.metadata import open_track_file, parse_audio, read_metadata
    from mus_desktop.runtime.memory import keep_freed_memory

    keep_freed_memory()
    parts = dict.fromkeys(PARTS, 0.0)
    covers: set[str] = set()
    started = time.perf_counter()
    files = audio_files(root)
    walk = time.perf_counter() - started
    for path in files:
        before = time.perf_counter()
        with open_track_file(path) as checked:
            audio = parse_audio(checked, path)
            read_metadata(path, audio)
            parsed = time.perf_counter()
            hash_digests(checked)
        hashed = time.perf_counter()
        image = find_artwork(path, audio)
        if image is not None:
            covers.add(make_thumbnail(image, thumbnail_dir))
        parts["open_tags_s"] += parsed - before
        parts["hash_s"] += hashed - parsed
        parts["art_s"] += time.perf_counter() - hashed
    return {
        "work_s": time.perf_counter() - started,
        "walk_s": walk,
        **parts,
        "files": len(files),
        "thumbnails": len(covers),
        "workers": load_settings().workers,
    }


def measure(ctx: Context, root: Path) -> dict[str, Any]:
    """`compute` over `root` in a fresh child process, with a scratch thumbnail folder and
    mus's environment (so `workers` is what `mus import` would start); adds `floor_s`."""
    with scratch("mf") as home:
        env = mus_env(home)
        command = [str(ctx.python), "-m", "benchmarks.floor", str(root), str(home / "thumbs")]
        done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"floor failed ({done.returncode}): {done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    figures["floor_s"] = figures["work_s"] / max(1, figures["workers"])
    return figures


def ratio_row(
    section: str,
    measure_text: str,
    mus_s: list[float],
    floors: list[dict[str, Any]],
    goal: float | None = None,
) -> Row:
    """mus's import (exit to exit) against the floor, medians of the runs; `goal` is the
    largest ratio the row's target allows (the issue sets one at 20,000 tracks)."""
    mus, floor = median(mus_s), median([f["floor_s"] for f in floors])
    work, workers = median([f["work_s"] for f in floors]), floors[-1]["workers"]
    ratio = mus / floor
    return Row(
        section,
        measure_text,
        fmt_s(mus),
        f"{fmt_s(floor)} ({fmt_s(work)} of work ÷ {workers} workers)",
        f"{ratio:.2f}x the floor",
        "" if goal is None else f"≤ {goal:g}x",
        None if goal is None else ratio <= goal,
        {"mus_exit_s": mus_s, "floor": floors},
    )


def parts_text(floors: list[dict[str, Any]]) -> str:
    """The floor's work per file, by part (medians), and how many thumbnails it made."""
    files = floors[-1]["files"]

    def per_file(key: str) -> str:
        return f"{median([f[key] for f in floors]) / files * 1000:.2f}"

    return (
        f"{per_file('work_s')} ms/file: open+tags {per_file('open_tags_s')}, "
        f"hashes {per_file('hash_s')}, cover+thumbnail {per_file('art_s')}, "
        f"walk {per_file('walk_s')}; {floors[-1]['thumbnails']} thumbnails"
    )


def run(ctx: Context) -> list[Row]:
    read_every_file(ctx.library)
    mus_s: list[float] = []
    floors: list[dict[str, Any]] = []
    for index in range(ctx.runs):
        order = ("mus", "floor") if index % 2 == 0 else ("floor", "mus")
        for part in order:
            if part == "mus":
                with scratch("mfi") as home:
                    command = [mus_bin(ctx), "import", str(ctx.library), "--wait"]
                    mus_s.append(timed_run(command, mus_env(home)))
            else:
                floors.append(measure(ctx, ctx.library))
        print(
            f"floor run {index + 1}/{ctx.runs}: mus import {mus_s[-1]:.2f} s, "
            f"floor {floors[-1]['floor_s']:.2f} s",
            flush=True,
        )
    tracks = floors[-1]["files"]
    return [
        ratio_row(
            SECTION,
            f"`mus import --wait` to process exit ({tracks} tracks, cold private broker, "
            "default workers) vs the compute floor: walk + stat + tags + `hash_digests` + "
            "one thumbnail per distinct cover, one process, no database or queue, ÷ the "
            f"default workers; alternating, median of {ctx.runs}",
            mus_s,
            floors,
        ),
        Row(SECTION, "the floor's work, per file (one process)", parts_text(floors)),
    ]


if __name__ == "__main__":
    print(json.dumps(compute(Path(sys.argv[1]), Path(sys.argv[2]))))
