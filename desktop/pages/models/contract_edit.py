"""Edit a version's data contract in a table, as a KNIME or Orange user edits a column list.

One row per input column: min and max (numbers only; empty clears the bound), the allowed
values of a text column (comma-separated; ``any`` removes the rule), nullable and unique as
check boxes. Save sends only what changed, as the ``COLUMN.KEY=VALUE`` assignments of
``shipway models contract --set``, through ``ws.registry.edit_contract`` on a background task:
the engine is the one judge of a contract (min above max, a word where a number belongs, an
empty list of allowed values). When it refuses, its message is shown in the dialog, the dialog
stays open with the person's text as typed, and nothing was stored.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from core.services import Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.theme import set_style_property
from desktop.widgets.common import heading, icon_button

HEADERS = ("Column", "Type", "Min", "Max", "Allowed values", "Nullable", "Unique")
TEXT_KEYS = {"min": 2, "max": 3, "categories": 4}  # editable text cells: key → table column
FLAG_KEYS = {"nullable": 5, "unique": 6}  # check boxes
NUMERIC = ("integer", "float")
ANY = "any"


def edit_text(value: float | None) -> str:
    """A bound as the person edits it (precise enough that an unedited bound is unchanged)."""
    return "" if value is None else format(value, ".12g")


def _cell(text: str, editable: bool, applies: bool = True) -> QTableWidgetItem:
    """A text cell; one whose rule does not apply to the column's type is greyed out."""
    item = QTableWidgetItem(text)
    flags = Qt.ItemFlag.ItemIsSelectable
    if applies:
        flags |= Qt.ItemFlag.ItemIsEnabled
    if editable:
        flags |= Qt.ItemFlag.ItemIsEditable
    item.setFlags(flags)
    return item


def _check(flag: bool) -> QTableWidgetItem:
    item = QTableWidgetItem("")
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
    item.setCheckState(Qt.CheckState.Checked if flag else Qt.CheckState.Unchecked)
    return item


def _texts(rule: Any) -> dict[str, str]:
    """The text of each editable cell of ``rule`` as first shown."""
    categories = ANY if rule.categories is None else ", ".join(rule.categories)
    return {
        "min": edit_text(rule.minimum),
        "max": edit_text(rule.maximum),
        "categories": categories if rule.type == "string" else "",
    }


class ContractEditDialog(QDialog):
    """Non-modal; ``saved`` carries the StoredContract the engine kept."""

    saved = Signal(object)

    def __init__(self, context: AppContext, workspace: Workspace, stored: Any, parent=None) -> None:
        super().__init__(parent)
        self.context, self.workspace, self.stored = context, workspace, stored
        self.rules = list(stored.contract.columns)
        self.result_contract: Any = None
        self.setWindowTitle(f"Edit the data contract of {stored.ref}")
        self.setMinimumSize(820, 420)
        self.table = QTableWidget(len(self.rules), len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._fill()
        self.message = QLabel(
            "Min and max: empty means no bound. Allowed values: comma-separated; “any” means "
            "no rule. The engine checks the whole contract when you save."
        )
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = icon_button("Save", "check", primary=True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self._layout()

    def _fill(self) -> None:
        for row, rule in enumerate(self.rules):
            texts = _texts(rule)
            numeric, text = rule.type in NUMERIC, rule.type == "string"
            self.table.setItem(row, 0, _cell(rule.name, False))
            self.table.setItem(row, 1, _cell(rule.type, False))
            self.table.setItem(row, 2, _cell(texts["min"], numeric, numeric))
            self.table.setItem(row, 3, _cell(texts["max"], numeric, numeric))
            self.table.setItem(row, 4, _cell(texts["categories"], text, text))
            self.table.setItem(row, 5, _check(rule.nullable))
            self.table.setItem(row, 6, _check(rule.unique))
        header = self.table.horizontalHeader()
        for column, width in enumerate((150, 70, 90, 90, 240, 70, 70)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"Data contract of {self.stored.ref}", "title"))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)

    # -- reading the table -----------------------------------------------------------------------

    def cell(self, column: str, key: str) -> QTableWidgetItem:
        """The cell of ``column``'s ``key`` (min, max, categories, nullable, unique)."""
        row = next(i for i, rule in enumerate(self.rules) if rule.name == column)
        return self.table.item(row, {**TEXT_KEYS, **FLAG_KEYS}[key])

    def assignments(self) -> tuple[str, ...]:
        """What changed, as ``COLUMN.KEY=VALUE`` (``none`` for a removed rule)."""
        found = []
        for row, rule in enumerate(self.rules):
            before = _texts(rule)
            for key, column in TEXT_KEYS.items():
                text = self.table.item(row, column).text().strip()
                if text != before[key]:
                    value = "none" if key == "categories" and text.lower() == ANY else text
                    found.append(f"{rule.name}.{key}={value}")
            for key, column in FLAG_KEYS.items():
                checked = self.table.item(row, column).checkState() == Qt.CheckState.Checked
                if checked != getattr(rule, key):
                    found.append(f"{rule.name}.{key}={'true' if checked else 'false'}")
        return tuple(found)

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> None:
        changes = self.assignments()
        if not changes:
            self._say("Nothing changed: edit a cell first, or Cancel.", "")
            return
        ref, workspace = self.stored.ref, self.workspace
        self.save_button.setEnabled(False)
        self._say(f"Saving {len(changes)} change(s)…", "")
        self.context.runner.submit(
            f"Editing the data contract of {ref}",
            lambda _p, _c: workspace.registry.edit_contract(ref, changes),
            on_success=self._saved,
            on_failure=self._failed,
            owner=self,
        )

    def _saved(self, stored: Any) -> None:
        self.result_contract = stored
        self.saved.emit(stored)
        self.accept()

    def _failed(self, error: BaseException, trace: str) -> None:
        self.save_button.setEnabled(True)
        explanation = describe(error)
        self._say(explanation.text, "error")
        if not explanation.expected:
            self.context.errors.report(error, f"Editing the contract of {self.stored.ref}", trace)

    def _say(self, text: str, kind: str) -> None:
        self.message.setText(text)
        set_style_property(self.message, "role", kind)
