"""`mus` / `mus gui`: the application object, the library, the window."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mus_desktop import APP_NAME, APP_ORG
from mus_desktop.config import Settings
from mus_desktop.gui.status import app_icon
from mus_desktop.library.database_errors import is_unreachable
from mus_desktop.library.engine import Database, connect_later, open_database
from mus_desktop.runtime import forkserver


def application() -> QApplication:
    """The QApplication, named so that QSettings paths are stable."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_ORG)
    app.setApplicationDisplayName("mus")
    app.setDesktopFileName("mus")
    app.setWindowIcon(app_icon())
    return app


def open_error_box(settings: Settings, exc: BaseException) -> QMessageBox:
    """The dialog for a library that cannot be opened: where it is and the database's words.

    The file is left exactly as it is; nothing here overwrites or deletes it.
    """
    box = QMessageBox(
        QMessageBox.Icon.Critical,
        "mus: cannot open the library",
        f"The library database could not be opened:\n{settings.database_label}",
        QMessageBox.StandardButton.Close,
    )
    words = str(getattr(exc, "orig", None) or exc)
    box.setInformativeText(
        f"The database says: {words}\n\n"
        "The library has not been changed. If another program holds it, close that "
        "program; if it is damaged, restore it from a backup or point MUS_DB elsewhere; "
        "if it is on a server, check that the server is up and MUS_DB names it."
    )
    return box


def try_open(settings: Settings) -> Database | BaseException:
    """The library, or why it cannot be opened. A database server that does not
    answer is no reason: the window opens, says so, and reads the library once
    it answers (as it does for the broker)."""
    try:
        return open_database(settings.database)
    except Exception as exc:  # locked, read-only, corrupt: its words go in the dialog
        if settings.db_url is not None and is_unreachable(exc):
            return connect_later(settings.database)
        return exc


def _close_on_signals(window: QWidget) -> QTimer:
    """Ctrl+C, SIGTERM or SIGHUP (the terminal that started it closed) close the
    window, so the workers and the private broker are stopped as on a normal
    quit. Python runs a signal handler only when Python code runs; while Qt's
    loop waits in C, a timer gives it that chance."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: window.close())
    timer = QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def run_gui(settings: Settings) -> int:
    """Open the window; returns the exit status once it is closed."""
    if settings.workers > 0:
        forkserver.warm_up()  # imports the workers' modules while the window opens
    app = application()
    db = try_open(settings)
    if isinstance(db, BaseException):
        open_error_box(settings, db).exec()
        return 1
    from mus_desktop.gui.window import MainWindow

    window = MainWindow(settings, db)
    window.show()
    signal_timer = _close_on_signals(window)
    try:
        return app.exec()
    finally:
        signal_timer.stop()
        window.shutdown()
        db.dispose()
