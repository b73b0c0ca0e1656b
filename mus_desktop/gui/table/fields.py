"""The track table's columns and their headers. No Qt here."""

from __future__ import annotations

from enum import IntEnum


class Column(IntEnum):
    STATUS = 0
    TITLE = 1
    ARTIST = 2
    ALBUM = 3
    NUMBER = 4
    DURATION = 5
    FORMAT = 6
    PATH = 7
    ERROR = 8


HEADERS = {
    Column.STATUS: "Status",
    Column.TITLE: "Title",
    Column.ARTIST: "Artist",
    Column.ALBUM: "Album",
    Column.NUMBER: "#",
    Column.DURATION: "Duration",
    Column.FORMAT: "Format",
    Column.PATH: "Path",
    Column.ERROR: "Error",
}
