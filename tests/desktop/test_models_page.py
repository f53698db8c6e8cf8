"""The Models page on a real registry: gates evaluated in the background, a promotion blocked by
a failing gate of shipway.toml (with its rule shown), forced only with a written reason, then
allowed once the gate is met; the model card with its curves drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.entities import ModelVersion
from core.services import TrainRequest, Workspace
from tests.desktop.conftest import show_version, wait_until

STRICT_GATES = """
[gates.production]
metrics = { f1 = ">= 0.99" }
data_checks = true
smoke_test = false
"""


@pytest.fixture(scope="module")
def weak(lab: Workspace) -> ModelVersion:
    """A one-split decision tree (f1 well below 0.99), registered as ``gated@1``."""
    request = TrainRequest(
        data="penguins", target="species", estimator="decision_tree", params={"max_depth": 1}
    )
    return lab.lifecycle.register(lab.runs.train(request).result().id, "gated")


def test_evaluate_gates_lists_each_rule_with_value_threshold_and_mark(
    qtbot, lab_window, weak: ModelVersion, settings_file: Path
) -> None:
    settings_file.write_text(settings_file.read_text() + STRICT_GATES, encoding="utf-8")
    page = show_version(qtbot, lab_window, weak.ref)
    task = page.evaluate_gates("production")
    assert task is not None and not task.quiet  # a visible background job
    wait_until(qtbot, lambda: not task.running, 60)
    wait_until(qtbot, lambda: page.detail.gates.rowCount() >= 2, 10)
    rows = {page.detail.gates.index(r, 1).data(): r for r in range(page.detail.gates.rowCount())}
    f1 = rows["metric f1"]
    assert page.detail.gates.index(f1, 0).data() == "✗ fail"
    assert page.detail.gates.index(f1, 3).data() == ">= 0.99"
    assert float(page.detail.gates.index(f1, 2).data()) == pytest.approx(weak.metrics["f1"], 1e-3)
    assert page.detail.gates.index(rows["data checks"], 0).data() == "✓ pass"
    assert "blocked from production" in page.detail.gate_verdict.text()


def test_promote_is_blocked_by_a_failing_gate_then_forced_with_a_reason_then_allowed(
    qtbot, lab_window, lab: Workspace, weak: ModelVersion, settings_file: Path
) -> None:
    settings_file.write_text(settings_file.read_text() + STRICT_GATES, encoding="utf-8")
    page = show_version(qtbot, lab_window, weak.ref)
    dialog = page.promote("production")
    dialog.promote_button.click()
    wait_until(qtbot, lambda: dialog.blocked is not None, 60)
    failing = [dialog.gates.item(r) for r in range(dialog.gates.rowCount())]
    assert [g.rule for g in failing if not g.passed] == ["metric:f1"]
    assert "1 of 2 rules fail (metric f1)" in dialog.message.text()
    assert dialog.force_box.isVisibleTo(dialog)
    assert not dialog.force_button.isEnabled()  # no reason written yet
    assert lab.registry.version(weak.ref).aliases == ()  # nothing moved

    dialog.reason.setPlainText("The baseline the team agreed to serve until Friday.")
    assert dialog.force_button.isEnabled()
    dialog.force_button.click()
    wait_until(qtbot, lambda: dialog.promotion is not None, 60)
    assert dialog.promotion.forced
    history = lab.registry.history("gated", "production")
    assert history[-1].kind == "force" and "Friday" in history[-1].reason
    dialog.reject()

    # A better version passes once the gate is met: the move is allowed, not forced.
    settings_file.write_text(
        settings_file.read_text().replace('">= 0.99"', '">= 0.9"'), encoding="utf-8"
    )
    run = lab.runs.train(
        TrainRequest(data="penguins", target="species", estimator="logistic_regression")
    ).result()
    better = lab.lifecycle.register(run.id, "gated")
    page = show_version(qtbot, lab_window, better.ref)
    dialog = page.promote("production")
    dialog.promote_button.click()
    wait_until(qtbot, lambda: dialog.promotion is not None or dialog.blocked is not None, 60)
    assert dialog.promotion is not None and not dialog.promotion.forced
    assert lab.registry.version("gated@production").version == better.version
    wait_until(qtbot, lambda: "production" in page.versions.item(0).aliases, 10)
    wait_until(qtbot, lambda: page.detail.deploy_ref == "gated@production", 10)  # the alias
    dialog.reject()


def test_the_model_card_is_shown_with_its_curves(qtbot, lab_window, weak: ModelVersion) -> None:
    page = show_version(qtbot, lab_window, weak.ref)
    page.detail.tabs.setCurrentIndex(3)
    wait_until(qtbot, lambda: page.detail.card.images_loaded >= 2, 10)  # ROC and PR as SVG
    text = page.detail.card.toPlainText()
    assert f"Model card: {weak.ref}" in text and "Lineage" in text


def test_the_trainer_cannot_approve_and_is_told_why(qtbot, lab_window, weak) -> None:
    page = show_version(qtbot, lab_window, weak.ref)
    assert "your approval does not count" in page.detail.approval_note.text()
    task = page.approve("looks fine to me")
    wait_until(qtbot, lambda: not task.running, 10)
    assert "cannot approve" in page.detail.approval_note.text()
    assert not lab_window.context.errors.history  # said inline, not in a dialog


def test_deploy_serves_the_alias_the_selected_version_holds(qtbot, lab_window, lab) -> None:
    request = TrainRequest(data="penguins", target="species", estimator="decision_tree")
    first, second = (lab.runs.train(request).result() for _ in range(2))
    held = lab.lifecycle.register(first.id, "aliased")
    pinned = lab.lifecycle.register(second.id, "aliased")
    lab.lifecycle.promote(held.ref, "production", force=True, reason="the one in use")
    page = show_version(qtbot, lab_window, held.ref)
    detail = page.detail
    wait_until(qtbot, lambda: detail.deploy_ref == "aliased@production", 20)
    assert detail.deploy.text() == "Deploy aliased@production" and detail.deploy.isEnabled()
    assert "follows the alias" in detail.deploy.toolTip()

    row = page.versions.row_of(lambda v: v.version == pinned.version)
    page.versions_table.selectRow(row)  # another version: nothing is deployable until it is read
    assert detail.deploy_ref == "" and not detail.deploy.isEnabled()
    wait_until(qtbot, lambda: detail.deploy_ref == pinned.ref, 20)  # it holds no alias
    assert detail.deploy.text() == f"Deploy {pinned.ref}"
