"""Two versions of a data set side by side: schema changes, rows, per-column shift (PSI).

Shows a ``DatasetDiff`` (``ws.data.diff(a, b)``); its ``columns`` are plain dicts, one per column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.theme import current_colors
from desktop.widgets.common import format_value, make_table, muted, set_widths
from desktop.widgets.table_model import Column, ListTableModel


def _pair(values: list[Any], percent: bool = False) -> str:
    def one(v: Any) -> str:
        return "—" if v is None else (f"{v * 100:.1f} %" if percent else str(v))

    return f"{one(values[0])} → {one(values[1])}" if values else ""


DIFF_COLUMNS = [
    Column("Column", lambda c: c["name"]),
    Column("Type", lambda c: _pair(c.get("type", []))),
    Column(
        "Missing",
        lambda c: c["missing_share"][1],
        text=lambda c: _pair(c["missing_share"], True),
    ),
    Column("PSI", lambda c: c.get("psi"), text=lambda c: format_value(c.get("psi")), numeric=True),
    Column("Shift", lambda c: c.get("shift")),
    Column(
        "Categories",
        lambda c: _categories(c),
        tooltip="Categories that appear only in B (new) or only in A (vanished)",
    ),
]


def _categories(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("new_categories"):
        parts.append("new: " + ", ".join(entry["new_categories"][:5]))
    if entry.get("vanished_categories"):
        parts.append("vanished: " + ", ".join(entry["vanished_categories"][:5]))
    return "; ".join(parts)


class DiffView(QWidget):
    """Pick versions A and B of one data set; ``compare(a, b, show)`` fetches the diff."""

    def __init__(self, compare: Callable[[str, str], None]) -> None:
        super().__init__()
        self._compare = compare
        self.a = QComboBox()
        self.b = QComboBox()
        self.button = QPushButton("Compare")
        self.button.clicked.connect(self._clicked)
        pick = QHBoxLayout()
        for label, combo in (("A", self.a), ("B", self.b)):
            pick.addWidget(QLabel(label))
            pick.addWidget(combo, 1)
        pick.addWidget(self.button)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.model = ListTableModel(DIFF_COLUMNS)
        colors = current_colors
        self.model.set_emphasis(
            color=lambda c, col: (
                {"shift": colors().bad, "warning": colors().warning}.get(c.get("shift"))
                if col == 4
                else None
            )
        )
        table = make_table(self.model)
        set_widths(table, [160, 150, 150, 70, 70])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(pick)
        layout.addWidget(self.summary)
        layout.addWidget(table, 1)
        layout.addWidget(
            muted(
                "PSI (population stability index) per column: below 0.1 stable, 0.1–0.2 a "
                "warning, 0.2 and above a shift."
            )
        )

    def set_versions(self, refs: list[str]) -> None:
        for combo in (self.a, self.b):
            combo.clear()
            combo.addItems(refs)
        if len(refs) >= 2:
            self.a.setCurrentIndex(len(refs) - 2)
            self.b.setCurrentIndex(len(refs) - 1)
        enough = len(refs) >= 2
        self.button.setEnabled(enough)
        self.model.set_items([])
        self.summary.setText(
            "Choose two versions and press Compare."
            if enough
            else "This data set has one version. Import a changed file under the same name "
            "to get a second version, then compare them here."
        )

    def _clicked(self) -> None:
        if self.a.currentText() == self.b.currentText():
            self.summary.setText("Choose two different versions.")
            return
        self.summary.setText("Comparing…")
        self._compare(self.a.currentText(), self.b.currentText())

    def show_diff(self, diff: Any) -> None:
        """Show a ``DatasetDiff``."""
        schema = diff.schema
        colors = current_colors()
        parts = [
            f"<b>{diff.a}</b> → <b>{diff.b}</b>: rows {diff.rows[0]:,} → "
            f"{diff.rows[1]:,} ({diff.rows_delta:+,})"
        ]
        for key, label in (("added", "added"), ("removed", "removed"), ("retyped", "retyped")):
            if schema.get(key):
                parts.append(f"{label}: {', '.join(schema[key])}")
        if diff.shifted:
            parts.append(
                f"<span style='color:{colors.bad}'>shifted: {', '.join(diff.shifted)}</span>"
            )
        elif diff.columns:
            parts.append(f"<span style='color:{colors.good}'>no column shifted</span>")
        self.summary.setText("<br>".join(parts))
        self.model.set_items(list(diff.columns))
