"""The browse sidebar, as a user sees and drives it: artists and albums with
their counts and marks, in natural order, scoping the table, and keeping its
selection while the library changes underneath (rows from a real library
followed by `ChangeFollower`, as the window's watcher does)."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QIcon
from sqlalchemy import update

from mus_desktop.gui.browse.index import ArtistIndex, Scope, Tally
from mus_desktop.gui.browse.sidebar import SCOPE_ROLE, LibrarySidebar
from mus_desktop.gui.status import Kind, status_icon
from mus_desktop.library.curation import forget_missing
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.rows import ChangeFollower, TrackRow
from tests.gui.helpers import add_track, mark_missing, set_status

GONE = datetime(2024, 3, 2, 10, 30)


def _row(
    track_id: int,
    artist: str,
    album: str,
    *,
    album_artist: str = "",
    status: str = "COMPLETE",
    missing: datetime | None = None,
) -> TrackRow:
    return TrackRow(
        track_id, status, f"Track {track_id}", artist, album, track_id, 180.0, "FLAC",
        f"/music/{track_id}.flac", "", missing, None, album_artist, 1,
    )  # fmt: skip


@pytest.fixture
def sidebar(qtbot) -> LibrarySidebar:
    widget = LibrarySidebar()
    qtbot.addWidget(widget)
    widget.resize(320, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def held() -> dict[int, TrackRow]:
    """The rows as the sidebar last got them, as the window's table holds them."""
    return {}


def _load(
    sidebar: LibrarySidebar, follower: ChangeFollower, held: dict[int, TrackRow]
) -> list[TrackRow]:
    rows = follower.load()
    sidebar.set_rows(rows)
    held.update((row.id, row) for row in rows)
    return rows


def _follow(sidebar: LibrarySidebar, follower: ChangeFollower, held: dict[int, TrackRow]) -> None:
    changes = follower.poll()
    assert changes.rows or changes.removed, "the poll saw no commit"
    ids = [*(row.id for row in changes.rows), *changes.removed]
    before = [held.pop(track_id) for track_id in ids if track_id in held]
    sidebar.apply_changes(changes.rows, before)
    held.update((row.id, row) for row in changes.rows)


def _texts(sidebar: LibrarySidebar, parent: QModelIndex | None = None) -> list[str]:
    model = sidebar.model
    parent = parent or QModelIndex()
    return [model.index(row, 0, parent).data() for row in range(model.rowCount(parent))]


def _item(sidebar: LibrarySidebar, scope: Scope | None) -> QModelIndex:
    index = sidebar.model.index_of(scope)
    assert index.isValid(), f"{scope} is not listed"
    return index


def _selected_text(sidebar: LibrarySidebar) -> str:
    (index,) = sidebar.tree.selectionModel().selectedIndexes()
    return index.data()


def _click(qtbot, sidebar: LibrarySidebar, index: QModelIndex) -> None:
    sidebar.tree.scrollTo(index)
    point: QPoint = sidebar.tree.visualRect(index).center()
    qtbot.mouseClick(sidebar.tree.viewport(), Qt.MouseButton.LeftButton, pos=point)


def _same_icon(shown: object, kind: Kind) -> bool:
    return isinstance(shown, QIcon) and shown.cacheKey() == status_icon(kind).cacheKey()


def test_model_passes_qt_model_tester(
    qtmodeltester,
    sidebar: LibrarySidebar,
    db: Database,
    follower: ChangeFollower,
    held: dict[int, TrackRow],
) -> None:
    first = add_track(db, "/music/a/1.flac", artist="Aurora", album="Dawn")
    add_track(db, "/music/b/1.flac", artist="Björk", album="Vespertine")
    _load(sidebar, follower, held)
    sidebar.tree.expandAll()
    qtmodeltester.check(sidebar.model)

    mark_missing(db, first, GONE)
    forget_missing(db, [first])
    add_track(db, "/music/c/1.flac", artist="Cocteau Twins", album="Heaven or Las Vegas")
    _follow(sidebar, follower, held)
    qtmodeltester.check(sidebar.model)


