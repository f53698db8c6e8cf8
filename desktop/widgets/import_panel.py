"""Choose a file, see what an import would read, and correct what was detected.

Used by the new-project wizard and by the Data page's Import dialog. The preview is a
``FilePreview`` from ``core.services.preview_file`` (the importer's own sniffing and typing on
the file's head), read in the background; changing an option previews again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.services import FilePreview, ImportOptions, preview_file
from desktop.context import AppContext
from desktop.theme import current_colors
from desktop.widgets.common import make_table, muted, plural
from desktop.widgets.table_model import Column, ListTableModel

FILE_FILTER = (
    "Data files (*.csv *.tsv *.tab *.txt *.parquet *.pq *.xlsx *.xlsm *.jsonl *.ndjson *.json)"
    ";;All files (*)"
)
FORMATS = [("detect", None), ("CSV", "csv"), ("TSV", "tsv"), ("Parquet", "parquet")]
FORMATS += [("Excel", "excel"), ("JSON lines", "jsonl")]
ENCODINGS = [("detect", None), ("UTF-8", "utf-8"), ("Windows-1252", "cp1252")]
ENCODINGS += [("Latin-1", "latin-1"), ("UTF-16", "utf-16")]
DELIMITERS = [("detect", None), ("comma ,", ","), ("semicolon ;", ";"), ("tab", "\t")]
DELIMITERS += [("pipe |", "|")]
DECIMALS = [("detect", None), ("point .", "."), ("comma ,", ",")]


def _combo(choices: list[tuple[str, str | None]]) -> QComboBox:
    combo = QComboBox()
    for label, value in choices:
        combo.addItem(label, value)
    return combo


def choose_data_file(parent: QWidget | None) -> str:
    """Ask for a data file with a dialog parented to ``parent`` (a window: the file dialog is
    modal to it and opens centred over it, never behind or beside another dialog); "" when
    the person cancels."""
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a data file", "", FILE_FILTER)
    return path


def local_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    """The local files a drag carries (folders and remote URLs left out)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class ImportPanel(QWidget):
    """File, options, detected settings and a preview of the first rows."""

    previewed = Signal()  # the preview (or its error) changed

    def __init__(self, context: AppContext, show_name: bool = True) -> None:
        super().__init__()
        self.context = context
        self.setAcceptDrops(True)
        self.preview: FilePreview | None = None
        self.error = ""
        self._asked = 0
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("Choose a CSV, TSV, Parquet, Excel or JSON-lines file")
        self.path_edit.editingFinished.connect(self.refresh_preview)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("from the file name")
        self.format = _combo(FORMATS)
        self.encoding = _combo(ENCODINGS)
        self.delimiter = _combo(DELIMITERS)
        self.decimal = _combo(DECIMALS)
        for combo in (self.format, self.encoding, self.delimiter, self.decimal):
            combo.currentIndexChanged.connect(self.refresh_preview)
        self.detected = QLabel()
        self.detected.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.model = ListTableModel([])
        self.table = make_table(self.model, sortable=False, stretch_last=False)
        self.table.setMinimumHeight(180)
        self._layout(browse, show_name)

    def _layout(self, browse: QPushButton, show_name: bool) -> None:
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("File", file_row)
        if show_name:
            form.addRow("Data set name", self.name_edit)
        options = QHBoxLayout()
        for label, combo in (
            ("Format", self.format),
            ("Encoding", self.encoding),
            ("Delimiter", self.delimiter),
            ("Decimal mark", self.decimal),
        ):
            options.addWidget(QLabel(label))
            options.addWidget(combo, 1)
        form.addRow(options)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.detected)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(muted("Column headers show the type each column will get."))
        self.message.hide()

    # -- choosing a file ---------------------------------------------------------------------

    def browse(self) -> None:
        path = choose_data_file(self.window())
        if path:
            self.set_path(path)

    def set_path(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))
        if not self.name_edit.text():
            self.name_edit.setPlaceholderText(Path(path).stem)
        self.refresh_preview()

    @property
    def path(self) -> Path | None:
        text = self.path_edit.text().strip()
        return Path(text).expanduser() if text else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event)
        if files:
            self.set_path(files[0])
            event.acceptProposedAction()

    # -- options and preview -------------------------------------------------------------------

    def options(self) -> ImportOptions:
        name = self.name_edit.text().strip() or None
        return ImportOptions(
            name=name,
            format=self.format.currentData(),
            encoding=self.encoding.currentData(),
            delimiter=self.delimiter.currentData(),
            decimal=self.decimal.currentData(),
        )

    def refresh_preview(self) -> None:
        path = self.path
        if path is None:
            return
        self._asked += 1
        asked, options = self._asked, self.options()
        self.detected.setText(f"Reading {path.name}…")
        self.context.runner.fetch(
            lambda: preview_file(path, options),
            lambda preview: asked == self._asked and self._show(preview, ""),
            on_failure=lambda error, _trace: asked == self._asked and self._show(None, error),
            owner=self,
            title=f"Previewing {path.name}",
        )

    def _show(self, preview: FilePreview | None, error: BaseException | str) -> None:
        from desktop.errors import describe

        self.preview = preview
        self.error = describe(error).text if isinstance(error, BaseException) else error
        self.message.setVisible(bool(self.error))
        self.message.setText(self.error)
        if preview is None:
            self.detected.setText("Nothing can be imported from this file as it is.")
            self.model.set_columns([])
        else:
            self._show_preview(preview)
        self.previewed.emit()

    def _show_preview(self, preview: FilePreview) -> None:
        parts = [f"format {preview.format}"]
        parts += [f"{key} {_name(value)}" for key, value in preview.detected.items()]
        parts.append(plural(len(preview.columns), "column"))
        parts.append(f"{plural(preview.sample_rows, 'row')} read for this preview")
        problems = [p for p in preview.problems if p.get("severity") == "warning"]
        text = "Detected: " + " · ".join(parts)
        if problems:
            text += f"\n{plural(len(problems), 'warning')}, e.g. {problems[0]['message']}"
        self.detected.setText(text)
        types = preview.types
        columns = [
            Column(
                f"{name}\n{types.get(name, '')}",
                lambda row, i=i: row[i],
                text=lambda row, i=i: "missing" if row[i] is None else row[i],
            )
            for i, name in enumerate(preview.columns)
        ]
        self.model.set_columns(columns)
        muted = current_colors().muted
        self.model.set_emphasis(color=lambda row, i: muted if row[i] is None else None)
        self.model.set_items(list(preview.rows))
        for index in range(len(columns)):
            self.table.setColumnWidth(index, 120)

    @property
    def ready(self) -> bool:
        return self.preview is not None and not self.error


def _name(value: Any) -> str:
    return {"\t": "tab", ",": "','", ";": "';'", "|": "'|'", ".": "'.'"}.get(value, str(value))
