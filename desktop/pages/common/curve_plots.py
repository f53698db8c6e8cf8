"""Drawing a run's recorded curves (``run.curves``): ROC, precision–recall, confusion matrix,
residuals, predicted against actual. One run or several overlaid, one colour per series.

A run trained with a decision threshold rule records the chosen operating point in
``curves["threshold"]``: it is marked on the precision/recall line of the positive class (in
that line's colour) and told in words by :func:`threshold_lines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desktop.widgets.plots import PlotPanel, confusion_matrix, histogram, line, scatter

CLASSIFICATION_VIEWS = ("ROC curve", "Precision–recall", "Confusion matrix")
REGRESSION_VIEWS = ("Residuals", "Residuals against predicted", "Predicted against actual")

Series = tuple[str, dict[str, Any]]  # (label, curves of one run)


def positive_class(curves: dict[str, Any]) -> str | None:
    """The class a run's decision threshold is for (None: the run has no threshold)."""
    chosen = curves.get("threshold")
    return None if not chosen or chosen.get("positive") is None else str(chosen["positive"])


def threshold_lines(series: Sequence[Series]) -> list[str]:
    """One sentence per run with a decision threshold: the rule, the threshold chosen, and the
    precision and recall (and cost) there."""
    lines = []
    for label, curves in series:
        chosen = curves.get("threshold")
        if not chosen:
            continue
        rule = ", ".join(f"{key}={value:g}" for key, value in chosen["rule"].items())
        text = (
            f"{label}: threshold {chosen['threshold']:.3f} for {positive_class(curves)!r} "
            f"({rule}): precision {chosen['precision']:.3f}, recall {chosen['recall']:.3f}"
        )
        if chosen.get("cost") is not None:
            text += f", cost {chosen['cost']:g}"
        lines.append(text)
    return lines


def views_for(task: str) -> tuple[str, ...]:
    return CLASSIFICATION_VIEWS if task == "classification" else REGRESSION_VIEWS


def classes_of(curves: dict[str, Any]) -> list[str]:
    return list((curves.get("roc") or curves.get("pr") or {}).keys())


def draw_view(panel: PlotPanel, view: str, series: Sequence[Series], cls: str | None) -> None:
    """Draw ``view`` for every series; explain instead when no series has that curve."""
    if not series or not any(curves for _, curves in series):
        panel.show_message("No curves were recorded for this run (it did not finish).")
        return
    drawers = {
        "ROC curve": _roc,
        "Precision–recall": _pr,
        "Confusion matrix": _confusion,
        "Residuals": _residuals,
        "Residuals against predicted": _residual_scatter,
        "Predicted against actual": _predicted_actual,
    }
    drawers[view](panel, list(series), cls)


def missing_from(view: str, series: Sequence[Series], cls: str | None) -> list[str]:
    """Labels of the series that have nothing to draw for ``view`` (say so under the plot)."""
    key = {
        "ROC curve": "roc",
        "Precision–recall": "pr",
        "Confusion matrix": "confusion_matrix",
    }.get(view, "residuals" if view.startswith("Residuals") else "predicted_vs_actual")
    missing = []
    for label, curves in series:
        found = curves.get(key)
        if key in ("roc", "pr"):
            found = (found or {}).get(cls) if cls else found
        if not found:
            missing.append(label)
    return missing


def _per_class_or_run(series: list[Series], key: str, cls: str | None) -> list[tuple[str, dict]]:
    """One run: a line per class. Several runs: a line per run, for the chosen class."""
    if len(series) == 1:
        curves = series[0][1].get(key) or {}
        return [(name, points) for name, points in curves.items()]
    lines = []
    for label, curves in series:
        points = (curves.get(key) or {}).get(cls) if cls else None
        if points:
            lines.append((label, points))
    return lines