def test_artists_and_albums_in_natural_order_with_counts_unknown_last(
    sidebar: LibrarySidebar,
) -> None:
    rows = [
        _row(1, "Artist 10", "Live"),
        _row(2, "Artist 2", "Disc 10"),
        _row(3, "Artist 2", "Disc 2"),
        _row(4, "Artist 2", "Disc 2"),
        _row(5, "Artist 2", ""),
        _row(6, "", "Found Sounds"),
        _row(7, "björk", "Homogenic"),
        _row(8, "Björk", "Homogenic"),
        # Listed under the album artist, not the track's own artist.
        _row(9, "Artist 10 feat. Zed", "Live", album_artist="Artist 10"),
    ]
    sidebar.set_rows(rows)

    assert _texts(sidebar) == [
        "All tracks (9)",
        "Artist 2 (4)",
        "Artist 10 (2)",
        "Björk (1)",
        "björk (1)",
        "Unknown artist (1)",
    ]
    artist_2 = _item(sidebar, Scope("Artist 2"))
    assert _texts(sidebar, artist_2) == ["Disc 2 (2)", "Disc 10 (1)", "Unknown album (1)"]
    assert _texts(sidebar, _item(sidebar, Scope("Artist 10"))) == ["Live (2)"]


def test_marks_show_errored_and_missing_tracks_and_follow_live_changes(
    sidebar: LibrarySidebar, db: Database, follower: ChangeFollower, held: dict[int, TrackRow]
) -> None:
    broken = add_track(db, "/music/a/1.mp3", "ERROR", artist="Aurora", album="Dawn")
    gone = add_track(db, "/music/a/2.mp3", artist="Aurora", album="Dawn")
    add_track(db, "/music/a/3.mp3", "ERROR", artist="Aurora", album="Dusk")
    add_track(db, "/music/a/4.mp3", artist="Aurora", album="Noon")
    fine = add_track(db, "/music/b/1.mp3", artist="Björk", album="Vespertine")
    mark_missing(db, gone, GONE)
    _load(sidebar, follower, held)
    role = Qt.ItemDataRole

    aurora = _item(sidebar, Scope("Aurora"))
    assert _same_icon(aurora.data(role.DecorationRole), Kind.ERROR)
    assert aurora.data(role.ToolTipRole) == "2 errors · 1 missing"
    dawn = _item(sidebar, Scope("Aurora", "Dawn"))
    assert dawn.data(role.ToolTipRole) == "1 error · 1 missing"
    noon = _item(sidebar, Scope("Aurora", "Noon"))
    assert noon.data(role.DecorationRole) is None
    assert noon.data(role.ToolTipRole) is None
    bjork = _item(sidebar, Scope("Björk"))
    assert bjork.data(role.DecorationRole) is None

    # The errored track goes missing too: it counts as missing only.
    mark_missing(db, broken, GONE)
    mark_missing(db, fine, GONE)
    _follow(sidebar, follower, held)
    dawn = _item(sidebar, Scope("Aurora", "Dawn"))
    assert _same_icon(dawn.data(role.DecorationRole), Kind.MISSING)
    assert dawn.data(role.ToolTipRole) == "2 missing"
    assert _item(sidebar, Scope("Aurora")).data(role.ToolTipRole) == "1 error · 2 missing"
    bjork = _item(sidebar, Scope("Björk"))
    assert _same_icon(bjork.data(role.DecorationRole), Kind.MISSING)
    assert bjork.data(role.AccessibleDescriptionRole) == "1 missing"

    set_status(db, broken, "COMPLETE")
    _follow(sidebar, follower, held)
    assert _item(sidebar, Scope("Aurora", "Dawn")).data(role.ToolTipRole) == "2 missing"


def test_clicking_an_album_scopes_exactly_its_tracks(
    qtbot,
    sidebar: LibrarySidebar,
    db: Database,
    follower: ChangeFollower,
    held: dict[int, TrackRow],
) -> None:
    dawn = {
        add_track(db, "/music/a/1.flac", artist="Aurora", album="Dawn"),
        add_track(db, "/music/a/2.flac", artist="Guest", album_artist="Aurora", album="Dawn"),
    }
    add_track(db, "/music/a/3.flac", artist="Aurora", album="Dusk")
    add_track(db, "/music/b/1.flac", artist="Other", album="Dawn")
    add_track(db, "/music/c/1.flac", artist="Aurora")  # no album
    rows = _load(sidebar, follower, held)
    assert sidebar.scope() is None
    sidebar.tree.expand(_item(sidebar, Scope("Aurora")))

    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        _click(qtbot, sidebar, _item(sidebar, Scope("Aurora", "Dawn")))

    scope = Scope("Aurora", "Dawn")
    assert emitted.args == [scope]
    assert sidebar.scope() == scope
    assert {row.id for row in rows if scope.matches(row)} == dawn
    unknown = Scope("Aurora", "")
    assert [row.path for row in rows if unknown.matches(row)] == ["/music/c/1.flac"]
    aurora = Scope("Aurora")
    assert len([row for row in rows if aurora.matches(row)]) == 4

    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        _click(qtbot, sidebar, _item(sidebar, None))
    assert emitted.args == [None]


