"""The demo: built in the background with progress on the start page, the whole loop done
(runs, versions with aliases, a running deployment), traffic flowing, and everything it started
stopped when the window closes; building it again adds nothing."""

from __future__ import annotations

from pathlib import Path

from core.services import Workspace
from desktop import demo
from desktop.main_window import MainWindow
from tests.desktop.conftest import wait_until


def test_the_demo_builds_with_traffic_and_stops_it_on_close(
    qtbot, context, tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "demo"
    monkeypatch.setenv(demo.FOLDER_VARIABLE, str(folder))
    assert demo.demo_folder() == folder
    window = MainWindow(context)
    window.confirm_stop = lambda titles: True
    qtbot.addWidget(window)
    window.show()
    task = window.open_demo()
    assert window.start.progress_row is not None and window.start.progress_row.task is task
    wait_until(qtbot, lambda: window.workspace is not None, 240)
    assert window.start.progress_row is None
    workspace = window.workspace
    runs = sorted((r for r in workspace.runs.list() if r.status == "done"), key=lambda r: r.id)
    assert [r.estimator for r in runs] == list(demo.DEMO_RUNS)
    versions = {v.version: v.aliases for v in workspace.registry.versions(demo.DEMO_MODEL)}
    assert versions == {1: (), 2: ("production",), 3: ("staging",)}
    (deployment,) = workspace.deployments.list(include_stopped=False)
    assert deployment.target == "penguins@production"
    assert workspace.monitoring.trigger_config().drift_buckets == 3
    traffic = window.session.traffic
    wait_until(qtbot, lambda: traffic.answered >= 3 and traffic.feedback >= 1, 30)
    assert traffic.refused == 0, traffic.last_error  # every answer, feedback included, was 2xx
    assert window.shell.current_page.key == "monitoring"
    assert "Demo traffic" in window.traffic_label.text()

    window.close()  # the setting says: stop what this window started
    assert not traffic.running
    with Workspace.open(folder) as again:
        assert again.deployments.get(deployment.id).status == "stopped"
    demo.prepare_demo(folder, deploy=False)  # built again: nothing new
    with Workspace.open(folder) as again:
        assert len(again.registry.versions(demo.DEMO_MODEL)) == 3
        assert len(again.runs.list()) == 3
