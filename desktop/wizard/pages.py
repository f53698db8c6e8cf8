"""The first three steps of the new-project wizard: name and folder, first data set, target.

Every page says what is wrong in a sentence under its fields and keeps Next disabled until it
is fixed (``isComplete``); warnings that do not block are shown the same way, in another colour.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from core.services import FilePreview, suggest_task
from desktop.context import AppContext
from desktop.pages.data.views import ProfileView
from desktop.theme import set_style_property
from desktop.widgets.column_roles import left_out_text, pick_target
from desktop.widgets.common import plural
from desktop.widgets.import_panel import ImportPanel
from desktop.widgets.plots import PlotPanel

# The rule core.project applies to project names, checked here to explain it while typing.
PROJECT_NAME = re.compile(r"^[\w][\w .-]{0,99}$")


def message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setProperty("role", "error")
    return label


def say(label: QLabel, text: str, kind: str = "error") -> None:
    set_style_property(label, "role", kind)
    label.setText(text)
    label.setVisible(bool(text))


def default_location() -> str:
    from PySide6.QtCore import QStandardPaths

    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return str(Path(documents or Path.home()) / "Shipway projects")


class NamePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Name the project")
        self.setSubTitle(
            "A project is a folder: shipway.toml (its settings as code), a database of every "
            "version, run and model, and the stored data. Keep it under version control."
        )
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Penguin species")
        self.location = QLineEdit(default_location())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.folder_label = QLabel()
        self.folder_label.setProperty("muted", True)
        self.folder_label.setWordWrap(True)
        self.message = message_label()
        row = QHBoxLayout()
        row.addWidget(self.location, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Project name", self.name)
        form.addRow("Create in", row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.own_folder: Path | None = None  # made by an earlier Finish of this wizard
        for edit in (self.name, self.location):
            edit.textChanged.connect(lambda *_: self.completeChanged.emit())

    def _browse(self) -> None:
        start = self.location.text()
        folder = QFileDialog.getExistingDirectory(self, "Create the project in", start)
        if folder:
            self.location.setText(folder)

    @property
    def folder(self) -> Path:
        return Path(self.location.text().strip()).expanduser() / self.name.text().strip()

    def problem(self) -> tuple[str, str]:
        name, location = self.name.text().strip(), self.location.text().strip()
        if not name:
            return "Give the project a name.", "error"
        if not PROJECT_NAME.match(name):
            return (
                "The name may hold letters, digits, spaces, '.', '-' and '_' (it must start "
                "with a letter, digit or '_', at most 100 characters).",
                "error",
            )
        if not location:
            return "Choose the folder to create the project in.", "error"
        parent, folder = Path(location).expanduser(), self.folder
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a folder.", "error"
        if (folder / "shipway.toml").exists() and folder != self.own_folder:
            return (
                f"A Shipway project already exists in {folder}. Open it from the start page, "
                "or choose another name or folder.",
                "error",
            )
        if folder.is_dir() and any(folder.iterdir()) and folder != self.own_folder:
            return f"{folder} already holds files; Shipway will add its own beside them.", "ok"
        return "", "ok"

    def isComplete(self) -> bool:
        text, kind = self.problem()
        self.folder_label.setText(f"The project will be the folder {self.folder}")
        say(self.message, text, kind)
        return kind != "error"


class ImportPage(QWizardPage):
    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.setTitle("Import the first data set")
        self.setSubTitle(
            "Choose (or drop) a file. The preview shows the first rows as they will be read; "
            "correct the encoding, delimiter or decimal mark if the detection got them wrong."
        )
        self.panel = ImportPanel(context)
        self.panel.previewed.connect(lambda *_: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)

    def isComplete(self) -> bool:
        return self.panel.ready


class TargetPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("What should the model predict?")
        self.setSubTitle(
            "Choose the target column and the kind of problem: classification predicts a "
            "category, regression a number. The distribution is from the previewed rows."
        )
        self.preview: FilePreview | None = None
        self.target = QComboBox()
        self.classification = QRadioButton("Classification (a category)")
        self.regression = QRadioButton("Regression (a number)")
        self.tasks = QButtonGroup(self)
        for button in (self.classification, self.regression):
            self.tasks.addButton(button)
            button.toggled.connect(lambda *_: self.completeChanged.emit())
        self.suggestion = QLabel()
        self.suggestion.setProperty("muted", True)
        self.suggestion.setWordWrap(True)
        self.left_out = QLabel()  # identifier columns: not features by default, and why
        self.left_out.setProperty("muted", True)
        self.left_out.setWordWrap(True)
        self.plot = PlotPanel(min_height=200)
        self.message = message_label()
        form = QFormLayout()
        form.addRow("Target column", self.target)
        tasks = QHBoxLayout()
        tasks.addWidget(self.classification)
        tasks.addWidget(self.regression)
        tasks.addStretch(1)
        form.addRow("Task", tasks)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.suggestion)
        layout.addWidget(self.left_out)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.message)
        self.target.currentIndexChanged.connect(self._target_changed)

    def set_preview(self, preview: FilePreview) -> None:
        """Offer the file's columns; keep the column chosen before if the file still has it,
        else propose the engine's suggestion (never an identifier or a date)."""
        self.preview = preview
        previous = self.target.currentText()
        identifiers = preview.identifiers
        chosen = pick_target(preview.columns, preview.types, identifiers, previous)
        self.target.blockSignals(True)
        self.target.clear()
        for name in preview.columns:
            self.target.addItem(name)
            if name in identifiers:
                tip = f"{name} identifies rows: {identifiers[name]}"
                self.target.setItemData(self.target.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.target.setCurrentText(chosen)
        self.target.blockSignals(False)
        self._target_changed()

    def stats(self) -> dict[str, Any]:
        if self.preview is None:
            return {}
        return self.preview.profile.get(self.target.currentText(), {})

    def column_type(self) -> str:
        if self.preview is None:
            return ""
        return self.preview.types.get(self.target.currentText(), "")

    @property
    def task(self) -> str:
        return "classification" if self.classification.isChecked() else "regression"

    def _target_changed(self) -> None:
        name = self.target.currentText()
        if not name:
            return
        suggested = suggest_task(self.column_type(), self.stats())
        (self.classification if suggested == "classification" else self.regression).setChecked(True)
        rows = self.preview.sample_rows if self.preview is not None else 0
        distinct = self.stats().get("distinct", 0)
        self.suggestion.setText(
            f"{name} is {self.column_type()} with {plural(distinct, 'distinct value')} in the "
            f"{plural(rows, 'previewed row')}; suggested task: {suggested}."
        )
        identifiers = self.preview.identifiers if self.preview is not None else {}
        self.left_out.setText(left_out_text(identifiers, name))
        self.left_out.setVisible(bool(self.left_out.text()))
        ProfileView.show_distribution(self.plot, name, self.stats())
        self.completeChanged.emit()

    def problem(self) -> tuple[str, str]:
        stats, kind = self.stats(), self.column_type()
        name = self.target.currentText()
        if not name:
            return "Choose the column to predict.", "error"
        if stats.get("count", 0) == 0:
            return f"{name} has no values in the preview; choose another column.", "error"
        identifiers = self.preview.identifiers if self.preview is not None else {}
        if name in identifiers:
            return (
                f"{name} identifies rows ({identifiers[name]}): there is nothing in it a model "
                "could learn to predict. Choose the column you want predicted.",
                "warning",
            )
        if self.task == "regression" and kind not in ("integer", "float"):
            return (
                f"Regression predicts a number, but {name} holds {kind} values. Choose "
                "classification, or another column.",
                "error",
            )
        if self.task == "classification" and stats.get("distinct", 0) < 2:
            return (
                f"{name} has a single value in the preview: there is nothing to tell apart. "
                "Choose another column.",
                "error",
            )
        if self.task == "classification" and stats.get("distinct", 0) > 50:
            return (
                f"{name} has {stats['distinct']} distinct values: as classes that is a lot; "
                "regression may suit it better.",
                "warning",
            )
        if stats.get("missing"):
            return (
                f"{stats['missing']:,} previewed rows have no {name}; they cannot be used to "
                "train or test a model.",
                "warning",
            )
        return "", "ok"

    def isComplete(self) -> bool:
        text, kind = self.problem()
        say(self.message, text, kind)
        return kind != "error"
