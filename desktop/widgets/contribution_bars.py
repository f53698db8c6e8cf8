"""Bars for explanations: global importance with its spread, and one prediction's reasons.

Importance bars carry a whisker of ± one standard deviation (over permutation repeats or over
a forest's trees, as the run recorded it). Contribution bars start at zero and go right when a
column pushed the explained output up, left when it pulled it down, in the theme's good and
bad colours, largest first, so the reasons of a prediction read from the top.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtGui import QColor

from desktop.theme import Colors
from desktop.widgets.plots import PlotPanel, category_bars, pen

MAX_BARS = 20


def importance_with_spread(
    panel: PlotPanel,
    colors: Colors,
    ranked: Sequence[tuple[str, float]],
    spread: Mapping[str, float] | None,
) -> None:
    """Horizontal importance bars, with ± one standard deviation whiskers when known."""
    labels = [name for name, _ in ranked]
    values = [value for _, value in ranked]
    category_bars(panel, labels, values, colors.series[0], horizontal=True)
    if not spread:
        return
    import numpy as np

    widths = np.asarray([float(spread.get(name, 0.0)) for name in labels])
    whiskers = pg.ErrorBarItem(
        x=np.asarray(values, dtype=float),
        y=np.arange(len(labels), dtype=float),
        left=widths,
        right=widths,
        beam=0.25,
        pen=pen(colors.text, width=1.5),
    )
    panel.item.addItem(whiskers)


def importance_label(importance: Mapping[str, Any]) -> str:
    """The axis title: the method, and what the whiskers measure."""
    method = importance.get("method", "")
    label = f"importance ({method})" if method else "importance"
    if importance.get("std"):
        count = importance.get("spread_n")
        over = f" over {count} {importance.get('spread', '')}" if count else ""
        label += f", whiskers ± 1 std{over}"
    return label


def ranked_contributions(contributions: Mapping[str, float]) -> list[tuple[str, float]]:
    """Columns by the size of their contribution, largest first (at most :data:`MAX_BARS`)."""
    known = [(k, float(v)) for k, v in contributions.items() if v is not None]
    return sorted(known, key=lambda kv: -abs(kv[1]))[:MAX_BARS]


def contribution_bars(panel: PlotPanel, colors: Colors, ranked: Sequence[tuple[str, float]]):
    """Signed horizontal bars from zero, good colour up, bad colour down."""
    positions = list(range(len(ranked)))
    brushes = [pg.mkBrush(QColor(colors.good if v >= 0 else colors.bad)) for _, v in ranked]
    bars = pg.BarGraphItem(
        x0=0,
        y=positions,
        height=0.7,
        width=[v for _, v in ranked],
        brushes=brushes,
        pen=pg.mkPen(None),
    )
    labels = [(i, f"{name}  {value:+.3g}") for i, (name, value) in enumerate(ranked)]
    panel.item.getAxis("left").setTicks([labels])
    panel.item.getViewBox().invertY(True)
    panel.item.addItem(bars)
    panel.item.addLine(x=0, pen=pen(colors.text, width=1.0))
    return bars
