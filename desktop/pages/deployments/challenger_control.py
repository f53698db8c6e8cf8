"""What the Challenger tab does: read the comparison while shown, set, remove and promote.

Reads run in the background every few seconds while the tab is shown; setting, removing and
promoting are visible jobs. A promotion goes through the gates of the deployment's alias; when
``challenger_wins`` blocks it ("not enough rows", "not shown better"), the job's error says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.pages.deployments.challenger_tab import read_challenger
from desktop.polling import Poller

if TYPE_CHECKING:
    from desktop.pages.deployments.page import DeploymentsPage

POLL_MS = 4000


class ChallengerControl:
    """The Challenger tab of the Deployments page, wired to the engine."""

    def __init__(self, page: DeploymentsPage) -> None:
        self.page = page
        self.tab = page.detail.challenger
        self.poller = Poller(page, POLL_MS, self.read)
        self.tab.set_button.clicked.connect(lambda: self.set_challenger())
        self.tab.remove_button.clicked.connect(lambda: self.remove())
        self.tab.comparison.promote_button.clicked.connect(lambda: self.promote())

    def read(self):
        deployment_id = self.page._selected
        if deployment_id is None or not self.page.detail.challenger_shown:
            return None

        def show(found: tuple[Any, dict | None, list[str]]) -> None:
            if deployment_id == self.page._selected:
                info, comparison, refs = found
                current = self.tab.version.currentText()
                self.tab.set_choices(refs, current)
                self.tab.show_state(info, comparison)

        return self.page.fetch(
            lambda ws: read_challenger(ws, deployment_id),
            show,
            self.page.quietly_failed("The challenger"),
        )

    def _submit(self, title: str, work, done_text) -> Any:
        workspace, deployment_id = self.page.workspace, self.page._selected
        if workspace is None or deployment_id is None:
            return None

        def done(result: Any) -> None:
            self.page.status(done_text(result))
            self.page.context.events.deployments_changed.emit()
            self.poller.poll()

        return self.page.context.runner.submit(
            title, lambda _p, _c: work(workspace, deployment_id), on_success=done, owner=self.page
        )

    def set_challenger(self):
        config = self.tab.config()
        return self._submit(
            f"Setting challenger {config.ref}",
            lambda ws, d: ws.deployments.set_challenger(d, config),
            lambda info: f"{info.model}@{info.version} challenges in {info.mode} mode",
        )

    def remove(self):
        return self._submit(
            "Removing the challenger",
            lambda ws, d: ws.deployments.remove_challenger(d),
            lambda _: "The champion answers alone again",
        )

    def promote(self):
        return self._submit(
            "Promoting the challenger",
            lambda ws, d: ws.lifecycle.promote_challenger(d),
            lambda promotion: f"{promotion.version.ref} now holds {promotion.move.alias!r}",
        )
