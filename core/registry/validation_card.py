"""The model card's "Validation" section: how the version was tested and chosen.

Three things a reviewer asks of a model's figures, each from what its training run recorded:

- **Over time**: a split by time and, with ``--backtest K``, each walk-forward window's rows,
  period and primary metric, with their mean and standard deviation (``cv["backtest"]``).
- **Operating point**: a binary classifier's decision threshold, the rule that chose it and the
  precision and recall there on the test split (``curves["threshold"]``).
- **Alternatives**: when the run is a child of a search or a "try all" run, the ranking of its
  siblings on the primary metric, this run marked, with fit time and latency.

Blocks are the card's own (:mod:`core.registry.card` renders and escapes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core import metrics as vocabulary
from core.entities import ModelVersion, Run
from core.project import Project

if TYPE_CHECKING:
    from core.registry.card import Block

MAX_RANKED = 15


def validation_blocks(project: Project, version: ModelVersion, run: Run) -> list[Block]:
    from core.experiments.runs import primary_metric
    from core.registry.card import Paragraph

    metric = primary_metric(project, version.task)
    blocks = [
        *_time_blocks(version, run, metric),
        *_threshold_blocks(run),
        *_ranking_blocks(project, run, metric),
    ]
    return blocks or [Paragraph("A random split; no threshold rule; not part of a search.")]


def _fmt(value: Any) -> str:
    number = vocabulary.finite(value)
    return "" if number is None else f"{number:.4g}"


def _time_blocks(version: ModelVersion, run: Run, metric: str) -> list[Block]:
    from core.registry.card import Paragraph, Table

    split = version.spec.get("split", {})
    blocks: list[Block] = []
    if split.get("kind") == "time":
        blocks.append(
            Paragraph(
                f"Split by time on {split.get('time_column', 'its date column')!r}: trained on "
                f"the earliest rows, tested on the latest {split.get('test_size', 0.2):g} share."
            )
        )
    backtest = (run.cv or {}).get("backtest")
    if not backtest or not backtest.get("windows"):
        return blocks
    rows = tuple(
        (
            number,
            window.get("train_rows"),
            window.get("test_rows"),
            f"{window.get('test_from')} – {window.get('test_to')}",
            _fmt(window.get("metrics", {}).get(metric)),
        )
        for number, window in enumerate(backtest["windows"], start=1)
    )
    summary = backtest.get("summary", {}).get(metric, {})
    blocks.append(Paragraph(f"Walk-forward backtest, {backtest.get('k')} windows:"))
    blocks.append(Table(("Window", "Train rows", "Test rows", "Tested on", metric), rows))
    if summary.get("mean") is not None:
        blocks.append(
            Paragraph(
                f"{metric} over the windows: {_fmt(summary['mean'])} ± {_fmt(summary['std'])}"
            )
        )
    return blocks


def _threshold_blocks(run: Run) -> list[Block]:
    from core.registry.card import Paragraph

    chosen = (run.curves or {}).get("threshold")
    if not chosen:
        return []
    rule = ", ".join(f"{key} = {value}" for key, value in chosen.get("rule", {}).items())
    positive = chosen.get("positive")
    of = f" on the probability of {positive!r}" if positive is not None else ""
    return [
        Paragraph(
            f"Decision threshold {_fmt(chosen.get('threshold'))}{of}, chosen by the rule {rule}: "
            f"precision {_fmt(chosen.get('precision'))}, recall {_fmt(chosen.get('recall'))} "
            "there on the test split. The version's labels and its server use it."
        )
    ]


def _ranking_blocks(project: Project, run: Run, metric: str) -> list[Block]:
    from core.experiments.ranking import rank
    from core.registry.card import Paragraph, Table

    if run.parent_id is None:
        return []
    parent = project.runs.get(run.parent_id)
    ranked = rank(project.runs.list(parent_id=parent.id, include_children=True), metric)
    how = "tried every estimator" if parent.estimator == "all" else "searched parameters"
    rows = tuple(
        (
            f"{row['rank']}" + (" (this)" if row["run"] == run.id else ""),
            f"run {row['run']}",
            row["estimator"],
            _fmt(row["value"]),
            _fmt(row["fit_s"]),
            _fmt(row["predict_p50_ms"]),
            row["status"],
        )
        for row in ranked[:MAX_RANKED]
    )
    more = f" (the first {MAX_RANKED} shown)" if len(ranked) > MAX_RANKED else ""
    return [
        Paragraph(
            f"Chosen from run {parent.id}, which {how}: {len(ranked)} runs on {metric}{more}."
        ),
        Table(("Rank", "Run", "Estimator", metric, "Fit s", "Predict p50 ms", "Status"), rows),
    ]
