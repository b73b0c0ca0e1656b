"""What a track shows when its file, or its cover, is not one a worker should read.

Paths leading out of MUS_MUSIC_ROOTS, FIFOs and devices; and tracks that could
not reach their file because their folder was renamed while they were queued.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rq import Queue
from sqlalchemy import select, update

from mus_desktop.config import Settings
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from mus_desktop.processing.service import import_paths
from tools.audiogen import make_cover, make_library

from .test_end_to_end import run_burst_workers, tracks_by_path

COMPLETE = "COMPLETE"
ERROR = "ERROR"


def outcomes(db: Database) -> dict[str, tuple[str, str | None]]:
    """(status, last_error_message) of every track, by path."""
    with db.read() as session:
        rows = session.execute(
            select(Track.path, Track.processing_status, Track.last_error_message)
        )
        return {path: (status, message) for path, status, message in rows}


def move_row(db: Database, path: Path, stored: str) -> None:
    """Store `path`'s track under `stored`, as another program could have written it."""
    with db.write() as session:
        session.execute(update(Track).where(Track.path == str(path)).values(path=stored))


def test_paths_leading_out_of_the_music_folders_are_refused(
    db: Database,
    settings: Settings,
    track: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = tmp_path.resolve()
    music, outside = base / "music", base / "outside"
    inside = track("mp3", "music/album/01.mp3")
    (music / "album" / "cover.jpg").write_bytes(make_cover(seed=1))
    (music / "inside link.mp3").symlink_to(inside)
    dotted = track("flac", "outside/dotted.flac")
    shadowed = track("flac", "outside/shadowed.flac")
    (music / "link.ogg").symlink_to(track("ogg", "outside/target.ogg"))
    track("opus", "outside/album/01.opus")
    (music / "linked album").symlink_to(outside / "album")
    covered = track("mp3", "music/covered/01.mp3")
    (outside / "cover.jpg").write_bytes(make_cover(seed=2))
    (music / "covered" / "cover.jpg").symlink_to(outside / "cover.jpg")
    ids = scan(db, [music, dotted, shadowed]).to_process
    move_row(db, dotted, f"{music}/../outside/dotted.flac")
    escape = os.path.join(music, *[".."] * 40, "etc", "shadow")
    move_row(db, shadowed, escape)
    (base / "music link").symlink_to(music)  # the root itself may be given through a link
    roots = replace(settings, music_roots=(base / "music link",))

    assert run_batch(db, roots, ids) == {"complete": 2, "error": 5, "skipped": 0}

    assert outcomes(db) == {
        str(inside): (COMPLETE, None),
        str(music / "inside link.mp3"): (COMPLETE, None),
        f"{music}/../outside/dotted.flac": (
            ERROR,
            f"metadata: outside the music folders ({outside}/dotted.flac)",
        ),
        escape: (ERROR, "metadata: outside the music folders (/etc/shadow)"),
        str(music / "link.ogg"): (
            ERROR,
            f"metadata: outside the music folders ({outside}/target.ogg)",
        ),
        str(music / "linked album" / "01.opus"): (
            ERROR,
            f"metadata: outside the music folders ({outside}/album/01.opus)",
        ),
        str(covered): (
            ERROR,
            f"art: folder image cover.jpg is outside the music folders ({outside}/cover.jpg)",
        ),
    }


@pytest.mark.timeout(60)  # each track's open() of the FIFO used to wait for the job timeout
def test_covers_and_tracks_that_are_not_regular_files(
    db: Database, settings: Settings, track: Callable[..., Path], tmp_path: Path
) -> None:
    piped = [track("mp3", f"piped/{n}.mp3") for n in (1, 2, 3)]
    os.mkfifo(tmp_path / "piped" / "cover.jpg")
    endless = track("flac", "endless/1.flac")
    (tmp_path / "endless" / "cover.jpg").symlink_to("/dev/zero")
    replaced = track("ogg", "replaced.ogg")
    ids = scan(db, [tmp_path]).to_process
    replaced.unlink()
    os.mkfifo(replaced)  # after the scan, which would have reported it

    assert run_batch(db, settings, ids) == {"complete": 0, "error": 5, "skipped": 0}

    fifo_cover = (ERROR, "art: folder image cover.jpg is not a regular file (a FIFO)")
    assert outcomes(db) == {
        **{str(path): fifo_cover for path in piped},
        str(endless): (
            ERROR,
            "art: folder image cover.jpg is not a regular file (a character device)",
        ),
        str(replaced): (ERROR, "metadata: not a regular file (a FIFO)"),
    }


def test_tracks_renamed_away_while_queued_are_queued_again_when_found(
    db: Database,
    queue: Queue,
    broker_settings: Settings,
    tmp_path: Path,
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=3)
    album = Path(library.entries[0].path).parent
    noise = library.root / "Other" / "noise.mp3"
    noise.parent.mkdir()
    noise.write_bytes(b"\0garbage" * 100)
    import_paths(db, queue, [library.root], broker_settings)
    renamed = album.rename(album.with_name(f"{album.name} (remaster)"))
    run_burst_workers(1)
    before = tracks_by_path(db)
    assert {path: track.last_error_message for path, track in before.items()} == {
        **{entry.path: "metadata: file not found" for entry in library.entries},
        str(noise): "metadata: not an audio file (can't sync to MPEG frame)",
    }
    other = noise.parent.rename(library.root / "Elsewhere")  # moved after its content failed

    report = import_paths(db, queue, [library.root], broker_settings)

    assert report.moved == 4
    assert sorted(report.to_process) == sorted(before[e.path].id for e in library.entries)
    run_burst_workers(1)
    after = tracks_by_path(db)
    for entry in library.entries:
        track = after[str(renamed / Path(entry.path).name)]
        assert (track.id, track.processing_status) == (before[entry.path].id, COMPLETE)
        assert track.last_error_message is None and track.title
    noise_track = after[str(other / "noise.mp3")]
    assert noise_track.processing_status == ERROR
    assert noise_track.last_error_message == before[str(noise)].last_error_message


def test_a_returned_track_that_had_not_been_found_is_processed(
    db: Database, settings: Settings, track: Callable[..., Path], tmp_path: Path
) -> None:
    path = track("flac", "album/01.flac")
    saved = tmp_path / "saved.flac"
    (track_id,) = scan(db, [tmp_path / "album"]).to_process
    shutil.move(path, saved)
    assert run_batch(db, settings, [track_id])["error"] == 1
    assert outcomes(db)[str(path)] == (ERROR, "metadata: file not found")
    assert scan(db, [tmp_path / "album"]).missing == 1
    shutil.move(saved, path)

    report = scan(db, [tmp_path / "album"])

    assert (report.returned, report.to_process) == (1, [track_id])
    assert outcomes(db)[str(path)] == ("PENDING", None)
    assert run_batch(db, settings, [track_id])["complete"] == 1
    assert outcomes(db)[str(path)] == (COMPLETE, None)


def test_a_track_unreached_while_processed_is_queued_when_its_file_is_there_again(
    db: Database, settings: Settings, track: Callable[..., Path], tmp_path: Path
) -> None:
    """Its folder was away (a disk mounted late) while it was processed, and is back
    before any scan saw it missing: same path, size and mtime, yet not unchanged."""
    album = tmp_path / "album"
    path = track("flac", "album/01.flac")
    noise = album / "noise.flac"
    noise.write_bytes(b"not audio at all" * 64)
    scan(db, [album])
    with db.read() as session:
        ids = dict(session.execute(select(Track.path, Track.id)).all())
    good, bad = ids[str(path)], ids[str(noise)]
    assert run_batch(db, settings, [bad])["error"] == 1  # its content: stays ERROR
    away = tmp_path / "away"
    album.rename(away)
    assert run_batch(db, settings, [good])["error"] == 1
    away.rename(album)

    report = scan(db, [album])

    assert (report.returned, report.unchanged, report.to_process) == (1, 1, [good])
    assert run_batch(db, settings, [good])["complete"] == 1
    assert outcomes(db)[str(path)] == (COMPLETE, None)
    assert outcomes(db)[str(noise)][0] == ERROR
