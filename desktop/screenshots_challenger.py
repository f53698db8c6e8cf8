"""``python -m desktop.screenshots_challenger OUT_DIR [--theme light|dark]``: the screenshots of
champion and challenger (the Challenger tab of Deployments, the section on Monitoring).

Separate from :mod:`desktop.screenshots` so that these two views can be taken alone, without
redoing every other screenshot. A scratch project gets a weak champion (a one-split tree) in
``production`` and a logistic regression as its shadow challenger; a few hundred requests with
their feedback go through the real server before the window opens.
"""

from __future__ import annotations

import json
import random
import sys
import urllib.request
from pathlib import Path

from core.services import ChallengerConfig, TrainRequest, Workspace
from desktop import demo
from desktop.main_window import MainWindow
from desktop.screenshots import SIZE, settle, shoot, start
from desktop.traffic import read_rows

ROWS = 200


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


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
    rows = read_rows(demo.demo_data(), "species")  # the demo traffic's (features, species)
    for features, species in random.Random(3).sample(rows, ROWS):
        answer = _post(f"{deployment.url}/predict", {"records": [features]})
        _post(f"{deployment.url}/feedback", {"request_id": answer["request_id"],
                                             "actual": species})  # fmt: skip
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
    args, app, scratch, context = start("python -m desktop.screenshots_challenger", argv)
    workspace, deployment_id = prepare(scratch / "penguins")
    window = MainWindow(context, workspace, own_workspace=False)
    window.resize(*SIZE)
    window.move(40, 30)
    window.show()
    try:
        shots(window, deployment_id, args.out, args.theme)
    finally:
        window.close()
        app.processEvents()
        workspace.deployments.undeploy(deployment_id)
        workspace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
