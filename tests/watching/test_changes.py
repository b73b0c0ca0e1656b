"""A watched library folder follows what happens on disk by itself: albums added,
moved and renamed, files saved, deleted, or written slowly. Each scenario runs with
MUS_WATCH=events and MUS_WATCH=polling, with real workers doing the processing."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mus_desktop.processing.hashing import content_hash
from tests.watching.conftest import COMPLETE, Following, describe, tmpfs, under
from tools.audiogen import Manifest, Tags, make_library, make_track

pytestmark = pytest.mark.slow

Follow = Callable[..., Following]


def copied(album: Manifest, destination: Path) -> dict[str, str]:
    """Copy a generated library under `destination`, as a file manager would;
    returns {new path: title} of its tracks."""
    shutil.copytree(album.root, destination)
    return {
        str(destination / Path(entry.path).relative_to(album.root)): entry.tags.title
        for entry in album.entries
        if entry.tags is not None
    }


def ids(found: dict, folder: Path) -> dict[str, int]:
    """{path relative to `folder`: track id} for the tracks under it."""
    return {os.path.relpath(path, folder): row.id for path, row in under(found, folder).items()}


def test_an_album_added_to_a_library_folder_ends_complete(follow: Follow, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    following = follow([music])
    album = make_library(tmp_path / "staging", albums=1, tracks_per_album=3, seed=1)

    titles = copied(album, music / "Added")  # no command run: the watcher finds it

    found = following.wait_complete(list(titles), "the added album to be processed")
    assert {path: found[path].title for path in titles} == titles
    assert len(found) == 3
    assert sum(report.new for report in following.reports) == 3


def test_an_album_moved_between_library_folders_keeps_its_ids(
    follow: Follow, tmp_path: Path
) -> None:
    one = make_library(tmp_path / "One", albums=1, tracks_per_album=3, formats=("mp3",)).root
    two = make_library(tmp_path / "Two", albums=1, tracks_per_album=2, formats=("ogg",)).root
    following = follow([one, two])
    before = following.wait_all_complete(5)
    (album,) = [path for path in one.iterdir() if path.is_dir()]  # One/<album artist>
    moved_to = two / "Moved In"

    os.rename(album, moved_to)

    after = following.wait_rows(
        lambda found: len(under(found, moved_to)) == 3 and not under(found, one),
        "the album to be found in its new library folder",
    )
    assert ids(after, moved_to) == ids(before, album), describe(after)
    assert len(after) == 5, describe(after)  # no duplicate rows
    assert all(row.status == COMPLETE and not row.missing for row in after.values())
    assert sum(report.moved for report in following.reports) == 3
    time.sleep(1.5)  # what the workers might still do with a move taken for a new file
    assert following.rows() == after


def test_a_renamed_folder_keeps_every_track_in_it(follow: Follow, tmp_path: Path) -> None:
    music = tmp_path / "Music"
    make_library(music / "Collection", albums=2, tracks_per_album=2, formats=("flac", "m4a"))
    following = follow([music])
    before = following.wait_all_complete(4)
    renamed = music / "Collection (old)"

    os.rename(music / "Collection", renamed)

    after = following.wait_rows(
        lambda found: len(under(found, renamed)) == 4, "the tracks to be found renamed"
    )
    assert ids(after, renamed) == ids(before, music / "Collection"), describe(after)
    assert len(after) == 4
    assert all(row.status == COMPLETE and not row.missing for row in after.values())
    assert sum(report.moved for report in following.reports) == 4
    assert sum(report.new for report in following.reports) == 4  # the catch-up scan's only


def test_a_file_saved_by_rename_keeps_its_id_and_is_processed_again(
    follow: Follow, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=1, tracks_per_album=3, formats=("mp3",))
    following = follow([library.root])
    before = following.wait_complete([e.path for e in library.entries], "the first processing")
    saved = library.entries[1]
    assert saved.tags is not None
    retagged = Tags(**{**saved.tags.__dict__, "title": "Saved By An Editor"})
    temporary = Path(saved.path + ".tmp")

    make_track(temporary, "mp3", retagged, seconds=1.5)  # an editor writes next to it
    os.replace(temporary, saved.path)  # and renames over the original

    after = following.wait_rows(
        lambda found: (
            found[saved.path].title == "Saved By An Editor" and found[saved.path].status == COMPLETE
        ),
        "the saved file to be processed again",
    )
    assert after[saved.path].id == before[saved.path].id
    assert after[saved.path].content_hash == content_hash(Path(saved.path))
    assert after[saved.path].content_hash != before[saved.path].content_hash
    assert len(after) == 3
    others = [e.path for e in library.entries if e.path != saved.path]
    assert {p: after[p] for p in others} == {p: before[p] for p in others}


def test_a_deleted_file_is_missing_and_the_others_are_untouched(
    follow: Follow, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "Music", albums=2, tracks_per_album=2, formats=("wav",))
    following = follow([library.root])
    paths = [entry.path for entry in library.entries]
    before = following.wait_complete(paths, "the first processing")
    deleted = paths[2]

    os.remove(deleted)

    after = following.wait_rows(
        lambda found: found[deleted].missing, "the deleted file's track to be missing"
    )
    assert after[deleted].id == before[deleted].id  # missing, never deleted
    assert {p: after[p] for p in paths if p != deleted} == {
        p: before[p] for p in paths if p != deleted
    }


def test_a_file_written_in_slow_chunks_ends_complete_with_its_final_content(
    follow: Follow, tmp_path: Path
) -> None:
    music = tmp_path / "Music"
    music.mkdir()
    following = follow([music])
    tags = Tags("Written Slowly", "Artist", "Album", "Artist", 1, 1, 1, 2024, "Test")
    data = make_track(tmp_path / "staging.flac", "flac", tags, seconds=3, pad_bytes=300_000)
    content = data.read_bytes()
    target = music / "Slow" / "01 - Written Slowly.flac"
    target.parent.mkdir()
    size = -(-len(content) // 6)

    with open(target, "wb") as out:  # a download, or a copy from a slow share
        for start in range(0, len(content), size):
            out.write(content[start : start + size])
            out.flush()
            time.sleep(0.4)

    found = following.wait_rows(
        lambda found: (
            str(target) in found
            and found[str(target)].status == COMPLETE
            and found[str(target)].content_hash == content_hash(data)
        ),
        "the slowly written file to be processed whole",
    )
    assert found[str(target)].title == "Written Slowly"
    assert len(found) == 1


def test_an_album_moved_across_file_systems_keeps_its_ids(follow: Follow, tmp_path: Path) -> None:
    """From a library folder on another file system (a USB drive, here a tmpfs) to one
    on the disk: a copy and a delete, so no inode follows it; its content does
    (identity rule 4), and once processed it is the same tracks, not new ones."""
    album = make_library(tmp_path / "album", albums=1, tracks_per_album=3, formats=("flac",))
    staying = make_library(tmp_path / "staying", albums=1, tracks_per_album=1, seed=7)
    drive = tmp_path / "Drive"
    disk = tmp_path / "Disk"
    disk.mkdir()
    with tmpfs(drive):
        shutil.copytree(album.root, drive / "Album")
        # not emptied by the move: an empty root that held tracks counts as unmounted
        shutil.copytree(staying.root, drive / "Staying")
        following = follow([drive, disk])
        before = following.wait_all_complete(4)

        shutil.move(drive / "Album", disk / "Album")  # what a file manager does across disks

        after = following.wait_rows(
            lambda found: (
                len(under(found, disk / "Album")) == 3
                and all(row.status == COMPLETE for row in under(found, disk / "Album").values())
                and all(row.missing for row in under(found, drive / "Album").values())
            ),
            "the moved album to be processed and the original seen gone",
        )
        following.watcher.stop()  # before the tmpfs goes
    assert ids(after, disk / "Album") == ids(before, drive / "Album"), describe(after)
    assert len(after) == 4, describe(after)


def test_albums_moved_across_file_systems_one_by_one_keep_their_ids(
    follow: Follow, tmp_path: Path
) -> None:
    """`mv` or a file manager moving an artist's folder to another disk copies it all,
    album by album (seconds each), and deletes the originals only at the end: the
    first albums are found, and processed, while their originals are still there."""
    collection = make_library(tmp_path / "collection", albums=3, tracks_per_album=2, seed=11)
    staying = make_library(tmp_path / "staying", albums=1, tracks_per_album=1, seed=7)
    drive = tmp_path / "Drive"
    disk = tmp_path / "Disk"
    disk.mkdir()
    with tmpfs(drive):
        shutil.copytree(collection.root, drive / "Moving")
        shutil.copytree(staying.root, drive / "Staying")
        following = follow([drive, disk])
        before = following.wait_all_complete(7)
        albums = sorted(path for path in (drive / "Moving").glob("*/*") if path.is_dir())
        assert len(albums) == 3

        for album in albums:  # the copy, an album at a time
            shutil.copytree(album, disk / "Moving" / album.relative_to(drive / "Moving"))
            time.sleep(2.5)
        shutil.rmtree(drive / "Moving")  # then the originals go

        after = following.wait_rows(
            lambda found: (
                len(under(found, disk / "Moving")) == 6
                and all(row.status == COMPLETE for row in under(found, disk / "Moving").values())
                and all(row.missing for row in under(found, drive / "Moving").values())
            ),
            "the moved albums to be processed and the originals gone",
        )
        following.watcher.stop()  # before the tmpfs goes
    assert ids(after, disk / "Moving") == ids(before, drive / "Moving"), describe(after)
    assert len(after) == 7, describe(after)
