"""The Contract tab of a model version: its data contract as a table, one row per input column,
the Edit… button (:mod:`desktop.pages.models.contract_edit`) and a check against any data set
version with the violations it found.

The widget only shows; the Models page reads the contract with the version's detail and runs
the edit and the check on background tasks (:mod:`desktop.pages.models.contract_actions`).
Long category lists are shortened in the table (the first few values and the count); the cell's
tooltip and the edit dialog hold them all.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.theme import set_style_property
from desktop.widgets.common import icon_button, make_table, muted, plural, set_widths
from desktop.widgets.table_model import Column, ListTableModel

SHOWN_CATEGORIES = 4  # more allowed values than this are shortened in the table


def bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def allowed_text(categories: tuple[str, ...] | None) -> str:
    """The allowed values of a text column, shortened with their count when long."""
    if categories is None:
        return "any"
    if len(categories) <= SHOWN_CATEGORIES:
        return ", ".join(categories)
    shown = ", ".join(categories[: SHOWN_CATEGORIES - 1])
    return f"{shown}, … ({len(categories)} values)"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


RULE_COLUMNS = [
    Column("Column", lambda r: r.name),
    Column("Type", lambda r: r.type),
    Column("Min", lambda r: r.minimum, text=lambda r: bound(r.minimum), numeric=True),
    Column("Max", lambda r: r.maximum, text=lambda r: bound(r.maximum), numeric=True),
    Column(
        "Allowed values",
        lambda r: allowed_text(r.categories),
        cell_tip=lambda r: "\n".join(r.categories or ()),
        tooltip="The categories a text column may hold (any: no rule)",
    ),
    Column("Nullable", lambda r: _yes(r.nullable), tooltip="May the value be missing?"),
    Column("Unique", lambda r: _yes(r.unique), tooltip="Must every row's value differ?"),
]
VIOLATION_COLUMNS = [
    Column("Rule", lambda v: v.rule),
    Column("Rows", lambda v: v.rows, numeric=True),
    Column("What", lambda v: v.message, cell_tip=lambda v: v.message),
    Column(
        "First rows",
        lambda v: v.examples,
        text=lambda v: ", ".join(str(r) for r in v.examples),
        tooltip="The first rows breaking the rule (0-based row numbers)",
    ),
]


def origin_text(source: str) -> str:
    if source == "edited":
        return "Edited since registration (the audit trail says by whom)."
    return "Inferred from the training data at registration (ranges widened by 10%)."


class ContractView(QWidget):
    """The rules, who made them, Edit…, and Check against a data set version."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: Any = None  # the StoredContract shown
        self.check: Any = None  # the ContractCheck shown
        self.rules = ListTableModel(RULE_COLUMNS)
        self.violations = ListTableModel(VIOLATION_COLUMNS)
        self.origin = muted("")
        self.edit_button = icon_button(
            "Edit…", "table", tip="Change the rules: ranges, allowed values, nullable, unique"
        )
        self.dataset = QComboBox()
        self.dataset.setMinimumWidth(160)
        self.dataset.setToolTip("A data set version to check against this contract")
        self.check_button = icon_button(
            "Check", "check", tip="Check the chosen data set version: the rows breaking a rule"
        )
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self._layout()
        self.show_contract(None)

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.origin, 1)
        top.addWidget(self.edit_button)
        layout.addLayout(top)
        rules = make_table(self.rules, sortable=False)
        set_widths(rules, (120, 58, 64, 64, 190, 66))
        layout.addWidget(rules, 3)
        check = QHBoxLayout()
        check.addWidget(QLabel("Check against data set"))
        check.addWidget(self.dataset)
        check.addWidget(self.check_button)
        check.addWidget(self.verdict, 1)
        layout.addLayout(check)
        self.violations_table = make_table(self.violations, sortable=False)
        set_widths(self.violations_table, (150, 50, 360))
        self.violations_table.setMinimumHeight(70)
        layout.addWidget(self.violations_table, 1)

    def show_contract(self, stored: Any, datasets: tuple[str, ...] = (), default: str = "") -> None:
        """``stored``: a StoredContract (None: no version); ``datasets``: the refs offered."""
        changed = stored is None or self.stored is None or stored.ref != self.stored.ref
        self.stored = stored
        self.edit_button.setEnabled(stored is not None)
        self.rules.set_items(list(stored.contract.columns) if stored is not None else [])
        self.origin.setText(origin_text(stored.source) if stored is not None else "")
        self._fill_datasets(datasets, default)
        self.check_button.setEnabled(stored is not None and bool(datasets))
        if changed:  # another version: the last check was of the one before
            self.show_check(None)

    def _fill_datasets(self, refs: tuple[str, ...], default: str) -> None:
        current = self.dataset.currentText() or default
        self.dataset.blockSignals(True)
        self.dataset.clear()
        self.dataset.addItems(list(refs))
        self.dataset.setCurrentText(current if current in refs else default)
        self.dataset.blockSignals(False)

    def show_check(self, check: Any) -> None:
        """A ContractCheck (None: nothing checked yet)."""
        self.check = check
        self.violations.set_items(list(check.violations) if check is not None else [])
        self.violations_table.setVisible(check is not None and not check.passed)
        if check is None:
            self._say("Choose a data set version and check it against these rules.", "")
        elif check.passed:
            self._say(f"All {check.rows:,} rows of {check.data} meet the contract.", "ok")
        else:
            broken = plural(len(check.violations), "rule")
            self._say(f"{broken} broken in {check.data} ({check.rows:,} rows):", "error")

    def show_problem(self, text: str) -> None:
        """The check could not run (the engine said why)."""
        self.violations.set_items([])
        self.violations_table.setVisible(False)
        self._say(text, "error")

    def checking(self, ref: str) -> None:
        self.check_button.setEnabled(False)
        self._say(f"Checking {ref}…", "")

    def checked(self) -> None:
        self.check_button.setEnabled(self.stored is not None and self.dataset.count() > 0)

    def _say(self, text: str, kind: str) -> None:
        self.verdict.setText(text)
        set_style_property(self.verdict, "role", kind)
