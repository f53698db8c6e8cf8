"""The Monitoring page's plots and figures, fed a :class:`Snapshot` every few seconds.

The traffic plots draw the engine's ``TrafficSeries`` as it is (bucket centres, rate, p50/p95
latency, errors, prediction mix); the drift plots draw :class:`DriftOverTime`.

Every plot is a :class:`~desktop.widgets.live_plots.LivePlot` whose items are made once; a new
snapshot only sets their data, one plot per event-loop turn (a
:class:`~desktop.widgets.pacing.Stagger`), so that each is painted before the next is set
and the GUI thread never stalls for the whole board at once. Each step fits its plot's ranges
at once (pyqtgraph would do it while painting, then paint again). A hidden board keeps the
latest look and sets it when shown; showing it (a page switch) paints none of the plots in the
switch's frame: they are let through one per turn. The histogram's title, which changes with
every look, wraps rather than widen its column (a wider column resizes the whole grid).

Layout: headline figures on top; request rate, latency, prediction mix, drift per feature with
its threshold, the features × buckets heat strip and the reference-vs-now histogram of one
feature in a grid; the live metric and the alerts at the side.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.pages.monitoring.snapshot import Snapshot
from desktop.theme import current_colors
from desktop.widgets.common import format_metric, heading, icon_button, muted, plural
from desktop.widgets.live_plots import LINE_MARK, HeatStrip, LivePlot, PairedBars
from desktop.widgets.pacing import Stagger

FIGURES = ("requests", "latency", "errors", "drift", "live")
TRIGGERS_TIP = (
    "Evaluate the [triggers] of shipway.toml on this deployment's drift now. An alert that is "
    "due is recorded; with retrain = true it also trains the served spec on the newest data, "
    "registers it and evaluates its production gates (nothing is promoted). The page's live "
    "view never does this by itself."
)


class Figure(QFrame):
    """A headline number with a caption (a small card)."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("Figure")
        self.value = QLabel("—")
        self.value.setProperty("role", "figure")
        self.caption = muted(caption)
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 6, 10, 6)
        column.setSpacing(0)
        column.addWidget(self.value)
        column.addWidget(self.caption)

    def set(self, value: str, caption: str | None = None, color: str | None = None) -> None:
        self.value.setText(value)
        self.value.setStyleSheet(f"color: {color};" if color else "")
        if caption is not None:
            self.caption.setText(caption)


def x_span(s: Snapshot) -> tuple[float, float]:
    """The time axis of every plot: the chosen range, from when the deployment started."""
    size = s.time_range.bucket_seconds
    times = s.traffic.centres
    start = max(float(times[0]) - size / 2, s.deployment.started_at.timestamp() - size)
    return start, float(times[-1]) + size / 2


