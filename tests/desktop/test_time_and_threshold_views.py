"""The run form offers a split by time, backtests, Bayesian search and "Try all"; the
precision/recall plot marks a run's chosen decision threshold."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg

from core.services import Workspace, catalog
from desktop.pages.common.curve_plots import draw_view
from desktop.pages.experiments.form import TRY_ALL, NewRunForm
from desktop.widgets.plots import PlotPanel


def test_the_form_asks_for_a_time_split_and_try_all(qtbot, tmp_path: Path) -> None:
    lines = ["date,wind,weather"] + [f"2012/01/{d:02d},{d % 7},{'sun' if d % 3 else 'rain'}"
                                     for d in range(1, 29)]  # fmt: skip
    (tmp_path / "weather.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.create(tmp_path / "proj") as ws:
        ws.data.import_file(tmp_path / "weather.csv")
        version = ws.data.version("weather@1")
    form = NewRunForm()
    qtbot.addWidget(form)
    form.set_catalog(catalog())
    form.set_versions([version], target="weather")
    assert [form.split_by.itemText(i) for i in range(form.split_by.count())] == [
        "Random rows",
        "By time: date",
    ]
    assert not form.backtest.isEnabled()
    form.split_by.setCurrentIndex(1)
    form.backtest.setValue(3)
    request = form.request()
    assert (request.split, request.time_column, request.backtest) == ("time", "date", 3)
    assert [form.search.itemText(i) for i in range(form.search.count())][-1] == "bayes"
    form.estimator.setCurrentText(TRY_ALL)
    assert form.request().estimator == "all" and not form.search.isEnabled()
    assert form.search_choice() is None


def test_the_chosen_threshold_is_marked_on_the_pr_curve(qtbot) -> None:
    curve = {"recall": [0, 0.5, 1], "precision": [1, 0.9, 0.5], "average_precision": 0.8}
    chosen = {"rule": {"min_precision": 0.9}, "threshold": 0.62, "precision": 0.9,
              "recall": 0.5, "f1": 0.64, "positive": "yes"}  # fmt: skip
    curves = {"pr": {"no": curve, "yes": curve}, "threshold": chosen}
    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.show()
    draw_view(panel, "Precision–recall", [("#1 logistic_regression", curves)], None)
    marks = [i for i in panel.item.items if isinstance(i, pg.ScatterPlotItem)]
    assert len(marks) == 1
    x, y = marks[0].getData()
    assert (list(x), list(y)) == ([0.5], [0.9])
    assert marks[0].name() == "#1 logistic_regression threshold 0.620"