def test_keyboard_arrows_and_type_ahead(qtbot, sidebar: LibrarySidebar) -> None:
    sidebar.set_rows(
        [_row(1, "Aurora", "Dawn"), _row(2, "Björk", "Homogenic"), _row(3, "Björk", "Post")]
    )
    assert sidebar.tree.accessibleName() == "Artists and albums"
    assert sidebar.filter.accessibleName() == "Filter artists"
    sidebar.setFocus()
    tree = sidebar.tree

    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert emitted.args == [Scope("Aurora")]

    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        qtbot.keyClicks(tree, "bj")
    assert emitted.args == [Scope("Björk")]

    qtbot.keyClick(tree, Qt.Key.Key_Right)  # expands
    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert emitted.args == [Scope("Björk", "Homogenic")]
    assert _selected_text(sidebar) == "Homogenic (1)"


def test_selection_stays_on_its_album_across_live_updates(
    qtbot,
    sidebar: LibrarySidebar,
    db: Database,
    follower: ChangeFollower,
    held: dict[int, TrackRow],
) -> None:
    add_track(db, "/music/m/1.flac", artist="Mogwai", album="Young Team")
    add_track(db, "/music/m/2.flac", artist="Mogwai", album="Rock Action")
    _load(sidebar, follower, held)
    scope = Scope("Mogwai", "Young Team")
    sidebar.select_scope(scope)
    assert sidebar.scope() == scope

    # Artists and albums appear above it, its count changes.
    add_track(db, "/music/a/1.flac", artist="Aurora", album="Dawn")
    add_track(db, "/music/m/3.flac", artist="Mogwai", album="Come On Die Young")
    add_track(db, "/music/m/4.flac", artist="Mogwai", album="Young Team")
    with qtbot.assertNotEmitted(sidebar.scopeChanged):
        _follow(sidebar, follower, held)

    assert sidebar.scope() == scope
    assert _selected_text(sidebar) == "Young Team (2)"
    assert _texts(sidebar, _item(sidebar, Scope("Mogwai"))) == [
        "Come On Die Young (1)",
        "Rock Action (1)",
        "Young Team (2)",
    ]
    assert _texts(sidebar)[:3] == ["All tracks (5)", "Aurora (1)", "Mogwai (4)"]


def test_falls_back_to_all_when_the_selected_artist_vanishes(
    qtbot,
    sidebar: LibrarySidebar,
    db: Database,
    follower: ChangeFollower,
    held: dict[int, TrackRow],
) -> None:
    gone = add_track(db, "/music/s/1.flac", artist="Slowdive", album="Souvlaki")
    add_track(db, "/music/a/1.flac", artist="Aurora", album="Dawn")
    _load(sidebar, follower, held)
    sidebar.select_scope(Scope("Slowdive"))
    assert _selected_text(sidebar) == "Slowdive (1)"

    mark_missing(db, gone, GONE)
    forget_missing(db, [gone])
    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        _follow(sidebar, follower, held)

    assert emitted.args == [None]
    assert sidebar.scope() is None
    assert _selected_text(sidebar) == "All tracks (1)"
    assert _texts(sidebar) == ["All tracks (1)", "Aurora (1)"]


def test_retagged_album_vanishing_falls_back_to_all(
    qtbot,
    sidebar: LibrarySidebar,
    db: Database,
    follower: ChangeFollower,
    held: dict[int, TrackRow],
) -> None:
    track = add_track(db, "/music/a/1.flac", artist="Aurora", album="Dawn (Demo)")
    _load(sidebar, follower, held)
    sidebar.select_scope(Scope("Aurora", "Dawn (Demo)"))

    with db.write() as session:
        session.execute(update(Track).where(Track.id == track).values(album="Dawn"))
    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        _follow(sidebar, follower, held)

    assert emitted.args == [None]
    assert _texts(sidebar, _item(sidebar, Scope("Aurora"))) == ["Dawn (1)"]


