""" "Try it" with Explain: the body asks for explanations, the reasons appear as sorted bars."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyqtgraph as pg
import pytest
from sklearn.ensemble import RandomForestClassifier

from core.serving.server import RunningServer, start_server
from core.serving.settings import ServingConfig
from desktop.pages.deployments.try_it import TryItPanel, with_explain
from tests.desktop.conftest import wait_until
from tests.serving.helpers import ROW, export_model


@pytest.fixture(scope="module")
def forest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("explained") / "forest"
    model = export_model(folder, RandomForestClassifier(n_estimators=10, random_state=0))
    server = start_server(model, config=ServingConfig())
    yield server
    server.stop()


def test_the_explain_option_adds_the_flag_to_an_object_body_only() -> None:
    assert json.loads(with_explain('{"records": []}', True)) == {"records": [], "explain": True}
    assert with_explain('{"records": []}', False) == b'{"records": []}'
    assert with_explain("[1, 2]", True) == b"[1, 2]"  # not an object: the server refuses it


def test_try_it_shows_the_reasons_of_a_prediction_as_sorted_bars(
    qtbot, context, forest_server
) -> None:
    panel = TryItPanel(context)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    panel.set_target(forest_server.url, ROW)
    assert panel.explanation.isHidden()
    panel.explain.setChecked(True)
    panel.editor.setPlainText(json.dumps({"records": [ROW, {**ROW, "island": "Dream"}]}))
    panel.send()
    wait_until(qtbot, lambda: panel.answer is not None, 30)
    assert panel.answer.status == 200, panel.answer.text
    answer = json.loads(panel.answer.text)
    view = panel.explanation
    assert view.isVisible() and view.rows.count() == 2 and view.rows.isVisible()
    first = answer["explanations"]["rows"][0]
    assert f"probability of {first['class']}" in view.summary.text()
    assert "exact TreeSHAP" in view.summary.text()
    wait_until(qtbot, lambda: view.bars.drawn, 10)
    bars = [i for i in view.bars.item.items if isinstance(i, pg.BarGraphItem)]
    assert len(bars) == 1
    widths = list(bars[0].opts["width"])
    assert widths == sorted(widths, key=abs, reverse=True)  # largest reason first
    assert sorted(widths) == pytest.approx(sorted(first["contributions"].values()))
    view.rows.setCurrentIndex(1)
    second = answer["explanations"]["rows"][1]
    assert f"probability of {second['class']}" in view.summary.text()

    panel.explain.setChecked(False)
    panel.send()
    wait_until(qtbot, lambda: "explanations" not in json.loads(panel.answer.text), 30)
    assert panel.explanation.isHidden()


def test_the_run_page_draws_importance_with_its_spread(qtbot, context, lab) -> None:
    from core.services import TrainRequest
    from desktop.pages.experiments.detail import RunDetail

    request = TrainRequest(
        data="penguins", target="species", estimator="random_forest", params={"n_estimators": 20}
    )
    run = lab.runs.train(request).result()
    assert run.importance["method"] == "model" and run.importance["std"]
    detail = RunDetail()
    qtbot.addWidget(detail)
    detail.resize(900, 600)
    detail.show()
    detail.show_run(run)
    detail.tabs.setCurrentWidget(detail.importance)
    wait_until(qtbot, lambda: detail.importance.drawn, 10)
    whiskers = [i for i in detail.importance.item.items if isinstance(i, pg.ErrorBarItem)]
    assert len(whiskers) == 1
    ranked = sorted(run.importance["values"], key=lambda k: -abs(run.importance["values"][k]))
    widths = list(whiskers[0].opts["left"])
    assert widths == pytest.approx([run.importance["std"][name] for name in ranked])
    label = detail.importance.item.getAxis("bottom").labelText
    assert "± 1 std over 20 trees" in label
