"""The reasons of an explained prediction in "Try it": one row's contributions as sorted bars.

The server's ``explanations`` (docs/serving.md) hold, per row, the base value, the explained
output's value and a contribution per input column. The view shows one row at a time (a
picker when the request had several), the largest contributions first, and says what the
numbers are: "probability of Gentoo: 0.36 (base) → 1.00".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.widgets.contribution_bars import contribution_bars, ranked_contributions
from desktop.widgets.plots import PlotPanel

OUTPUTS = {
    "probability": "probability",
    "decision_function": "decision score",
    "prediction": "prediction",
    "log_prediction": "log of the prediction",
}
METHODS = {
    "tree_path": "exact TreeSHAP",
    "linear": "coefficient × centred value",
    "sampling": "Shapley sampling",
}


class ExplanationView(QWidget):
    """Contribution bars of the row picked, with the base and value in words."""

    def __init__(self) -> None:
        super().__init__()
        self.explanations: dict[str, Any] = {}
        self.rows = QComboBox()
        self.rows.currentIndexChanged.connect(self._draw)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.bars = PlotPanel(min_height=160)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.rows)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.bars, 1)
        self.show_explanations(None)

    def show_explanations(self, explanations: dict[str, Any] | None) -> None:
        """Show an answer's ``explanations`` (None: hide the view)."""
        self.explanations = explanations or {}
        rows = self.explanations.get("rows") or []
        self.rows.blockSignals(True)
        self.rows.clear()
        self.rows.addItems([f"Row {i}" for i in range(len(rows))])
        self.rows.blockSignals(False)
        self.rows.setVisible(len(rows) > 1)
        self.setVisible(bool(rows))
        self._draw()

    def _draw(self) -> None:
        rows = self.explanations.get("rows") or []
        index = max(self.rows.currentIndex(), 0)
        if not rows:
            self.bars.show_message("No explanation.")
            return
        row = rows[index]
        self.summary.setText(summary_text(self.explanations, row))
        ranked = ranked_contributions(row.get("contributions") or {})
        self.bars.draw(
            lambda p, c: contribution_bars(p, c, ranked),
            x_label="contribution (right: pushes the output up)",
        )


def summary_text(explanations: dict[str, Any], row: dict[str, Any]) -> str:
    """What the bars add up to, in words."""
    output = OUTPUTS.get(explanations.get("output", ""), explanations.get("output", "output"))
    if "class" in row:
        output = f"{output} of {row['class']}"
    method = METHODS.get(explanations.get("method", ""), explanations.get("method", ""))
    base, value = row.get("base"), row.get("value")
    numbers = f"{base:.3g} (base) → {value:.3g}" if base is not None and value is not None else ""
    return f"Why: {output}: {numbers}, the base plus the bars ({method})."
