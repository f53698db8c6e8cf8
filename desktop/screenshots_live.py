"""The screenshots of the live pages: Models, a blocked promotion, Score data, Deployments and
Monitoring.

Called by :mod:`desktop.screenshots` once the demo is open with its traffic generator running;
the Monitoring shot waits until the growing shift has made features drift.
"""

from __future__ import annotations

import time
from pathlib import Path

from desktop.main_window import MainWindow
from desktop.screenshots import settle, shoot

DRIFT_WAIT_S = 150  # at most: the shift reaches most rows after about 90 s of traffic
CHECK_EVERY_S = 10  # how often the screenshots press "Check triggers now" while waiting


def models_shots(window: MainWindow, out: Path, theme: str) -> None:
    page = window.show_page("models")
    page.show_version("penguins@2")
    settle(until=lambda: page.detail.version is not None and page.detail.version.version == 2)
    page.detail.tabs.setCurrentIndex(0)
    shoot(window, out / f"models-{theme}.png")
    page.detail.tabs.setCurrentWidget(page.detail.card_tab)
    settle(until=lambda: page.detail.card.images_loaded > 0)
    card = page.detail.card
    found = card.document().find("Curves")  # scroll the curves' heading to the top
    bar = card.verticalScrollBar()
    bar.setValue(bar.value() + card.cursorRect(found).top() - 8)
    shoot(window, out / f"models-card-{theme}.png")
    page.detail.tabs.setCurrentIndex(0)


def promote_shot(window: MainWindow, out: Path, theme: str) -> None:
    """penguins@3 to production under stricter gates (an approval, f1 ≥ 0.999): blocked."""
    workspace = window.workspace
    workspace.project.save_settings(
        gates={
            "production": {
                "metrics": {"f1": ">= 0.999"},
                "approval": True,
                "data_checks": True,
                "smoke_test": False,
            }
        }
    )
    page = window.show_page("models")
    page.show_version("penguins@3")
    settle(until=lambda: page.detail.version is not None and page.detail.version.version == 3)
    dialog = page.promote("production")
    dialog.resize(820, 520)
    dialog.move(window.x() + 260, window.y() + 150)
    dialog.promote_button.click()
    settle(until=lambda: dialog.blocked is not None or dialog.promotion is not None)
    dialog.reason.setPlainText("Approved in the weekly review; the approver is on leave.")
    shoot(dialog, out / f"promote-blocked-{theme}.png")
    dialog.reject()
    workspace.project.save_settings(gates={"production": {"data_checks": True, "smoke_test": True}})


def score_shot(window: MainWindow, out: Path, theme: str) -> None:
    """Score data… on the Models page: penguins@1 scored by penguins@2, the stored version."""
    page = window.show_page("models")
    page.show_version("penguins@2")
    settle(until=lambda: page.detail.version is not None and page.detail.version.version == 2)
    dialog = page.score_data()
    dialog.move(window.x() + 300, window.y() + 160)
    settle(until=lambda: dialog.dataset.count() > 0)
    dialog.dataset.setCurrentText("penguins@1")
    dialog.keep.setText("species")
    dialog.start()
    settle(until=lambda: dialog.task is not None and not dialog.task.running)
    shoot(dialog, out / f"score-{theme}.png")
    dialog.reject()


def deployments_shots(window: MainWindow, out: Path, theme: str) -> None:
    page = window.show_page("deployments")
    settle(until=lambda: page.selected_row() is not None and page.detail.info is not None)
    page.detail.tabs.setCurrentIndex(1)
    page.detail.try_it.send()
    settle(until=lambda: page.detail.try_it.answer is not None)
    settle(3.5)  # one more status probe: the request counts move
    shoot(window, out / f"deployments-{theme}.png")
    page.detail.tabs.setCurrentIndex(0)
    shoot(window, out / f"deployments-usage-{theme}.png")
    explain_shot(window, out, theme)


def explain_shot(window: MainWindow, out: Path, theme: str) -> None:
    """ "Try it" with Explain ticked: the reasons of the sample row as sorted bars."""
    page = window.show_page("deployments")
    settle(until=lambda: page.selected_row() is not None and page.detail.info is not None)
    page.detail.tabs.setCurrentIndex(1)
    try_it = page.detail.try_it
    try_it.reset()
    try_it.answer = None
    try_it.explain.setChecked(True)
    try_it.send()
    settle(until=lambda: try_it.answer is not None and try_it.explanation.bars.drawn)
    shoot(window, out / f"try-it-explain-{theme}.png")
    try_it.explain.setChecked(False)


def monitoring_shot(window: MainWindow, out: Path, theme: str, opened_at: float) -> None:
    page = window.show_page("monitoring")
    page.choose_range(300)

    checked = [0.0]

    def drifting() -> bool:
        snapshot = page.snapshot
        report = snapshot.window if snapshot is not None else None
        if time.monotonic() - opened_at > DRIFT_WAIT_S:
            return True
        if report is None or report.drifted_features < 4:
            return False
        if snapshot.alerts:
            return True
        if time.monotonic() - checked[0] > CHECK_EVERY_S and not window.context.runner.tasks():
            checked[0] = time.monotonic()
            page.check_triggers()  # what a user does: alerts are recorded only when asked
        return False

    settle(until=drifting)
    page.board.feature.setCurrentText("body_mass_g")
    settle(4.5)  # one more look: every plot drawn from the same snapshot
    shoot(window, out / f"monitoring-{theme}.png")


def live_shots(window: MainWindow, out: Path, theme: str) -> None:
    traffic = window.session.traffic if window.session is not None else None
    opened_at = traffic.started_at if traffic and traffic.started_at else time.monotonic()
    models_shots(window, out, theme)
    promote_shot(window, out, theme)
    score_shot(window, out, theme)
    deployments_shots(window, out, theme)
    monitoring_shot(window, out, theme, opened_at)
