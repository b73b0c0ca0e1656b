"""How the window words the watching of the library folders: the status bar's
summary and tooltip, a folder's watch mode, and what a scan found."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mus_desktop.gui.words import plural
from mus_desktop.library.models import WatchMode
from mus_desktop.library.paths import display_path
from mus_desktop.library.scanner import ScanReport

if TYPE_CHECKING:
    from mus_desktop.watching.watcher import FolderState

NO_FOLDERS = "no library folders: File ▸ Library Folders… adds one"
STARTING = "starting to watch…"

MODE_WORDS = {
    WatchMode.EVENTS.value: "Watched",
    WatchMode.POLLING.value: "Polled",
    WatchMode.OFFLINE.value: "Offline",
    "off": "Not watched",
}


def mode_word(mode: str | None) -> str:
    """A folder's watch mode in a word; None: the watcher has not looked at it yet."""
    if mode is None:
        return "Not yet watched"
    return MODE_WORDS.get(mode, mode)


def watch_summary(states: Sequence[FolderState] | None, setting: str) -> str:
    """'watching 3 folders · 1 polled · 1 offline', for the status bar.

    `states` is None until the watcher first reports; `setting` is MUS_WATCH.
    """
    if states is None:
        return STARTING
    if not states:
        return NO_FOLDERS
    if setting == "off":
        return "not watching: MUS_WATCH=off"
    parts = [f"watching {plural(len(states), 'folder')}"]
    for mode, word in (
        (WatchMode.POLLING.value, "polled"),
        (WatchMode.OFFLINE.value, "offline"),
        ("off", "not watched"),
    ):
        count = sum(1 for state in states if state.mode == mode)
        if count:
            parts.append(f"{count:,} {word}")
    return " · ".join(parts)


def watch_details(states: Sequence[FolderState] | None) -> str:
    """Each library folder with its mode and why it is not watched by events, as
    rich text for a tooltip (it wraps long reasons such as the sysctl to run)."""
    if not states:
        return ""
    entries = []
    for state in sorted(states, key=lambda state: state.path):
        line = f"<b>{html.escape(display_path(state.path))}</b><br>{mode_word(state.mode)}"
        if state.error:
            line += f": {html.escape(state.error)}"
        entries.append(f"<p>{line}</p>")
    return "".join(entries)


def scan_message(report: ScanReport) -> str:
    """The status bar's note on a scan of the library folders, or '' when it found
    nothing to say: its changes, then its first problem."""
    parts = []
    changes = report.changes()
    if changes:
        parts.append(changes)
    if report.problems:
        more = len(report.problems) - 1
        parts.append(report.problems[0] + (f" (and {more:,} more)" if more else ""))
    return f"Library folders: {'; '.join(parts)}" if parts else ""