def test_filter_lists_matching_artists_and_keeps_or_drops_the_selection(
    qtbot, sidebar: LibrarySidebar
) -> None:
    sidebar.set_rows(
        [_row(1, "Aurora", "Dawn"), _row(2, "Björk", "Post"), _row(3, "Bjørn", "Live")]
    )
    sidebar.select_scope(Scope("Björk"))

    qtbot.keyClicks(sidebar.filter, "BJ")
    assert _texts(sidebar) == ["All tracks (3)", "Björk (1)", "Bjørn (1)"]
    assert sidebar.scope() == Scope("Björk")

    with qtbot.waitSignal(sidebar.scopeChanged) as emitted:
        qtbot.keyClicks(sidebar.filter, "ø")
    assert emitted.args == [None]
    assert _texts(sidebar) == ["All tracks (3)", "Bjørn (1)"]

    # A new artist the filter passes shows up; one it does not stays hidden.
    sidebar.apply_changes([_row(4, "Bjørnstad", "Sea"), _row(5, "Cocteau Twins", "Treasure")], [])
    assert _texts(sidebar) == ["All tracks (5)", "Bjørn (1)", "Bjørnstad (1)"]

    sidebar.filter.clear()
    assert len(_texts(sidebar)) == 6


def test_select_scope_of_an_unlisted_artist_selects_all(sidebar: LibrarySidebar) -> None:
    sidebar.set_rows([_row(1, "Aurora", "Dawn")])
    sidebar.select_scope(Scope("Aurora", "Dawn"))
    sidebar.select_scope(Scope("Nobody"))
    assert sidebar.scope() is None
    assert _selected_text(sidebar) == "All tracks (1)"


def test_index_reports_the_albums_a_batch_changed() -> None:
    index = ArtistIndex()
    index.set_rows([_row(1, "Aurora", "Dawn"), _row(2, "Aurora", "Dusk")])
    # A status change that moves no count changes nothing.
    assert (
        index.apply_changes(
            [_row(1, "Aurora", "Dawn", status="PENDING")], [_row(1, "Aurora", "Dawn")]
        )
        == set()
    )
    changed = index.apply_changes(
        [_row(2, "Aurora", "Dawn"), _row(3, "", "")],
        [_row(2, "Aurora", "Dusk"), _row(1, "Aurora", "Dawn", status="PENDING")],
    )
    # Dawn lost track 1 and gained track 2: its count did not move.
    assert changed == {("Aurora", "Dusk"), ("", "")}
    assert index.album_tally("Aurora", "Dawn") == Tally(tracks=1)
    assert Scope("Aurora", "Dusk") not in index
    assert index.artist_tally("Aurora") == Tally(tracks=1)
    assert index.artists() == ["Aurora", ""]
    assert index.total.tracks == 2


def test_scope_role_names_each_item(sidebar: LibrarySidebar) -> None:
    sidebar.set_rows([_row(1, "Aurora", "Dawn")])
    assert _item(sidebar, None).data(SCOPE_ROLE) is None
    assert _item(sidebar, Scope("Aurora", "Dawn")).data(SCOPE_ROLE) == Scope("Aurora", "Dawn")


def test_a_batch_touching_many_artists_keeps_selection_and_expanded_artists(
    qtbot, sidebar: LibrarySidebar
) -> None:
    sidebar.set_rows([_row(1, "Mogwai", "Young Team"), _row(2, "Aurora", "Dawn")])
    sidebar.tree.expand(_item(sidebar, Scope("Aurora")))
    sidebar.select_scope(Scope("Mogwai", "Young Team"))

    newcomers = [_row(100 + n, f"Band {n}", "Demo") for n in range(800)]
    with qtbot.assertNotEmitted(sidebar.scopeChanged):
        sidebar.apply_changes([*newcomers, _row(3, "Mogwai", "Young Team")], [])

    assert _selected_text(sidebar) == "Young Team (2)"
    assert sidebar.tree.isExpanded(_item(sidebar, Scope("Aurora")))
    assert sidebar.tree.isExpanded(_item(sidebar, Scope("Mogwai")))
    texts = _texts(sidebar)
    assert texts[:4] == ["All tracks (803)", "Aurora (1)", "Band 0 (1)", "Band 1 (1)"]
    assert texts[12] == "Band 10 (1)"
    assert texts[-1] == "Mogwai (2)"
