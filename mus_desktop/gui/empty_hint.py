"""What an empty library shows in place of the track table: how to fill it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from mus_desktop.gui.status import action_icon


class EmptyLibraryHint(QWidget):
    importRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("<h2>Your library is empty</h2>")
        self.text = QLabel(
            "Import a folder of music, or drag folders and files onto this window.<br>"
            "mus follows the folders you import: new, moved and changed files show up by "
            "themselves."
        )
        self.text.setWordWrap(True)
        self.import_button = QPushButton(action_icon("import"), "Import Folder…")
        self.import_button.clicked.connect(self.importRequested)
        for widget in (title, self.text):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(widget)
        layout.addWidget(self.import_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
