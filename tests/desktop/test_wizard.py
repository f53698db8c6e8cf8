"""The new-project wizard, end to end: a CSV becomes a project with settings and gates."""

from __future__ import annotations

import tomllib
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from core.services import Workspace
from desktop.wizard.wizard import (
    DATA,
    GATES,
    METRIC,
    MONITORING,
    NAME,
    TARGET,
    NewProjectWizard,
)
from tests.desktop.conftest import penguins_copy, wait_until


def test_the_wizard_creates_a_project_from_a_csv(qtbot, context, tmp_path: Path) -> None:
    source = penguins_copy(tmp_path)
    created: list[str] = []
    wizard = NewProjectWizard(context)
    wizard.project_created.connect(created.append)
    qtbot.addWidget(wizard)
    wizard.show()
    next_button = wizard.button(QWizard.WizardButton.NextButton)

    # 1. name and folder: every problem is explained, Next waits for a usable answer
    page = wizard.name_page
    page.location.setText(str(tmp_path / "projects"))
    assert not next_button.isEnabled() and "name" in page.message.text()
    page.name.setText("bad/name")
    assert not next_button.isEnabled() and "letters, digits" in page.message.text()
    page.name.setText("Penguin species")
    assert next_button.isEnabled()
    wizard.next()
    assert wizard.currentId() == DATA

    # 2. the data set, previewed in the background with what was detected
    panel = wizard.import_page.panel
    assert not next_button.isEnabled()
    panel.set_path(source)
    wait_until(qtbot, lambda: panel.ready, 30)
    assert "encoding utf-8" in panel.detected.text() and "','" in panel.detected.text()
    assert panel.model.rowCount() == 50
    assert panel.model.headerData(0, Qt.Orientation.Horizontal) == "species\nstring"
    panel.delimiter.setCurrentIndex(2)  # ";" — wrong: one column only
    wait_until(qtbot, lambda: panel.preview and len(panel.preview.columns) == 1, 30)
    panel.delimiter.setCurrentIndex(0)  # back to detection
    wait_until(qtbot, lambda: panel.ready and len(panel.preview.columns) == 8, 30)
    wizard.next()
    assert wizard.currentId() == TARGET

    # 3. target and task, with its distribution; a numeric target suggests regression. The
    # target proposed is the engine's suggestion (no column named like a target here: the last)
    target = wizard.target_page
    assert target.target.currentText() == "year" and target.task == "classification"
    target.target.setCurrentText("species")
    assert target.task == "classification"
    assert target.plot.showing_plot
    target.target.setCurrentText("body_mass_g")
    assert target.task == "regression"
    target.classification.setChecked(True)
    assert next_button.isEnabled()  # 94 classes is allowed, with a warning
    assert "regression may suit it better" in target.message.text()
    target.target.setCurrentText("species")
    target.regression.setChecked(True)
    assert not next_button.isEnabled() and "Regression predicts a number" in target.message.text()
    target.classification.setChecked(True)
    wizard.next()
    assert wizard.currentId() == METRIC

    # 4. primary metric (f1 by default for classification), 5. monitoring rules, 6. gates
    assert wizard.metric_page.chosen_metric == "f1"
    wizard.metric_page.buttons["balanced_accuracy"].setChecked(True)
    wizard.next()
    assert wizard.currentId() == MONITORING
    monitoring = wizard.monitoring_page.form
    assert (
        monitoring.use_drift.isChecked() and "drift_buckets = 3" in monitoring.preview.toPlainText()
    )
    assert monitoring.live_metric.currentText() == "balanced_accuracy"  # the primary metric
    monitoring.bucket.setCurrentIndex(monitoring.bucket.findData(60))
    monitoring.use_live.setChecked(True)
    monitoring.live_rule.setText("at least 0.8")
    assert not next_button.isEnabled() and "comparison" in wizard.monitoring_page.message.text()
    monitoring.live_rule.setText(">= 0.75")
    monitoring.retrain.setChecked(True)
    assert next_button.isEnabled()
    wizard.next()
    assert wizard.currentId() == GATES
    gates = wizard.gates_page
    gates.use_threshold.setChecked(True)
    gates.threshold.setText("at least 0.8")
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    assert not finish.isEnabled() and "comparison" in gates.message.text()
    gates.threshold.setText(">= 0.85")
    gates.approval.setChecked(True)
    assert finish.isEnabled()
    assert 'metrics = { balanced_accuracy = ">= 0.85" }' in gates.preview.toPlainText()

    wizard.accept()
    wait_until(qtbot, lambda: created, 60)
    folder = Path(created[0])
    assert folder == tmp_path / "projects" / "Penguin species"
    settings = tomllib.loads((folder / "shipway.toml").read_text(encoding="utf-8"))
    assert settings["project"]["target"] == "species"
    assert settings["project"]["task"] == "classification"
    assert settings["project"]["primary_metric"] == "balanced_accuracy"
    production = settings["gates"]["production"]
    assert production["metrics"] == {"balanced_accuracy": ">= 0.85"}
    assert production["no_regression"] == {"metric": "balanced_accuracy", "max_drop": 0.01}
    assert production["approval"] is True and production["max_latency_p95_ms"] == 50
    assert settings["drift"]["bucket_seconds"] == 60
    assert settings["triggers"] == {
        "drift_buckets": 3,
        "live_metrics": {"balanced_accuracy": ">= 0.75"},
        "min_feedback": 30,
        "retrain": True,
    }
    with Workspace.open(folder) as workspace:
        assert [(d.name, d.latest_rows) for d in workspace.data.datasets()] == [("penguins", 344)]
        assert workspace.project.info().primary_metric == "balanced_accuracy"


def test_an_existing_project_folder_is_refused_with_a_reason(qtbot, context, tmp_path) -> None:
    Workspace.create(tmp_path / "taken").close()
    wizard = NewProjectWizard(context)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.name_page.location.setText(str(tmp_path))
    wizard.name_page.name.setText("taken")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "already exists" in wizard.name_page.message.text()
    assert wizard.currentId() == NAME


def test_an_unreadable_file_keeps_the_wizard_on_the_data_step(qtbot, context, tmp_path) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"a,b\n1,2\n\x00\x00\x00binary")
    wizard = NewProjectWizard(context)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.name_page.location.setText(str(tmp_path))
    wizard.name_page.name.setText("p")
    wizard.next()
    panel = wizard.import_page.panel
    panel.set_path(broken)
    wait_until(qtbot, lambda: panel.error, 30)
    assert "NUL bytes" in panel.message.text() and "What to do:" in panel.message.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
