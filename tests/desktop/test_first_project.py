"""A new user's first project, from a file the app has never seen to a deployed model.

A weather-like CSV (dates written 2012/01/01, numbers, a ``weather`` category) goes through the
wizard, whose target step proposes ``weather`` (not column 0) and says the date column is left
out; the run form then starts a run with Ctrl+R (the date not ticked as a feature); the version
is promoted and deployed from the Models page as the alias it holds, and answers over HTTP.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from core.services import Workspace
from desktop.main_window import MainWindow
from desktop.wizard.wizard import TARGET, NewProjectWizard
from tests.desktop.conftest import post_json, wait_until

KINDS = ("rain", "sun", "fog", "drizzle", "snow")


def weather_csv(folder: Path, days: int = 240) -> Path:
    """Daily weather: the kind of day follows rain, temperature and wind (learnable)."""
    rng = random.Random(2012)
    lines = ["date,precipitation,temp_max,temp_min,wind,weather"]
    start = datetime.date(2012, 1, 1)
    for day in range(days):
        kind = KINDS[day % len(KINDS)]
        rain = {"rain": 8.0, "drizzle": 2.0, "snow": 5.0}.get(kind, 0.0) + rng.random()
        high = {"snow": -2.0, "sun": 24.0}.get(kind, 12.0) + rng.uniform(-2, 2)
        wind = {"fog": 0.5}.get(kind, 4.0) + rng.random()
        date = (start + datetime.timedelta(days=day)).strftime("%Y/%m/%d")
        lines.append(f"{date},{rain:.1f},{high:.1f},{high - 6:.1f},{wind:.1f},{kind}")
    path = folder / "seattle-weather.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_project(qtbot, context, tmp_path: Path) -> Path:
    created: list[str] = []
    wizard = NewProjectWizard(context)
    wizard.project_created.connect(created.append)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.name_page.location.setText(str(tmp_path / "projects"))
    wizard.name_page.name.setText("Weather")
    wizard.next()
    panel = wizard.import_page.panel
    panel.set_path(weather_csv(tmp_path))
    wait_until(qtbot, lambda: panel.ready, 30)
    assert panel.preview.types["date"] == "datetime"  # 2012/01/01 read as a date
    assert "date" in panel.preview.identifiers
    wizard.next()
    assert wizard.currentId() == TARGET
    target = wizard.target_page
    assert target.target.currentText() == "weather"  # the engine's suggestion, not column 0
    assert target.task == "classification"
    assert "date" in target.left_out.text() and target.left_out.isVisible()
    for _ in range(3):
        wizard.next()  # metric, monitoring, gates
    wizard.accept()
    wait_until(qtbot, lambda: created, 60)
    return Path(created[0])


def test_a_weather_file_goes_from_the_wizard_to_a_deployed_model(
    qtbot, context, tmp_path: Path
) -> None:
    folder = make_project(qtbot, context, tmp_path)
    workspace = Workspace.open(folder)
    window = MainWindow(context, workspace)
    window.resize(1280, 800)
    window.confirm_stop = lambda titles: True
    qtbot.addWidget(window)
    window.show()
    page = window.show_page("experiments")
    form = page.form
    wait_until(qtbot, lambda: form.data.count() == 1 and form.features.count() == 5, 30)
    assert form.target.currentText() == "weather" and form.chosen_task() == "classification"
    features = {form.features.item(r).data(Qt.ItemDataRole.UserRole): form.features.item(r)
                for r in range(form.features.count())}  # fmt: skip
    assert features["date"].checkState() == Qt.CheckState.Unchecked
    assert "identifies rows" in features["date"].toolTip()
    assert "date" not in form.chosen_features()

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keySequence(window, QKeySequence("Ctrl+R"))  # the shortcut the empty state names
    wait_until(qtbot, lambda: workspace.runs.list(), 30)
    wait_until(qtbot, lambda: workspace.runs.list()[-1].finished, 180)
    run = workspace.runs.list()[-1]
    assert run.status == "done", run.error
    assert "date" not in run.spec["features"] and run.target == "weather"

    version = workspace.lifecycle.register(run.id, "weather")
    workspace.lifecycle.promote(version.ref, "production", force=True, reason="first model")
    models = window.show_page("models")
    models.show_version(version.ref)
    wait_until(qtbot, lambda: models.detail.deploy_ref == "weather@production", 30)
    assert models.detail.deploy.text() == "Deploy weather@production"
    models.detail.deploy.click()
    wait_until(qtbot, lambda: workspace.deployments.list(), 60)
    deployment = workspace.deployments.list()[0]
    assert deployment.target == "weather@production"  # follows the alias, not pinned to v1
    row = {"date": "2013/01/05", "precipitation": 8.4, "temp_max": 11.0, "temp_min": 5.0}
    answer = post_json(f"{deployment.url}/predict", {"records": [{**row, "wind": 4.2}]})
    assert answer["predictions"][0] in KINDS
    assert not context.errors.history
