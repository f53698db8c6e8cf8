"""Score data with a model version: a data set version or a file in, a new data set version out.

The dialog is the app's face of ``shipway score`` (:mod:`core.scoring`), opened from the Models
page (the selected version) and the Deployments page (the version or alias a deployment serves).
It picks the input (a data set version of the project, or a CSV/TSV/Parquet file), the columns
to keep beside the predictions, and what a value that does not fit does; then it runs
``ws.scoring.score`` as a visible job of :mod:`desktop.tasks` (never on the GUI thread), with
its progress in the dialog and a Cancel that stops the job (nothing is stored). When the job
ends the dialog shows the stored version (its ref, size, lineage and drift) and offers to open
the Data page. It stays non-modal: the window is usable while a long input is scored.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.services import ScoreRequest, ScoringResult, Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.tasks import Task
from desktop.theme import set_style_property
from desktop.widgets.common import heading, icon_button, muted

FILE_FILTER = "Data files (*.csv *.tsv *.txt *.parquet);;All files (*)"
WHERE = {"inline": "the app's process", "local": "threads of the app", "dask": "a Dask cluster"}


def dataset_refs(workspace: Workspace) -> list[str]:
    """Every data set version of the project, newest first within each data set (``N@V``)."""
    refs: list[str] = []
    for dataset in workspace.data.datasets():
        versions = sorted(workspace.data.versions(dataset.name), key=lambda v: -v.version)
        refs += [v.ref for v in versions]
    return refs


def result_text(result: ScoringResult) -> str:
    """The stored version in a few lines of rich text (what ``shipway score`` prints)."""
    version = result.version
    same = "" if result.created else " (identical to the version already stored)"
    source = version.source[:1].upper() + version.source[1:]
    lines = [
        f"<b>{version.ref}</b>: {version.rows:,} rows × {version.columns} columns{same}",
        f"{_escape(source)}: {result.chunks:,} chunk(s) in "
        f"{WHERE.get(result.executor, result.executor)}",
    ]
    lines += [f"Scored as missing: {_escape(k)} ×{n:,}" for k, n in result.invalid.items()]
    if result.drift is not None:
        report = result.drift
        drifted = f": {', '.join(report.drifted)}" if report.drifted_features else ""
        lines.append(
            f"Drift against the training rows: {'yes' if report.dataset_drift else 'no'} "
            f"({report.drifted_features} of {report.tested_features} features{drifted})"
        )
    elif result.drift_note:
        lines.append(_escape(result.drift_note))
    return "<br>".join(lines)


class ScoreDialog(QDialog):
    """Non-modal: pick the input, Score, watch the progress, see the stored version."""

    scored = Signal(object)  # ScoringResult

    def __init__(
        self, context: AppContext, workspace: Workspace, model_ref: str, parent=None
    ) -> None:
        super().__init__(parent)
        self.context, self.workspace, self.model_ref = context, workspace, model_ref
        self.task: Task | None = None
        self.result: ScoringResult | None = None
        self.setWindowTitle(f"Score data with {model_ref}")
        self.setMinimumSize(640, 420)
        self._build()
        self._layout()
        self._kind_changed()
        context.runner.fetch(lambda: dataset_refs(workspace), self._show_datasets, owner=self)

    def _build(self) -> None:
        self.use_dataset = QRadioButton("Data set version")
        self.use_file = QRadioButton("File")
        self.use_dataset.setChecked(True)
        self.kinds = QButtonGroup(self)
        for button in (self.use_dataset, self.use_file):
            self.kinds.addButton(button)
            button.toggled.connect(lambda _: self._kind_changed())
        self.dataset = QComboBox()
        self.dataset.setMinimumWidth(260)
        self.file = QLineEdit()
        self.file.setPlaceholderText("A CSV, TSV or Parquet file with the model's columns")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self.choose_file)
        self.keep = QLineEdit()
        self.keep.setPlaceholderText("e.g. id, species (an id, the actual target)")
        self.name = QLineEdit()
        self.name.setPlaceholderText("INPUT-scored-MODEL-vVERSION")
        self.as_missing = QCheckBox("Score values that do not fit their column as missing")
        self.as_missing.setToolTip(
            "Unchecked, such a value stops the job and names its column and row; checked, it is "
            "scored as a missing value and counted in the new version's report."
        )
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.message = QLabel(
            "The predictions (and class probabilities) become a new data set version, with the "
            "input columns the model read, its lineage, and a drift check against the training "
            "rows."
        )
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.open_data = QPushButton("Open the Data page")
        self.open_data.setVisible(False)
        self.open_data.clicked.connect(self._open_data)
        self.cancel_button = icon_button("Cancel job", "cancel", tip="Stop it; nothing is stored")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        self.score_button = icon_button("Score", "run", primary=True)
        self.score_button.clicked.connect(lambda: self.start())

    def _layout(self) -> None:
        form = QFormLayout()
        source = QWidget()
        rows = QVBoxLayout(source)
        rows.setContentsMargins(0, 0, 0, 0)
        for radio, widgets in (
            (self.use_dataset, (self.dataset,)),
            (self.use_file, (self.file, self.browse)),
        ):
            row = QHBoxLayout()
            row.addWidget(radio)
            for widget in widgets:
                row.addWidget(widget, 1 if widget is not self.browse else 0)
            rows.addLayout(row)
        form.addRow("Input", source)
        form.addRow("Keep columns", self.keep)
        form.addRow("New data set", self.name)
        form.addRow("", self.as_missing)
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"Score data with {self.model_ref}", "title"))
        layout.addWidget(muted("Columns are matched by name; other columns are not read."))
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_data)
        buttons.addStretch(1)
        for button in (self.cancel_button, self.close_button, self.score_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def _kind_changed(self) -> None:
        by_file = self.use_file.isChecked()
        self.dataset.setEnabled(not by_file)
        self.file.setEnabled(by_file)
        self.browse.setEnabled(by_file)

    def _show_datasets(self, refs: list[str]) -> None:
        self.dataset.clear()
        self.dataset.addItems(refs)
        if not refs:
            self.use_file.setChecked(True)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Score a file", "", FILE_FILTER)
        if path:
            self.file.setText(path)
            self.use_file.setChecked(True)

    def request(self) -> ScoreRequest:
        """What the fields ask for (a UsageError when they do not make one request)."""
        keep = tuple(name.strip() for name in self.keep.text().split(",") if name.strip())
        by_file = self.use_file.isChecked()
        return ScoreRequest(
            self.model_ref,
            dataset=None if by_file else (self.dataset.currentText().strip() or None),
            file=(self.file.text().strip() or None) if by_file else None,
            name=self.name.text().strip() or None,
            keep_columns=keep,
            invalid="missing" if self.as_missing.isChecked() else "error",
        )

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> Task | None:
        """Start the job (or say why the fields do not make one); the task, or None."""
        try:
            request = self.request()
        except Exception as error:  # a UsageError from ScoreRequest: said in the dialog
            self._say(describe(error).text, "error")
            return None
        workspace = self.workspace
        self._running(True)
        self._say(f"Scoring with {self.model_ref}…", "")
        task = self.context.runner.submit(
            f"Scoring data with {self.model_ref}",
            lambda progress, cancel: workspace.scoring.score(request, progress, cancel),
            on_success=self._done,
            on_failure=self._failed,
            on_cancel=self._cancelled,
            owner=self,
        )
        task.progressed.connect(self._progressed)
        self.task = task
        return task

    def cancel(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()

    def _running(self, running: bool) -> None:
        for widget in (self.score_button, self.use_dataset, self.use_file, self.keep, self.name):
            widget.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if not running:
            self._kind_changed()
        else:
            for widget in (self.dataset, self.file, self.browse):
                widget.setEnabled(False)
        self.progress.setRange(0, 1000 if not running else 0)  # busy until a fraction arrives

    def _progressed(self, fraction: float | None, message: str) -> None:
        if fraction is not None:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self._say(_escape(message), "")

    def _done(self, result: ScoringResult) -> None:
        self.result = result
        self._running(False)
        self.progress.setValue(1000)
        self._say(result_text(result), "ok")
        self.open_data.setVisible(True)
        self.close_button.setText("Done")
        self.context.events.datasets_changed.emit()
        self.context.events.status.emit(f"Scored with {self.model_ref}: {result.version.ref}")
        self.scored.emit(result)

    def _failed(self, error: BaseException, trace: str) -> None:
        self._running(False)
        self.progress.setValue(0)
        explanation = describe(error)
        self._say("<br>".join(_escape(explanation.text).splitlines()), "error")
        if not explanation.expected:
            self.context.errors.report(error, f"Scoring with {self.model_ref}", trace)

    def _cancelled(self) -> None:
        self._running(False)
        self.progress.setValue(0)
        self._say("Cancelled: nothing was stored.", "")

    def _say(self, text: str, kind: str) -> None:
        self.message.setText(text)
        set_style_property(self.message, "role", kind)

    def _open_data(self) -> None:
        self.context.events.navigate.emit("data")

    def reject(self) -> None:
        """Closing the dialog while a job runs cancels it (no version is left behind)."""
        self.cancel()
        super().reject()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
