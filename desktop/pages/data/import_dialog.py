"""Import… on the Data page: one file, with the preview and options the wizard shows."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from core.services import ImportOptions
from desktop.context import AppContext
from desktop.widgets.common import muted
from desktop.widgets.dialogs import plain_buttons
from desktop.widgets.import_panel import ImportPanel


class ImportDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a data file")
        self.resize(860, 560)
        self.panel = ImportPanel(context)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        plain_buttons(self.buttons)
        self.import_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.import_button.setProperty("primary", True)
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.panel.previewed.connect(lambda: self.import_button.setEnabled(self.panel.ready))
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel, 1)
        layout.addWidget(
            muted(
                "Importing under an existing data set's name adds a version to it; identical "
                "content returns the version that already holds it."
            )
        )
        layout.addWidget(self.buttons)

    @property
    def path(self) -> Path:
        path = self.panel.path
        assert path is not None
        return path

    def options(self) -> ImportOptions:
        return self.panel.options()
