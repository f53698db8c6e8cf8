"""The Monitoring page's Segments tab on a real deployment: a penguin model trained with
``[evaluation] segments = ["island"]``, served on 127.0.0.1, predictions and their feedback
posted over HTTP; the tab shows each island's rows and metrics, marks the worst island, says
every state that is not a table in words, and is not measured again on each fast poll tick."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.entities import Deployment
from core.services import TrainRequest, Workspace
from core.serving.logreader import read_requests
from desktop.main_window import MainWindow
from desktop.pages.monitoring.segments_section import HOW_TO, REREAD_S, WORST
from tests.desktop.conftest import PENGUINS, penguins_copy, post_json, wait_until

DATA = pd.read_csv(PENGUINS)
ISLANDS = {"Biscoe": 14, "Dream": 14, "Torgersen": 4}  # Torgersen: too few for an interval
WRONG_IN_DREAM = 5  # feedback that says Dream's answers were wrong: Dream is the worst


def set_segments(root: Path, value: str | None) -> None:
    """``[evaluation] segments = value`` in shipway.toml (None: no segments)."""
    path = root / "shipway.toml"
    text = re.sub(r"\n\[evaluation\]\nsegments = .*\n", "\n", path.read_text(encoding="utf-8"))
    extra = "" if value is None else f"\n[evaluation]\nsegments = {value}\n"
    path.write_text(text + extra, encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Deployment]]:
    """peng@1 (species) served by a real server; the deployment is undeployed at the end."""
    folder = tmp_path_factory.mktemp("monitoring-segments") / "penguins"
    ws = Workspace.create(folder, name="penguins")
    set_segments(folder, '["island"]')
    ws.data.import_file(penguins_copy(folder.parent))
    run = ws.runs.train(TrainRequest("penguins", "species", estimator="logistic_regression"))
    ws.lifecycle.register(run.result().id, "peng")
    deployment = ws.deployments.deploy("peng@1")
    try:
        yield ws, deployment
    finally:
        ws.deployments.undeploy(deployment.id)
        ws.close()


def send_with_feedback(ws: Workspace, deployment: Deployment) -> None:
    """One request per island; the feedback agrees with every answer but five in Dream."""
    for island, count in ISLANDS.items():
        rows = DATA[DATA["island"] == island].head(count)
        records = json.loads(rows.drop(columns="species").to_json(orient="records"))
        answer = post_json(f"{deployment.url}/predict", {"records": records})
        said = answer["predictions"]
        wrong = WRONG_IN_DREAM if island == "Dream" else 0
        actual = [other(s) for s in said[:wrong]] + said[wrong:]
        post_json(f"{deployment.url}/feedback", {"request_id": answer["request_id"],
                                                 "actual": actual})  # fmt: skip
    folder = ws.deployments.folder(deployment)
    deadline = time.monotonic() + 60
    while sum(r.actual is not None for r in read_requests(folder)) < len(ISLANDS):
        assert time.monotonic() < deadline, "the feedback never reached the log"
        time.sleep(0.1)


def other(species: str) -> str:
    return "Gentoo" if species != "Gentoo" else "Adelie"


@pytest.fixture
def page(qtbot, context, project) -> Iterator:
    ws, deployment = project
    window = MainWindow(context, ws, own_workspace=False)
    window.resize(1280, 800)
    window.confirm_stop = lambda titles: True
    qtbot.addWidget(window)
    window.show()
    monitoring = window.shell.page("monitoring")
    monitoring.show_deployment(deployment.id)
    wait_until(qtbot, lambda: monitoring.deployment_id() == deployment.id, 30)
    monitoring.views.setCurrentWidget(monitoring.segments)
    yield monitoring
    assert not context.errors.history


def measured(section, status: str, since: int) -> bool:
    return section.reads > since and section.task is None and section.found is not None and (
        section.found.status == status
    )  # fmt: skip


def test_segments_show_each_island_and_mark_the_worst(qtbot, page, project) -> None:
    ws, deployment = project
    section = page.segments
    if not any(r.actual is not None for r in read_requests(ws.deployments.folder(deployment))):
        wait_until(qtbot, lambda: measured(section, "no_feedback", 0), 60)
        assert section.message.title.text() == "No feedback yet"
        assert "/feedback" in section.message.text.text()
        send_with_feedback(ws, deployment)
    reads = section.reads
    page.refresh()  # read again now, not in 30 s
    wait_until(qtbot, lambda: measured(section, "measured", reads), 90)
    assert section.read_why == "asked"  # the refresh read it, not the 30 s timer

    block = section.block("island")
    shown = {s.value.split()[0]: s for s in block.model.items()}
    assert {value: s.rows for value, s in shown.items()} == ISLANDS
    texts = [block.model.column(0).display(s) for s in block.model.items()]
    assert f"Dream  ▼ {WORST}" in texts
    assert block.caption.text().startswith("By island · f1 gap ")
    assert "Biscoe best, Dream worst" in block.caption.text()
    headers = [block.model.column(i).title for i in range(block.model.columnCount())]
    assert headers[:4] == ["Segment", "Rows", "f1 (95% CI)", "Test split"]
    assert {"accuracy", "balanced_accuracy", "precision", "recall"} <= set(headers)
    biscoe, torgersen = shown["Biscoe"], shown["Torgersen"]
    assert block.model.column(2).display(biscoe).startswith("1.000 (")  # with its interval
    assert block.model.column(3).display(biscoe) != "—"  # the test split beside it
    assert "test-split rows" in block.model.column(2).cell_tip(biscoe)
    assert block.model.column(2).display(torgersen) == "1.000 (n < 10)"  # too few: no interval
    assert "n < 10: no interval" in block.model.column(2).cell_tip(torgersen)
    assert "not in the gap" in block.notes.text() and "Torgersen" in block.notes.text()
    assert f"{sum(ISLANDS.values())} rows with feedback" in section.summary.text()

    # the fast poll ticks every few seconds; the bootstrap is not run again on each of them
    reads, ticks, since = section.reads, page.poller.ticks, section.read_at
    wait_until(qtbot, lambda: page.poller.ticks > ticks, 30)
    assert section.reads == reads or time.monotonic() - since >= REREAD_S

    # usable at 1100 px: nothing on the page asks for more width than it has
    page.window().resize(1100, 720)
    wait_until(qtbot, lambda: page.window().width() == 1100, 10)
    assert page.minimumSizeHint().width() <= page.width()
    assert block.table.isVisible() and block.table.width() <= page.width()


def test_a_column_not_logged_and_no_segments_are_said_in_words(qtbot, page, project) -> None:
    ws, deployment = project
    section = page.segments
    if not any(r.actual is not None for r in read_requests(ws.deployments.folder(deployment))):
        send_with_feedback(ws, deployment)
    try:
        set_segments(ws.root, '["island", "species"]')  # the target: not in the logged inputs
        reads = section.reads
        page.refresh()
        wait_until(qtbot, lambda: measured(section, "measured", reads), 90)
        missing = section.block("species")
        assert missing.caption.text() == "By species: not measured"
        assert not missing.table.isVisible()
        assert "species is not in the logged inputs" in missing.notes.text()
        assert section.block("island").table.isVisible()

        set_segments(ws.root, None)
        reads = section.reads
        page.refresh()
        wait_until(qtbot, lambda: measured(section, "no_segments", reads), 60)
        assert section.message.title.text() == "No segments configured"
        assert section.message.text.text() == HOW_TO
        assert 'segments = ["island"]' in HOW_TO and "[evaluation]" in HOW_TO

        set_segments(ws.root, '"island"')  # not a list: the engine's error, said in the tab
        reads = section.reads
        page.refresh()
        wait_until(qtbot, lambda: section.reads > reads and section.error, 60)
        assert section.message.title.text() == "Could not measure the segments"
        assert "must be a list of column names" in section.message.text.text()
    finally:
        set_segments(ws.root, '["island"]')
