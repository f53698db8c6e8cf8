"""pyqtgraph plots that follow the theme, explain when they are empty, and export as PNG/SVG.

A :class:`PlotPanel` keeps the function that drew it, so a theme change simply draws it again
in the new colours. The drawing helpers below take plain lists (as the engine's records hold
them) and never compute statistics themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from desktop.theme import Colors, current_colors, theme_changes

pg.setConfigOptions(antialias=True)

Draw = Callable[["PlotPanel", Colors], None]


class PlotPanel(QWidget):
    """A plot, or a sentence saying why there is nothing to plot."""

    def __init__(self, x_label: str = "", y_label: str = "", min_height: int = 220) -> None:
        super().__init__()
        self.plot = pg.PlotWidget()
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
        self.legend = None
        self.show_message("Nothing to show yet.")
        theme_changes().changed.connect(self.apply_theme)

    @property
    def item(self) -> pg.PlotItem:
        return self.plot.getPlotItem()

    def draw(self, fn: Draw, x_label: str | None = None, y_label: str | None = None) -> None:
        """Clear the plot and draw it with ``fn(panel, colors)``; kept for theme changes."""
        if x_label is not None or y_label is not None:
            self._labels = (x_label or "", y_label or "")
        self._draw = fn
        self.redraw()

    def redraw(self) -> None:
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
        if self._draw is not None:
            self.redraw()

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

    def export(self, path: Path | str) -> Path:
        """Write the plot as PNG (or SVG when the name ends in .svg)."""
        from pyqtgraph import exporters

        path = Path(path)
        exporter_class = (
            exporters.SVGExporter if path.suffix.lower() == ".svg" else exporters.ImageExporter
        )
        exporter = exporter_class(self.item)
        if exporter_class is exporters.ImageExporter:
            exporter.parameters()["width"] = max(800, int(self.plot.width() * 2))
        exporter.export(str(path))
        return path


# -- drawing helpers ------------------------------------------------------------------------


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
