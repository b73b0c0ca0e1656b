"""Text fit for a terminal or a log line: file names and messages, escaped and on one line.

A file name may hold any byte but `/` and NUL: a newline in it would forge extra
lines in `mus errors` (a fake track, a fake hint), an escape sequence would move
the cursor or retitle the terminal, and a bidirectional override would show the
name reversed. `printable` shows each such character as the escape Python's
`repr` gives it (`\\n`, `\\x1b`, `\\u202e`) and leaves everything else, accents
and CJK included, as it is.
"""

from __future__ import annotations

_CONTROLS = [*range(0x20), *range(0x7F, 0xA0)]  # C0, DEL, C1
_BIDI_CONTROLS = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {code: repr(chr(code))[1:-1] for code in (*_CONTROLS, *_BIDI_CONTROLS)}


ONE_LINE_LIMIT = 200


def one_line(text: object, limit: int = ONE_LINE_LIMIT) -> str:
    """`text` as a single line (any run of whitespace, newlines included, becomes one
    space) of at most `limit` characters: a library's or a server's own words, which
    may span lines or quote a stranger's bytes, inside one line of ours."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def printable(text: str) -> str:
    """`text` with control characters (C0, DEL, C1) and bidi controls escaped."""
    return text.translate(_ESCAPES)
