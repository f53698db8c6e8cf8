"""One model version in detail: what it is, its gates, approvals, alias history, card, data
contract (:mod:`desktop.pages.models.contract_view`) and metrics per segment
(:mod:`desktop.pages.models.segments_view`).

The widget only shows; the Models page reads the engine (:class:`VersionDetail`, in the
background) and carries out what the buttons ask for (:mod:`desktop.pages.models.actions`).
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.entities import GateReport, ModelVersion
from desktop.pages.common.deploy_action import deploy_choices
from desktop.pages.common.gate_table import gate_model, gate_table, report_from_evaluation, verdict
from desktop.pages.models.contract_view import ContractView
from desktop.pages.models.segments_view import SegmentsView
from desktop.pages.models.version_detail import (
    APPROVAL_COLUMNS,
    HISTORY_COLUMNS,
    VersionDetail,
    approval_note,
    summary_text,
)
from desktop.theme import keep_icon
from desktop.widgets.card_browser import CardBrowser
from desktop.widgets.common import (
    icon_button,
    make_table,
    muted,
    set_widths,
)
from desktop.widgets.table_model import ListTableModel

GUARDED = ("production", "staging")
CLI_HINT = re.compile(r"\(set one with `shipway models edit [^`]*`\)")


def card_for_the_app(card_html: str) -> str:
    """The card as the app shows it: its hint to set a description from the command line
    points to the Description field above the card instead (a saved card keeps the hint)."""
    return CLI_HINT.sub("(write one in the Description field above and press Save)", card_html)


def tool_button(text: str, icon_name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setObjectName("ActionButton")
    keep_icon(button, icon_name)
    return button


class ModelDetail(QWidget):
    """Summary, action buttons and the Gates / Approvals / Alias history / Model card /
    Contract / Segments tabs."""

    def __init__(self) -> None:
        super().__init__()
        self.detail: VersionDetail | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = {
            "gates": icon_button("Evaluate gates", "check", tip="Run the gates of the alias now"),
            "promote": icon_button("Promote…", "register", True, "Move an alias to this version"),
            "approve": icon_button("Approve…", "check", tip="Sign off this version"),
            "export": icon_button("Export bundle…", "export", tip="A zip that serves anywhere"),
            "score": icon_button(
                "Score data…",
                "run",
                tip="Predict a data set version or a file in bulk: a new data set version",
            ),
        }
        self.rollback = tool_button("Roll back ▾", "reproduce", "Move an alias back one step")
        self.rollback.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.rollback.setMenu(QMenu(self.rollback))
        self.deploy = tool_button("Deploy", "deployments", "Serve this version as a REST API")
        self.deploy.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.deploy.setMenu(QMenu(self.deploy))
        self.deploy_ref = ""
        self._build_tabs()
        self._layout()
        self.show_detail(None)

    def _build_tabs(self) -> None:
        self.alias = QComboBox()
        self.alias.setEditable(True)
        self.alias.setMinimumWidth(140)
        self.alias.currentTextChanged.connect(lambda _: self._show_gates())
        self.gate_verdict = QLabel()
        self.gate_verdict.setWordWrap(True)
        self.gates = gate_model()
        self.approvals = ListTableModel(APPROVAL_COLUMNS)
        self.history = ListTableModel(HISTORY_COLUMNS)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("A comment for the record (what you checked)")
        self.approve_button = icon_button("Approve", "check", True)
        self.approval_note = muted("")
        self.approval_problem: tuple[str, str] | None = None  # (ref, why the engine refused)
        self.card = CardBrowser()
        self.save_card = icon_button("Save card…", "export", tip="Write the card as HTML")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What this version is for, in a sentence")
        self.save_description = icon_button(
            "Save description", "check", tip="Record it on this version (it shows in the card)"
        )
        self.description.textChanged.connect(self._description_edited)
        self.description_ref = ""  # the version whose description the field holds
        self.tabs = QTabWidget()
        self.tabs.addTab(self._gates_tab(), "Gates")
        self.tabs.addTab(self._approvals_tab(), "Approvals")
        history = make_table(self.history, sortable=False)
        set_widths(history, (130, 90, 90, 130, 90))
        self.tabs.addTab(history, "Alias history")
        card = QWidget()
        column = QVBoxLayout(card)
        column.setContentsMargins(0, 6, 0, 0)
        described = QHBoxLayout()
        described.addWidget(QLabel("Description"))
        described.addWidget(self.description, 1)
        described.addWidget(self.save_description)
        column.addLayout(described)
        row = QHBoxLayout()
        row.addWidget(muted("The version's model card, as shipway models card writes it."))
        row.addStretch(1)
        row.addWidget(self.save_card)
        column.addLayout(row)
        column.addWidget(self.card, 1)
        self.card_tab = card
        self.tabs.addTab(card, "Model card")
        self.contract = ContractView()
        self.tabs.addTab(self.contract, "Contract")
        self.segments = SegmentsView()
        self.tabs.addTab(self.segments, "Segments")

    def _gates_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        row = QHBoxLayout()
        row.addWidget(QLabel("Gates of"))
        row.addWidget(self.alias)
        row.addWidget(self.gate_verdict, 1)
        column.addLayout(row)
        column.addWidget(gate_table(self.gates), 1)
        return tab

    def _approvals_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        row = QHBoxLayout()
        row.addWidget(self.comment, 1)
        row.addWidget(self.approve_button)
        column.addLayout(row)
        column.addWidget(self.approval_note)
        table = make_table(self.approvals, sortable=False)
        set_widths(table, (140, 360))
        column.addWidget(table, 1)
        return tab

    def _layout(self) -> None:
        actions = QHBoxLayout()
        actions.setSpacing(6)
        for widget in (self.buttons["gates"], self.buttons["promote"], self.buttons["approve"]):
            actions.addWidget(widget)
        actions.addWidget(self.rollback)
        actions.addStretch(1)  # Deploy, Score data and Export bundle sit in the page's toolbar
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.summary)
        layout.addLayout(actions)
        layout.addWidget(self.tabs, 1)

    # -- showing -------------------------------------------------------------------------------

    @property
    def version(self) -> ModelVersion | None:
        return self.detail.version if self.detail else None

    def show_detail(self, detail: VersionDetail | None) -> None:
        self.detail = detail
        enabled = detail is not None
        for widget in (*self.buttons.values(), self.deploy, self.rollback, self.tabs):
            widget.setEnabled(enabled)
        if detail is None:
            self.summary.setText("Select a model version to see its gates, approvals and card.")
            for model in (self.gates, self.approvals, self.history):
                model.set_items([])
            self.card.show_card("")
            self.contract.show_contract(None)
            self.segments.show_segments(None)
            return
        version = detail.version
        self.summary.setText(summary_text(detail))
        self._fill_aliases(detail)
        self._show_gates()
        self.approvals.set_items(detail.approvals)
        self.show_approval_note()
        self.history.set_items(detail.history)
        self.card.show_card(card_for_the_app(detail.card_html))
        newest = (r for r in detail.datasets if r.startswith(f"{version.dataset}@"))
        self.contract.show_contract(detail.contract, detail.datasets, next(newest, ""))
        self._fill_description(version)
        self._fill_deploy(version)
        self._fill_rollback(detail)

    def _fill_description(self, version: ModelVersion) -> None:
        """The version's description, unless the person is editing this version's."""
        editing = self.description_ref == version.ref and self.save_description.isEnabled()
        if not editing:
            self.description_ref = version.ref
            self.description.blockSignals(True)
            self.description.setText(version.description or "")
            self.description.blockSignals(False)
            self.save_description.setEnabled(False)

    def _description_edited(self) -> None:
        version = self.version
        changed = version is not None and self.description.text().strip() != (
            version.description or ""
        )
        self.save_description.setEnabled(changed)

    def show_approval_note(self, problem: str | None = None) -> None:
        """Who approves, and (kept across re-reads) why the last approval was refused."""
        if self.detail is None:
            return
        ref = self.detail.version.ref
        if problem is not None:
            self.approval_problem = (ref, problem)
        text = approval_note(self.detail)
        if self.approval_problem and self.approval_problem[0] == ref:
            text = f"{self.approval_problem[1]}\n{text}"
        self.approval_note.setText(text)

    def _fill_aliases(self, detail: VersionDetail) -> None:
        current = self.alias.currentText() or "production"
        names = [*GUARDED, *detail.holders, *(e.alias for e in detail.evaluations)]
        self.alias.blockSignals(True)
        self.alias.clear()
        self.alias.addItems(list(dict.fromkeys(names)))
        self.alias.setCurrentText(current)
        self.alias.blockSignals(False)

    def latest_report(self, alias: str) -> GateReport | None:
        if self.detail is None:
            return None
        version = self.detail.version
        for evaluation in self.detail.evaluations:  # newest first
            if evaluation.alias == alias:
                return report_from_evaluation(version.model, version.version, evaluation)
        return None

    def _show_gates(self, report: GateReport | None = None) -> None:
        alias = self.alias.currentText().strip() or "production"
        report = report or self.latest_report(alias)
        self.gates.set_items(list(report.results) if report else [])
        text = verdict(report, alias)
        if report is not None and report.results:
            text += f" <span style='color:gray'>({report.source})</span>"
        self.gate_verdict.setText(text)

    def show_report(self, report: GateReport) -> None:
        """A report just evaluated (before the detail is read again)."""
        self.alias.setCurrentText(report.alias)
        self._show_gates(report)

    @property
    def shown_ref(self) -> tuple[str, int] | None:
        version = self.version
        return None if version is None else (version.model, version.version)

    def forget_deploy(self) -> None:
        """Another version was selected and its detail is being read: Deploy waits for it."""
        self.deploy_ref = ""
        self.deploy.setText("Deploy")
        self.deploy.setEnabled(False)

    def _fill_deploy(self, version: ModelVersion) -> None:
        """One click deploys what the version stands for: the alias it holds (the deployment
        follows the alias when it moves), else the version itself; the text says which."""
        menu = self.deploy.menu()
        menu.clear()
        choices = deploy_choices(version.model, version.version, version.aliases)
        for ref, label in choices:
            action = menu.addAction(label)
            action.setData(ref)
        self.deploy_ref = choices[0][0]
        self.deploy.setText(f"Deploy {self.deploy_ref}")
        self.deploy.setEnabled(True)
        follows = "; the deployment follows the alias when it moves" if version.aliases else ""
        self.deploy.setToolTip(
            f"Serve {self.deploy_ref} as a REST API on this machine{follows}. The menu offers "
            "each alias this version holds and the version itself."
        )

    def _fill_rollback(self, detail: VersionDetail) -> None:
        menu = self.rollback.menu()
        menu.clear()
        for alias, holder in sorted(detail.holders.items()):
            action = menu.addAction(f"Roll back {alias} (now v{holder})")
            action.setData(alias)
        self.rollback.setEnabled(bool(detail.holders))
