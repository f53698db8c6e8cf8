"""Gate results as a table: a pass/fail mark, the rule, what was measured, against what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.entities import GateEvaluation, GateReport, GateResult
from desktop.theme import current_colors
from desktop.widgets.common import format_value, make_table, set_widths
from desktop.widgets.table_model import Column, ListTableModel

RULE_NAMES = {
    "no_regression": "no regression",
    "max_latency_p95_ms": "single-row p95 latency (ms)",
    "max_size_mb": "model size (MB)",
    "data_checks": "data checks",
    "smoke_test": "smoke test",
    "approval": "approval",
}
PASS_MARK, FAIL_MARK = "✓ pass", "✗ fail"
RULE_TIPS = {
    "max_latency_p95_ms": (
        "The p95 of single-row predicts timed when these gates were evaluated, on the machine "
        "that evaluated them (the call count is in What it says). A run's own p95 comes from "
        "a shorter probe in its training worker right after fitting, so it can differ."
    ),
}


def rule_name(rule: str) -> str:
    """``metric:f1`` → "metric f1"; the other rules in words."""
    if rule.startswith("metric:"):
        return f"metric {rule.split(':', 1)[1]}"
    return RULE_NAMES.get(rule, rule.replace("_", " "))


def as_results(gates: Sequence[GateResult | dict[str, Any]]) -> list[GateResult]:
    """Results from a report or from a stored evaluation (plain dicts)."""
    known = set(GateResult.__dataclass_fields__)
    return [
        g if isinstance(g, GateResult) else GateResult(**{k: v for k, v in g.items() if k in known})
        for g in gates
    ]


GATE_COLUMNS = [
    Column("", lambda g: g.passed, text=lambda g: PASS_MARK if g.passed else FAIL_MARK),
    Column(
        "Rule",
        lambda g: rule_name(g.rule),
        cell_tip=lambda g: RULE_TIPS.get(g.rule, "The rule of shipway.toml [gates.ALIAS]"),
    ),
    Column("Measured", lambda g: g.value, text=lambda g: format_value(g.value), numeric=True),
    Column("Threshold", lambda g: g.threshold, text=lambda g: format_value(g.threshold)),
    Column("What it says", lambda g: g.message, cell_tip=lambda g: g.message),
]


def gate_model() -> ListTableModel:
    model = ListTableModel(GATE_COLUMNS)
    model.set_emphasis(
        bold=lambda g, col: col == 0,
        color=lambda g, col: (
            (current_colors().good if g.passed else current_colors().bad) if col == 0 else None
        ),
    )
    return model


def gate_table(model: ListTableModel):
    view = make_table(model, sortable=False)
    set_widths(view, (70, 150, 90, 100))
    view.setWordWrap(False)
    return view


def verdict(report: GateReport | None, alias: str = "") -> str:
    """One sentence: passed, or blocked by which rules."""
    if report is None:
        return f"The gates of {alias or 'this alias'} have not been evaluated for this version."
    failed = report.failures
    total = len(report.results)
    if not total:
        return f"Nothing guards {report.alias} ({report.source})."
    if not failed:
        return f"{report.model}@{report.version} passes all {total} gates of {report.alias}."
    names = ", ".join(rule_name(g.rule) for g in failed)
    return (
        f"{report.model}@{report.version} is blocked from {report.alias}: {len(failed)} of "
        f"{total} rules fail ({names})."
    )


def report_from_evaluation(model: str, version: int, evaluation: GateEvaluation) -> GateReport:
    """A stored evaluation (``ws.registry.gate_evaluations``) as a GateReport."""
    return GateReport(
        model,
        version,
        evaluation.alias,
        evaluation.incumbent,
        tuple(as_results(evaluation.gates)),
        f"evaluated {evaluation.at[:16].replace('T', ' ')} UTC by {evaluation.user or '?'}",
    )
