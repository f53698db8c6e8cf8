"""pyqtgraph plots that follow the theme, explain when they are empty, and export as PNG/SVG.

A :class:`PlotPanel` keeps the function that drew it, so a theme change simply draws it again
in the new colours. The drawing helpers below take plain lists (as the engine's records hold
them) and never compute statistics themselves.

Drawing costs the GUI thread tens of milliseconds per plot (pyqtgraph items, antialiased
paths, axis text), so nothing is drawn out of sight: a panel that is hidden (another tab,
another page) keeps what to draw and draws it when shown. When the theme changes, the plots in
sight are repainted one per event-loop turn (:func:`desktop.widgets.pacing.paint_later`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from desktop.theme import Colors, current_colors, theme_changes
from desktop.widgets.pacing import paint_later

pg.setConfigOptions(antialias=True)

Draw = Callable[["PlotPanel", Colors], None]
TOP_CATEGORIES = 10  # categories drawn one bar each; the others are summed as "other"
LABEL_CHARS = 18  # a category name longer than this is cut with "…"


class PlotPanel(QWidget):
    """A plot, or a sentence saying why there is nothing to plot."""

    def __init__(self, x_label: str = "", y_label: str = "", min_height: int = 220) -> None:
        super().__init__()
        self.plot = pg.PlotWidget(enableMenu=False)
        self.plot.setMinimumHeight(min_height)
        self.plot.setMenuEnabled(False)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setProperty("muted", True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.plot)
        self._stack.addWidget(self.message)
        self._labels = (x_label, y_label)
        self._draw: Draw | None = None
        self._stale = False  # the theme changed while hidden: redraw when shown
        self.legend = None
        self.show_message("Nothing to show yet.")
        theme_changes().changed.connect(self.apply_theme)

    @property
    def item(self) -> pg.PlotItem:
        return self.plot.getPlotItem()

    def draw(self, fn: Draw, x_label: str | None = None, y_label: str | None = None) -> None:
        """Clear the plot and draw it with ``fn(panel, colors)`` (now if it is in sight, else
        when it is shown); kept for theme changes."""
        if x_label is not None or y_label is not None:
            self._labels = (x_label or "", y_label or "")
        self._draw = fn
        self._stack.setCurrentWidget(self.plot)
        if self.isVisible():
            self.redraw()
        else:
            self._stale = True

    @property
    def drawn(self) -> bool:
        """The plot shows what was last asked for (False while it waits to be shown)."""
        return self._draw is not None and not self._stale

    def redraw(self) -> None:
        self._stale = False
        colors = current_colors()
        item = self.item
        item.clear()
        if item.legend is not None:  # a new legend per drawing (clear() keeps the old one)
            if item.legend.scene() is not None:
                item.legend.scene().removeItem(item.legend)
            item.legend = None
        self.legend = None
        item.getViewBox().invertY(False)
        item.getViewBox().setAspectLocked(False)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTicks(None)
        self._style(colors)
        if self._draw is None:
            return
        self._stack.setCurrentWidget(self.plot)
        self._draw(self, colors)
        item.enableAutoRange()

    def add_legend(self, corner: str = "top right") -> pg.LegendItem:
        """A legend in ``corner`` ("top right", "bottom right", "bottom left"...)."""
        colors = current_colors()
        x = -10 if "right" in corner else 10
        y = -10 if "bottom" in corner else 10
        self.legend = self.item.addLegend(offset=(x, y), labelTextColor=colors.text)
        self.legend.setBrush(pg.mkBrush(QColor(colors.surface)))
        self.legend.setPen(pg.mkPen(colors.border))
        return self.legend

    def show_message(self, text: str) -> None:
        self._draw = None
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    @property
    def showing_plot(self) -> bool:
        return self._stack.currentWidget() is self.plot

    def apply_theme(self, _name: str = "") -> None:
        """Redraw in the new colours now if shown, else when next shown (a theme switch
        then costs only the plots in sight)."""
        if self._draw is None:
            return
        if self.isVisible():
            self.redraw()
            paint_later(self.plot)
        else:
            self._stale = True

    def showEvent(self, event) -> None:
        if self._stale:
            self._stale = False
            if self._draw is not None:
                self.redraw()
        super().showEvent(event)

    def _style(self, colors: Colors) -> None:
        self.plot.setBackground(colors.surface)
        item = self.item
        item.showGrid(x=True, y=True, alpha=0.25)
        item.getViewBox().setZValue(1)  # data above the grid lines (the axes draw them, at 0.5)
        for name, label in zip(("bottom", "left"), self._labels, strict=True):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(colors.border))
            axis.setTextPen(pg.mkPen(colors.muted))
            axis.setLabel(label, color=colors.muted)
            plain_numbers(axis)

    def export(self, path: Path | str) -> Path:
        """Write the plot as PNG (or SVG when the name ends in .svg)."""
        from pyqtgraph import exporters

        path = Path(path)
        if self._stale and self._draw is not None:
            self.redraw()
        exporter_class = (
            exporters.SVGExporter if path.suffix.lower() == ".svg" else exporters.ImageExporter
        )
        exporter = exporter_class(self.item)
        if exporter_class is exporters.ImageExporter:
            exporter.parameters()["width"] = max(800, int(self.plot.width() * 2))
        exporter.export(str(path))
        return path


# -- drawing helpers ------------------------------------------------------------------------


def plain_numbers(axis: pg.AxisItem) -> None:
    """Tick labels as the numbers they are: no SI prefix ("×0.001", shares read 100–600).

    ``enableAutoSIPrefix(False)`` alone is not enough: it recomputes the scale once, from the
    range at that moment, and keeps it, so a share axis styled again (a theme change) while it
    showed 0–0.6 would keep a ×1000 scale. With no range in which a prefix applies, that one
    recomputation gives 1. Call it after every ``setLabel`` (which resets the ranges).
    """
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


def pen(color: str, width: float = 2.0, dashed: bool = False) -> pg.QtGui.QPen:
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(color=color, width=width, style=style)


def histogram(panel: PlotPanel, edges: Sequence[float], counts: Sequence[int], color: str):
    if len(edges) < 2 or not counts:
        return None
    bars = pg.BarGraphItem(
        x0=list(edges[:-1]),
        x1=list(edges[1:]),
        height=list(counts),
        brush=pg.mkBrush(QColor(color).lighter(115)),
        pen=pg.mkPen(QColor(color).darker(115), width=1),
    )
    panel.item.addItem(bars)
    return bars


def elide(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def top_categories(
    labels: Sequence[str], series: Sequence[Sequence[float]], keep: int = TOP_CATEGORIES
) -> tuple[list[str], list[list[float]]]:
    """The ``keep`` largest categories, largest first (by the largest value across
    ``series``), then "other" summing the rest (an "(other)" the engine made joins it)."""
    labels = [str(label) for label in labels]
    merged = {"(other)", "other"}
    order = sorted(range(len(labels)), key=lambda i: -max(float(s[i]) for s in series))
    shown = [i for i in order if labels[i] not in merged][:keep]
    rest = [i for i in range(len(labels)) if i not in shown]
    out_labels = [labels[i] for i in shown]
    out = [[float(s[i]) for i in shown] for s in series]
    if rest:
        counted = len(rest) if not any(labels[i] in merged for i in rest) else 0
        out_labels.append(f"other ({plural_values(counted)})" if counted else "other")
        for values, source in zip(out, series, strict=True):
            values.append(float(sum(float(source[i]) for i in rest)))
    return out_labels, out


def plural_values(count: int) -> str:
    return f"{count} value" if count == 1 else f"{count} values"


def category_bars(
    panel: PlotPanel,
    labels: Sequence[str],
    values: Sequence[float],
    color: str,
    horizontal: bool = False,
):
    """One bar per label; horizontal bars read better for long labels (importance)."""
    positions = list(range(len(labels)))
    brush, outline = pg.mkBrush(QColor(color)), pg.mkPen(None)
    if horizontal:
        bars = pg.BarGraphItem(
            x0=0, y=positions, height=0.7, width=list(values), brush=brush, pen=outline
        )
        panel.item.getAxis("left").setTicks([list(zip(positions, labels, strict=True))])
        panel.item.getViewBox().invertY(True)
    else:
        bars = pg.BarGraphItem(
            x=positions, height=list(values), width=0.7, brush=brush, pen=outline
        )
        panel.item.getAxis("bottom").setTicks([list(zip(positions, labels, strict=True))])
    panel.item.addItem(bars)
    return bars


def line(panel: PlotPanel, x, y, color: str, name: str | None = None, dashed=False):
    return panel.item.plot(list(x), list(y), pen=pen(color, dashed=dashed), name=name)


def scatter(panel: PlotPanel, x, y, color: str, name: str | None = None, size: int = 5):
    brush = QColor(color)
    brush.setAlpha(150)
    points = pg.ScatterPlotItem(
        list(x), list(y), size=size, brush=pg.mkBrush(brush), pen=pg.mkPen(None), name=name
    )
    panel.item.addItem(points)
    return points


def confusion_matrix(panel: PlotPanel, labels: Sequence[str], matrix: Sequence[Sequence[int]]):
    """Counts per (actual row, predicted column), shaded by the share of each actual class."""
    import numpy as np

    colors = current_colors()
    counts = np.asarray(matrix, dtype=float)
    if counts.size == 0:
        return
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = pg.ImageItem(shares, axisOrder="row-major")
    ramp = pg.ColorMap([0.0, 1.0], [QColor(colors.surface), QColor(colors.accent)])
    image.setLookupTable(ramp.getLookupTable(nPts=256))
    image.setLevels([0, 1])
    panel.item.addItem(image)
    for row in range(counts.shape[0]):
        for col in range(counts.shape[1]):
            dark = shares[row, col] > 0.55
            text = pg.TextItem(
                f"{int(counts[row, col])}",
                color=colors.accent_text if dark else colors.text,
                anchor=(0.5, 0.5),
            )
            text.setPos(col + 0.5, row + 0.5)
            panel.item.addItem(text)
    ticks = [(i + 0.5, str(label)) for i, label in enumerate(labels)]
    panel.item.getAxis("bottom").setTicks([ticks])
    panel.item.getAxis("left").setTicks([ticks])
    panel.item.getViewBox().invertY(True)
    panel.item.showGrid(x=False, y=False)
