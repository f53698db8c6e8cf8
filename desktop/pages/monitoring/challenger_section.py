"""Monitoring's champion-against-challenger tab, there when the deployment has a challenger.

Read with each poll of the page, in the background (``ws.monitoring.compare_challenger``). The
page's board and this section are the two tabs of one tab widget whose tab bar hides itself
while there is only the board, so a deployment without a challenger looks as it always did and
the board keeps its whole height. **Promote challenger** is a visible job through the gates of
the deployment's alias.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.pages.common.challenger_view import ComparisonView

if TYPE_CHECKING:
    from desktop.pages.monitoring.page import MonitoringPage


def read_comparison(ws, deployment_id: str) -> dict[str, Any] | None:
    """The comparison, or None when the deployment has no challenger (or is stopped)."""
    if ws.deployments.challenger(deployment_id) is None:
        return None
    if ws.deployments.get(deployment_id).status != "running":
        return None
    return ws.monitoring.compare_challenger(deployment_id).to_dict()


TITLE = "Champion against challenger"


class ChallengerSection(QWidget):
    """The comparison of the watched deployment's champion and challenger (a tab of ``tabs``)."""

    def __init__(self, page: MonitoringPage, tabs: QTabWidget) -> None:
        super().__init__()
        self.page = page
        self.tabs = tabs
        self.view = ComparisonView()
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addStretch(1)
        self.view.promote_button.clicked.connect(lambda: self.promote())
        self.present = False

    def set_present(self, present: bool) -> None:
        """Add or take away the tab."""
        if present and self.tabs.indexOf(self) < 0:
            self.tabs.addTab(self, TITLE)
        elif not present and self.tabs.indexOf(self) >= 0:
            self.tabs.removeTab(self.tabs.indexOf(self))
        self.present = present

    def read(self, deployment_id: str) -> None:
        def show(found: dict[str, Any] | None) -> None:
            if deployment_id == self.page.deployment_id():
                self.view.show_comparison(found)
                self.set_present(found is not None)

        self.page.fetch(
            lambda ws: read_comparison(ws, deployment_id),
            show,
            self.page.quietly_failed("The challenger comparison"),
        )

    def promote(self):
        workspace, deployment_id = self.page.workspace, self.page.deployment_id()
        if workspace is None or deployment_id is None:
            return None

        def done(promotion) -> None:
            self.page.status(f"{promotion.version.ref} now holds {promotion.move.alias!r}")
            self.page.context.events.deployments_changed.emit()
            self.page.context.events.models_changed.emit()

        return self.page.context.runner.submit(
            "Promoting the challenger",
            lambda _p, _c: workspace.lifecycle.promote_challenger(deployment_id),
            on_success=done,
            owner=self.page,
        )
