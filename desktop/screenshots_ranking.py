"""``python -m desktop.screenshots_ranking OUT_DIR [--theme light|dark]``: the screenshot of a
"Try all" run's ranking in the Experiments page (``experiments-ranking-THEME.png``).

Separate from :mod:`desktop.screenshots` so that this view can be taken alone. A scratch project
gets the demo's penguins and one "Try all" run with 3 cross-validation folds (every catalog
classifier, ranked on the primary metric) before the window opens; the window then shows the
parent run, its Ranking tab in front (the New run form hidden, to give it the room).
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path

from core.entities import Run
from core.services import TrainRequest, Workspace
from desktop import demo
from desktop.main_window import MainWindow
from desktop.screenshots import run_on_project, settle, shoot


def prepare(folder: Path) -> tuple[Workspace, Run]:
    """The project and its finished "Try all" run."""
    workspace = Workspace.create(folder, name="penguins")
    workspace.data.import_file(demo.demo_data())
    workspace.project.save_settings(project={"target": "species", "task": "classification"})
    request = TrainRequest("penguins", "species", estimator="all", cv_folds=3)
    return workspace, workspace.runs.train(request).result()


def shots(window: MainWindow, parent: Run, out: Path, theme: str) -> None:
    page = window.show_page("experiments")
    settle(until=lambda: page.model.row_of(lambda r: r.id == parent.id) is not None)
    page.table.selectRow(page.model.row_of(lambda r: r.id == parent.id))
    page.form_button.setChecked(False)  # the room goes to the ranking
    page.detail.parentWidget().setSizes([120, 600])
    view = page.detail.ranking
    settle(until=lambda: len(view.rows()) > 1)
    view.table.selectRow(1)  # the row a double-click would open
    shoot(window, out / f"experiments-ranking-{theme}.png")


def main(argv: list[str] | None = None) -> int:
    return run_on_project("python -m desktop.screenshots_ranking", argv, prepare, shots)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
