"""A challenger set from the Deployments page, compared there and on Monitoring, promoted."""

from __future__ import annotations

import pandas as pd

from core.services import TrainRequest, Workspace
from tests.desktop.conftest import PENGUINS, post_json, wait_until

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
            "sex", "year"]  # fmt: skip


def _traffic(url: str, rows: int = 40) -> None:
    frame = pd.read_csv(PENGUINS).dropna().sample(rows, random_state=0)
    for _, row in frame.iterrows():
        answer = post_json(f"{url}/predict", {"records": [row[FEATURES].to_dict()]})
        post_json(f"{url}/feedback", {"request_id": answer["request_id"],
                                      "actual": row["species"]})  # fmt: skip


def test_set_compare_and_promote_a_challenger_in_the_app(qtbot, lab_window, lab: Workspace):
    for request in (
        TrainRequest("penguins", "species", estimator="decision_tree", params={"max_depth": 1}),
        TrainRequest("penguins", "species", estimator="logistic_regression"),
    ):
        lab.lifecycle.register(lab.runs.train(request).result().id, "penguins-ch")
    lab.lifecycle.promote("penguins-ch@1", "live")  # no gates guard "live"
    deployment = lab.deployments.deploy("penguins-ch@live", workers=1)
    try:
        page = lab_window.show_page("deployments")
        page.show_deployment(deployment.id)
        wait_until(qtbot, lambda: page.detail.info is not None, 30)
        tab = page.detail.challenger
        page.detail.tabs.setCurrentWidget(tab)
        wait_until(qtbot, lambda: tab.version.findText("penguins-ch@2") >= 0, 30)
        tab.version.setCurrentText("penguins-ch@2")
        tab.set_button.click()
        probe = {"records": [dict.fromkeys(FEATURES, None) | {"island": "Dream", "year": 2008}]}
        wait_until(qtbot, lambda: "served_by" in post_json(f"{deployment.url}/predict", probe), 30)
        _traffic(deployment.url)
        view = tab.comparison

        def compared() -> bool:
            page.challengers.poller.poll()
            found = view.found
            return found is not None and found["rows"] == 40  # the rows with feedback

        wait_until(qtbot, compared, 60)
        assert view.table.item(1, 0).text() == "challenger" and view.table.item(1, 1).text() == "v2"
        assert "agreement" in view.summary.text() and "paired bootstrap" in view.verdict.text()

        monitoring = lab_window.shell.page("monitoring")
        monitoring.show_deployment(deployment.id)
        wait_until(qtbot, lambda: monitoring.challenger.present, 60)
        monitoring.views.setCurrentWidget(monitoring.challenger)
        assert monitoring.challenger.view.found["challenger"] == 2

        monitoring.challenger.view.promote_button.click()
        wait_until(qtbot, lambda: lab.deployments.challenger(deployment.id) is None, 60)
        assert lab.registry.version("penguins-ch@live").version == 2
    finally:
        lab.deployments.undeploy(deployment.id)
