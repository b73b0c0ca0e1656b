"""Statuses as rows carry them: the plain strings read from SQLite find what the
window keys and compares by `ProcessingStatus` members."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from mus_desktop.gui.status import Kind, kind_for, kind_of, stage_word
from mus_desktop.gui.table.model import TrackTableModel
from mus_desktop.library.engine import Database
from mus_desktop.library.models import ProcessingStatus
from mus_desktop.library.rows import ChangeFollower
from tests.gui.helpers import add_track

KINDS = {
    ProcessingStatus.PENDING: Kind.PENDING,
    ProcessingStatus.METADATA_DONE: Kind.IN_PROGRESS,
    ProcessingStatus.ART_DONE: Kind.IN_PROGRESS,
    ProcessingStatus.COMPLETE: Kind.COMPLETE,
    ProcessingStatus.ERROR: Kind.ERROR,
}


def test_plain_status_strings_from_the_database_find_the_enum_keyed_entries(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    ids = {status: add_track(db, f"/music/{status.value}.flac", status.value) for status in KINDS}
    rows = {row.id: row for row in follower.load()}

    for status, track_id in ids.items():
        plain = rows[track_id].status
        assert type(plain) is str  # what SQLite hands back, not the enum
        assert plain == status and hash(plain) == hash(status)
        assert kind_of(rows[track_id]) is KINDS[status]
        assert stage_word(plain) == stage_word(status) != plain
        copy = "".join(list(plain))  # a str not interned: found by hash and ==, not identity
        assert copy is not status.value and stage_word(copy) == stage_word(status)

    model = TrackTableModel(QApplication.palette())
    model.set_rows(rows.values())
    errored = [row.id for row in model.errored_rows(0, model.rowCount() - 1)]
    assert errored == [ids[ProcessingStatus.ERROR]]
    assert model.ids_of_kind(Kind.ERROR) == {ids[ProcessingStatus.ERROR]}
    for status, kind in KINDS.items():  # plain strings find their kind's set too
        assert ids[status] in model.ids_of_kind(kind)


def test_an_unknown_status_shows_as_pending_in_its_own_words() -> None:
    assert kind_for("RETIRED", missing=False) is Kind.PENDING
    assert kind_for(ProcessingStatus.ERROR, missing=True) is Kind.MISSING
    assert stage_word("RETIRED") == "RETIRED"
