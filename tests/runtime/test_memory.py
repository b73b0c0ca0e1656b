"""The workers' malloc tuning takes effect where glibc is the C library."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tuning_is_applied_on_glibc() -> None:
    # In a child process, so the test run's own allocator stays untouched.
    code = "from mus_desktop.runtime.memory import keep_freed_memory as k; print(k())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "True\n", result.stderr
