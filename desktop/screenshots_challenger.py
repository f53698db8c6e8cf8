"""``python -m desktop.screenshots_challenger OUT_DIR [--theme light|dark]``: the screenshots of
champion and challenger (the Challenger tab of Deployments, the section on Monitoring).

Separate from :mod:`desktop.screenshots` so that these two views can be taken alone, without
redoing every other screenshot. A scratch project gets a weak champion (a one-split tree) in
``production`` and a logistic regression as its shadow challenger; a few hundred requests with
their feedback go through the real server before the window opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.services import ChallengerConfig, TrainRequest, Workspace
from desktop import demo
from desktop.main_window import MainWindow
from desktop.screenshots import run_on_project, settle, shoot, traffic_with_feedback

ROWS = 200


def prepare(folder: Path) -> tuple[Workspace, str]:
    """The project, its deployment with a shadow challenger, and traffic with feedback."""
    workspace = Workspace.create(folder, name="penguins")
    workspace.data.import_file(demo.demo_data())
    for request in (
        TrainRequest("penguins", "species", estimator="decision_tree", params={"max_depth": 1}),
        TrainRequest("penguins", "species", estimator="logistic_regression"),
    ):
        workspace.lifecycle.register(workspace.runs.train(request).result().id, "penguins")
    workspace.lifecycle.promote("penguins@1", "production", force=True, reason="screenshots")
    deployment = workspace.deployments.deploy(
        "penguins@production", challenger=ChallengerConfig("penguins@2", mode="shadow")
    )
    traffic_with_feedback(deployment.url, ROWS)
    return workspace, deployment.id


def shots(window: MainWindow, deployment_id: str, out: Path, theme: str) -> None:
    page = window.show_page("deployments")
    page.show_deployment(deployment_id)
    settle(until=lambda: page.detail.info is not None)
    page.detail.tabs.setCurrentWidget(page.detail.challenger)
    view = page.detail.challenger.comparison
    settle(until=lambda: view.found is not None and view.found["rows"] >= ROWS)
    shoot(window, out / f"deployments-challenger-{theme}.png")
    monitoring = window.show_page("monitoring")
    monitoring.show_deployment(deployment_id)
    settle(until=lambda: monitoring.challenger.present and monitoring.snapshot is not None)
    monitoring.views.setCurrentWidget(monitoring.challenger)
    settle(1.0)
    shoot(window, out / f"monitoring-challenger-{theme}.png")


def main(argv: list[str] | None = None) -> int:
    return run_on_project("python -m desktop.screenshots_challenger", argv, prepare, shots)


if __name__ == "__main__":
    sys.exit(main())
