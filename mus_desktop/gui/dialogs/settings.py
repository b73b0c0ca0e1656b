"""The Settings dialog: what a person tunes (local workers, music roots, watching),
kept in the settings file (mus_desktop/config.py).

A field the environment overrides (MUS_WORKERS, MUS_MUSIC_ROOTS, MUS_WATCH) is
shown with the environment's value, disabled, with a note naming the
variable; saving keeps whatever the file holds for it. Saving checks the
values first (a music root must be an existing folder) and says when they
take effect: every one of them is read when mus starts (a worker reads its
music roots when it starts, so workers started later, after a resume, already
follow the new ones).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mus_desktop.config import (
    WATCH_MODES,
    WORKERS_RANGE,
    ConfigError,
    FileSettings,
    Origin,
    Settings,
    Source,
    default_config_path,
    load_settings,
    read_settings_file,
    setting_origins,
    write_settings_file,
)
from mus_desktop.library.paths import display_path

TAKES_EFFECT = "Local workers, music roots and watching: from the next start of mus."


def _note(origin: Origin) -> str:
    if origin.source is Source.FILE:
        return "from the settings file"
    return origin.describe()


class SettingsDialog(QDialog):
    saved = Signal(str)
    """What was saved and when it takes effect, once the file is written."""

    def __init__(self, parent: QWidget | None = None, *, config_path: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._config_path = config_path
        self._file = FileSettings()
        self._origins: dict[str, Origin] = {}

        self.workers = QSpinBox()
        self.workers.setRange(*WORKERS_RANGE)
        self.workers.setToolTip("Workers this window starts on this computer (0: none)")
        self.workers_note = QLabel()

        self.roots = QListWidget()
        self.roots.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.roots.setToolTip("If any are listed, workers open files under these folders only")
        self.add_root_button = QPushButton("Add…")
        self.add_root_button.clicked.connect(self._choose_root)
        self.remove_root_button = QPushButton("Remove")
        self.remove_root_button.clicked.connect(self._remove_roots)
        self.roots.itemSelectionChanged.connect(self._update_buttons)
        self.roots_note = QLabel()
        root_buttons = QVBoxLayout()
        root_buttons.addWidget(self.add_root_button)
        root_buttons.addWidget(self.remove_root_button)
        root_buttons.addStretch()
        roots_row = QHBoxLayout()
        roots_row.addWidget(self.roots, 1)
        roots_row.addLayout(root_buttons)

        self.watch = QComboBox()
        self.watch.addItems(WATCH_MODES)
        self.watch.setToolTip("auto: events, polling on network file systems; events; polling; off")
        self.watch_note = QLabel()

        form = QFormLayout()
        form.addRow("Local workers:", self.workers)
        form.addRow("", self.workers_note)
        form.addRow("Music roots:", roots_row)
        form.addRow("", self.roots_note)
        form.addRow("Watch library folders:", self.watch)
        form.addRow("", self.watch_note)

        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.file_label)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.refresh()

    # -- reading --------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the settings as the file and the environment hold them now."""
        self.message.clear()
        path = self._path()
        try:
            settings: Settings | None = load_settings()
        except ConfigError as exc:  # e.g. the file was edited by hand meanwhile
            settings = None
            self.message.setText(str(exc))
        try:
            self._file = read_settings_file(path)
        except ConfigError:
            self._file = FileSettings()  # saving writes a good one
        self._origins = setting_origins(path, self._file)
        self.file_label.setText(f"Saved in {display_path(str(path))}")

        workers = self._shown("workers", settings)
        self.workers.setValue(int(workers) if workers is not None else os.cpu_count() or 2)
        roots = self._shown("music_roots", settings) or ()
        self.roots.clear()
        self.roots.addItems([str(root) for root in roots])
        self.watch.setCurrentText(str(self._shown("watch", settings) or "auto"))
        for key, field, note in self._fields():
            origin = self._origins.get(key, Origin(Source.DEFAULT))
            overridden = self.overridden(key)
            field.setEnabled(not overridden)
            note.setText(_note(origin))
        self.add_root_button.setEnabled(not self.overridden("music_roots"))
        self._update_buttons()

    def _path(self) -> Path:
        return self._config_path or default_config_path()

    def _shown(self, key: str, settings: Settings | None) -> object:
        """The environment's value where it overrides, else the file's, else the default."""
        if self.overridden(key) or getattr(self._file, key) is None:
            return getattr(settings, key) if settings is not None else None
        return getattr(self._file, key)

    def _fields(self) -> list[tuple[str, QWidget, QLabel]]:
        return [
            ("workers", self.workers, self.workers_note),
            ("music_roots", self.roots, self.roots_note),
            ("watch", self.watch, self.watch_note),
        ]

    def overridden(self, key: str) -> bool:
        """Whether an environment variable (FILE_KEYS[key]) sets this one."""
        origin = self._origins.get(key)
        return origin is not None and origin.source is Source.ENVIRONMENT

    def showEvent(self, event: QShowEvent) -> None:
        if not event.spontaneous():
            self.refresh()
        super().showEvent(event)

    # -- music roots ----------------------------------------------------------------

    @Slot()
    def _choose_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a music root")
        if folder:
            self.add_root(folder)

    def add_root(self, folder: str) -> bool:
        """Add a music root to the list; refused (and said why) unless it is a folder."""
        path = Path(folder).expanduser().absolute()
        if not path.is_dir():
            self.message.setText(f"{display_path(str(path))} is not a folder")
            return False
        if str(path) not in self.root_paths():
            self.roots.addItem(str(path))
        self.message.clear()
        return True

    @Slot()
    def _remove_roots(self) -> None:
        for item in self.roots.selectedItems():
            self.roots.takeItem(self.roots.row(item))
        self._update_buttons()

    def root_paths(self) -> list[str]:
        return [self.roots.item(row).text() for row in range(self.roots.count())]

    @Slot()
    def _update_buttons(self) -> None:
        self.remove_root_button.setEnabled(
            not self.overridden("music_roots") and bool(self.roots.selectedItems())
        )

    # -- saving ---------------------------------------------------------------------

    @Slot()
    def save(self) -> bool:
        """Check the values and write the settings file; False (and why, shown) if not."""
        not_folders = [root for root in self.root_paths() if not Path(root).is_dir()]
        if not_folders and not self.overridden("music_roots"):
            self.message.setText(f"{display_path(not_folders[0])} is not a folder")
            return False
        kept = self._file  # the environment's value is not the file's to keep
        values = FileSettings(
            workers=kept.workers if self.overridden("workers") else self.workers.value(),
            music_roots=kept.music_roots
            if self.overridden("music_roots")
            else tuple(Path(root) for root in self.root_paths()),
            watch=kept.watch if self.overridden("watch") else self.watch.currentText(),
        )
        try:
            write_settings_file(values, self._path())
        except OSError as exc:
            self.message.setText(f"Could not save the settings: {exc}")
            return False
        self._file = values
        text = f"Saved. {TAKES_EFFECT}"
        self.message.setText(text)
        self.saved.emit(text)
        return True
