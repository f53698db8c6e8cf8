"""Deployments on real waitress processes: one click Deploy on the Models page, a prediction
through "Try it", live status in the list, the server log, Stop, and what closing the window
does with the deployments it started."""

from __future__ import annotations

import json

from core.entities import ModelVersion
from core.services import Workspace
from desktop.main_window import MainWindow
from desktop.session import ON_EXIT_KEY
from tests.desktop.conftest import post_json, wait_until

PENGUIN = {
    "island": "Dream",
    "bill_length_mm": 46.5,
    "bill_depth_mm": 17.9,
    "flipper_length_mm": 192,
    "body_mass_g": 3500,
    "sex": "female",
    "year": 2008,
}


def _deployments_page(qtbot, window, deployment_id: str):
    page = window.show_page("deployments")
    page.show_deployment(deployment_id)
    wait_until(qtbot, lambda: (row := page.selected_row()) and row.state == "running", 20)
    wait_until(qtbot, lambda: page.detail.info is not None, 10)
    return page


def test_deploy_from_the_models_page_and_predict_through_try_it(
    qtbot, lab_window, lab: Workspace, registered: ModelVersion
) -> None:
    models = lab_window.show_page("models")
    models.show_version(registered.ref)
    wait_until(qtbot, lambda: models.detail.deploy_ref.startswith(registered.model), 20)
    before = {d.id for d in lab.deployments.list()}
    models.detail.deploy.click()
    page = lab_window.shell.page("deployments")
    wait_until(qtbot, lambda: {d.id for d in lab.deployments.list()} - before, 60)
    (new_id,) = {d.id for d in lab.deployments.list()} - before
    try:
        wait_until(qtbot, lambda: lab_window.shell.current_page is page, 10)
        page = _deployments_page(qtbot, lab_window, new_id)
        assert new_id in lab_window.context.started_deployments
        usage = page.detail.usage
        assert f"{lab.deployments.get(new_id).url}/predict" in usage.curl.toPlainText()
        assert '"island": "Biscoe"' in usage.curl.toPlainText()  # from the input schema
        compile(usage.python.toPlainText(), "example", "exec")  # the Python example is Python

        try_it = page.detail.try_it
        body = json.loads(try_it.editor.toPlainText())
        assert set(body["records"][0]) == set(registered.features)
        try_it.send()
        wait_until(qtbot, lambda: try_it.answer is not None, 20)
        assert try_it.answer.status == 200
        answer = json.loads(try_it.answer.text)
        assert answer["predictions"][0] in ("Adelie", "Chinstrap", "Gentoo")
        assert answer["version"] == registered.version
        assert "HTTP 200" in try_it.result.text()

        try_it.editor.setPlainText('{"records": [{"island": "Biscoe"}]}')  # columns missing
        try_it.send()
        wait_until(qtbot, lambda: try_it.answer.status == 422, 20)
        assert "schema_mismatch" in try_it.response.toPlainText()
        wait_until(qtbot, lambda: (page.selected_row().requests or 0) >= 2, 15)  # live counts
    finally:
        lab.deployments.undeploy(new_id)


def test_stopping_a_deployment_and_reading_its_log(qtbot, lab_window, lab, served) -> None:
    post_json(f"{served.url}/predict", {"records": [PENGUIN]})
    page = _deployments_page(qtbot, lab_window, served.id)
    page.detail.tabs.setCurrentWidget(page.detail.logs_tab)
    wait_until(qtbot, lambda: "POST '/predict'" in page.detail.log.toPlainText(), 15)
    assert "GET '/health'" not in page.detail.log.toPlainText()  # the app's probes are hidden
    page.confirm = lambda title, text: True
    task = page.stop(served.id)
    wait_until(qtbot, lambda: not task.running, 30)
    assert lab.deployments.get(served.id).status == "stopped"
    page.show_stopped.setChecked(True)
    wait_until(qtbot, lambda: (row := page.selected_row()) and row.state == "stopped", 15)
    assert not page.detail.stop_button.isEnabled()
    assert not page.detail.try_it.send_button.isEnabled()


def test_closing_the_window_keeps_or_stops_the_deployments_it_started(
    qtbot, context, lab: Workspace, registered: ModelVersion
) -> None:
    kept = lab.deployments.deploy(registered.ref)
    stopped = lab.deployments.deploy(registered.ref)
    window = MainWindow(context, lab, own_workspace=False)
    qtbot.addWidget(window)
    try:
        for deployment, answer in ((kept, "keep"), (stopped, "stop")):
            context.settings.set_value(ON_EXIT_KEY, answer)
            window.show_workspace(lab, owned=False)
            context.started_deployments.add(deployment.id)
            assert window.close_project()  # as closing the window does, without quitting
            assert not context.started_deployments
        assert lab.deployments.state(lab.deployments.get(kept.id)).state == "running"
        assert lab.deployments.get(stopped.id).status == "stopped"
    finally:
        lab.deployments.undeploy(kept.id)
