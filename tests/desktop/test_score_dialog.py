"""Score data… on the Models and Deployments pages: a real job through the task runner, its
progress and the stored version in the dialog; a file without the model's columns is one clear
error; Cancel (or closing the dialog) stops a long job and stores nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.entities import Deployment, ModelVersion
from core.services import Workspace
from tests.desktop.conftest import PENGUINS, wait_until


def _state(workspace: Workspace) -> tuple:
    """The data sets with their version counts, and the temporary files of objects/."""
    temporary = sorted(p.name for p in (workspace.root / "objects" / "tmp").glob("*"))
    return [(d.name, d.versions) for d in workspace.data.datasets()], temporary


def _dialog_of_models_page(qtbot, window, ref: str):
    page = window.show_page("models")
    page.show_version(ref)
    wait_until(qtbot, lambda: page.detail.version is not None and page.detail.version.ref == ref)
    assert page.detail.buttons["score"].isEnabled()
    page.detail.buttons["score"].click()
    dialog = page.score_dialog
    assert dialog is not None and dialog.isVisible() and dialog.model_ref == ref
    wait_until(qtbot, lambda: dialog.dataset.count() > 0, 30)
    return dialog


def test_the_models_page_scores_a_data_set_version_and_shows_the_new_version(
    qtbot, lab_window, lab: Workspace, registered: ModelVersion
) -> None:
    dialog = _dialog_of_models_page(qtbot, lab_window, registered.ref)
    dialog.dataset.setCurrentText("penguins@1")
    dialog.keep.setText("species")
    seen: list[str] = []
    dialog.score_button.click()
    task = dialog.task
    assert task is not None and not task.quiet  # a visible job, listed in the status bar
    task.progressed.connect(lambda _f, message: seen.append(message))
    assert not dialog.score_button.isEnabled() and dialog.cancel_button.isEnabled()
    wait_until(qtbot, lambda: dialog.result is not None, 120)
    result = dialog.result
    stored = lab.data.version(result.version.ref)
    assert stored.rows == 344 and stored.options["lineage"]["model"] == registered.ref
    assert stored.options["lineage"]["input"]["ref"] == "penguins@1"
    frame = lab.data.read(stored.ref)
    assert list(frame.columns[:1]) == ["species"] and "prediction" in frame.columns
    assert (frame["prediction"] == frame["species"]).mean() > 0.9  # the model's own answers
    assert stored.ref in dialog.message.text() and "344 rows" in dialog.message.text()
    assert dialog.open_data.isVisible() and dialog.score_button.isEnabled()
    assert any("rows scored" in message for message in seen) or dialog.progress.value() == 1000
    dialog.open_data.click()
    assert lab_window.shell.current_page.key == "data"
    dialog.reject()


def test_a_file_without_the_model_s_columns_is_one_clear_error(
    qtbot, lab_window, lab: Workspace, registered: ModelVersion, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.csv"
    pd.read_csv(PENGUINS).rename(columns={"body_mass_g": "mass"}).to_csv(wrong, index=False)
    before = _state(lab)
    dialog = _dialog_of_models_page(qtbot, lab_window, registered.ref)
    dialog.use_file.setChecked(True)
    assert dialog.file.isEnabled() and not dialog.dataset.isEnabled()
    dialog.file.setText(str(wrong))
    task = dialog.start()
    wait_until(qtbot, lambda: not task.running, 60)
    assert task.state == "failed" and dialog.result is None
    text = dialog.message.text()
    assert "body_mass_g" in text and str(wrong) in text and "matched by name" in text
    assert not lab_window.context.errors.dialogs  # an expected error: said in the dialog
    assert dialog.score_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert _state(lab) == before
    dialog.reject()


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100,000 penguin rows (over the size scored in the app's own process: worker processes)."""
    raw = pd.read_csv(PENGUINS)
    rows = raw.sample(100_000, replace=True, random_state=1).reset_index(drop=True)
    rows["bill_length_mm"] += np.random.default_rng(3).normal(0, 1, len(rows)).round(3)
    path = tmp_path_factory.mktemp("score-big") / "many.csv"
    rows.to_csv(path, index=False)
    return path


def test_the_deployments_page_scores_with_what_it_serves_and_cancel_stores_nothing(
    qtbot, lab_window, lab: Workspace, served: Deployment, big_csv: Path
) -> None:
    page = lab_window.show_page("deployments")
    page.show_deployment(served.id)
    wait_until(qtbot, lambda: page.detail.info is not None, 60)
    wait_until(qtbot, lambda: page.detail.info.deployment.id == served.id, 60)
    page.detail.score_button.click()
    dialog = page.score_dialog
    assert dialog is not None and dialog.model_ref == served.target
    before = _state(lab)
    dialog.use_file.setChecked(True)
    dialog.file.setText(str(big_csv))
    task = dialog.start()
    dialog.cancel_button.click()  # at once: the job stops wherever it is
    wait_until(qtbot, lambda: not task.running, 120)
    assert task.state == "cancelled" and dialog.result is None
    assert "nothing was stored" in dialog.message.text()
    assert _state(lab) == before
    task = dialog.start()  # closing the dialog while it runs cancels it too
    dialog.reject()
    wait_until(qtbot, lambda: not task.running, 120)
    assert task.state == "cancelled" and _state(lab) == before
