"""What the Models page does with a version: gates, promote, approve, roll back, deploy, export,
score data.

Each action is a background job (the engine loads models, starts processes or writes zips);
the page reads itself again when it ends, and other pages hear of it through the event bus.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.entities import GateReport
from core.services import Promotion
from desktop.errors import describe
from desktop.pages.common.deploy_action import start_deployment
from desktop.pages.common.gate_table import verdict
from desktop.pages.models.promote_dialog import PromoteDialog
from desktop.pages.models.score_dialog import ScoreDialog
from desktop.widgets.dialogs import ask


class ModelActionsMixin:
    """Mixed into ModelsPage (which provides workspace, context, detail, status, reload)."""

    def _ref(self) -> str | None:
        version = self.detail.version
        return version.ref if version is not None else None

    def confirm(self, title: str, text: str, act: str = "Roll back") -> bool:
        """Ask before an action that moves an alias (the tests replace this method)."""
        return ask(self, title, text, yes=act)

    # -- gates and promotion -------------------------------------------------------------------

    def evaluate_gates(self, alias: str | None = None):
        ref, workspace = self._ref(), self.workspace
        if ref is None or workspace is None:
            return None
        alias = alias or self.detail.alias.currentText().strip() or "production"

        def work(progress, cancel) -> GateReport:
            return workspace.registry.evaluate_gates(ref, alias, progress, cancel)

        def done(report: GateReport) -> None:
            self.status(verdict(report))
            if self._ref() == ref:
                self.detail.show_report(report)
            self.reload_detail()

        return self.context.runner.submit(
            f"Evaluating the gates of {alias} for {ref}", work, on_success=done, owner=self
        )

    def promote(self, alias: str | None = None) -> PromoteDialog | None:
        version, workspace = self.detail.version, self.workspace
        if version is None or workspace is None:
            return None
        alias = alias or self.detail.alias.currentText().strip() or "production"
        dialog = PromoteDialog(self.context, workspace, version, alias, self)
        dialog.promoted.connect(self._promoted)
        dialog.open()
        self.promote_dialog = dialog
        return dialog

    def _promoted(self, promotion: Promotion) -> None:
        move = promotion.move
        self.status(f"{promotion.version.model}@{move.alias} → v{move.to_version}")
        self.context.events.models_changed.emit()
        if promotion.deployments:
            self.context.events.deployments_changed.emit()

    # -- approval and rollback -----------------------------------------------------------------

    def approve(self, comment: str | None = None):
        ref, workspace = self._ref(), self.workspace
        if ref is None or workspace is None:
            return None
        comment = (self.detail.comment.text() if comment is None else comment).strip()

        def done(approval) -> None:
            self.detail.approval_problem = None
            self.detail.comment.clear()
            self.status(f"{approval.approver} approved {ref}")
            self.context.events.models_changed.emit()

        def failed(error: BaseException, trace: str) -> None:
            explanation = describe(error)
            self.detail.show_approval_note(explanation.text)
            if not explanation.expected:
                self.context.errors.report(error, f"Approving {ref}", trace)

        return self.context.runner.submit(
            f"Approving {ref}",
            lambda _p, _c: workspace.registry.approve(ref, comment),
            on_success=done,
            on_failure=failed,
            owner=self,
        )

    def show_approvals(self) -> None:
        self.detail.tabs.setCurrentIndex(1)
        self.detail.comment.setFocus()

    def rollback(self, alias: str):
        version, workspace = self.detail.version, self.workspace
        if version is None or workspace is None:
            return None
        holder = (self.detail.detail.holders or {}).get(alias) if self.detail.detail else None
        question = (
            f"Move {version.model}@{alias} back to the version it held before its latest "
            f"promotion (it holds v{holder} now)? Deployments that follow {alias} swap back too."
        )
        if not self.confirm(f"Roll back {alias}", question):
            return None

        def done(move) -> None:
            self.status(
                f"{version.model}@{alias} rolled back: v{move.from_version} → v{move.to_version}"
            )
            self.context.events.models_changed.emit()
            self.context.events.deployments_changed.emit()

        return self.context.runner.submit(
            f"Rolling back {version.model}@{alias}",
            lambda _p, _c: workspace.lifecycle.rollback(version.model, alias),
            on_success=done,
            owner=self,
        )

    def score_data(self) -> ScoreDialog | None:
        """Open the Score data dialog for the selected version (non-modal)."""
        ref, workspace = self._ref(), self.workspace
        if ref is None or workspace is None:
            return None
        dialog = ScoreDialog(self.context, workspace, ref, self)
        dialog.open()
        self.score_dialog = dialog
        return dialog

    # -- deploy and export ---------------------------------------------------------------------

    def deploy(self, ref: str | None = None):
        workspace = self.workspace
        ref = ref or self.detail.deploy_ref
        if workspace is None or not ref:
            return None
        return start_deployment(self.context, workspace, ref, self)

    def choose_bundle_file(self) -> None:
        ref = self._ref()
        if ref is None:
            return
        default = f"{ref.replace('@', '-v')}.zip"
        target, _ = QFileDialog.getSaveFileName(self, "Export bundle", default, "Zip (*.zip)")
        if target:
            self.export_bundle(target)

    def export_bundle(self, target: str | Path):
        ref, workspace = self._ref(), self.workspace
        if ref is None or workspace is None:
            return None

        def done(bundle) -> None:  # an ExportedBundle
            self.status(f"Exported {ref} to {bundle.path} (sha256 {bundle.sha256[:12]}…)")

        return self.context.runner.submit(
            f"Exporting {ref} as a bundle",
            lambda _p, _c: workspace.bundles.export(ref, target),
            on_success=done,
            owner=self,
        )

    def save_description(self, text: str | None = None):
        """Record the version's description (``ws.registry.edit``), then read it again."""
        ref, workspace = self._ref(), self.workspace
        if ref is None or workspace is None:
            return None
        text = (self.detail.description.text() if text is None else text).strip()
        self.detail.save_description.setEnabled(False)

        def done(version) -> None:
            self.status(f"Saved the description of {version.ref}")
            self.context.events.models_changed.emit()

        return self.context.runner.submit(
            f"Saving the description of {ref}",
            lambda _p, _c: workspace.registry.edit(ref, description=text),
            on_success=done,
            owner=self,
        )

    def choose_card_file(self) -> None:
        detail = self.detail.detail
        ref, html = self._ref(), detail.card_html if detail is not None else ""
        if ref is None or not html:
            return
        default = f"{ref.replace('@', '-v')}-card.html"
        target, _ = QFileDialog.getSaveFileName(self, "Save model card", default, "HTML (*.html)")
        if target:
            self.context.runner.submit(
                f"Saving the card of {ref}",
                lambda _p, _c: Path(target).write_text(html, encoding="utf-8"),
                on_success=lambda _n: self.status(f"Saved the card of {ref} to {target}"),
                owner=self,
            )
