"""Which library folders are polled by default: those on network and virtual file
systems, read from this machine's real mount table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mus_desktop.library.models import WatchMode
from mus_desktop.library.mounts import file_system_of, is_network_or_virtual
from mus_desktop.watching.watcher import planned_mode


@pytest.mark.parametrize(
    ("fstype", "polled"),
    [
        ("nfs4", True),
        ("cifs", True),
        ("smb3", True),
        ("fuse.sshfs", True),
        ("fuse.rclone", True),
        ("9p", True),
        ("virtiofs", True),
        ("ext4", False),
        ("btrfs", False),
        ("tmpfs", False),
        (None, False),
    ],
)
def test_network_and_virtual_file_systems_are_told_apart(fstype: str | None, polled: bool):
    assert is_network_or_virtual(fstype) is polled


def test_the_file_system_of_a_folder_comes_from_the_mount_table(tmp_path: Path):
    assert file_system_of("/proc/self") == "proc"
    assert file_system_of("/dev/shm") == "tmpfs"
    assert file_system_of(str(tmp_path)) not in (None, "proc")


def test_mus_watch_overrides_the_mode_for_every_folder(tmp_path: Path):
    assert planned_mode(str(tmp_path), "auto") == (WatchMode.EVENTS.value, None)
    assert planned_mode(str(tmp_path), "events") == (WatchMode.EVENTS.value, None)
    mode, why = planned_mode(str(tmp_path), "polling")
    assert (mode, why) == (WatchMode.POLLING.value, "MUS_WATCH=polling")
    mode, why = planned_mode(str(tmp_path), "off")
    assert mode == "off" and why is not None and "MUS_RESCAN_HOURS" in why
