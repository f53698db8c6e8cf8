"""``python -m desktop.screenshots OUT_DIR [--theme light|dark]``: the documentation screenshots.

Drives the real application on the current display (run it under Xvfb on a server) through the
start page, the wizard, and the demo project (opened as "Open the demo" opens it: a running
deployment and its traffic generator), with a few more runs, and saves what the screen shows:
Data, Experiments, Compare, then Models, Deployments and Monitoring with live data
(:mod:`desktop.screenshots_live`). Settings and projects live in a temporary folder, so the
user's own are never touched.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QWidget

from core.services import TrainRequest, Workspace
from desktop import demo
from desktop.context import make_context
from desktop.main_window import MainWindow
from desktop.settings import AppSettings
from desktop.traffic import read_rows

SIZE = (1280, 800)


def settle(seconds: float = 0.4, until: Callable[[], bool] | None = None) -> None:
    """Let the event loop run (background reads land, plots draw) for a while, or until."""
    deadline = time.monotonic() + (120 if until else seconds)
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if until is not None and until():
            break
        time.sleep(0.02)
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def shoot(widget: QWidget, path: Path) -> None:
    """What the screen shows of ``widget`` (grabbed from the display, not re-rendered)."""
    settle(0.2)
    screen = widget.screen()
    frame = widget.frameGeometry()
    image = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if image.isNull() or image.width() < 10:
        image = widget.grab()
    image.save(str(path))
    print(path)


def weather_csv(folder: Path, days: int = 365) -> Path:
    """A file the app has never seen: dates written 2012/01/01, numbers, a weather category."""
    import datetime
    import random

    rng = random.Random(2012)
    lines = ["date,precipitation,temp_max,temp_min,wind,weather"]
    start = datetime.date(2012, 1, 1)
    for day in range(days):
        kind = rng.choice(("rain", "sun", "sun", "fog", "drizzle", "snow"))
        rain = {"rain": 8.0, "drizzle": 2.0, "snow": 5.0}.get(kind, 0.0) * rng.random()
        high = {"snow": -2.0, "sun": 24.0}.get(kind, 12.0) + rng.uniform(-4, 4)
        date = (start + datetime.timedelta(days=day)).strftime("%Y/%m/%d")
        wind = rng.uniform(0.5, 7)
        lines.append(f"{date},{rain:.1f},{high:.1f},{high - 6:.1f},{wind:.1f},{kind}")
    path = folder / "seattle-weather.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wizard_shots(window: MainWindow, data: Path, out: Path, theme: str) -> None:
    window.new_project()
    wizard = window.wizard
    wizard.resize(900, 660)
    wizard.move(window.x() + 190, window.y() + 70)
    wizard.name_page.name.setText("Seattle weather")
    settle()
    wizard.next()
    wizard.import_page.panel.set_path(data)
    settle(until=lambda: wizard.import_page.panel.ready)
    shoot(wizard, out / f"wizard-data-{theme}.png")
    wizard.next()
    settle()
    shoot(wizard, out / f"wizard-target-{theme}.png")
    wizard.next()
    wizard.next()
    wizard.monitoring_page.form.use_live.setChecked(True)
    settle()
    shoot(wizard, out / f"wizard-monitoring-{theme}.png")
    wizard.next()
    wizard.gates_page.use_threshold.setChecked(True)
    settle()
    shoot(wizard, out / f"wizard-gates-{theme}.png")
    wizard.reject()


def settings_shot(window: MainWindow, out: Path, theme: str) -> None:
    """Project → Settings…, with a key of shipway.toml in the wrong table warned about."""
    settings = window.workspace.root / "shipway.toml"
    before = settings.read_text(encoding="utf-8")
    settings.write_text(before.replace("[project]\n", "[project]\nbucket_seconds = 10\n", 1))
    dialog = window.project_settings()
    dialog.move(window.x() + 320, window.y() + 120)
    settle(until=lambda: dialog.loaded is not None)
    shoot(dialog, out / f"settings-{theme}.png")
    dialog.reject()
    settings.write_text(before, encoding="utf-8")


def train_some(workspace: Workspace) -> None:
    requests = [
        TrainRequest(data="penguins", target="species", estimator="random_forest"),
        TrainRequest(data="penguins", target="species", estimator="logistic_regression"),
        TrainRequest(data="penguins", target="species", estimator="knn"),
        TrainRequest(
            data="penguins", target="species", estimator="decision_tree", params={"max_depth": 2}
        ),
    ]
    for request in requests:
        workspace.runs.train(request).result()
    workspace.runs.search(
        TrainRequest(data="penguins", target="species", estimator="gradient_boosting"), "random", 4
    ).result()


def running_shot(window: MainWindow, page, path: Path) -> None:
    """A long search under way: its progress in the table and in the status bar."""
    form = page.form
    form.estimator.setCurrentIndex(form.estimator.findData("random_forest"))
    form.search.setCurrentText("random")
    form.trials.setValue(16)
    form.start.click()
    settle(until=lambda: any(job.run_id and (job.task.fraction or 0) > 0.1 for job in page.jobs))
    page.table.selectRow(0)
    settle(1.0)
    shoot(window, path)
    settle(until=lambda: not window.context.runner.tasks())


def demo_shot(window: MainWindow, folder: Path, out: Path, theme: str) -> None:
    """Open the demo from the start page; shoot its progress, wait until it is open."""
    os.environ[demo.FOLDER_VARIABLE] = str(folder)
    task = window.open_demo()
    settle(until=lambda: (task.fraction or 0) >= 0.75 or not task.running)
    shoot(window, out / f"start-demo-{theme}.png")
    settle(until=lambda: window.workspace is not None)


def project_shots(window: MainWindow, out: Path, theme: str) -> None:
    data = window.show_page("data")
    settle(until=lambda: data.profile.model.rowCount() > 0)
    data.profile.select_column("species")
    shoot(window, out / f"data-{theme}.png")
    data.tabs.setCurrentWidget(data.report)
    shoot(window, out / f"data-report-{theme}.png")
    data.tabs.setCurrentWidget(data.profile)
    experiments = window.show_page("experiments")
    settle(until=lambda: experiments.model.rowCount() >= 5)
    experiments.table.selectRow(1)
    settle(until=lambda: experiments.detail.run is not None)
    experiments.detail.tabs.setCurrentIndex(2)
    shoot(window, out / f"experiments-{theme}.png")
    running_shot(window, experiments, out / f"experiments-running-{theme}.png")
    ids = sorted(run.id for run in experiments.model.items() if run.kind == "train")[:3]
    window.context.events.compare_requested.emit(ids)
    compare = window.show_page("compare")
    settle(until=lambda: compare.comparison is not None)
    shoot(window, out / f"compare-{theme}.png")
    compare.tabs.setCurrentIndex(2)
    shoot(window, out / f"compare-curves-{theme}.png")


def start(prog: str, argv: list[str] | None, warm_workers: bool = True):
    """What every screenshot script begins with: its arguments (``out``, ``--theme``), the
    application, a scratch folder and an app context on settings of its own, in the theme.

    Returns ``(args, app, scratch, context)``.
    """
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("out", type=Path)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    scratch = Path(tempfile.mkdtemp(prefix="shipway-shots-"))
    store = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    context = make_context(AppSettings(store), warm_workers=warm_workers)
    context.settings.set_value("deployments/on_exit", "stop")
    context.theme.apply(args.theme)
    return args, app, scratch, context


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def traffic_with_feedback(url: str, count: int, seed: int = 3) -> None:
    """``count`` demo rows predicted one by one at ``url``, each answered with its species."""
    rows = read_rows(demo.demo_data(), "species")  # the demo traffic's (features, species)
    for features, species in random.Random(seed).sample(rows, count):
        answer = post_json(f"{url}/predict", {"records": [features]})
        post_json(f"{url}/feedback", {"request_id": answer["request_id"], "actual": species})


def run_on_project(
    prog: str,
    argv: list[str] | None,
    prepare: Callable[[Path], tuple[Workspace, Any]],
    shots: Callable[[MainWindow, Any, Path, str], None],
) -> int:
    """A screenshot script around one project: ``prepare(folder)`` makes it and returns it with
    what the shots are of (a run id, a deployment id); ``shots`` takes the pictures. Whatever
    happens, the project's deployments are stopped and the errors the app showed are printed
    (exit 1 when there were any)."""
    args, app, scratch, context = start(prog, argv)
    workspace, subject = prepare(scratch / "penguins")
    window = MainWindow(context, workspace, own_workspace=False)
    window.resize(*SIZE)
    window.move(40, 30)
    window.show()
    try:
        shots(window, subject, args.out, args.theme)
    finally:
        window.close()
        app.processEvents()
        for deployment in workspace.deployments.list(include_stopped=False):
            workspace.deployments.undeploy(deployment.id)
        workspace.close()
    return errors_shown(context)


def errors_shown(context) -> int:
    """1 (and the errors on stderr) when the app showed any error while shooting, else 0."""
    problems = [e.details for e in context.errors.history]
    if problems:
        print("errors shown:", *problems, sep="\n", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args, app, scratch, context = start("python -m desktop.screenshots", argv)
    context.errors.install_hooks()
    data = scratch / "downloads" / "penguins.csv"
    data.parent.mkdir()
    data.write_bytes(demo.demo_data().read_bytes())
    folder = demo.prepare_demo(scratch / "Penguins demo", source=data, deploy=False)
    for name in ("churn-model", "house-prices"):
        Workspace.create(scratch / name).close()
        context.settings.add_recent(scratch / name)
    context.settings.add_recent(folder)
    with Workspace.open(folder) as workspace:
        train_some(workspace)
    window = MainWindow(context)
    window.resize(*SIZE)
    window.move(40, 30)
    window.show()
    settle(1.0)
    shoot(window, args.out / f"start-{args.theme}.png")
    wizard_shots(window, weather_csv(scratch / "downloads"), args.out, args.theme)
    demo_shot(window, folder, args.out, args.theme)
    project_shots(window, args.out, args.theme)
    settings_shot(window, args.out, args.theme)
    from desktop.screenshots_live import live_shots  # it uses settle and shoot from here

    live_shots(window, args.out, args.theme)
    from desktop.screenshots_service import service_shots

    service_shots(window, args.out, args.theme)
    window.close()
    app.processEvents()
    return errors_shown(context)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
