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
from desktop.widgets.pacing import paint_later
from desktop.widgets.plots import plain_numbers

LINE_MARK = "line:"  # a key entry for a dashed reference line, not a series


class LivePlot(QWidget):
    """A titled plot (time on the x axis by default) or a sentence saying why it is empty."""

    def __init__(
        self, title: str, y_label: str = "", time_axis: bool = True, min_height: int = 100
    ) -> None:
        super().__init__()
        axes = {"bottom": pg.DateAxisItem(orientation="bottom")} if time_axis else {}
        self.plot = pg.PlotWidget(axisItems=axes, enableMenu=False)
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
        self._stale = False  # the theme changed while hidden
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
            mark = "–&nbsp;–" if label.startswith(LINE_MARK) else "■"
            text = label.removeprefix(LINE_MARK)
            parts.append(f"<span style='color:{hue}'>{mark}</span>&nbsp;{text}")
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

    def set_line(self, key: str, y: float | None, role: str = "bad") -> None:
        """A horizontal reference line (a threshold, the training value); None hides it. It has
        no label on the plot, where it would cover the curves: name it in the key."""
        if key not in self.lines:
            line = pg.InfiniteLine(angle=0, movable=False)
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

    def showEvent(self, event) -> None:
        if self._stale:
            self.apply_theme()
        super().showEvent(event)

    def apply_theme(self, _name: str = "") -> None:
        """Re-colour the same items now if shown, else when next shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        paint_later(self.plot)
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
        self.set_y_label(self.y_label)

    def set_y_label(self, text: str) -> None:
        """The left axis' title; its numbers stay plain (shares 0–1, never "×0.001")."""
        axis = self.item.getAxis("left")
        axis.setLabel(text, color=current_colors().muted)
        plain_numbers(axis)
        plain_numbers(self.item.getAxis("bottom"))

    @staticmethod
    def _pen(curve: pg.PlotDataItem, color: int, dashed: bool, colors: Colors) -> None:
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        hue = colors.series[color % len(colors.series)]
        curve.setPen(pg.mkPen(color=hue, width=2, style=style))

    @staticmethod
    def _line_pen(line: pg.InfiniteLine, role: str, colors: Colors) -> None:
        hue = getattr(colors, role, colors.muted)
        line.setPen(pg.mkPen(color=hue, width=1.5, style=Qt.PenStyle.DashLine))


class HeatStrip(LivePlot):
    """Rows (features) × columns (time buckets) as colours: 0 calm, 1 the threshold, 2+ red;
    a cell the engine did not test (too few rows, no values) grey; a bucket without rows blank.
    """

    LEVELS = (0.0, 2.0)

    def __init__(self, title: str, min_height: int = 100) -> None:
        super().__init__(title, "", time_axis=True, min_height=min_height)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.item.addItem(self.image)
        self.item.getViewBox().invertY(True)
        self.item.showGrid(x=False, y=False)
        self.matrix: np.ndarray | None = None
        self.untested: np.ndarray | None = None

    def set_matrix(
        self,
        rows: Sequence[str],
        x: np.ndarray,
        matrix: np.ndarray,
        width: float,
        x_range: tuple[float, float] | None = None,
        untested: np.ndarray | None = None,
    ) -> None:
        """``matrix[row, column]`` at bucket centres ``x`` (each ``width`` seconds wide);
        ``untested[row, column]`` marks cells the engine did not test (drawn grey)."""
        if matrix.size == 0:
            return
        self.matrix = matrix
        self.untested = untested if untested is not None else np.zeros(matrix.shape, bool)
        self.image.setImage(self.colours(current_colors()), autoLevels=False)
        left = float(x[0]) - width / 2
        self.image.setRect(QRectF(left, 0, width * matrix.shape[1], len(rows)))
        ticks = [(i + 0.5, name) for i, name in enumerate(rows)]
        self.item.getAxis("left").setTicks([ticks])
        self.finish(x_range)
        self.item.setYRange(0, len(rows), padding=0)
        if self.untested.any():
            self.set_key(
                [("calm", "grid"), ("drift", "bad"), ("not tested (too few rows)", "muted")]
            )
        else:
            self.set_key([])

    def colours(self, colors: Colors) -> np.ndarray:
        """The matrix as RGBA: the calm → orange → red ramp, grey where untested, clear where
        a bucket had no rows."""
        ramp = pg.ColorMap(  # calm → orange at the threshold (1 of 2) → red at twice it
            [0.0, 0.5, 1.0], [QColor(colors.grid), QColor("#E69F00"), QColor(colors.bad)]
        )
        table = ramp.getLookupTable(nPts=256, alpha=True)
        values = np.nan_to_num(np.clip(self.matrix, *self.LEVELS) / self.LEVELS[1], nan=0.0)
        rgba = table[(values * 255).astype(int)]
        rgba[~np.isfinite(self.matrix)] = (0, 0, 0, 0)
        grey = QColor(colors.muted)
        rgba[self.untested] = (grey.red(), grey.green(), grey.blue(), 110)
        return rgba.astype(np.ubyte)

    def apply_theme(self, _name: str = "") -> None:
        super().apply_theme()
        if hasattr(self, "image") and not self._stale:
            self.item.showGrid(x=False, y=False)
            if self.matrix is not None:
                self.image.setImage(self.colours(current_colors()), autoLevels=False)


