"""Gate rules about the data a model meets: ``data_contract`` (the test rows meet the version's
contract) and ``max_disparity`` (a metric's gap between segments; :mod:`core.experiments.segments`).

Kept apart from :mod:`core.registry.gates`, which only dispatches to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.entities import GateResult
from core.experiments import segments
from core.registry import contracts
from core.registry.gate_config import DisparityRule

if TYPE_CHECKING:
    from core.registry.gates import Evidence


def data_contract(evidence: Evidence) -> GateResult:
    """Fails when any test row breaks the version's data contract, naming the rules."""
    version, rows = evidence.version, evidence.holdout
    kept = contracts.stored(evidence.project, version)
    types = {e["name"]: e["type"] for e in version.io_schema.get("inputs", [])}
    found = contracts.check_rows(kept.contract, rows.frame, types, version.ref, rows.dataset.ref)
    where = f"the {found.rows} test rows of {rows.dataset.ref}"
    if found.passed:
        message = f"{where} meet the {kept.source} data contract of {version.ref}"
    else:
        shown = "; ".join(f"{v.rule}: {v.message}" for v in found.violations[:5])
        more = len(found.violations) - 5
        message = f"{where} break the data contract: {shown}" + (
            f" (and {more} more rule(s))" if more > 0 else ""
        )
    return GateResult(
        "data_contract",
        found.passed,
        message,
        value=len(found.violations),
        threshold=0,
        details={"violations": [v.to_dict() for v in found.violations]},
    )


def max_disparity(evidence: Evidence, rule: DisparityRule) -> GateResult:
    """Fails when ``rule.metric`` differs by more than ``max_gap`` between two segments; says
    "not enough rows" (and does not let the version through) when fewer than two segments
    have ``min_rows`` test rows, since no gap was measured."""
    from core.registry import fairness

    name = "max_disparity"
    measured = segments.gap(
        fairness.table(evidence, rule.by, intervals=False), rule.metric, rule.min_rows
    )
    small = ", ".join(f"{value} ({rows})" for value, rows in measured["small"])
    details = {"metric": rule.metric, "by": rule.by, "min_rows": rule.min_rows, **measured}
    if measured["gap"] is None:
        return GateResult(
            name,
            False,
            f"not enough rows: fewer than two segments of {rule.by} have {rule.min_rows} test "
            f"rows with a {rule.metric} (too small: {small or 'none'}), so no gap was measured; "
            "lower min_rows, segment by another column or evaluate on more data",
            threshold=rule.max_gap,
            details={**details, "verdict": "not_enough_rows"},
        )
    gap = measured["gap"]
    passed = gap <= rule.max_gap + 1e-12
    (high, high_value, _), (low, low_value, _) = measured["best"], measured["worst"]
    skipped = f"; not compared (under {rule.min_rows} rows): {small}" if small else ""
    return GateResult(
        name,
        passed,
        f"{rule.metric} by {rule.by}: {high_value:.4g} for {high} vs {low_value:.4g} for {low}, "
        f"a gap of {gap:.4g} ({'within' if passed else 'over'} the {rule.max_gap:g} allowed)"
        + skipped,
        value=round(gap, 6),
        threshold=rule.max_gap,
        details={**details, "verdict": "passed" if passed else "failed"},
    )
