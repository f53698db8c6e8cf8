"""The GUI thread stays responsive: big imports and training never block the event loop, and
a table of 10,000 runs sorts in well under a frame budget a person would notice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.entities import Run
from desktop.pages.experiments.runs_table import RunsTableModel
from desktop.widgets.common import make_table
from tests.desktop.conftest import LatencyProbe, wait_until

# Work done on the GUI thread (a read, a fit) stalls it for seconds; a loaded machine's
# scheduling, for a few hundred ms. The 100 ms target is measured in benchmarks/bench_gui.py.
MAX_BLOCK_MS = 1000
ROWS = 1_000_000


@pytest.fixture(scope="session")
def million_rows(tmp_path_factory) -> Path:
    """A 1,000,000-row CSV (made once per session with pyarrow: about a second)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "id": np.arange(ROWS),
            "amount": rng.normal(100, 15, ROWS).round(2),
            "score": rng.random(ROWS).round(4),
            "region": rng.choice(np.array(["north", "south", "east", "west"]), ROWS),
            "label": rng.integers(0, 2, ROWS),
        }
    )
    path = tmp_path_factory.mktemp("big") / "million.csv"
    pacsv.write_csv(table, path)
    return path


@pytest.mark.slow
def test_a_million_row_import_never_blocks_the_gui(qtbot, window, million_rows: Path) -> None:
    page = window.show_page("data")
    with LatencyProbe() as probe:
        page.import_files([million_rows])
        wait_until(qtbot, lambda: not window.context.runner.tasks(include_quiet=True), 180)
        wait_until(qtbot, lambda: page.datasets.rowCount() == 1)
    assert page.datasets.item(0).latest_rows == ROWS
    assert not window.context.errors.history
    print(f"worst event-loop gap {probe.worst_ms:.0f} ms over {len(probe.gaps)} ticks")
    assert probe.worst_ms < MAX_BLOCK_MS, f"the event loop stalled for {probe.worst_ms:.0f} ms"


def _runs(count: int) -> list[Run]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    estimators = ("random_forest", "knn", "logistic_regression", "svm", "ridge")
    statuses = ("done", "done", "done", "failed", "cancelled")
    return [
        Run(
            id=i,
            parent_id=None,
            kind="train",
            status=statuses[i % 5],
            task="classification",
            estimator=estimators[(i * 7) % 5],
            dataset="penguins",
            dataset_version=1 + i % 3,
            dataset_sha256="0" * 64,
            target="species",
            spec={},
            params={},
            metrics={"f1": (i * 7919 % 1000) / 1000, "accuracy": (i * 104729 % 997) / 997},
            validation_metrics={},
            cv={},
            curves={},
            importance={},
            io_schema={},
            environment={},
            notes=[],
            timings={},
            model_sha256=None,
            model_size=None,
            duration_s=(i % 97) / 10,
            error=None,
            traceback=None,
            log=None,
            is_best=False,
            reproduces_id=None,
            executor="local",
            created_at=start + timedelta(minutes=i),
            started_at=None,
            finished_at=None,
            created_by="tester",
        )
        for i in range(1, count + 1)
    ]


def test_ten_thousand_runs_sort_in_under_200_ms(qtbot) -> None:
    model = RunsTableModel()
    model.set_runs(_runs(10_000))
    view = make_table(model)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    f1 = next(c for c in range(model.columnCount()) if model.column(c).title.startswith("f1"))
    view.selectRow(5)
    chosen = model.item(5).id
    timings = []
    for column, order in (
        (f1, Qt.SortOrder.DescendingOrder),
        (f1, Qt.SortOrder.AscendingOrder),
        (3, Qt.SortOrder.AscendingOrder),  # estimator: text
        (0, Qt.SortOrder.DescendingOrder),
    ):
        # the GUI thread's own CPU time: the sort's work, not how the machine scheduled it
        # (wall time read 461 ms for a 50 ms sort with two other test suites running)
        started = time.thread_time()
        view.sortByColumn(column, order)
        view.repaint()
        timings.append(time.thread_time() - started)
        if column == f1 and order == Qt.SortOrder.DescendingOrder:
            values = [model.item(r).metrics["f1"] for r in range(model.rowCount())]
            assert values == sorted(values, reverse=True)
        assert model.item(view.currentIndex().row()).id == chosen  # the selection follows
    assert max(timings) < 0.2, [f"{t * 1000:.0f} ms" for t in timings]
