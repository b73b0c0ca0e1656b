"""The batch job called in-process: rules that need no broker to show."""

from __future__ import annotations

import io
import random
import shutil
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import FILES_IN_MEMORY, MAX_SOLO_ATTEMPTS, run_batch
from tests.processing.conftest import write_track
from tools.audiogen import make_library


def test_workers_open_files_under_the_music_roots_only(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = make_library(tmp_path / "allowed", albums=1, tracks_per_album=1)
    elsewhere = make_library(tmp_path / "elsewhere", albums=1, tracks_per_album=1)
    report = scan(db, [allowed.root, elsewhere.root])
    roots = replace(settings, music_roots=(allowed.root,))

    assert run_batch(db, roots, report.to_process) == {"complete": 1, "error": 1, "skipped": 0}

    with db.read() as session:
        outside = session.query(Track).filter(Track.path == elsewhere.entries[0].path).one()
    assert outside.last_error_message == (
        f"metadata: outside the music folders ({elsewhere.entries[0].path})"
    )


def test_a_file_that_keeps_killing_its_worker_ends_in_error(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=1)
    (track_id,) = scan(db, [library.root]).to_process
    with db.write() as session:  # as if three solo batches had died on it
        session.execute(
            update(Track).where(Track.id == track_id).values(attempts=MAX_SOLO_ATTEMPTS)
        )

    assert run_batch(db, settings, [track_id]) == {"complete": 0, "error": 1, "skipped": 0}

    with db.read() as session:
        track = session.get(Track, track_id)
        assert track is not None
        assert track.processing_status == "ERROR"
        assert track.last_error_message == (
            "metadata: worker stopped while processing this file (3 times; "
            "the file may crash the audio or image library)"
        )


def test_final_tracks_in_a_batch_are_skipped(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    ids = scan(db, [library.root]).to_process
    assert run_batch(db, settings, ids)["complete"] == 2
    assert run_batch(db, settings, ids) == {"complete": 0, "error": 0, "skipped": 2}


def test_a_batch_holds_few_embedded_covers_at_once(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Tracks with big embedded covers: memory follows FILES_IN_MEMORY, not the batch size."""
    pixels = random.Random(1).randbytes(400 * 400 * 3)
    png = io.BytesIO()
    Image.frombytes("RGB", (400, 400), pixels).save(png, "PNG")
    cover = png.getvalue()  # noise does not compress: ~480 kB
    template = write_track(tmp_path / "template.mp3", "mp3", cover=cover)
    album = tmp_path / "album"
    album.mkdir()
    for number in range(FILES_IN_MEMORY * 3):
        shutil.copyfile(template, album / f"{number:03}.mp3")
    ids = scan(db, [album]).to_process

    tracemalloc.start()
    try:
        counts = run_batch(db, settings, ids)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert counts == {"complete": len(ids), "error": 0, "skipped": 0}
    assert peak < (FILES_IN_MEMORY + 20) * len(cover)  # all at once would be 3x that