class PairedBars(LivePlot):
    """Two shares side by side per bin or category: reference and current.

    Bins of a number are vertical bars on the value axis. Categories are horizontal bars with
    their names on the left (names side by side under bars would run into each other): the
    :data:`~desktop.widgets.plots.TOP_CATEGORIES` largest, the rest summed as "other".
    """

    def __init__(self, title: str, min_height: int = 100) -> None:
        super().__init__(title, "share", time_axis=False, min_height=min_height)
        self.bars = {
            name: pg.BarGraphItem(x=[], height=[], width=0.4)
            for name in ("reference", "current", "reference-h", "current-h")
        }
        for bars in self.bars.values():
            self.item.addItem(bars)
        self.horizontal = False
        self.set_key([("training rows", "muted"), ("now", 1)])
        self._colour(current_colors())

    def set_shares(self, positions, reference, current, width: float, labels=None) -> None:
        """Bins at ``positions`` (their centres), ``width`` wide; with ``labels``, categories."""
        if labels:
            self.set_categories(list(labels), list(reference), list(current))
            return
        self._orient(False)
        positions = np.asarray(positions, dtype=float)
        half = width / 2
        self.bars["reference"].setOpts(x=positions - half / 2, height=reference, width=half)
        self.bars["current"].setOpts(x=positions + half / 2, height=current, width=half)
        self.item.getAxis("bottom").setTicks(None)
        self.finish()

    def set_categories(self, labels: list[str], reference: list[float], current: list[float]):
        """Horizontal bars per category, the largest first, the rest as "other"."""
        from desktop.widgets.plots import elide, top_categories

        labels, (reference, current) = top_categories(labels, [reference, current])
        self._orient(True)
        rows = np.arange(len(labels), dtype=float)
        thick = 0.38
        self.bars["reference-h"].setOpts(x0=0, y=rows - thick / 2, height=thick, width=reference)
        self.bars["current-h"].setOpts(x0=0, y=rows + thick / 2, height=thick, width=current)
        ticks = [(float(row), elide(label)) for row, label in zip(rows, labels, strict=True)]
        self.item.getAxis("left").setTicks([ticks])
        self.finish()
        self.item.setYRange(-0.6, len(labels) - 0.4, padding=0)

    def _orient(self, horizontal: bool) -> None:
        if horizontal == self.horizontal and self.updates:
            return
        self.horizontal = horizontal
        for name, bars in self.bars.items():
            bars.setVisible(name.endswith("-h") == horizontal)
        self.item.getViewBox().invertY(horizontal)
        if horizontal:
            self.item.getAxis("left").setLabel("")
            self.item.getAxis("bottom").setLabel("share", color=current_colors().muted)
            plain_numbers(self.item.getAxis("bottom"))
        else:
            self.item.getAxis("bottom").setLabel("")
            self.item.getAxis("left").setTicks(None)
            self.set_y_label(self.y_label)

    def apply_theme(self, _name: str = "") -> None:
        super().apply_theme()
        if hasattr(self, "bars") and not self._stale:
            self._colour(current_colors())

    def _colour(self, colors: Colors) -> None:
        for name, bars in self.bars.items():
            hue = colors.muted if name.startswith("reference") else colors.series[1]
            bars.setOpts(brush=pg.mkBrush(QColor(hue)), pen=pg.mkPen(None))
