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


def is_network_or_virtual_folder(folder: str) -> bool:
    return is_network_or_virtual(file_system_of(folder))