def _roc(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    lines = _per_class_or_run(series, "roc", cls)
    if not lines:
        panel.show_message(_no_curve("ROC", series))
        return

    def draw(p: PlotPanel, colors) -> None:
        p.add_legend("bottom right")
        line(p, [0, 1], [0, 1], colors.muted, dashed=True)
        for n, (name, points) in enumerate(lines):
            color = colors.series[n % len(colors.series)]
            line(p, points["fpr"], points["tpr"], color, f"{name} (AUC {points['auc']:.3f})")

    panel.draw(draw, "false positive rate", "true positive rate")


def _pr(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    lines = _per_class_or_run(series, "pr", cls)
    if not lines:
        panel.show_message(_no_curve("precision–recall", series))
        return

    def draw(p: PlotPanel, colors) -> None:
        p.add_legend("bottom left")
        for n, (name, points) in enumerate(lines):
            color = colors.series[n % len(colors.series)]
            label = f"{name} (AP {points['average_precision']:.3f})"
            line(p, points["recall"], points["precision"], color, label)
        _threshold_points(p, colors, series, cls)

    panel.draw(draw, "recall", "precision")


def _threshold_points(p: PlotPanel, colors, series: list[Series], cls: str | None) -> None:
    """The operating point a run's decision threshold chose, marked on its positive class's
    precision/recall line, in that line's colour (one run: the class's line; several: the run's
    line, drawn only for runs with a curve of ``cls``)."""
    drawn = [label for label, curves in series if (curves.get("pr") or {}).get(cls)]
    for n, (label, curves) in enumerate(series):
        chosen = curves.get("threshold")
        positive = positive_class(curves)
        if not chosen or (len(series) > 1 and cls is not None and positive != cls):
            continue
        classes = list((curves.get("pr") or {}).keys())
        if len(series) == 1:
            index = classes.index(positive) if positive in classes else 0
        else:
            index = drawn.index(label) if label in drawn else n
        color = colors.series[index % len(colors.series)]
        name = f"{label} threshold {chosen['threshold']:.3f}"
        scatter(p, [chosen["recall"]], [chosen["precision"]], color, name, size=14)


def _confusion(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    label, curves = series[0]
    matrix = curves.get("confusion_matrix") or {}
    if not matrix.get("matrix"):
        panel.show_message("No confusion matrix was recorded for this run.")
        return
    panel.draw(
        lambda p, _c: confusion_matrix(p, matrix["labels"], matrix["matrix"]),
        "predicted class" + (f" — {label}" if len(series) > 1 else ""),
        "actual class",
    )


def _residuals(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    found = [(n, c["residuals"]["histogram"]) for n, c in series if c.get("residuals")]
    if not found:
        panel.show_message(_no_curve("residual", series))
        return

    def draw(p: PlotPanel, colors) -> None:
        if len(found) > 1:
            p.add_legend()
        for n, (name, hist) in enumerate(found):
            color = colors.series[n % len(colors.series)]
            if len(found) == 1:
                histogram(p, hist["edges"], hist["counts"], color)
            else:  # overlaid histograms read better as outlines
                x, y = _steps(hist["edges"], hist["counts"])
                line(p, x, y, color, name)

    panel.draw(draw, "residual (actual − predicted)", "rows")


def _residual_scatter(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    found = [(n, c["residuals"]["sample"]) for n, c in series if c.get("residuals")]
    if not found:
        panel.show_message(_no_curve("residual", series))
        return

    def draw(p: PlotPanel, colors) -> None:
        p.add_legend()
        for n, (name, sample) in enumerate(found):
            color = colors.series[n % len(colors.series)]
            scatter(p, sample["predicted"], sample["residual"], color, name)

    panel.draw(draw, "predicted", "residual")


def _predicted_actual(panel: PlotPanel, series: list[Series], cls: str | None) -> None:
    found = [(n, c["predicted_vs_actual"]) for n, c in series if c.get("predicted_vs_actual")]
    if not found:
        panel.show_message(_no_curve("predicted-against-actual", series))
        return

    def draw(p: PlotPanel, colors) -> None:
        p.add_legend("bottom right")
        values = [v for _, s in found for v in s["actual"] + s["predicted"]]
        low, high = (min(values), max(values)) if values else (0, 1)
        line(p, [low, high], [low, high], colors.muted, dashed=True)
        for n, (name, sample) in enumerate(found):
            color = colors.series[n % len(colors.series)]
            scatter(p, sample["actual"], sample["predicted"], color, name)

    panel.draw(draw, "actual", "predicted")


def _steps(edges: Sequence[float], counts: Sequence[int]) -> tuple[list[float], list[float]]:
    x, y = [edges[0]], [0.0]
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=False):
        x += [left, right]
        y += [count, count]
    x.append(edges[-1])
    y.append(0.0)
    return x, y


def _no_curve(what: str, series: list[Series]) -> str:
    notes = [n for _, c in series for n in c.get("notes", [])]
    reason = f" {notes[0]}" if notes else ""
    return f"No {what} curve was recorded.{reason}"
