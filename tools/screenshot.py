"""Save a screenshot of the main window over a mixed library: docs/screenshot.png.

The library is built in a temporary folder straight into the database (complete
tracks with covers, some pending and in progress, errors, a missing file and a
pair of duplicates); its private broker runs with no workers, so the picture
stays as built.

    python -m tools.screenshot [OUTPUT.png]
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tools.audiogen import make_cover

ALBUMS = [
    ("Aurora Lane", "Northern Hours", 2019, "Ambient"),
    ("The Copper Kites", "Paper Harbour", 2021, "Indie"),
    ("Mireille Ostrova", "Nocturnes for Glass", 2016, "Classical"),
    ("Delta Static", "Signal / Noise", 2023, "Electronic"),
]
TITLES = [
    "First Light",
    "Salt and Cedar",
    "Long Way North",
    "Quiet Engines",
    "Lanterns",
    "The Low Tide",
    "Afterglow",
]
ERRORS = {
    (1, 4): "metadata: not an audio file (can't sync to MPEG frame)",
    (3, 2): "art: embedded image is corrupt (cannot identify image file)",
}


def build_library(root: Path) -> int:
    """Fill a library under `root`; returns the id of the track to select (an error)."""
    from mus_desktop.config import load_settings
    from mus_desktop.library.engine import open_database
    from mus_desktop.library.models import ProcessingStatus, Track
    from mus_desktop.processing.artwork import EMBEDDED, ArtworkImage, make_thumbnail

    settings = load_settings()
    db = open_database(settings.db_path)
    selected = 0
    with db.write() as session:
        for a, (artist, album, year, genre) in enumerate(ALBUMS):
            image = ArtworkImage(make_cover(a + 1), EMBEDDED, "embedded APIC")
            cover = make_thumbnail(image, settings.thumbnail_dir)
            fmt = ("FLAC", "MP3", "OGG", "FLAC")[a]
            for t, title in enumerate(TITLES, start=1):
                status = ProcessingStatus.COMPLETE
                if a == 3 and t >= 4:
                    status = ProcessingStatus.PENDING if t >= 6 else ProcessingStatus.METADATA_DONE
                error = ERRORS.get((a, t))
                path = f"{root}/Music/{artist}/{album}/{t:02d} {title}.{fmt.lower()}"
                metadata_failed = error is not None and error.startswith("metadata")
                if metadata_failed or status == ProcessingStatus.PENDING:
                    track = Track(
                        path=path, processing_status=ProcessingStatus.ERROR if error else status
                    )
                    track.last_error_message = error
                    track.failed_stage = error.split(":")[0] if error else None
                else:
                    track = Track(
                        path=path,
                        processing_status=ProcessingStatus.ERROR if error else status,
                        last_error_message=error,
                        failed_stage="art" if error else None,
                        title=title,
                        artist=artist,
                        album=album,
                        album_artist=artist,
                        track_number=t,
                        disc_number=1,
                        year=year,
                        genre=genre,
                        duration=150 + 37 * t + 11 * a,
                        bitrate=900_000 if fmt == "FLAC" else 256_000,
                        sample_rate=44100,
                        channels=2,
                        format=fmt,
                        size=(24 if fmt == "FLAC" else 7) * 1024 * 1024 + t * 4099,
                        device=2049,
                        inode=131072 + a * 100 + t,
                        content_hash=f"{a:02x}{t:02x}" + "9f3c1a7be04d" * 5,
                        audio_hash=f"{a:02x}{t:02x}" + "5d2e8b41c07a" * 5,
                        artwork_hash=cover if status == ProcessingStatus.COMPLETE else None,
                        artwork_source="embedded",
                    )
                session.add(track)
                session.flush()
                if (a, t) == (0, 3):
                    original_id = track.id
                if (a, t) == (1, 4):
                    selected = track.id
                if (a, t) == (2, 6):
                    track.missing_since = datetime(2025, 1, 14, 9, 12)
        original = session.get(Track, original_id)
        assert original is not None
        session.add(
            Track(
                path=f"{root}/Downloads/{original.title}.flac",
                processing_status=ProcessingStatus.COMPLETE,
                title=original.title,
                artist=original.artist,
                album=original.album,
                track_number=original.track_number,
                duration=original.duration,
                format="FLAC",
                content_hash=original.content_hash,
                audio_hash=original.audio_hash,
                artwork_hash=original.artwork_hash,
            )
        )
    db.dispose()
    return selected


def main(argv: list[str]) -> int:
    output = Path(argv[0] if argv else "docs/screenshot.png").absolute()
    with tempfile.TemporaryDirectory(prefix="mus-shot-") as temp:
        root = Path(temp)
        os.environ.update(
            MUS_DB=str(root / "library.db"),
            MUS_CACHE_DIR=str(root / "cache"),
            MUS_RUNTIME_DIR=str(root / "run"),
            MUS_LOG_DIR=str(root / "log"),
            MUS_WORKERS="0",
            XDG_CONFIG_HOME=str(root / "config"),
        )
        os.environ.pop("MUS_REDIS_URL", None)
        selected = build_library(Path("/home/sam"))

        from PySide6.QtCore import QCoreApplication, QElapsedTimer, Qt

        from mus_desktop.config import load_settings
        from mus_desktop.gui.app import application
        from mus_desktop.gui.table.model import Column
        from mus_desktop.gui.window import MainWindow
        from mus_desktop.library.engine import open_database

        app = application()
        settings = load_settings()
        db = open_database(settings.db_path)
        window = MainWindow(settings, db)
        window.resize(1280, 760)
        window.show()

        def wait_for(condition, timeout_ms: int = 20000) -> None:  # type: ignore[no-untyped-def]
            clock = QElapsedTimer()
            clock.start()
            while not condition() and clock.elapsed() < timeout_ms:
                QCoreApplication.processEvents()
                app.thread().msleep(20)

        wait_for(lambda: window.model.rowCount() > 0)
        window.table.sortByColumn(Column.ARTIST, Qt.SortOrder.AscendingOrder)
        window.sidebar.tree.expandAll()
        window.select_track(selected)
        wait_for(lambda: window.detail.error_box.isVisible())
        wait_for(lambda: "worker" in window.broker_label.text())
        wait_for(lambda: False, 300)
        output.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(output))
        window.shutdown()
        db.dispose()
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
