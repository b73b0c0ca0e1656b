"""The track table model over rows read from a real library database, loaded and
followed through `ChangeFollower` as the window's watcher does."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from mus_desktop.gui.status import Kind, StatusFilter
from mus_desktop.gui.table.model import Column, TrackTableModel, format_duration
from mus_desktop.library.engine import Database
from mus_desktop.library.models import Track
from mus_desktop.library.rows import ChangeFollower, TrackRow
from tests.gui.helpers import add_track, mark_missing, mixed_library, set_status, shown


def _model(follower: ChangeFollower) -> TrackTableModel:
    """A model filled by the first load, as the window's is."""
    model = TrackTableModel(QApplication.palette())
    model.set_rows(follower.load())
    return model


def _follow(model: TrackTableModel, follower: ChangeFollower) -> None:
    """One poll of the follower, handed to the model as the window hands it."""
    changes = follower.poll()
    assert changes.rows or changes.removed, "the poll saw no commit"
    model.apply_changes(changes.rows, changes.removed)


def _column(model: TrackTableModel, column: Column) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_model_passes_qt_model_tester(
    qapp, qtmodeltester, db: Database, follower: ChangeFollower
) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    qtmodeltester.check(model)

    model.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)

    set_status(db, ids["pending"], "COMPLETE")
    add_track(db, "/music/D/new.wav", "PENDING", title="Newcomer")
    _follow(model, follower)
    qtmodeltester.check(model)
    assert model.rowCount() == 6


def test_cells_show_what_a_user_reads(qapp, db: Database, follower: ChangeFollower) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    progress = model.position_of(ids["progress"])
    pending = model.position_of(ids["pending"])
    complete = model.position_of(ids["complete"])
    assert None not in (progress, pending, complete)

    assert model.index(progress, Column.STATUS).data() == "In progress"
    assert model.index(progress, Column.DURATION).data() == "1:02:05"
    assert model.index(progress, Column.NUMBER).data() == "2"
    # No title tag: the file name stands in.
    assert model.index(pending, Column.TITLE).data() == "zebra song.mp3"
    assert model.index(complete, Column.DURATION).data() == "3:05"
    assert (
        model.index(complete, Column.STATUS).data(Qt.ItemDataRole.DecorationRole).isNull() is False
    )
    assert format_duration(None) == ""


def test_error_row_tooltip_is_its_message(qapp, db: Database, follower: ChangeFollower) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    row = model.position_of(ids["error"])
    assert row is not None
    for column in Column:
        tip = model.index(row, column).data(Qt.ItemDataRole.ToolTipRole)
        assert tip == "metadata: not an audio file (can't sync to MPEG frame)"
    assert model.index(row, Column.STATUS).data() == (
        "Error: metadata: not an audio file (can't sync to MPEG frame)"
    )


def test_each_status_has_its_own_colour_in_light_and_dark(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    ids = mixed_library(db)
    mark_missing(db, ids["dup"], datetime(2024, 5, 1, 12, 0))
    light = QPalette(QApplication.palette())
    light.setColor(QPalette.ColorRole.Base, QColor("white"))
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Base, QColor("#202020"))
    rows = follower.load()
    for palette in (light, dark):
        model = TrackTableModel(palette)
        model.set_rows(rows)
        colours = {}
        for r in range(model.rowCount()):
            word = model.index(r, Column.STATUS).data().partition(":")[0]
            colours[word] = (
                model.index(r, Column.TITLE).data(Qt.ItemDataRole.BackgroundRole).color()
            )
        assert set(colours) == {"Complete", "Missing", "Pending", "In progress", "Error"}
        assert len({c.name() for c in colours.values()}) == 5
        base = palette.color(QPalette.ColorRole.Base)
        # Tinted, not replaced: each background stays on the base's side.
        for colour in colours.values():
            assert (colour.lightnessF() < 0.5) == (base.lightnessF() < 0.5)


