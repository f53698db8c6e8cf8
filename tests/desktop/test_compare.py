"""The Compare page: three runs side by side, the best highlighted, exports that are safe."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt

from core.services import TrainRequest, Workspace, export_table_csv
from tests.desktop.conftest import wait_until


def test_three_runs_compared_with_the_best_highlighted(
    qtbot, lab_window, lab: Workspace, tmp_path: Path
) -> None:
    runs = [
        lab.runs.train(
            TrainRequest(data="penguins", target="species", estimator=name, params=params)
        ).result()
        for name, params in (
            ("dummy", {}),
            ("logistic_regression", {}),
            ("decision_tree", {"max_depth": 1}),
        )
    ]
    assert [r.status for r in runs] == ["done"] * 3
    ids = [r.id for r in runs]
    lab_window.context.events.runs_changed.emit()
    lab_window.context.events.compare_requested.emit(ids)
    page = lab_window.show_page("compare")
    wait_until(qtbot, lambda: page.comparison is not None, 30)
    wait_until(qtbot, lambda: sorted(page.checked_ids()) == sorted(ids), 10)

    metrics = page.tables["metrics"].model()
    assert metrics.columnCount() == 4  # metric + three runs
    f1_row = metrics.row_of(lambda row: row[0] == "f1")
    best = page.comparison.best
    assert best == ids[1]  # logistic regression beats a constant and a stump
    best_column = 1 + sorted(ids).index(best)
    assert metrics.headerData(best_column, Qt.Orientation.Horizontal).endswith("★")
    cell = metrics.index(f1_row, best_column)
    assert cell.data(Qt.ItemDataRole.FontRole).bold()
    assert cell.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert (
        metrics.index(f1_row, 1 + sorted(ids).index(ids[0])).data(Qt.ItemDataRole.BackgroundRole)
        is None
    )

    diff = page.tables["diff"].model()
    assert "estimator" in [diff.item(r)[0] for r in range(diff.rowCount())]
    costs = page.tables["cost"].model()
    assert costs.rowCount() == 3
    assert all(costs.item(r)["predict_p95_ms"] is not None for r in range(3))

    page.tabs.setCurrentIndex(2)
    assert page.view.currentText() == "ROC curve" and page.plot.showing_plot
    assert page.cls.count() == 3  # Adelie, Chinstrap, Gentoo
    png = page.save_plot(str(tmp_path / "roc.png")) or tmp_path / "roc.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.tabs.setCurrentIndex(1)  # parameter differences, with text cells
    page.export_csv(str(tmp_path / "diff.csv"))
    rows = list(csv.reader((tmp_path / "diff.csv").open(encoding="utf-8")))
    assert rows[0] == ["setting", *[f"run {i}" for i in sorted(ids)]]
    page.tabs.setCurrentIndex(0)
    page.export_csv(str(tmp_path / "metrics.csv"))
    metric_rows = list(csv.reader((tmp_path / "metrics.csv").open(encoding="utf-8")))
    assert metric_rows[0][0] == "metric" and float(metric_rows[1][1]) >= 0


def test_exported_text_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    target = export_table_csv(
        {"setting": ['=HYPERLINK("x")', "+1", "plain"], "run 1": [-0.5, 1.0, None]},
        tmp_path / "t.csv",
    )
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[1][0].startswith("'=") and rows[2][0] == "'+1" and rows[3][0] == "plain"
    assert rows[1][1] == "-0.5"  # numbers stay numbers


def test_runs_of_different_tasks_are_refused_with_a_reason(qtbot, lab_window, lab) -> None:
    first = lab.runs.train(TrainRequest(data="penguins", target="species", estimator="dummy"))
    second = lab.runs.train(TrainRequest(data="penguins", target="body_mass_g", estimator="dummy"))
    first, second = first.result(), second.result()
    page = lab_window.show_page("compare")
    page.compare([first.id, second.id])
    errors = lab_window.context.errors
    wait_until(qtbot, lambda: errors.history, 30)
    assert "different tasks" in errors.history[-1].text
    assert "different tasks" in page.summary.text()
