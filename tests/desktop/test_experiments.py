"""The Experiments page: a run started from the form finishes in the table; Cancel stops one.

Runs train in the engine's worker processes; the window only waits for them, so its event loop
stays responsive throughout (measured here with a timer).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.services import ImportOptions, Workspace
from desktop.pages.experiments.runs_table import PROGRESS_ROLE, STATUS_COLUMN
from tests.desktop.conftest import LatencyProbe, wait_until

# Work done on the GUI thread (a read, a fit) stalls it for seconds; a loaded machine's
# scheduling, for a few hundred ms. The 100 ms target is measured in benchmarks/bench_gui.py.
MAX_BLOCK_MS = 1000


def _ready_form(qtbot, page) -> None:
    wait_until(qtbot, lambda: page.form.data.count() > 0 and page.form.estimator.count() > 0, 30)


def test_a_run_started_from_the_form_finishes_in_the_table(qtbot, lab_window, lab) -> None:
    page = lab_window.show_page("experiments")
    _ready_form(qtbot, page)
    form = page.form
    form.data.setCurrentText("penguins@1")
    form.target.setCurrentText("species")
    assert form.task.currentText() == "suggested: classification"
    form.estimator.setCurrentIndex(form.estimator.findData("random_forest"))
    form.editors["n_estimators"].field.setValue(60)
    before = {r.id for r in lab.runs.list()}
    with LatencyProbe() as probe:
        form.start.click()
        wait_until(qtbot, lambda: lab_window.context.runner.tasks(), 30)  # recorded, then waited
        wait_until(qtbot, lambda: not lab_window.context.runner.tasks(), 120)
        wait_until(qtbot, lambda: _new_done(page, before), 30)
    run = _new_done(page, before)
    assert run.params["n_estimators"] == "60" and run.spec["params"] == {"n_estimators": 60}
    row = page.model.row_of(lambda r: r.id == run.id)
    f1 = next(c for c in range(page.model.columnCount()) if page.model.column(c).title == "f1 ★")
    assert page.model.index(row, f1).data() == f"{run.metrics['f1']:.4f}"
    wait_until(qtbot, lambda: page.detail.run is not None and page.detail.run.id == run.id, 10)
    assert page.detail.curves.showing_plot  # the ROC curves of the run
    assert page.detail.metrics.rowCount() == 7
    assert f"Run #{run.id} done" in lab_window.statusBar().currentMessage()
    assert probe.worst_ms < MAX_BLOCK_MS, f"the event loop stalled for {probe.worst_ms:.0f} ms"


def _new_done(page, before: set[int]):
    return next((r for r in page.model.items() if r.id not in before and r.finished), None)


def test_a_problem_in_the_form_is_explained_before_anything_runs(qtbot, lab_window) -> None:
    page = lab_window.show_page("experiments")
    _ready_form(qtbot, page)
    page.form._check_all(False)
    page.form.start.click()
    assert "at least one feature" in page.form.message.text()
    assert not lab_window.context.runner.tasks()


@pytest.fixture
def slow_data(lab: Workspace, tmp_path: Path) -> str:
    """20,000 rows of numbers: an SVM needs long enough on them to be cancelled mid-fit."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(3)
    columns = {f"x{i}": rng.normal(size=20_000) for i in range(8)}
    columns["label"] = (columns["x0"] + rng.normal(size=20_000) > 0).astype(int)
    path = tmp_path / "slow.csv"
    pacsv.write_csv(pa.table(columns), path)
    return lab.data.import_file(path, ImportOptions(name="slow")).version.ref


def test_cancel_stops_a_running_run(qtbot, lab_window, slow_data: str) -> None:
    page = lab_window.show_page("experiments")
    _ready_form(qtbot, page)
    page._load_versions()
    wait_until(qtbot, lambda: page.form.data.findText(slow_data) >= 0, 10)
    page.form.data.setCurrentText(slow_data)
    page.form.target.setCurrentText("label")
    page.form.estimator.setCurrentIndex(page.form.estimator.findData("svm"))
    with LatencyProbe() as probe:
        page.form.start.click()
        job = lambda: page.jobs[0] if page.jobs else None  # noqa: E731
        wait_until(qtbot, lambda: job() and job().run_id and job().task.fraction, 60)
        run_id = job().run_id
        in_table = lambda: page.model.row_of(lambda r: r.id == run_id)  # noqa: E731
        status = lambda: page.model.index(in_table(), 1).data()  # noqa: E731
        # live in the table (refreshed paced, so a moment after the job's own progress)
        wait_until(qtbot, lambda: in_table() is not None and status().startswith("running"), 30)
        row = in_table()
        page.table.selectRow(row)
        wait_until(qtbot, lambda: page.detail.run is not None and page.detail.run.id == run_id)
        assert page.detail.buttons["cancel"].isVisibleTo(page.detail)
        started = time.monotonic()
        page.detail.buttons["cancel"].click()
        wait_until(qtbot, lambda: _status(page, run_id) == "cancelled", 30)
    assert time.monotonic() - started < 15
    assert not lab_window.context.runner.tasks()
    assert "Cancelled" in lab_window.statusBar().currentMessage()
    assert probe.worst_ms < MAX_BLOCK_MS, f"the event loop stalled for {probe.worst_ms:.0f} ms"


def test_a_started_run_is_known_by_its_id_while_it_runs(
    qtbot, lab_window, lab: Workspace, slow_data: str
) -> None:
    """The row a started run's progress is painted into is the run the engine recorded for it,
    from the start, even when a teammate started the same run a moment before."""
    page = lab_window.show_page("experiments")
    _ready_form(qtbot, page)
    page._load_versions()
    wait_until(qtbot, lambda: page.form.data.findText(slow_data) >= 0, 10)
    page.form.data.setCurrentText(slow_data)
    page.form.target.setCurrentText("label")
    page.form.estimator.setCurrentIndex(page.form.estimator.findData("svm"))
    lab.runs.executor().warm(2)  # both runs start at once: a second worker spawns meanwhile
    before = {r.id for r in lab.runs.list()}
    teammate = lab.runs.train(page.form.request())  # the same run, recorded first
    try:
        page.form.start.click()  # the table has not been read again since
        wait_until(qtbot, lambda: page.jobs, 30)
        (job,) = page.jobs
        assert job.run_id in {r.id for r in lab.runs.list()} - before - {teammate.run_id}
        # A worker spawned for this run imports scikit-learn first: minutes on a loaded machine.
        wait_until(qtbot, lambda: job.task.fraction is not None, 240)
        wait_until(qtbot, lambda: page.model.row_of(lambda r: r.id == job.run_id) is not None)
        ours = page.model.index(page.model.row_of(lambda r: r.id == job.run_id), STATUS_COLUMN)
        assert ours.data(PROGRESS_ROLE) is not None and ours.data().endswith("%")  # live
        theirs = page.model.row_of(lambda r: r.id == teammate.run_id)  # recorded before ours
        assert page.model.index(theirs, STATUS_COLUMN).data(PROGRESS_ROLE) is None
    finally:
        teammate.cancel()
        for started in page.jobs:
            page.cancel_run(started.run_id)
    wait_until(qtbot, lambda: _status(page, job.run_id) == "cancelled", 30)
    wait_until(qtbot, lambda: lab.runs.get(teammate.run_id).status == "cancelled", 30)
    assert not lab_window.context.runner.tasks()


def _status(page, run_id: int) -> str | None:
    row = page.model.row_of(lambda r: r.id == run_id)
    return None if row is None else page.model.item(row).status
