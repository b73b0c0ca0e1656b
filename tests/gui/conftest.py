"""GUI tests run offscreen; each gets its own library (see tests/conftest.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
