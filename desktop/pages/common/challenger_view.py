"""Champion against challenger, as the Deployments and Monitoring pages show it.

:class:`ComparisonView` paints one ``ws.monitoring.compare_challenger`` result: a line saying
who challenges whom and how, a table with a row per side (requests, latency p50/p95, the live
metric with its interval, the prediction mix), and the verdict of the test suited to the mode
(McNemar or a paired bootstrap in shadow mode, a two-proportion test or a bootstrap in split
mode). **Promote challenger** moves the deployment's alias to the challenger through the
gates, ``challenger_wins`` among them when shipway.toml asks for it; a refusal is shown with
the gate's own sentence.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.theme import current_colors
from desktop.widgets.common import icon_button, muted

COLUMNS = ("side", "version", "requests", "rows", "p50 ms", "p95 ms", "metric", "interval",
           "prediction mix")  # fmt: skip


def side_cells(side: dict[str, Any]) -> list[str]:
    """One table row of a side (numbers as the CLI prints them)."""
    estimate = side["metric"]
    value, low, high = estimate["value"], estimate["low"], estimate["high"]
    mix = ", ".join(
        f"{k} {v:.0%}" if 0 <= v <= 1 else f"{k} {v:.3g}" for k, v in side["mix"].items()
    )
    return [
        side["name"],
        f"v{side['version']}",
        f"{side['requests']:,}",
        f"{side['rows']:,}",
        "—" if side["latency_p50_ms"] is None else f"{side['latency_p50_ms']:.1f}",
        "—" if side["latency_p95_ms"] is None else f"{side['latency_p95_ms']:.1f}",
        "—" if value is None else f"{value:.3f} ({estimate['rows']} rows)",
        "—" if low is None else f"[{low:.3f}, {high:.3f}]",
        mix or "—",
    ]


def verdict_text(found: dict[str, Any]) -> str:
    """The test's sentence: name, rows, p-value, and who is better (or that none is shown)."""
    test = found["test"]
    if test["p_value"] is None:
        return (f"No test yet: {found['rows']} rows with feedback on both sides. Send actual "
                "values to /feedback to compare the live metric.")  # fmt: skip
    p = test["p_value"]
    shown = "p &lt; 0.001" if p < 0.001 else f"p = {p:.3g}"  # rich text: < would be a tag
    better = found["better"]
    said = (f"the <b>{better}</b> is better" if better
            else f"no side is shown better at {found['confidence']:.0%}")  # fmt: skip
    name = test["name"].replace("_", " ")
    difference = f"{found['metric']} difference {test['difference']:+.3f}"
    return f"{name} on {found['rows']} rows with feedback: {difference}, {shown}: {said}."


READING = (
    "Rows are predicted rows; the metric is computed on the rows whose actual value came back "
    "through /feedback, with its 95% interval. Shadow mode compares both sides on the same "
    "rows (McNemar's test for accuracy, a paired bootstrap otherwise); split mode compares "
    "each side on the rows it answered (a two-proportion test for accuracy, a bootstrap "
    "otherwise). Latency: the whole request in split mode; in shadow mode the challenger's is "
    "its share of the batch it was scored in, off the request path."
)


class ComparisonView(QWidget):
    """The comparison of one deployment's champion and challenger, updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = QLabel("No challenger.")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(2, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((90, 70, 80, 70, 70, 70, 150, 130)):
            self.table.setColumnWidth(column, width)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit()
        self.verdict = QLabel("")
        self.verdict.setTextFormat(Qt.TextFormat.RichText)
        self.verdict.setWordWrap(True)
        self.problems = muted("")
        self.reading = muted(READING)
        self.reading.setWordWrap(True)
        tip = ("Move the alias to the challenger, through the gates (challenger_wins decides "
               "on live traffic when shipway.toml asks)")  # fmt: skip
        self.promote_button = icon_button("Promote challenger", "check", tip=tip)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.promote_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.table)
        layout.addWidget(self.verdict)
        layout.addWidget(self.problems)
        layout.addWidget(self.reading)
        self.found: dict[str, Any] | None = None
        self.show_comparison(None)

    def _fit(self) -> None:
        """Exactly as tall as its header and two rows (no scroll bar, nothing cut)."""
        self.table.resizeRowsToContents()
        rows = self.table.rowHeight(0) + self.table.rowHeight(1)
        header = self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(header + rows + 2 * self.table.frameWidth() + 2)

    def show_comparison(self, found: dict[str, Any] | None) -> None:
        """Paint a comparison (``Comparison.to_dict()``), or say there is no challenger."""
        self.found = found
        self.table.setVisible(found is not None)
        self.promote_button.setEnabled(found is not None)
        if found is None:
            self.summary.setText("No challenger beside this deployment.")
            self.verdict.setText("")
            self.problems.setText("")
            return
        mode = found["mode"] + (f", {found['share']:g}% of requests" if found["mode"] == "split"
                                else ", every request scored unseen")  # fmt: skip
        agreement = ("" if found["agreement"] is None else
                     f" · agreement <b>{found['agreement']:.1%}</b> of "
                     f"{found['agreement_rows']:,} rows")  # fmt: skip
        self.summary.setText(
            f"<b>{found['model']}@{found['challenger']}</b> challenges "
            f"<b>{found['model']}@{found['champion']}</b> ({mode}) · "
            f"{found['requests']:,} requests{agreement}"
        )
        for row, side in enumerate(found["sides"].values()):
            for column, text in enumerate(side_cells(side)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.horizontalHeaderItem(6).setText(found["metric"])
        self._fit()
        color = current_colors().good if found["better"] == "challenger" else current_colors().text
        self.verdict.setText(f"<span style='color:{color}'>{verdict_text(found)}</span>")
        problems = found["problems"]
        self.problems.setText(
            "Challenger cut off or failing: " + ", ".join(f"{k} {v}" for k, v in problems.items())
            + " (the champion answered those requests)" if problems else ""
        )  # fmt: skip
