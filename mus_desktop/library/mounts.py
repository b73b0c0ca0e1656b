"""Which file system a folder is on, read from the mount table.

Network and virtual file systems do not report changes made by other machines
(or by the host of a virtual machine) through inotify, so a library folder on
one is polled unless MUS_WATCH says otherwise; in a shared library, one is left
to the host that has it on a local disk (watching/watcher.py, processing/routing.py).
"""

from __future__ import annotations

import os

import psutil

from mus_desktop.library.paths import is_within

NETWORK_OR_VIRTUAL = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "fuse", "fuseblk",
        "afs", "ceph", "glusterfs", "lustre", "gpfs", "davfs", "ncpfs", "sshfs", "vboxsf",
    }
)  # fmt: skip


def file_system_of(folder: str) -> str | None:
    """The type of the file system `folder` is on ("ext4", "nfs4", "fuse.sshfs"),
    from the mount whose mount point is the longest prefix of its real path."""
    real = os.path.realpath(folder)
    try:
        mounts = psutil.disk_partitions(all=True)
    except OSError:
        return None
    best = max(
        (mount for mount in mounts if is_within(real, mount.mountpoint)),
        key=lambda mount: len(mount.mountpoint),
        default=None,
    )
    return best.fstype if best else None


def is_network_or_virtual(fstype: str | None) -> bool:
    if not fstype:
        return False
    return fstype in NETWORK_OR_VIRTUAL or fstype.split(".")[0] in NETWORK_OR_VIRTUAL


def left_to_other_hosts(folder: str) -> str | None:
    """Why this host leaves a shared library's folder to another, or None: the
    folder is on a network file system here, so the host that has it on a local
    disk follows it (watches, scans and processes it), with events and at disk
    speed. Two hosts scanning one folder would also rewrite each other's device
    and inode numbers (and, where a network file system rounds them, mtimes) at
    every scan. MUS_FOLLOW_REMOTE=1 overrides it (the callers ask)."""
    fstype = file_system_of(folder)
    if not is_network_or_virtual(fstype):
        return None
    return (
        f"on a {fstype} file system here: the host that has it on a local disk follows it "
        "(its `mus watch`); MUS_FOLLOW_REMOTE=1 follows it from here too"
    )
