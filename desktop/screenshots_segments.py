"""``python -m desktop.screenshots_segments OUT_DIR [--theme light|dark]``: the screenshot of the
Monitoring page's Segments tab (live metrics per segment of the rows with feedback).

Separate from :mod:`desktop.screenshots` so that this view can be taken alone. A scratch project
gets the demo penguins, ``[evaluation] segments = ["island", "sex"]`` and a deliberately weak
model (a one-split tree predicting ``species``, so that the islands differ); a couple of hundred
requests and their true species go through the real server before the window opens.
"""

from __future__ import annotations

import json
import random
import sys
import urllib.request
from pathlib import Path

from core.services import TrainRequest, Workspace
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
    """The project, its deployment, and traffic with feedback."""
    workspace = Workspace.create(folder, name="penguins")
    settings = folder / "shipway.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\n[evaluation]\nsegments = ["island", "sex"]\n',
        encoding="utf-8",
    )
    workspace.data.import_file(demo.demo_data())
    request = TrainRequest(
        "penguins", "species", estimator="decision_tree", params={"max_depth": 1}
    )
    workspace.lifecycle.register(workspace.runs.train(request).result().id, "penguins")
    deployment = workspace.deployments.deploy("penguins@1")
    rows = read_rows(demo.demo_data(), "species")  # the demo traffic's (features, species)
    for features, species in random.Random(3).sample(rows, ROWS):
        answer = _post(f"{deployment.url}/predict", {"records": [features]})
        _post(f"{deployment.url}/feedback", {"request_id": answer["request_id"],
                                             "actual": species})  # fmt: skip
    return workspace, deployment.id


def shots(window: MainWindow, deployment_id: str, out: Path, theme: str) -> None:
    monitoring = window.show_page("monitoring")
    monitoring.show_deployment(deployment_id)
    settle(until=lambda: monitoring.snapshot is not None)
    section = monitoring.segments
    monitoring.views.setCurrentWidget(section)

    def measured() -> bool:
        found = section.found
        return found is not None and found.status == "measured" and found.rows >= ROWS

    settle(until=measured)
    settle(1.0)
    shoot(window, out / f"monitoring-segments-{theme}.png")


def main(argv: list[str] | None = None) -> int:
    args, app, scratch, context = start("python -m desktop.screenshots_segments", argv)
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
