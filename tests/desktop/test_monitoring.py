"""The Monitoring page on a real deployment: shifted traffic sent with urllib shows as drift in
plots that update in place, an alert fires as shipway.toml's [triggers] say, a file is checked
offline, and Retrain trains the served spec again and leaves it waiting at the gates."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services import Workspace
from desktop.traffic import read_rows, shifted
from tests.desktop.conftest import PENGUINS, post_json, wait_until

SHIFTED_FEATURES = {"island", "bill_length_mm", "flipper_length_mm", "body_mass_g"}


@pytest.fixture
def triggers(lab: Workspace) -> Iterator[None]:
    """Dataset drift in one complete bucket fires an alert (put back after the test)."""
    path = lab.root / "shipway.toml"
    before = path.read_text(encoding="utf-8")
    path.write_text(before + "\n[triggers]\ndrift_buckets = 1\n", encoding="utf-8")
    yield
    path.write_text(before, encoding="utf-8")
    lab.reload_settings()


def send_traffic(url: str, normal: int = 40, odd: int = 120) -> None:
    """Penguins as they were in training, then penguins from another population."""
    rows = [row for row, _ in read_rows(PENGUINS, "species")]
    rng = random.Random(5)
    for row in rng.choices(rows, k=normal):
        post_json(f"{url}/predict", {"records": [row]})
    for row in rng.choices(rows, k=odd):
        post_json(f"{url}/predict", {"records": [shifted(row, rng)]})


def test_shifted_traffic_shows_as_drift_live_and_fires_an_alert(
    qtbot, lab_window, served, triggers
) -> None:
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
    for plot in (board.rate, board.latency, board.mix, board.scores, board.heat, board.histogram):
        assert plot.showing_plot, plot.title.text()
    assert board.heat.image.image is not None and board.heat.image.image.shape[0] == 7
    board.feature.setCurrentText("body_mass_g")
    assert "body_mass_g: training vs last" in board.histogram.title.text()
    assert board.figures["drift"].value.text() == str(page.snapshot.window.drifted_features)

    curves = {key: entry[0] for key, entry in board.scores.curves.items()}
    rounds = board.scores.updates
    wait_until(qtbot, lambda: board.scores.updates > rounds, 15)  # the next look, every 4 s
    assert {key: entry[0] for key, entry in board.scores.curves.items()} == curves  # in place

    wait_until(qtbot, lambda: page.snapshot.alerts, 30)  # once the bucket is complete
    assert "dataset drift" in page.snapshot.alerts[0].message
    wait_until(qtbot, lambda: board.alerts.item(0).text().endswith(page.snapshot.alerts[0].message))
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
    before = {v.version for v in lab.model_versions(served.model)}
    task = page.retrain()
    wait_until(qtbot, lambda: page.retrained is not None, 90)
    outcome = page.retrained
    assert outcome.run.status == "done"
    served_version = lab.model_version(f"{served.model}@{served.version}")
    assert outcome.run.spec["features"] == served_version.spec["features"]  # the same spec
    assert outcome.run.estimator == served_version.estimator
    assert outcome.version.version not in before
    assert outcome.version.tags["retrained_from"] == f"{served.model}@{served.version}"
    assert outcome.report.alias == "production"
    assert lab.model_version(outcome.version.ref).aliases == ()  # it waits at the gates
    assert "waits at the gates" in page.banner.label.text()