class MonitoringBoard(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Snapshot | None = None
        self.figures = {
            "requests": Figure("requests in range"),
            "latency": Figure("p95 latency"),
            "errors": Figure("error rate"),
            "drift": Figure("features drifting now"),
            "live": Figure("live metric"),
        }
        self.rate = LivePlot("Request rate", "requests / s")
        self.latency = LivePlot("Latency", "ms")
        self.mix = LivePlot("Prediction mix", "share")
        self.scores = LivePlot("Drift score per feature", "")
        self.scores.setToolTip(
            "KS, chi-square and z give p-values, drawn as −log10 p: the line (p = 0.05) is at "
            "1.3 and higher means stronger evidence of drift. Wasserstein and Jensen-Shannon "
            "distances are drawn as they are, the line at their threshold (0.1)."
        )
        self.heat = HeatStrip("Drift over time (features × buckets)")
        self.heat.setToolTip(
            "Each cell: a feature's drift score in a bucket, divided by its threshold: calm, "
            "orange at the threshold, red at twice it. Grey: the engine did not test the "
            "feature in that bucket (too few rows or no values), so it is not drift. Blank: "
            "no answered request in the bucket."
        )
        self.histogram = PairedBars("Training vs now")
        # its title changes with each look: it wraps rather than widen its column, whose every
        # move would resize (and repaint) every plot of the grid at once
        self.histogram.title.setWordWrap(True)
        self.histogram.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.live = LivePlot("Live metric vs training", "")
        self.feature = QComboBox()
        self.feature.setMinimumWidth(150)
        self.feature.currentTextChanged.connect(lambda _: self._draw_histogram())
        self.alerts = QListWidget()
        self.alerts.setObjectName("AlertList")
        self.alerts.setWordWrap(True)
        self.alerts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.alerts.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.triggers_button = icon_button("Check triggers now", "warning", tip=TRIGGERS_TIP)
        self.stagger = Stagger(self)
        self._unshown = False  # the plots have not been set to ``snapshot`` (hidden board)
        self._veiled: list[LivePlot] = []  # plots not yet let through since the board was shown
        self._layout()

    @property
    def plots(self) -> tuple[LivePlot, ...]:
        return (
            *(self.rate, self.latency, self.mix, self.scores),
            *(self.heat, self.histogram, self.live),
        )

    def _layout(self) -> None:
        top = QHBoxLayout()
        for figure in self.figures.values():
            top.addWidget(figure, 1)
        grid = QGridLayout()
        grid.setSpacing(10)
        grid.addWidget(self.rate, 0, 0)
        grid.addWidget(self.latency, 0, 1)
        grid.addWidget(self.mix, 1, 0)
        grid.addWidget(self.scores, 1, 1)
        grid.addWidget(self.heat, 2, 0)
        histogram = QWidget()
        column = QVBoxLayout(histogram)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(QLabel("Feature"))
        row.addWidget(self.feature)
        column.addLayout(row)
        column.addWidget(self.histogram, 1)
        grid.addWidget(histogram, 2, 1)
        for row in range(3):
            grid.setRowStretch(row, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        side = QVBoxLayout()
        side.addWidget(self.live, 1)
        alerts_row = QHBoxLayout()
        alerts_row.addWidget(heading("Alerts"))
        alerts_row.addStretch(1)
        alerts_row.addWidget(self.triggers_button)
        side.addLayout(alerts_row)
        side.addWidget(self.alerts, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(290)
        body = QHBoxLayout()
        body.addLayout(grid, 1)
        body.addWidget(side_widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(body, 1)

    # -- feeding ---------------------------------------------------------------------------------

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new look: figures and alerts at once, then one plot per event-loop turn.

        A hidden board (another page shown) only keeps the look: its plots are set when it is
        shown again.
        """
        self.snapshot = snapshot
        self._fill_features(snapshot.version.features)
        self._show_figures(snapshot)
        self._show_alerts(snapshot)
        self._unshown = not self.isVisible()
        if self._unshown:
            self.stagger.run([])
            return
        steps = [lambda step=step: (step(), self._settle()) for step in self._plot_steps(snapshot)]
        self.stagger.run(self._reveal_steps() + steps)

    def showEvent(self, event) -> None:
        """Shown again (a page switch): the frame of the switch paints none of the plots; they
        are let through one per event-loop turn, their ranges fitted first (pyqtgraph would fit
        them while painting, then paint again), instead of all seven, each twice, at once. A
        look kept while hidden is set into the veiled plots now (no paint, a few ms)."""
        super().showEvent(event)
        for plot in self.plots:
            plot.plot.setUpdatesEnabled(False)
        self._veiled = list(self.plots)
        if self._unshown and self.snapshot is not None:
            for step in self._plot_steps(self.snapshot):
                step()
        self._unshown = False
        self.stagger.run(self._reveal_steps())

    def hideEvent(self, event) -> None:
        """Hidden with plots still to set: set them when shown again."""
        if self.stagger.pending:
            self._unshown = True
            self.stagger.run([])
        super().hideEvent(event)

    def _reveal_steps(self) -> list:
        return [lambda plot=plot: self._reveal(plot) for plot in self._veiled]

    def _reveal(self, plot: LivePlot) -> None:
        if plot in self._veiled:
            self._veiled.remove(plot)
        self._settle()
        plot.plot.setUpdatesEnabled(True)  # painted in the next turn

    def _plot_steps(self, snapshot: Snapshot) -> list:
        drift, span = snapshot.drift, x_span(snapshot)
        steps = self._traffic_steps(snapshot)
        if drift is None or not len(drift.times):
            steps.append(lambda: self._no_drift(snapshot))
        else:
            steps += [
                lambda: self._draw_scores(drift, span),
                lambda: self._draw_heat(snapshot, span),
                lambda: self._draw_live(snapshot, span),
            ]
        steps.append(self._draw_histogram)
        return steps

    def _settle(self) -> None:
        """Fit the ranges of what was set now: pyqtgraph would do it while painting, then
        paint the plot a second time for the new ranges."""
        for plot in self.plots:
            plot.item.getViewBox().prepareForPaint()

    @property
    def settled(self) -> bool:
        """Every plot shows the latest snapshot (no staggered step is waiting)."""
        return self.snapshot is not None and not self.stagger.pending and not self._unshown

    def _fill_features(self, features: list[str]) -> None:
        if [self.feature.itemText(i) for i in range(self.feature.count())] == features:
            return
        current = self.feature.currentText()
        self.feature.blockSignals(True)
        self.feature.clear()
        self.feature.addItems(features)
        if current in features:
            self.feature.setCurrentText(current)
        self.feature.blockSignals(False)

    def _traffic_steps(self, s: Snapshot) -> list:
        t = s.traffic
        if not t.total:
            text = f"No requests in the {s.time_range.label.lower()}."
            text += " Send some to POST /predict (Try it on Deployments)."
            return [lambda: [p.show_message(text) for p in (self.rate, self.latency, self.mix)]]
        span = x_span(s)
        return [
            lambda: self._draw_rate(t, span),
            lambda: self._draw_latency(t, span),
            lambda: self._draw_mix(t, span),
        ]

    def _draw_rate(self, t, span: tuple[float, float]) -> None:
        self.rate.set_curve("rate", t.centres, t.rate, 0)
        self.rate.finish(span)

    def _draw_latency(self, t, span: tuple[float, float]) -> None:
        times = t.centres
        self.latency.set_curve("p50", times, t.p50_ms, 0)
        self.latency.set_curve("p95", times, t.p95_ms, 1)
        self.latency.set_key([("p50", 0), ("p95", 1)])
        self.latency.finish(span)

    def _draw_mix(self, t, span: tuple[float, float]) -> None:
        times = t.centres
        if t.mix:
            for index, (name, shares) in enumerate(t.mix.items()):
                self.mix.set_curve(f"class:{name}", times, shares, index)
            self.mix.set_key([(name, index) for index, name in enumerate(t.mix)])
            self.mix.title.setText("Prediction mix (share of each class)")
        elif t.mean_prediction is not None:
            self.mix.set_curve("mean", times, t.mean_prediction, 0)
            self.mix.title.setText("Mean prediction")
        self.mix.finish(span)

    def _no_drift(self, s: Snapshot) -> None:
        text = "; ".join(s.problems)
        text = text or "No drift yet: it is computed per bucket of answered requests."
        for plot in (self.scores, self.heat, self.live):
            plot.show_message(text)

    def _draw_scores(self, drift, span: tuple[float, float]) -> None:
        for index, name in enumerate(drift.features):
            self.scores.set_curve(f"feature:{name}", drift.times, drift.scores[name], index)
        key = [(name, index) for index, name in enumerate(drift.features)]
        self.scores.set_key([(f"{LINE_MARK}threshold", "bad"), *key])  # above it: drift
        self.scores.set_line("threshold", drift.threshold, "bad")
        if self.scores.y_label != drift.axis_label:
            self.scores.y_label = drift.axis_label
            self.scores.set_y_label(drift.axis_label)
        self.scores.finish(span)

    def _draw_heat(self, s: Snapshot, span: tuple[float, float]) -> None:
        drift = s.drift
        size = s.time_range.bucket_seconds
        self.heat.set_matrix(
            drift.features, drift.times, drift.levels, size, span, untested=drift.untested
        )

    def _draw_live(self, s: Snapshot, span: tuple[float, float]) -> None:
        drift = s.drift
        if drift is None or not np.isfinite(drift.live).any():
            self.live.show_message(
                "No feedback yet. Send the true value of an answered request to POST /feedback "
                "(see Deployments → Use it) and the live metric appears here."
            )
            return
        self.live.title.setText(f"Live {drift.metric} vs training")
        self.live.set_curve("live", drift.times, drift.live, 2)
        self.live.set_line("training", drift.training_value, "muted")
        self.live.set_key([(f"live {drift.metric}", 2), (f"{LINE_MARK}training", "muted")])
        self.live.finish(span)

    def _draw_histogram(self) -> None:
        s, name = self.snapshot, self.feature.currentText()
        report = s.window if s is not None else None
        found = next((f for f in report.features if f.name == name), None) if report else None
        histogram = found.histogram if found is not None else None
        if histogram is None:
            self.histogram.show_message("The histograms appear once requests were answered.")
            return
        if histogram.kind == "bins":
            edges = np.asarray(histogram.edges, dtype=float)
            centres, width = (edges[:-1] + edges[1:]) / 2, float(np.min(np.diff(edges)))
            self.histogram.set_shares(centres, histogram.reference, histogram.current, width)
        else:
            positions = list(range(len(histogram.labels)))
            self.histogram.set_shares(
                positions, histogram.reference, histogram.current, 1.0, list(histogram.labels)
            )
        verdict = "drifts" if found.drifted else "does not drift"
        self.histogram.title.setText(
            f"{name}: training vs the last {plural(found.current_rows, 'row')} ({verdict})"
        )

    def _show_figures(self, s: Snapshot) -> None:
        colors = current_colors()
        t = s.traffic
        start, end = x_span(s)
        per_second = t.total / max(end - start, 1.0)
        said = "request" if t.total == 1 else "requests"
        self.figures["requests"].set(f"{t.total:,}", f"{said}, {per_second:.2f} / s")
        p95 = np.nanmax(t.p95_ms) if np.isfinite(t.p95_ms).any() else None
        self.figures["latency"].set("—" if p95 is None else f"{p95:.0f} ms", "worst p95 per bucket")
        errors = float(t.errors.sum())
        rate = errors / t.total if t.total else 0.0
        self.figures["errors"].set(
            f"{rate:.1%}",
            f"{plural(int(errors), 'answer')} ≥ 400",
            colors.bad if rate > 0.05 else None,
        )
        self._show_drift_figure(s, colors)
        self._show_live_figure(s)

    def _show_drift_figure(self, s: Snapshot, colors) -> None:
        report = s.window
        if report is None:
            self.figures["drift"].set("—", "features drifting now")
            return
        caption = f"of {report.tested_features} drift (last {plural(report.current_rows, 'row')})"
        color = colors.bad if report.dataset_drift else colors.good
        self.figures["drift"].set(f"{report.drifted_features}", caption, color)

    def _show_live_figure(self, s: Snapshot) -> None:
        drift = s.drift
        if drift is None or not np.isfinite(drift.live).any():
            self.figures["live"].set("—", "live metric (needs feedback)")
            return
        latest = drift.live[np.isfinite(drift.live)][-1]
        self.figures["live"].set(
            format_metric(float(latest)),
            f"live {drift.metric} (training {format_metric(drift.training_value)})",
        )

    def _show_alerts(self, s: Snapshot) -> None:
        texts = [
            f"{a.created_at[11:19]} · {a.kind}: {a.message}"
            + (f" · retraining: {a.retrain_status}" if a.retrain_status else "")
            for a in s.alerts
        ]
        texts = texts or [
            "No alert yet. Check triggers now evaluates the [triggers] of shipway.toml (so "
            "does the command shipway monitor check); looking at this page never fires one."
        ]
        if texts == [self.alerts.item(i).text() for i in range(self.alerts.count())]:
            return
        self.alerts.clear()
        self.alerts.addItems(texts)
        for row in range(self.alerts.count()):
            self.alerts.item(row).setTextAlignment(Qt.AlignmentFlag.AlignLeft)
