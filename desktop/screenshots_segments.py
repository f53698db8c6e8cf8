"""``python -m desktop.screenshots_segments OUT_DIR [--theme light|dark]``: the screenshot of the
Monitoring page's Segments tab (live metrics per segment of the rows with feedback).

Separate from :mod:`desktop.screenshots` so that this view can be taken alone. A scratch project
gets the demo penguins, ``[evaluation] segments = ["island", "sex"]`` and a deliberately weak
model (a one-split tree predicting ``species``, so that the islands differ); a couple of hundred
requests and their true species go through the real server before the window opens.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.services import TrainRequest, Workspace
from desktop import demo
from desktop.main_window import MainWindow
from desktop.screenshots import run_on_project, settle, shoot, traffic_with_feedback

ROWS = 200


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
    traffic_with_feedback(deployment.url, ROWS)
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
    return run_on_project("python -m desktop.screenshots_segments", argv, prepare, shots)


if __name__ == "__main__":
    sys.exit(main())
