"""Promote a version to an alias: the gates decide; a blocked move can be forced, with a reason.

``ws.lifecycle.promote`` evaluates the gates itself (models are loaded, a smoke test starts a fresh
process: seconds), so it runs as a background job. A GateBlocked answer carries the report: the
dialog lists every rule with the failing ones marked, and offers the forced path, which stays
disabled until a reason is written. The reason is recorded in the alias history and the audit
trail (``model.promote_forced``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from core.entities import ModelVersion
from core.errors import GateBlocked
from core.services import Promotion, Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.pages.common.gate_table import gate_model, gate_table, rule_name, verdict
from desktop.theme import set_style_property
from desktop.widgets.common import heading, icon_button, muted


class PromoteDialog(QDialog):
    """Non-modal: the window stays usable while the gates run."""

    promoted = Signal(object)  # Promotion

    def __init__(
        self,
        context: AppContext,
        workspace: Workspace,
        version: ModelVersion,
        alias: str = "production",
        parent=None,
    ) -> None:
        super().__init__(parent)
        self.context, self.workspace, self.version = context, workspace, version
        self.promotion: Promotion | None = None
        self.blocked: GateBlocked | None = None
        self.setWindowTitle(f"Promote {version.ref}")
        self.setMinimumSize(720, 460)
        self.alias = QComboBox()
        self.alias.setEditable(True)
        self.alias.addItems(list(dict.fromkeys([alias, "production", "staging"])))
        self.alias.setCurrentText(alias)
        self.message = QLabel(
            "The gates of the alias are evaluated first (shipway.toml [gates.ALIAS]); the alias "
            "moves only if every rule passes."
        )
        self.message.setWordWrap(True)
        self.gates = gate_model()
        self.table = gate_table(self.gates)
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText(
            "Why may the gates be overridden? The reason is kept in the alias history and the "
            "audit trail, with every rule that failed."
        )
        self.reason.setMaximumHeight(80)
        self.reason.textChanged.connect(self._reason_changed)
        self.force_button = icon_button("Force promotion", "warning")
        self.force_button.setEnabled(False)
        self.force_button.clicked.connect(lambda: self.promote(force=True))
        self.promote_button = icon_button("Promote", "register", primary=True)
        self.promote_button.clicked.connect(lambda: self.promote(force=False))
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        self._layout()

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading(f"Promote {self.version.ref} to", "title"))
        top.addWidget(self.alias)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        self.force_box = QGroupBox("Force the promotion anyway")
        column = QVBoxLayout(self.force_box)
        column.addWidget(
            muted("Only when you know why the failing rules may be ignored this time.")
        )
        column.addWidget(self.reason)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.force_button)
        column.addLayout(row)
        self.force_box.setVisible(False)
        layout.addWidget(self.force_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.promote_button)
        layout.addLayout(buttons)

    def _reason_changed(self) -> None:
        self.force_button.setEnabled(self.blocked is not None and bool(self.reason_text()))

    def reason_text(self) -> str:
        return self.reason.toPlainText().strip()

    def _busy(self, text: str) -> None:
        self.promote_button.setEnabled(False)
        self.force_button.setEnabled(False)
        self.alias.setEnabled(False)
        self._say(text, "")

    def _say(self, text: str, kind: str) -> None:
        self.message.setText(text)
        set_style_property(self.message, "role", kind)

    # -- promoting -------------------------------------------------------------------------------

    def promote(self, force: bool = False) -> None:
        alias = self.alias.currentText().strip() or "production"
        reason = self.reason_text() if force else ""
        if force and not reason:
            self._say("Write why the gates may be overridden before forcing the move.", "error")
            return
        workspace, ref = self.workspace, self.version.ref
        self._busy(f"Evaluating the gates of {alias} for {ref}…")

        def work(progress, cancel) -> Promotion:
            return workspace.lifecycle.promote(
                ref, alias, force=force, reason=reason, progress=progress, cancel=cancel
            )

        self.context.runner.submit(
            f"{'Forcing' if force else 'Promoting'} {ref} to {alias}",
            work,
            on_success=self._promoted,
            on_failure=self._failed,
            owner=self,
        )

    def _promoted(self, promotion: Promotion) -> None:
        self.promotion = promotion
        self.blocked = None
        self.gates.set_items(list(promotion.report.results))
        move = promotion.move
        how = "forced past the failing gates" if promotion.forced else "every gate passed"
        self._say(
            f"{move.alias} now points at v{move.to_version} (was "
            f"{'v' + str(move.from_version) if move.from_version else 'unset'}): {how}.",
            "ok",
        )
        self.force_box.setVisible(False)
        self.close_button.setText("Done")
        self.promoted.emit(promotion)

    def _failed(self, error: BaseException, trace: str) -> None:
        self.alias.setEnabled(True)
        self.promote_button.setEnabled(True)
        if isinstance(error, GateBlocked):
            self.blocked = error
            self.gates.set_items(list(error.report.results))
            reasons = "".join(
                f"<br>✗ <b>{rule_name(g.rule)}</b>: {_escape(g.message)}"
                for g in error.report.failures
            )
            self._say(f"{verdict(error.report)} Nothing moved.{reasons}", "error")
            self.force_box.setVisible(True)
            self._reason_changed()
            return
        self._say(describe(error).text, "error")
        if not describe(error).expected:
            self.context.errors.report(error, f"Promoting {self.version.ref}", trace)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
