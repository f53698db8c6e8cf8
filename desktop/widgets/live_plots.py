"""Plots that update in place: items are made once, then fed new arrays with ``setData``.

The Monitoring page redraws every few seconds; clearing and rebuilding a plot each time would
flicker, reset the user's zoom and cost allocations. A :class:`LivePlot` keeps its curves,
lines, bars and image by name, creates each on first use, and afterwards only calls
``setData`` / ``setOpts`` / ``setImage``. On a theme change it re-colours the same items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QStackedLayout, QVBoxLayout, QWidget

from desktop.theme import Colors, current_colors, theme_changes


class LivePlot(QWidget):
    """A titled plot (time on the x axis by default) or a sentence saying why it is empty."""

    def __init__(
        self, title: str, y_label: str = "", time_axis: bool = True, min_height: int = 100
    ) -> None:
        super().__init__()
        axes = {"bottom": pg.DateAxisItem(orientation="bottom")} if time_axis else {}
        self.plot = pg.PlotWidget(axisItems=axes)
        self.plot.setMinimumHeight(min_height)
        self.plot.setMenuEnabled(False)
        self.item.setMouseEnabled(x=False, y=False)
        self.item.hideButtons()
        self.title = QLabel(title)
        self.title.setProperty("role", "heading")
        self.key = QLabel()  # which colour is which series, above the plot (never over data)
        self.key.setWordWrap(True)
        self.key.setProperty("muted", True)
        self.key.hide()
        self._key: list[tuple[str, int]] = []
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setProperty("muted", True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.plot)
        self._stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.key)
        layout.addLayout(self._stack, 1)
        self.y_label = y_label
        self.curves: dict[str, tuple[pg.PlotDataItem, int, bool]] = {}
        self.lines: dict[str, tuple[pg.InfiniteLine, str]] = {}
        self.updates = 0  # setData rounds (the tests read it)
        self._style(current_colors())
        self.show_message("Nothing to show yet.")
        theme_changes().changed.connect(self.apply_theme)

    @property
    def item(self) -> pg.PlotItem:
        return self.plot.getPlotItem()

    @property
    def showing_plot(self) -> bool:
        return self._stack.currentWidget() is self.plot

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    def show_plot(self) -> None:
        self._stack.setCurrentWidget(self.plot)

    # -- items, made once ------------------------------------------------------------------------

    def set_key(self, entries: Sequence[tuple[str, int | str]]) -> None:
        """Name the series: (label, series colour index or a Colors attribute name)."""
        entries = list(entries)
        if entries != self._key:
            self._key = entries
            self._draw_key(current_colors())

    def _draw_key(self, colors: Colors) -> None:
        parts = []
        for label, color in self._key:
            hue = (
                colors.series[color % len(colors.series)]
                if isinstance(color, int)
                else (getattr(colors, color))
            )
            parts.append(f"<span style='color:{hue}'>■</span>&nbsp;{label}")
        self.key.setText("&nbsp;&nbsp; ".join(parts))
        self.key.setVisible(bool(parts))

    def set_curve(
        self, key: str, x, y, color: int = 0, dashed: bool = False, label: str | None = None
    ) -> pg.PlotDataItem:
        """Create the curve ``key`` once (series colour ``color``), then only set its data."""
        if key not in self.curves:
            curve = pg.PlotDataItem(name=label, connect="finite")
            self.item.addItem(curve)
            self.curves[key] = (curve, color, dashed)
            self._pen(curve, color, dashed, current_colors())
        curve = self.curves[key][0]
        curve.setData(np.asarray(x, dtype=float), np.asarray(y, dtype=float), connect="finite")
        return curve

    def set_line(self, key: str, y: float | None, role: str = "bad", label: str = "") -> None:
        """A horizontal reference line (a threshold, the training value); None hides it."""
        if key not in self.lines:
            options = {"position": 0.04, "anchors": [(0, 1), (0, 1)]}
            line = pg.InfiniteLine(angle=0, movable=False, label=label or None, labelOpts=options)
            self.item.addItem(line)
            self.lines[key] = (line, role)
            self._line_pen(line, role, current_colors())
        line = self.lines[key][0]
        line.setVisible(y is not None)
        if y is not None:
            line.setPos(y)

    def finish(self, x_range: tuple[float, float] | None = None) -> None:
        """After a round of updates: show the plot and fit it to the data (the x axis to
        ``x_range`` when given, so the time plots of one page line up)."""
        self.updates += 1
        self.show_plot()
        if x_range is None:
            self.item.enableAutoRange()
            return
        self.item.enableAutoRange(axis="y")
        self.item.setXRange(*x_range, padding=0)

    # -- theme -----------------------------------------------------------------------------------

    def apply_theme(self, _name: str = "") -> None:
        colors = current_colors()
        self._style(colors)
        for curve, color, dashed in self.curves.values():
            self._pen(curve, color, dashed, colors)
        for line, role in self.lines.values():
            self._line_pen(line, role, colors)
        self._draw_key(colors)

    def _style(self, colors: Colors) -> None:
        self.plot.setBackground(colors.surface)
        self.item.showGrid(x=True, y=True, alpha=0.25)
        self.item.getViewBox().setZValue(1)
        for name in ("bottom", "left"):
            axis = self.item.getAxis(name)
            axis.setPen(pg.mkPen(colors.border))
            axis.setTextPen(pg.mkPen(colors.muted))
            axis.enableAutoSIPrefix(False)  # shares stay 0–1, not "×0.001"
        self.item.getAxis("left").setLabel(self.y_label, color=colors.muted)

    @staticmethod
    def _pen(curve: pg.PlotDataItem, color: int, dashed: bool, colors: Colors) -> None:
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        hue = colors.series[color % len(colors.series)]
        curve.setPen(pg.mkPen(color=hue, width=2, style=style))

    @staticmethod
    def _line_pen(line: pg.InfiniteLine, role: str, colors: Colors) -> None:
        hue = getattr(colors, role, colors.muted)
        line.setPen(pg.mkPen(color=hue, width=1.5, style=Qt.PenStyle.DashLine))
        if line.label is not None:
            line.label.setColor(QColor(hue))


class HeatStrip(LivePlot):
    """Rows (features) × columns (time buckets) as colours: 0 calm, 1 the threshold, 2+ red."""

    LEVELS = (0.0, 2.0)

    def __init__(self, title: str, min_height: int = 100) -> None:
        super().__init__(title, "", time_axis=True, min_height=min_height)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.item.addItem(self.image)
        self.item.getViewBox().invertY(True)
        self.item.showGrid(x=False, y=False)
        self._colour(current_colors())

    def set_matrix(
        self,
        rows: Sequence[str],
        x: np.ndarray,
        matrix: np.ndarray,
        width: float,
        x_range: tuple[float, float] | None = None,
    ) -> None:
        """``matrix[row, column]`` at bucket centres ``x`` (each ``width`` seconds wide)."""
        if matrix.size == 0:
            return
        self.image.setImage(np.clip(matrix, *self.LEVELS), levels=self.LEVELS, autoLevels=False)
        left = float(x[0]) - width / 2
        self.image.setRect(QRectF(left, 0, width * matrix.shape[1], len(rows)))
        ticks = [(i + 0.5, name) for i, name in enumerate(rows)]
        self.item.getAxis("left").setTicks([ticks])
        self.finish(x_range)
        self.item.setYRange(0, len(rows), padding=0)

    def apply_theme(self, _name: str = "") -> None:
        super().apply_theme()
        if hasattr(self, "image"):
            self.item.showGrid(x=False, y=False)
            self._colour(current_colors())

    def _colour(self, colors: Colors) -> None:
        ramp = pg.ColorMap(  # calm → orange at the threshold (1 of 2) → red at twice it
            [0.0, 0.5, 1.0], [QColor(colors.grid), QColor("#E69F00"), QColor(colors.bad)]
        )
        self.image.setLookupTable(ramp.getLookupTable(nPts=256))


class PairedBars(LivePlot):
    """Two shares side by side per bin or category: reference and current."""

    def __init__(self, title: str, min_height: int = 100) -> None:
        super().__init__(title, "share", time_axis=False, min_height=min_height)
        self.bars = {
            "reference": pg.BarGraphItem(x=[], height=[], width=0.4),
            "current": pg.BarGraphItem(x=[], height=[], width=0.4),
        }
        for bars in self.bars.values():
            self.item.addItem(bars)
        self.set_key([("training rows", "muted"), ("now", 1)])
        self._colour(current_colors())

    def set_shares(self, positions, reference, current, width: float, labels=None) -> None:
        positions = np.asarray(positions, dtype=float)
        half = width / 2
        self.bars["reference"].setOpts(x=positions - half / 2, height=reference, width=half)
        self.bars["current"].setOpts(x=positions + half / 2, height=current, width=half)
        axis = self.item.getAxis("bottom")
        axis.setTicks([list(zip(positions, labels, strict=True))] if labels else None)
        self.finish()

    def apply_theme(self, _name: str = "") -> None:
        super().apply_theme()
        if hasattr(self, "bars"):
            self._colour(current_colors())

    def _colour(self, colors: Colors) -> None:
        for bars, hue in zip(self.bars.values(), (colors.muted, colors.series[1]), strict=True):
            bars.setOpts(brush=pg.mkBrush(QColor(hue)), pen=pg.mkPen(None))
