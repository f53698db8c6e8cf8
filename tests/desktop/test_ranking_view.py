"""A "Try all" run's ranking in the run detail (double-click opens a child); the run form's
decision threshold (binary targets only, checked by the engine's rule parser); the chosen
threshold told and marked in Compare.

One small project for the module: a binary ``label`` (with a three-class ``size`` and a measure
``w``), and one "Try all" run of it with cross-validation and a threshold rule, trained by the
engine's worker processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from core.entities import Run
from core.services import TrainRequest, Workspace, catalog
from desktop.main_window import MainWindow
from desktop.pages.common.curve_plots import draw_view
from desktop.pages.experiments.form import TRY_ALL, NewRunForm
from desktop.widgets.plots import PlotPanel
from tests.desktop.conftest import wait_until

RULE = {"min_precision": 0.6}


def _coins_csv(folder: Path) -> Path:
    lines = ["x,y,w,size,label"]
    for i in range(60):
        x, y = i % 7, (i * 3) % 11
        label = "yes" if x + y > 8 or i % 13 == 0 else "no"
        lines.append(f"{x},{y},{i * 0.731:.3f},{'sml'[i % 3]},{label}")
    path = folder / "coins.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("ranking")
    workspace = Workspace.create(folder / "proj", name="ranking")
    workspace.data.import_file(_coins_csv(folder))
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def tried(project: Workspace) -> Run:
    """Every classification estimator of the catalog on ``label``, ranked (2 CV folds)."""
    request = TrainRequest(
        data="coins", target="label", estimator="all", cv_folds=2, threshold="min_precision=0.6"
    )
    parent = project.runs.train(request).result()
    assert parent.kind == "search" and parent.status == "done"
    return parent


@pytest.fixture
def window(qtbot, context, project: Workspace) -> MainWindow:
    made = MainWindow(context, project, own_workspace=False)
    made.resize(1280, 800)
    made.confirm_stop = lambda titles: True
    qtbot.addWidget(made)
    made.show()
    return made


def _experiments(qtbot, window: MainWindow):
    page = window.show_page("experiments")
    wait_until(qtbot, lambda: page.form.data.count() > 0 and page.form.estimator.count() > 0, 30)
    return page


def test_a_try_all_run_shows_its_ranking_and_double_click_opens_a_child(
    qtbot, window: MainWindow, project: Workspace, tried: Run
) -> None:
    page = _experiments(qtbot, window)
    wait_until(qtbot, lambda: page.model.row_of(lambda r: r.id == tried.id) is not None, 30)
    page.table.selectRow(page.model.row_of(lambda r: r.id == tried.id))
    view = page.detail.ranking
    wait_until(qtbot, lambda: page.detail.run is not None and page.detail.run.id == tried.id)
    wait_until(qtbot, lambda: len(view.rows()) == len(catalog("classification")), 30)
    assert page.detail.tabs.currentWidget() is view and page.detail.tabs.isTabVisible(
        page.detail.ranking_tab
    )

    engine = project.runs.ranking(tried.id)  # the CLI's ranking: the same order, the same values
    rows = view.rows()
    assert [r.run_id for r in rows] == [r["run"] for r in engine]
    assert [r.value for r in rows] == [r["value"] for r in engine]
    model = view.model
    titles = [model.column(c).title for c in range(model.columnCount())]
    assert titles[3] == "f1 (test)" and "CV mean ± std" in titles and "Predict p50 ms" in titles
    winner = next(r for r in rows if r.is_best)
    assert rows[0] is winner and model.index(0, 0).data() == "1 ★"
    assert model.index(0, 2).data(Qt.ItemDataRole.FontRole).bold()
    assert model.index(1, 2).data(Qt.ItemDataRole.FontRole) is None
    cv = project.runs.get(winner.run_id).cv["summary"]["f1"]
    assert model.index(0, titles.index("CV mean ± std")).data() == (
        f"{cv['mean']:.4f} ± {cv['std']:.4f}"
    )
    assert model.index(0, titles.index("Fit s")).data() == f"{winner.fit_s:.3f}"
    assert f"#{winner.run_id} {winner.estimator}" in view.caption.text()
    # ridge has no probabilities, so no threshold: it failed and is ranked last, saying why
    failed = [r for r in rows if r.status != "done"]
    assert failed and rows[-len(failed) :] == failed
    status = titles.index("Status")
    assert "threshold" in model.index(len(rows) - 1, status).data(Qt.ItemDataRole.ToolTipRole)

    child = rows[1]
    rect = view.table.visualRect(model.index(1, 2))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    wait_until(qtbot, lambda: page.detail.run is not None and page.detail.run.id == child.run_id)
    assert page.trials.isChecked()  # the children's rows are in the table
    wait_until(qtbot, lambda: page.table.currentIndex().isValid())
    wait_until(qtbot, lambda: page.model.item(page.table.currentIndex().row()).id == child.run_id)
    assert not page.detail.tabs.isTabVisible(page.detail.ranking_tab)


def _form_on_coins(qtbot, window: MainWindow):
    page = _experiments(qtbot, window)
    form = page.form
    form.data.setCurrentText("coins@1")
    form.target.setCurrentText("label")
    form.estimator.setCurrentIndex(form.estimator.findData("logistic_regression"))
    return page, form


def test_a_valid_threshold_rule_from_the_form_reaches_the_run(
    qtbot, window: MainWindow, project: Workspace
) -> None:
    _page, form = _form_on_coins(qtbot, window)
    assert form.threshold.edit.isEnabled()
    form.threshold.edit.setText(" min_recall = 0.5 ")
    assert not form.threshold.problem.isVisibleTo(form)
    assert form.request().threshold == {"min_recall": 0.5}
    before = {r.id for r in project.runs.list()}
    form.start.click()
    wait_until(qtbot, lambda: {r.id for r in project.runs.list()} - before, 60)
    (run_id,) = {r.id for r in project.runs.list()} - before
    wait_until(qtbot, lambda: project.runs.get(run_id).finished, 120)
    run = project.runs.get(run_id)
    assert run.status == "done", run.error
    assert run.spec["threshold"] == {"min_recall": 0.5}
    assert run.curves["threshold"]["recall"] >= 0.5
    wait_until(qtbot, lambda: not window.context.runner.tasks(), 60)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("min_precision=abc", "threshold min_precision = 'abc' is not a number"),
        ("min_precision=1.5", "min_precision 1.5 is outside (0, 1]"),
        ("max_precision=0.9", "threshold rule max_precision is not one rule"),
    ],
)
def test_a_bad_threshold_rule_is_explained_and_starts_nothing(
    qtbot, window: MainWindow, project: Workspace, text: str, said: str
) -> None:
    page, form = _form_on_coins(qtbot, window)
    before = len(project.runs.list(all_runs=True))
    form.threshold.edit.setText(text)
    assert form.threshold.problem.isVisibleTo(form)
    shown = form.threshold.problem.text()
    assert said in shown and "min_precision=P" in shown  # what is wrong, and what to write
    form.start.click()
    assert form.message.isVisibleTo(form) and said in form.message.text()
    assert "Decision threshold" in form.message.text()
    assert not window.context.runner.tasks() and not page.jobs
    assert len(project.runs.list(all_runs=True)) == before
    form.threshold.edit.clear()  # fixed: the message under the field goes
    assert not form.threshold.problem.isVisibleTo(form)


def test_the_threshold_field_is_for_a_binary_target_only(qtbot, project: Workspace) -> None:
    form = NewRunForm()
    qtbot.addWidget(form)
    form.set_catalog(catalog())
    form.set_versions([project.data.version("coins@1")], target="label")
    assert form.threshold.edit.isEnabled()
    form.threshold.edit.setText("min_precision=0.9")
    form.target.setCurrentText("size")
    assert not form.threshold.edit.isEnabled()
    assert "'size' has 3 classes" in form.threshold.edit.toolTip()
    assert form.request().threshold is None  # a disabled rule is not sent
    form.target.setCurrentText("w")
    assert form.chosen_task() == "regression" and not form.threshold.edit.isEnabled()
    assert "regression task" in form.threshold.edit.toolTip()
    form.target.setCurrentText("label")
    form.task.setCurrentText("regression")
    assert not form.threshold.edit.isEnabled()
    form.task.setCurrentIndex(0)
    assert form.threshold.edit.isEnabled() and "min_precision=P" in form.threshold.edit.toolTip()
    form.estimator.setCurrentText(TRY_ALL)
    assert form.request().threshold == {"min_precision": 0.9}


def test_compare_tells_and_marks_each_runs_chosen_threshold(
    qtbot, window: MainWindow, project: Workspace, tried: Run
) -> None:
    done = [r for r in project.runs.ranked(tried.id) if r.status == "done"][:2]
    ids = sorted(r.run_id for r in done)
    window.context.events.compare_requested.emit(ids)
    page = window.show_page("compare")
    wait_until(qtbot, lambda: page.comparison is not None and len(page.runs) == 2, 30)
    text = page.thresholds.text()
    for run in page.runs:
        chosen = run.curves["threshold"]
        assert f"#{run.id} {run.estimator}: threshold {chosen['threshold']:.3f} for 'yes'" in text
    assert "(min_precision=0.6)" in text and page.thresholds.isVisibleTo(page)
    page.tabs.setCurrentIndex(2)
    page.view.setCurrentText("Precision–recall")
    assert page.cls.currentText() == "yes"  # the class the thresholds are for
    marks = [i for i in page.plot.item.items if isinstance(i, pg.ScatterPlotItem)]
    assert sorted(m.getData()[1][0] for m in marks) == sorted(
        r.curves["threshold"]["precision"] for r in page.runs
    )


def test_a_threshold_mark_takes_its_runs_line_colour_when_a_run_lacks_the_curve(qtbot) -> None:
    curve = {"recall": [0, 0.5, 1], "precision": [1, 0.9, 0.5], "average_precision": 0.8}
    chosen = {"rule": RULE, "threshold": 0.62, "precision": 0.9, "recall": 0.5, "f1": 0.64,
              "positive": "yes"}  # fmt: skip
    series = [("#1 dummy", {"notes": ["no curve"]}), ("#2 knn", {"pr": {"yes": curve},
              "threshold": chosen})]  # fmt: skip
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show()
    draw_view(panel, "Precision–recall", series, "yes")
    (drawn,) = [i for i in panel.item.items if isinstance(i, pg.PlotDataItem)]
    (mark,) = [i for i in panel.item.items if isinstance(i, pg.ScatterPlotItem)]
    assert mark.opts["brush"].color().name() == pg.mkPen(drawn.opts["pen"]).color().name()
