"""Reaching a track's file, as against reading what it holds: the words for it.

An error about *reaching* a file (not found, permission denied, not a regular
file, outside the music folders) can pass by itself: the folder was renamed
while the track was processed, a disk was mounted late. One about its content
("not an audio file", "is corrupt") cannot. The stages build their messages
with these phrases (processing/errors.py); every kind built from one of them
is about access, and no other kind contains one, so `is_access_error` tells
the two apart from a stored `last_error_message`, and the identity rules
(identity.py) queue a track again when they find its file after such an
error. See docs/architecture.md, "State machine".
"""

from __future__ import annotations

import stat

NOT_FOUND = "not found"
PERMISSION_DENIED = "permission denied"
NOT_A_REGULAR_FILE = "not a regular file"
A_FOLDER = "a folder, not a file"
OUTSIDE_MUSIC_FOLDERS = "outside the music folders"
CANNOT_READ = "cannot read"
_ACCESS_PHRASES = (
    NOT_FOUND,
    PERMISSION_DENIED,
    NOT_A_REGULAR_FILE,
    A_FOLDER,
    OUTSIDE_MUSIC_FOLDERS,
    CANNOT_READ,
)

_FILE_TYPES = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def file_type(mode: int) -> str:
    """What a file that is not a regular file is, from its `st_mode`: "a FIFO"..."""
    return _FILE_TYPES.get(stat.S_IFMT(mode), "an unknown kind of file")


def is_access_error(message: str | None) -> bool:
    """Whether a stored `last_error_message` is about reaching the file (not found,
    permission denied, not a regular file, outside the music folders...) rather
    than about its content."""
    if not message:
        return False
    _stage, _colon, rest = message.partition(": ")
    kind = rest.split(" (", 1)[0]  # the detail is the library's words: not ours to match
    return any(phrase in kind for phrase in _ACCESS_PHRASES)
