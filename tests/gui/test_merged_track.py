"""A file moved to another disk is merged into its old track (identity rule 4,
library/identity.py). The merge deletes the row the rescan made for the file; the
window must drop that row, not show it pending for ever."""

from __future__ import annotations

import shutil
from pathlib import Path

from mus_desktop.config import Settings
from mus_desktop.gui.status import Kind
from mus_desktop.library.engine import Database
from mus_desktop.library.scanner import scan
from mus_desktop.processing.pipeline import run_batch
from tools.audiogen import make_library


def test_window_drops_the_row_a_merge_deletes(
    qtbot, window_factory, offline_settings: Settings, db: Database, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "music", albums=1, tracks_per_album=2)
    run_batch(db, offline_settings, scan(db, [library.root]).to_process)
    original = Path(library.entries[0].path)
    moved = original.with_name("Moved " + original.name)
    shutil.copy2(original, moved)  # a copy and a delete: a new inode, as across disks
    original.unlink()
    window = window_factory(offline_settings, db)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)

    report = scan(db, [library.root])
    assert (report.new, report.missing) == (1, 1)
    [new_id] = report.to_process
    qtbot.waitUntil(lambda: window.model.position_of(new_id) is not None)
    run_batch(db, offline_settings, [new_id])

    qtbot.waitUntil(lambda: window.model.position_of(new_id) is None)
    assert window.model.rowCount() == 2
    counts = window.model.counts()
    assert counts.total == 2
    assert counts.outstanding == 0  # nothing left for the progress bar to wait for
    assert counts.by_kind.get(Kind.MISSING, 0) == 0
