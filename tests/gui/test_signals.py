"""A canary for the Qt binding: signals and calls must not wear down the interpreter.

PySide6 6.12.0 loses a reference to `True` on every `emit()` and to `None` on
every void call such as `processEvents()`; CPython then aborts ("Fatal Python
error: bool_dealloc / none_dealloc") after enough of them. 6.11.3 does not.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal


class _Source(QObject):
    rows = Signal(object)


def test_emits_and_void_calls_keep_reference_counts_steady(qapp) -> None:
    source = _Source()
    received: list[object] = []
    source.rows.connect(received.append)
    payload = [1, None]
    before = (sys.getrefcount(True), sys.getrefcount(None))
    for _ in range(2000):
        source.rows.emit(payload)
        QCoreApplication.processEvents()
    after = (sys.getrefcount(True), sys.getrefcount(None))
    received.clear()
    assert after == before, f"this PySide6 build leaks references: {before} -> {after}"
