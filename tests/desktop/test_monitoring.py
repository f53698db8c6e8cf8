"""The Monitoring page on a real deployment: shifted traffic sent with urllib shows as drift in
plots that update in place; looking at the page never fires a trigger, and "Check triggers now"
records the alert and retrains as shipway.toml's [triggers] say; a file is checked offline, and
Retrain trains the served spec again and leaves it waiting at the gates."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.monitoring.buckets import GRACE_S
from core.services import Workspace
from desktop.traffic import read_rows, shifted
from tests.desktop.conftest import PENGUINS, post_json, wait_until

SHIFTED_FEATURES = {"island", "bill_length_mm", "flipper_length_mm", "body_mass_g"}
BUCKET_S = 10  # the Monitoring page's 5-minute range and the triggers' buckets alike
TRIGGERS = f"""
[drift]
bucket_seconds = {BUCKET_S}

[triggers]
drift_buckets = 1
retrain = true
"""


@pytest.fixture
def triggers(lab: Workspace) -> Iterator[None]:
    """Dataset drift in one complete 10 s bucket calls for an alert and a retraining (the
    project's shipway.toml is put back after the test)."""
    path = lab.root / "shipway.toml"
    before = path.read_text(encoding="utf-8")
    path.write_text(before + TRIGGERS, encoding="utf-8")
    yield
    path.write_text(before, encoding="utf-8")


def send_traffic(url: str, normal: int = 40, odd: int = 120) -> None:
    """Penguins as they were in training, then penguins from another population."""
    rows = [row for row, _ in read_rows(PENGUINS, "species")]
    rng = random.Random(5)
    for row in rng.choices(rows, k=normal):
        post_json(f"{url}/predict", {"records": [row]})
    for row in rng.choices(rows, k=odd):
        post_json(f"{url}/predict", {"records": [shifted(row, rng)]})


def end_with_a_full_shifted_bucket(url: str, rows_in_bucket: int = 40) -> float:
    """Send shifted penguins until the bucket the last one falls in holds ``rows_in_bucket`` of
    them, at least a second before that bucket ends, and return the last one's time.

    The triggers look at the newest complete bucket with traffic: on a loaded machine the traffic
    above can spill a handful of rows into one more bucket, too few to show drift in it."""
    rows = [row for row, _ in read_rows(PENGUINS, "species")]
    rng = random.Random(6)
    sent_in: dict[int, int] = {}
    while True:
        post_json(f"{url}/predict", {"records": [shifted(rng.choice(rows), rng)]})
        now = time.time()
        bucket = math.floor(now / BUCKET_S)
        sent_in[bucket] = sent_in.get(bucket, 0) + 1
        if sent_in[bucket] >= rows_in_bucket and (bucket + 1) * BUCKET_S - now > 1.0:
            return now


def test_shifted_traffic_shows_as_drift_live(qtbot, lab_window, served) -> None:
    send_traffic(served.url)
    page = lab_window.shell.page("monitoring")
    page.show_deployment(served.id)
    assert lab_window.shell.current_page is page
    page.choose_range(300)

    def drifting() -> bool:
        report = page.snapshot.window if page.snapshot else None
        all_in = page.snapshot is not None and page.snapshot.traffic.total >= 160
        return all_in and report is not None and set(report.drifted) >= SHIFTED_FEATURES

    wait_until(qtbot, drifting, 30)  # the log holds every request a moment after its answer
    board = page.board
    wait_until(qtbot, lambda: board.settled, 10)  # the plots are set one per event-loop turn
    for plot in (board.rate, board.latency, board.mix, board.scores, board.heat, board.histogram):
        assert plot.showing_plot, plot.title.text()
    assert board.heat.image.image is not None and board.heat.image.image.shape[0] == 7
    board.feature.setCurrentText("body_mass_g")
    assert "body_mass_g: training vs the last" in board.histogram.title.text()
    assert board.figures["drift"].value.text() == str(page.snapshot.window.drifted_features)

    curves = {key: entry[0] for key, entry in board.scores.curves.items()}
    rounds = board.scores.updates
    wait_until(qtbot, lambda: board.scores.updates > rounds, 15)  # the next look, every 4 s
    assert {key: entry[0] for key, entry in board.scores.curves.items()} == curves  # in place
    assert not lab_window.context.errors.history


def test_the_poll_never_acts_and_check_triggers_fires_the_alert_and_retrains(
    qtbot, lab_window, lab: Workspace, served, triggers
) -> None:
    runs_before = {r.id for r in lab.runs.list(all_runs=True)}
    alerts_before = {a.id for a in lab.monitoring.alerts(deployment=served.id)}
    send_traffic(served.url)
    last_request = end_with_a_full_shifted_bucket(served.url)
    page = lab_window.shell.page("monitoring")
    page.show_deployment(served.id)
    page.choose_range(300)

    # The bucket holding the shifted traffic is complete (a trigger could fire on it) from
    # complete_at on; let the page look at it several times.
    complete_at = (math.floor(last_request / BUCKET_S) + 1) * BUCKET_S + GRACE_S + 1
    looks: set[float] = set()

    def three_looks_after_the_bucket() -> bool:
        snapshot = page.snapshot
        if snapshot is not None and snapshot.read_at > complete_at:
            looks.add(snapshot.read_at)
        return len(looks) >= 3

    wait_until(qtbot, three_looks_after_the_bucket, 90)
    report = page.snapshot.window
    assert report is not None and set(report.drifted) >= SHIFTED_FEATURES  # drift is plain
    assert {r.id for r in lab.runs.list(all_runs=True)} == runs_before  # no training
    assert {a.id for a in lab.monitoring.alerts(deployment=served.id)} == alerts_before
    assert {a.id for a in page.snapshot.alerts} <= alerts_before
    assert page.trigger_check is None

    tip = page.triggers_button.toolTip()
    assert "[triggers] of shipway.toml" in tip and "retrain" in tip
    qtbot.mouseClick(page.triggers_button, Qt.MouseButton.LeftButton)
    titles = [task.title for task in lab_window.context.runner.tasks()]  # a visible job
    assert f"Checking the triggers of {served.id}" in titles
    wait_until(qtbot, lambda: page.trigger_check is not None, 240)
    (alert,) = page.trigger_check.alerts
    assert alert.kind == "drift" and "dataset drift" in alert.message
    assert alert.retrain_status == "at_gates", alert.retrain_error
    new_runs = {r.id for r in lab.runs.list(all_runs=True)} - runs_before
    assert new_runs == {alert.retrain_run}
    assert lab.runs.get(alert.retrain_run).status == "done"
    retrained = lab.registry.version(f"{alert.model}@{alert.retrain_version}")
    assert retrained.tags["alert"] == str(alert.id) and retrained.aliases == ()  # not promoted
    assert f"Alert: {alert.message}" in page.banner.label.text()
    assert {a.id for a in lab.monitoring.alerts(deployment=served.id)} - alerts_before == {alert.id}
    board = page.board
    wait_until(qtbot, lambda: board.alerts.item(0).text().endswith("retraining: at_gates"), 30)
    assert not lab_window.context.errors.history


def test_check_a_file_and_retrain_from_the_monitoring_page(
    qtbot, lab_window, lab: Workspace, served, tmp_path: Path
) -> None:
    rows = read_rows(PENGUINS, "species")
    rng = random.Random(9)
    odd = tmp_path / "new-colony.csv"
    header = [*rows[0][0], "species"]
    lines = [",".join(header)]
    for row, species in rows:
        moved = shifted(row, rng)
        lines.append(",".join("" if moved[c] is None else str(moved[c]) for c in header[:-1]))
        lines[-1] += f",{species}"
    odd.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = lab_window.shell.page("monitoring")
    page.show_deployment(served.id)
    wait_until(qtbot, lambda: page.served_ref() is not None, 10)
    task = page.check_file(odd)
    wait_until(qtbot, lambda: page.file_report is not None, 30)
    report = page.file_report.report
    assert report.dataset_drift and set(report.drifted) >= SHIFTED_FEATURES
    assert report.live is not None and report.live.rows == len(rows)  # the target was in it
    assert "dataset drift" in page.file_report.verdict.text()
    assert not task.running

    page.confirm = lambda title, text: True
    before = {v.version for v in lab.registry.versions(served.model)}
    task = page.retrain()
    wait_until(qtbot, lambda: page.retrained is not None, 90)
    outcome = page.retrained
    assert outcome.run.status == "done"
    served_version = lab.registry.version(f"{served.model}@{served.version}")
    assert outcome.run.spec["features"] == served_version.spec["features"]  # the same spec
    assert outcome.run.estimator == served_version.estimator
    assert outcome.version.version not in before
    assert outcome.version.tags["retrained_from"] == f"{served.model}@{served.version}"
    assert outcome.report.alias == "production"
    assert lab.registry.version(outcome.version.ref).aliases == ()  # it waits at the gates
    assert "waits at the gates" in page.banner.label.text()
