"""The "New run" form, built from the estimator catalog and the chosen data version's schema.

The catalog (``core.services.catalog()``) is a tuple of frozen ``EstimatorSpec`` records (key,
label, tasks, params as ``ParamSpec`` records); each parameter gets the editor of its kind.
The decision threshold field (:mod:`desktop.pages.experiments.threshold_field`) is enabled for
a binary target only.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.entities import DatasetVersion
from core.services import TrainRequest, suggest_task
from desktop.pages.experiments.param_editors import ParamEditor
from desktop.pages.experiments.threshold_field import ThresholdField, refusal
from desktop.widgets.column_roles import left_out_text, pick_target
from desktop.widgets.common import icon_button

AUTO_TASK = "suggested"


TRY_ALL = "Try all (every estimator, ranked)"


class NewRunForm(QWidget):
    """Emits ``submitted(request, search)``; ``search`` is ("grid"|"random", trials) or None."""

    submitted = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.catalog: tuple = ()  # EstimatorSpec records
        self.versions: dict[str, DatasetVersion] = {}
        self.editors: dict[str, ParamEditor] = {}
        self.defaults = ("", "")  # the project's target and task
        self.data = QComboBox()
        self.target = QComboBox()
        self.task = QComboBox()
        self.task.addItems([AUTO_TASK, "classification", "regression"])
        self.estimator = QComboBox()
        self.params_box = QGroupBox("Parameters")
        self.params_form = QFormLayout(self.params_box)
        self.features = QListWidget()
        self.features.setMinimumHeight(120)
        self.left_out = QLabel()
        self.left_out.setWordWrap(True)
        self.left_out.setProperty("muted", True)
        self.left_out.hide()
        self.test_size = QDoubleSpinBox(suffix=" %", decimals=0, minimum=5, maximum=50, value=20)
        self.validation = QCheckBox("Validation part too (70/15/15)")
        self.cv = QSpinBox(minimum=0, maximum=10, value=0, specialValueText="off")
        self.cv.setToolTip("k-fold cross-validation on the training part (off, or 2–10 folds)")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        self.search = QComboBox()
        self.search.addItems(["no search", "grid", "random", "bayes"])
        self.search.setToolTip("bayes: Optuna's TPE sampler, pruning on CV folds, resumable")
        self.split_by = QComboBox()
        self.split_by.setToolTip(
            "Random rows, or by a date column: train on the past, test on the latest rows"
        )
        self.backtest = QSpinBox(minimum=0, maximum=20, value=0, specialValueText="off")
        self.backtest.setToolTip("Walk-forward windows over time (a split by time; 2–20)")
        self.backtest.setEnabled(False)
        self.split_by.currentIndexChanged.connect(
            lambda: self.backtest.setEnabled(self.split_by.currentData() is not None)
        )
        self.trials = QSpinBox(minimum=1, maximum=200, value=8)
        self.threshold = ThresholdField()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.start = icon_button("Start run", "run", primary=True)
        self.start.setToolTip("Start the run this form describes (Ctrl+R)")
        self.start.clicked.connect(self.submit)
        for combo in (self.data, self.target, self.task, self.estimator, self.search):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        self._build()
        self.data.currentIndexChanged.connect(self._data_changed)
        self.target.currentIndexChanged.connect(self._target_changed)
        self.task.currentIndexChanged.connect(self._fill_estimators)
        self.task.currentIndexChanged.connect(self._threshold_allowed)
        self.estimator.currentIndexChanged.connect(self._fill_params)
        self.search.currentIndexChanged.connect(
            lambda: self.trials.setEnabled(self.search.currentIndex() > 0)
        )
        self.trials.setEnabled(False)

    def _build(self) -> None:
        data_box = QGroupBox("Data")
        form = QFormLayout(data_box)
        form.addRow("Version", self.data)
        form.addRow("Target", self.target)
        form.addRow("Task", self.task)
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Estimator", self.estimator)
        reset = QPushButton("Reset parameters")
        reset.clicked.connect(lambda: [e.reset() for e in self.editors.values()])
        model_form.addRow("", reset)
        features_box = QGroupBox("Features")
        features_layout = QVBoxLayout(features_box)
        features_layout.addWidget(self.features)
        features_layout.addWidget(self.left_out)
        row = QHBoxLayout()
        for text, state in (("All", True), ("None", False)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, s=state: self._check_all(s))
            row.addWidget(button)
        row.addStretch(1)
        features_layout.addLayout(row)
        eval_box = QGroupBox("Evaluation")
        eval_form = QFormLayout(eval_box)
        eval_form.addRow("Split", self.split_by)
        eval_form.addRow("Test part", self.test_size)
        eval_form.addRow(self.validation)
        eval_form.addRow("CV folds", self.cv)
        eval_form.addRow("Backtest", self.backtest)
        eval_form.addRow("Seed", self.seed)
        eval_form.addRow("Decision threshold", self.threshold)
        search_box = QGroupBox("Search")
        search_form = QFormLayout(search_box)
        search_form.addRow("Method", self.search)
        search_form.addRow("Trials", self.trials)
        fields = QWidget()
        column = QVBoxLayout(fields)
        column.setContentsMargins(0, 0, 6, 0)
        for box in (data_box, model_box, self.params_box, features_box, eval_box, search_box):
            column.addWidget(box)
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(fields)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)  # the fields scroll; the message and Start run stay in sight
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.start)
        self.message.hide()

    # -- content -----------------------------------------------------------------------------

    def set_catalog(self, catalog: tuple) -> None:
        self.catalog = tuple(catalog)
        self._fill_estimators()

    def set_versions(self, versions: list[DatasetVersion], target: str = "", task: str = ""):
        """Offer these versions (newest first); preselect the project's target and task."""
        self.defaults = (target, task)
        current = self.data.currentText()
        self.versions = {v.ref: v for v in versions}
        self.data.blockSignals(True)
        self.data.clear()
        self.data.addItems(list(self.versions))
        if current in self.versions:
            self.data.setCurrentText(current)
        self.data.blockSignals(False)
        self._data_changed()
        self.start.setEnabled(bool(versions))

    def _version(self) -> DatasetVersion | None:
        return self.versions.get(self.data.currentText())

    def identifiers(self) -> dict[str, str]:
        """The chosen version's identifier columns (name → why), from its import report."""
        version = self._version()
        return dict((version.report or {}).get("identifiers") or {}) if version else {}

    def _data_changed(self) -> None:
        """Another version: keep the target if it has that column, else the project's target,
        else the engine's suggestion (never column 0 by default)."""
        version = self._version()
        columns = list(version.schema) if version else []
        types = dict(version.schema) if version else {}
        previous = self.target.currentText()
        chosen = pick_target(columns, types, self.identifiers(), previous, self.defaults[0])
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(columns)
        self.target.setCurrentText(chosen)
        self.target.blockSignals(False)
        self._fill_split(types)
        self._target_changed()

    def _fill_split(self, types: dict[str, str]) -> None:
        """Random, or by each date column of the version (the first date column is offered
        first among them; random stays the default)."""
        self.split_by.clear()
        self.split_by.addItem("Random rows", None)
        for name, kind in types.items():
            if kind == "datetime":
                self.split_by.addItem(f"By time: {name}", name)

    def _target_changed(self) -> None:
        """Features for this target (identifier columns unticked, with why) and the task again:
        the project's for the project's target, else the one the target suggests."""
        version, target = self._version(), self.target.currentText()
        self.features.clear()
        self.left_out.setText("")
        if version is None:
            self._threshold_allowed()
            return
        identifiers = self.identifiers()
        for name, kind in version.schema.items():
            if name != target:
                self.features.addItem(self._feature_item(version, name, kind, identifiers))
        self.left_out.setText(left_out_text(identifiers, target))
        self.left_out.setVisible(bool(self.left_out.text()))
        suggested = self.suggested_task()
        self.task.setItemText(0, f"{AUTO_TASK}: {suggested}" if suggested else AUTO_TASK)
        project_target, project_task = self.defaults
        self.task.blockSignals(True)
        if project_task and target == project_target:
            self.task.setCurrentText(project_task)
        else:
            self.task.setCurrentIndex(0)
        self.task.blockSignals(False)
        self._fill_estimators()
        self._threshold_allowed()

    @staticmethod
    def _feature_item(version, name: str, kind: str, identifiers: dict) -> QListWidgetItem:
        empty = version.profile.get(name, {}).get("count", 1) == 0
        reason = identifiers.get(name)
        text = f"{name}  ({kind})"
        if reason:
            text += "  · identifies rows"
        elif empty:
            text += "  · no values"
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        if reason:
            item.setToolTip(f"{name} identifies rows ({reason}): left out by default.")
        unticked = empty or reason is not None
        item.setCheckState(Qt.CheckState.Unchecked if unticked else Qt.CheckState.Checked)
        return item

    def suggested_task(self) -> str:
        version, target = self._version(), self.target.currentText()
        if version is None or target not in version.schema:
            return ""
        return suggest_task(version.schema[target], version.profile.get(target, {}))

    def chosen_task(self) -> str:
        return self.suggested_task() if self.task.currentIndex() == 0 else self.task.currentText()

    def _threshold_allowed(self) -> None:
        version, target = self._version(), self.target.currentText()
        self.threshold.allow(refusal(version, target, self.chosen_task()))

    def _fill_estimators(self) -> None:
        task = self.chosen_task() or "classification"
        current = self.estimator.currentData()
        self.estimator.blockSignals(True)
        self.estimator.clear()
        for entry in self.catalog:
            if task in entry.tasks:
                self.estimator.addItem(entry.label, entry.key)
        self.estimator.addItem(TRY_ALL, "all")
        index = self.estimator.findData(current or "random_forest")
        self.estimator.setCurrentIndex(max(0, index))
        self.estimator.blockSignals(False)
        self._fill_params()

    def _fill_params(self) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.editors = {}
        key = self.estimator.currentData()
        entry = next((e for e in self.catalog if e.key == key), None)
        self.search.setEnabled(key != "all")
        for spec in entry.params if entry else ():
            editor = ParamEditor(spec)
            self.editors[spec.name] = editor
            label = QLabel(spec.name)
            label.setToolTip(spec.help)
            self.params_form.addRow(label, editor)
        self.params_box.setVisible(bool(self.editors))

    def _check_all(self, state: bool) -> None:
        check = Qt.CheckState.Checked if state else Qt.CheckState.Unchecked
        for row in range(self.features.count()):
            self.features.item(row).setCheckState(check)

    # -- the request -------------------------------------------------------------------------

    def chosen_features(self) -> list[str]:
        items = [self.features.item(row) for row in range(self.features.count())]
        return [
            i.data(Qt.ItemDataRole.UserRole)
            for i in items
            if i.checkState() == Qt.CheckState.Checked
        ]

    def request(self) -> TrainRequest:
        """The run the form describes; raises ValueError saying what to fix."""
        version = self._version()
        if version is None:
            raise ValueError("Import a data set first (Data page), then choose its version here.")
        if not self.target.currentText():
            raise ValueError("Choose the column to predict (Target).")
        features = self.chosen_features()
        if not features:
            raise ValueError("Choose at least one feature column.")
        threshold = self.threshold.rule()
        return TrainRequest(
            data=version.ref,
            target=self.target.currentText(),
            task=None if self.task.currentIndex() == 0 else self.task.currentText(),
            estimator=self.estimator.currentData(),
            params={name: e.value() for name, e in self.editors.items() if e.changed()},
            features=features,
            test_size=self.test_size.value() / 100,
            split=self._split(),
            cv_folds=self.cv.value(),
            seed=self.seed.value(),
            time_column=self.split_by.currentData(),
            backtest=self.backtest.value() if self.split_by.currentData() else 0,
            threshold=threshold,
        )

    def _split(self) -> str:
        if self.split_by.currentData() is not None:
            return "time"
        return "train_val_test" if self.validation.isChecked() else "train_test"

    def search_choice(self) -> tuple[str, int] | None:
        if self.search.currentIndex() == 0 or self.estimator.currentData() == "all":
            return None
        return self.search.currentText(), self.trials.value()

    def show_problem(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def submit(self) -> None:
        """Start run: emit the request, or say inline what to fix."""
        try:
            request = self.request()
        except ValueError as exc:
            self.show_problem(str(exc))
            return
        self.show_problem("")
        self.submitted.emit(request, self.search_choice())