def test_sorting_by_each_column(qapp, db: Database, follower: ChangeFollower) -> None:
    mixed_library(db)
    model = _model(follower)
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == [
        "broken.mp3",
        "Intro",
        "Intro",
        "Middle",
        "zebra song.mp3",
    ]
    model.sort(Column.DURATION, Qt.SortOrder.DescendingOrder)
    assert _column(model, Column.DURATION)[:3] == ["1:02:05", "3:05", "3:05"]
    model.sort(Column.STATUS, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.STATUS) == [
        "Pending",
        "In progress",
        "Complete",
        "Complete",
        "Error: metadata: not an audio file (can't sync to MPEG frame)",
    ]
    model.sort(Column.NUMBER, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.NUMBER) == ["1", "1", "2", "", ""]


def test_sort_keeps_the_selection_on_the_same_track(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    held = QPersistentModelIndex(model.index(model.position_of(ids["error"]), Column.TITLE))
    model.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    assert held.data() == "broken.mp3"
    assert held.row() == 4


def test_status_filters_and_search(qapp, db: Database, follower: ChangeFollower) -> None:
    ids = mixed_library(db)
    mark_missing(db, ids["dup"], datetime(2024, 5, 1, 12, 0))
    add_track(db, "/music/E/other.flac", "COMPLETE", title="Other", content_hash="h2")
    add_track(db, "/music/E/other copy.flac", "COMPLETE", title="Other", content_hash="h2")
    model = _model(follower)
    model.sort(Column.PATH, Qt.SortOrder.AscendingOrder)

    expectations = {
        StatusFilter.ALL: 7,
        StatusFilter.PENDING: 1,
        StatusFilter.IN_PROGRESS: 2,
        StatusFilter.COMPLETE: 3,
        StatusFilter.ERRORS: 1,
        StatusFilter.MISSING: 1,
        # The missing copy of "Intro" is no longer a duplicate.
        StatusFilter.DUPLICATES: 2,
    }
    for status_filter, count in expectations.items():
        model.set_filter(status_filter, "")
        assert model.rowCount() == count, status_filter

    model.set_filter(StatusFilter.ERRORS, "")
    assert _column(model, Column.PATH) == ["/music/C/broken.mp3"]
    model.set_filter(StatusFilter.ALL, "bJÖRK")
    assert _column(model, Column.TITLE) == ["Middle"]
    model.set_filter(StatusFilter.ALL, "music/e other")
    assert _column(model, Column.TITLE) == ["Other", "Other"]
    model.set_filter(StatusFilter.DUPLICATES, "copy")
    assert _column(model, Column.PATH) == ["/music/E/other copy.flac"]


def test_live_changes_follow_the_filter(qapp, db: Database, follower: ChangeFollower) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    model.set_filter(StatusFilter.ERRORS, "")
    assert model.rowCount() == 1

    set_status(db, ids["progress"], "ERROR", "art: embedded image is corrupt")
    set_status(db, ids["error"], "PENDING")
    _follow(model, follower)
    assert _column(model, Column.TITLE) == ["Middle"]
    assert model.counts().by_kind[Kind.ERROR] == 1
    assert model.counts().by_kind[Kind.PENDING] == 2

    model.set_filter(StatusFilter.ALL, "")
    add_track(db, "/music/A/aaa.flac", "PENDING", title="Aardvark")
    _follow(model, follower)
    assert _column(model, Column.TITLE)[0] == "Aardvark"
    assert model.counts().total == 6


def test_duplicate_count_follows_hash_changes(qapp, db: Database, follower: ChangeFollower) -> None:
    ids = mixed_library(db)
    model = _model(follower)
    model.set_filter(StatusFilter.DUPLICATES, "")
    assert model.counts().duplicates == 2
    assert model.rowCount() == 2

    with db.write() as session:
        session.get(Track, ids["pending"]).content_hash = "h1"
    _follow(model, follower)
    assert model.counts().duplicates == 3
    assert model.rowCount() == 3

    mark_missing(db, ids["dup"], datetime(2024, 1, 1))
    mark_missing(db, ids["pending"], datetime(2024, 1, 1))
    _follow(model, follower)
    assert model.counts().duplicates == 0
    assert model.rowCount() == 0


def test_artist_and_album_sort_like_a_music_manager(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """Artist: album artist (else artist), album, disc, track; Album: album, disc, track;
    numbers inside titles and names in natural order."""
    tracks = [  # (title, artist, album artist, album, disc, track), in file order
        ("Finale", "Guest", "Zed", "Album 10", 2, 1),
        ("Opening", "Zed", "Zed", "Album 10", 1, 1),
        ("Second", "Zed", "", "Album 2", 1, 2),
        ("First", "Zed", "", "Album 2", 1, 1),
        ("Coda", "Zed", "Zed", "Album 10", 1, 12),
        ("Middle", "Zed", "Zed", "Album 10", 1, 2),
        ("Solo", "adams", "", "Album 9", None, None),
    ]
    for index, (title, artist, album_artist, album, disc, number) in enumerate(tracks):
        add_track(
            db,
            f"/music/{index}.mp3",
            title=title,
            artist=artist,
            album_artist=album_artist or None,
            album=album,
            disc_number=disc,
            track_number=number,
        )
    model = _model(follower)

    model.sort(Column.ARTIST, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == [
        "Solo",  # adams: case ignored
        "First",  # Zed, Album 2 before Album 10
        "Second",
        "Opening",  # Zed, Album 10, disc 1: tracks 1, 2, 12
        "Middle",
        "Coda",
        "Finale",  # disc 2, though its artist is a guest: the album artist counts
    ]

    model.sort(Column.ALBUM, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == [
        "First", "Second", "Solo", "Opening", "Middle", "Coda", "Finale"
    ]  # fmt: skip


def test_titles_sort_in_natural_order(qapp, db: Database, follower: ChangeFollower) -> None:
    for index, title in enumerate(["Track 10", "track 2", "Track 1", "Interlude"]):
        add_track(db, f"/music/{index}.mp3", title=title)
    model = _model(follower)

    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)

    assert _column(model, Column.TITLE) == ["Interlude", "Track 1", "track 2", "Track 10"]


def test_duplicate_copies_sit_next_to_each_other(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """Under Duplicates, each content's copies are adjacent whatever the sort, each
    group in path order; a copy arriving later joins its group."""
    for path, content in [
        ("/music/A/Song.flac", "one"),
        ("/music/B/Other.flac", "two"),
        ("/music/C/Song.flac", "one"),
        ("/music/D/Other.flac", "two"),
        ("/music/E/Alone.flac", "three"),
    ]:
        add_track(db, path, title=path.rsplit("/", 1)[1][:-5], content_hash=content)
    model = _model(follower)
    model.set_filter(StatusFilter.DUPLICATES, "")
    assert _column(model, Column.PATH) == [
        "/music/A/Song.flac",
        "/music/C/Song.flac",
        "/music/B/Other.flac",
        "/music/D/Other.flac",
    ]
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.PATH) == [
        "/music/B/Other.flac",
        "/music/D/Other.flac",
        "/music/A/Song.flac",
        "/music/C/Song.flac",
    ]

    add_track(db, "/music/Z/Song copy.flac", title="Song", content_hash="one")
    _follow(model, follower)
    assert _column(model, Column.PATH)[2:] == [
        "/music/A/Song.flac",
        "/music/C/Song.flac",
        "/music/Z/Song copy.flac",
    ]


def test_a_kept_row_stays_through_live_changes_until_the_filter_changes(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """What the window does for a selected track retried under the Errors filter."""
    ids = mixed_library(db)
    model = _model(follower)
    model.set_filter(StatusFilter.ERRORS, "")
    kept_position = model.position_of(ids["error"])

    set_status(db, ids["error"], "PENDING")
    changes = follower.poll()
    model.apply_changes(changes.rows, changes.removed, keep=lambda p: p == kept_position)
    assert _column(model, Column.STATUS) == ["Pending"]

    set_status(db, ids["error"], "COMPLETE")
    changes = follower.poll()
    model.apply_changes(changes.rows, changes.removed, keep=lambda p: p == kept_position)
    assert _column(model, Column.STATUS) == ["Complete"]

    model.set_filter(StatusFilter.ERRORS, "complete")
    model.set_filter(StatusFilter.ERRORS, "")
    assert model.rowCount() == 0


def test_an_album_scope_lists_its_tracks_in_album_order(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    from mus_desktop.gui.browse.index import Scope

    for number, title in [(3, "Three"), (1, "One"), (10, "Ten"), (2, "Two")]:
        add_track(db, f"/music/x/{title}.flac", title=title, artist="Ann", album="Lp",
                  track_number=number)  # fmt: skip
    add_track(db, "/music/y/b.flac", title="Other", artist="Ann", album="Ep", track_number=1)
    add_track(db, "/music/z/c.flac", title="Else", artist="Bob", album="Lp", track_number=1)
    model = _model(follower)

    model.set_filter(StatusFilter.ALL, "", Scope("Ann", "Lp"))
    assert _column(model, Column.TITLE) == ["One", "Two", "Three", "Ten"]
    model.set_filter(StatusFilter.ALL, "", Scope("Ann"))
    assert _column(model, Column.TITLE) == ["Other", "One", "Two", "Three", "Ten"]
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == ["One", "Other", "Ten", "Three", "Two"]


def test_the_duplicates_view_says_which_kind_each_copy_is(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """Exact copies share the content hash; the same recording retagged shares only
    the audio hash; a format without an audio hash groups by content alone."""
    original = add_track(db, "/m/a/Song.flac", title="Song", content_hash="c1", audio_hash="a1")
    copy = add_track(db, "/m/b/Song.flac", title="Song", content_hash="c1", audio_hash="a1")
    retagged = add_track(db, "/m/c/Song.flac", title="Song!", content_hash="c2", audio_hash="a1")
    wma = add_track(db, "/m/d/x.wma", title="X", content_hash="c9", audio_hash="")
    wma_copy = add_track(db, "/m/e/x.wma", title="X", content_hash="c9", audio_hash="")
    add_track(db, "/m/f/alone.flac", title="Alone", content_hash="c3", audio_hash="a3")
    model = _model(follower)
    model.set_filter(StatusFilter.DUPLICATES, "")

    status = {track_id: shown(model, track_id, Column.STATUS) for track_id in
              (original, copy, retagged, wma, wma_copy)}  # fmt: skip
    assert status == {
        original: "Exact copy (+ retag)",
        copy: "Exact copy (+ retag)",
        retagged: "Same audio, other tags",
        wma: "Exact copy",
        wma_copy: "Exact copy",
    }
    assert model.rowCount() == 5
    assert model.counts().duplicates == 5
    positions = sorted(model.position_of(i) for i in (original, copy, retagged))
    assert positions == list(range(positions[0], positions[0] + 3))  # one group, together


def test_a_column_sorted_again_after_live_changes_puts_changed_rows_in_place(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """The sorted order is kept between sorts; rows retitled, added and deleted
    meanwhile are put back in place (few) or the column is sorted anew (many)."""
    ids = {n: add_track(db, f"/m/{n}.flac", title=f"Track {n}") for n in (1, 2, 10, 20)}
    model = _model(follower)
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == ["Track 1", "Track 2", "Track 10", "Track 20"]

    with db.write() as session:
        session.get(Track, ids[1]).title = "Track 15"
        session.delete(session.get(Track, ids[20]))
    add_track(db, "/m/3.flac", title="track 3")
    add_track(db, "/m/none.flac", title="")  # the file name: never blank
    _follow(model, follower)
    model.sort(Column.NUMBER, Qt.SortOrder.AscendingOrder)
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert _column(model, Column.TITLE) == [
        "none.flac",
        "Track 2",
        "track 3",
        "Track 10",
        "Track 15",
    ]
    model.sort(Column.TITLE, Qt.SortOrder.DescendingOrder)
    assert _column(model, Column.TITLE) == [
        "Track 15",
        "Track 10",
        "track 3",
        "Track 2",
        "none.flac",
    ]


def test_the_load_in_parts_fills_the_table_then_orders_it_and_finds_duplicates(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """Parts are shown as they come; once the last is in, the sort covers every row
    and a copy read in a later part than its original makes both duplicates."""
    add_track(db, "/m/b.flac", title="B", content_hash="same")
    for n in range(5):
        add_track(db, f"/m/{n}.flac", title=f"Song {n}", content_hash=f"other {n}")
    add_track(db, "/m/a.flac", title="A", content_hash="same")
    model = TrackTableModel(QApplication.palette())
    model.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    model.set_filter(StatusFilter.DUPLICATES, "")

    parts = list(follower.load_parts(part_rows=3))
    assert [len(part) for part in parts] == [3, 3, 1]
    for part in parts:
        model.add_loaded(part)
    model.finish_loading()

    assert _column(model, Column.TITLE) == ["A", "B"]
    assert model.counts().duplicates == 2
    model.set_filter(StatusFilter.ALL, "")
    assert _column(model, Column.TITLE)[:3] == ["A", "B", "Song 0"]


def test_orders_worked_out_at_load_sort_as_the_table_would(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    """The watcher works out the costly columns' orders while the rows show; the
    table then sorts by them at once, exactly as by its own, live changes included.
    Orders of other rows than the table holds are not taken."""
    from mus_desktop.gui.table.keys import orders_of
    from mus_desktop.gui.table.model import Prepared
    from mus_desktop.gui.table.search import folded_names
    from mus_desktop.gui.watcher import ORDERED_AT_LOAD

    def prepared(rows: list[TrackRow]) -> Prepared:
        orders = orders_of(rows, ORDERED_AT_LOAD, lambda: False)
        return Prepared(len(rows), orders, folded_names(rows))

    ids = mixed_library(db)
    add_track(db, "/music/D/10 Track 10.flac", title="Track 10", artist="ABBA", album="Gold")
    add_track(db, "/music/D/2 Track 2.flac", title="track 2", artist="abba", album="Gold")
    parts = list(follower.load_parts(part_rows=2))
    every = [row for part in parts for row in part]
    assert orders_of(every, ORDERED_AT_LOAD, lambda: True) == {}  # the window closing

    loaded = TrackTableModel(QApplication.palette())
    for part in parts:
        loaded.add_loaded(part)
    loaded.finish_loading(prepared(every))
    plain = _model(follower)
    with db.write() as session:
        track = session.get(Track, ids["pending"])
        assert track is not None
        track.processing_status, track.title = "COMPLETE", "Aaa first now"
    _follow(loaded, follower)
    plain.apply_changes(loaded.held_rows([ids["pending"]]), [])
    for column in Column:
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            loaded.sort(column, order)
            plain.sort(column, order)
            assert _column(loaded, Column.PATH) == _column(plain, Column.PATH), (column, order)
    for text in ("abba", "GOLD 10", "vespertine", "aaa", "björk middle", "zzz"):
        loaded.set_filter(StatusFilter.ALL, text)
        plain.set_filter(StatusFilter.ALL, text)
        assert _column(loaded, Column.PATH) == _column(plain, Column.PATH), text

    other = TrackTableModel(QApplication.palette())
    other.add_loaded(parts[0])
    other.finish_loading(prepared(every))
    other.sort(Column.TITLE, Qt.SortOrder.AscendingOrder)
    assert other.rowCount() == len(parts[0])


def test_search_words_each_found_in_title_artist_album_or_path_case_folded(
    qapp, db: Database, follower: ChangeFollower
) -> None:
    add_track(db, "/m/Aurora/Dawn/01 Intro.flac", title="Intro", artist="Aurora", album="Dawn")
    add_track(db, "/m/x/Straße.flac", title="Straße", artist="Kraftwerk", album="Autobahn")
    add_track(db, "/m/y/2012 Live/07.flac", title="Song", artist="Band", album="Live")
    model = _model(follower)

    def found(text: str) -> list[str]:
        model.set_filter(StatusFilter.ALL, text)
        return sorted(_column(model, Column.TITLE))

    assert found("aurora DAWN") == ["Intro"]  # artist and album, any case
    assert found("STRASSE") == ["Straße"]  # full case folding: ß is ss
    assert found("2012") == ["Song"]  # digits in the path
    assert found("07 live") == ["Song"]
    assert found("aurora 07") == []


def test_positions_of_ids_far_past_the_count_fall_back_to_a_dict() -> None:
    """Ids come from a file: one in the billions must not size an array."""
    from mus_desktop.gui.table.model import Positions

    sparse = Positions([7, 3, 2**40])
    assert [sparse.get(i) for i in (7, 3, 2**40, 5, -1)] == [0, 1, 2, None, None]
    dense = Positions([4, 1])
    assert [dense.get(i) for i in (4, 1, 0, 99, -3)] == [0, 1, None, None, None]
