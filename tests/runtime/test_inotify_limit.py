"""The kernel's inotify watch limit, reached for real: a folder that does not fit is polled,
and says why with the sysctl that raises the limit.

The watcher runs in a child that entered a user namespace of its own, where
/proc/sys/user/max_inotify_watches is lowered for that namespace only (its watches also
count against the parent's; the system-wide fs.inotify.max_user_watches is never written).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mus_desktop.config import Settings
from mus_desktop.library.engine import open_database
from mus_desktop.library.folders import add_folders, list_folders
from tests.runtime.conftest import REPO_ROOT
from tools.audiogen import make_library

LIMIT = 40

CHILD = """
import ctypes, json, os, sys, time
from pathlib import Path

uid, gid = os.getuid(), os.getgid()
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
    sys.exit(f"unshare: {os.strerror(ctypes.get_errno())}")
Path("/proc/self/setgroups").write_text("deny")
Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
Path("/proc/sys/user/max_inotify_watches").write_text(sys.argv[1])

from mus_desktop.config import load_settings
from mus_desktop.library.engine import open_database
from mus_desktop.watching.watcher import FolderWatcher

settings = load_settings()
db = open_database(settings.db_path)
def folders(states):
    print(json.dumps([[s.path, s.mode, s.error] for s in states]), flush=True)
watcher = FolderWatcher(db, settings, lambda report: None, folders)
watcher.start()
for line in sys.stdin:  # one line: make the new folders now; end of input: stop
    for index in range(int(line)):
        album = Path(sys.argv[2]) / f"New {index}"
        album.mkdir()
        (album / "track.mp3").write_bytes(Path(sys.argv[3]).read_bytes())
print("made", flush=True)
time.sleep(6)
watcher.stop()
"""


def _unshare_allowed() -> bool:
    probe = subprocess.run(
        ["unshare", "--user", "true"], capture_output=True, timeout=30, check=False
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")
def test_folders_past_the_kernel_watch_limit_are_polled_and_say_why(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _unshare_allowed():
        pytest.skip("this kernel does not allow a user namespace here")
    big = make_library(tmp_path / "Big", albums=30, tracks_per_album=1, formats=("mp3",))
    small = make_library(tmp_path / "Small", albums=1, tracks_per_album=1, formats=("mp3",))
    db = open_database(settings.db_path)
    add_folders(db, [small.root, big.root])
    monkeypatch.setenv("MUS_WATCH", "events")
    monkeypatch.setenv("MUS_POLL_SECONDS", "1")
    sample = small.entries[0].path
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(LIMIT), str(small.root), str(sample)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    first = json.loads(child.stdout.readline())  # after the start: one fits, one does not
    modes = {path: (mode, error) for path, mode, error in first}
    assert modes[str(small.root)] == ("events", None)
    big_mode, big_error = modes[str(big.root)]
    assert big_mode == "polling"
    assert "inotify watch limit" in big_error
    assert "sysctl fs.inotify.max_user_watches=" in big_error

    # More new folders in the small one than watches are left.
    out, err = child.communicate(input=f"{LIMIT}\n", timeout=120)
    assert child.returncode == 0, err
    later = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    assert later, out + err
    final = {path: (mode, error) for path, mode, error in later[-1]}
    assert final[str(small.root)][0] == "polling", out + err
    assert "inotify watch limit" in (final[str(small.root)][1] or "")

    counts = {folder.path: folder for folder in list_folders(db)}
    assert counts[str(small.root)].tracks == 1 + LIMIT  # every new track found, by polling
    assert counts[str(big.root)].tracks == 30
    db.dispose()
