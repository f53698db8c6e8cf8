"""Evaluating the validation gates of an alias on a model version.

Each rule is a function returning a :class:`GateResult` with the measured value, the threshold
and one sentence a person can act on. Rules that need the model (no regression, latency, smoke
test) share one :class:`Evidence`, which loads the pipeline (after its hash check) and rebuilds
the held-out rows at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from core import metrics as vocabulary
from core.entities import DatasetVersion, GateReport, GateResult, ModelVersion
from core.experiments.spec import RunSpec
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project
from core.registry import artifacts, holdout, smoke, trust_gates
from core.registry.gate_config import ChallengerWinsRule, GateConfig, NoRegressionRule
from core.settings_rules import MetricRule

EPSILON = 1e-12
MB = 1_000_000
LATENCY_CALLS = 50
LATENCY_BUDGET_S = 3.0
#: ``(version, metric, confidence)`` → the comparisons of every running deployment where the
#: version is the challenger (dicts of :class:`core.monitoring.challenger.Comparison`); given
#: by the composition root, since the registry sits below monitoring.
LiveEvidence = Callable[[ModelVersion, "str | None", float], list[dict[str, Any]]]


class Evidence:
    """What the rules of one evaluation measure, loaded lazily and once."""

    def __init__(self, project: Project, version: ModelVersion) -> None:
        self.project = project
        self.version = version

    @cached_property
    def pipeline(self) -> Any:
        return artifacts.load_pipeline(self.project, self.version)

    @cached_property
    def spec(self) -> RunSpec:
        return RunSpec.from_dict(self.version.spec)

    @cached_property
    def dataset(self) -> DatasetVersion:
        return self.project.repo.get_version(self.version.dataset, self.version.dataset_version)

    @cached_property
    def holdout(self) -> holdout.Holdout:
        return holdout.test_rows(self.project, self.dataset, self.spec)


def evaluate_gates(
    project: Project,
    version: ModelVersion,
    config: GateConfig,
    incumbent: ModelVersion | None,
    primary_metric: str,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    live: LiveEvidence | None = None,
) -> GateReport:
    """Evaluate every rule of ``config`` on ``version`` (``incumbent`` holds the alias now);
    ``live`` gives the live-traffic comparisons ``challenger_wins`` needs."""
    cancel = cancel or CancelToken()
    evidence = Evidence(project, version)
    checks = _checks(project, config, evidence, incumbent, primary_metric)
    if config.challenger_wins is not None:
        wins = config.challenger_wins
        checks.append(("challenger wins", lambda: challenger_wins(version, wins, live)))
    results = []
    for index, (label, check) in enumerate(checks):
        cancel.raise_if_cancelled()
        progress(index / max(1, len(checks)), f"gate {label}")
        results.append(check())
    progress(1.0, "gates evaluated")
    return GateReport(
        model=version.model,
        version=version.version,
        alias=config.alias,
        incumbent=incumbent.version if incumbent else None,
        results=tuple(results),
        source=config.source,
    )


def _checks(
    project: Project,
    config: GateConfig,
    evidence: Evidence,
    incumbent: ModelVersion | None,
    primary: str,
) -> list[tuple[str, Callable[[], GateResult]]]:
    version = evidence.version
    checks: list[tuple[str, Callable[[], GateResult]]] = [
        (f"metric {rule.metric}", lambda rule=rule: metric_threshold(version, rule))
        for rule in config.metrics
    ]
    if config.no_regression is not None:
        rule = config.no_regression
        checks.append(
            ("no regression", lambda: no_regression(project, evidence, incumbent, rule, primary))
        )
    if config.max_latency_p95_ms is not None:
        limit = config.max_latency_p95_ms
        checks.append(("latency", lambda: latency(evidence, limit)))
    if config.max_size_mb is not None:
        size_limit = config.max_size_mb
        checks.append(("size", lambda: model_size(version, size_limit)))
    if config.data_checks:
        checks.append(("data checks", lambda: data_checks(evidence)))
    if config.smoke_test:
        checks.append(("smoke test", lambda: smoke_test(evidence)))
    if config.approval:
        checks.append(("approval", lambda: approval(project, version)))
    if config.data_contract:
        checks.append(("data contract", lambda: trust_gates.data_contract(evidence)))
    if config.max_disparity is not None:
        fair = config.max_disparity
        checks.append(("disparity", lambda: trust_gates.max_disparity(evidence, fair)))
    return checks


# -- the rules ------------------------------------------------------------------------------


def metric_threshold(version: ModelVersion, rule: MetricRule) -> GateResult:
    name = f"metric:{rule.metric}"
    wanted = f"{rule.op} {rule.threshold:g}"
    if rule.metric not in vocabulary.metrics_for(version.task):
        return GateResult(
            name,
            False,
            f"{rule.metric} is not a {version.task} metric, so {version.ref} cannot meet "
            f"{rule.metric} {wanted}; remove the rule or use "
            f"{', '.join(vocabulary.metrics_for(version.task))}",
            threshold=wanted,
        )
    value = vocabulary.finite(version.metrics.get(rule.metric))
    if value is None:
        return GateResult(
            name,
            False,
            f"{rule.metric} could not be computed for {version.ref} (the run's notes say why)",
            threshold=wanted,
        )
    passed = rule.holds(value)
    verdict = "meets" if passed else "fails"
    return GateResult(
        name,
        passed,
        f"{rule.metric} = {value:.4g} on the test split {verdict} {rule.metric} {wanted}",
        value=value,
        threshold=wanted,
    )


def no_regression(
    project: Project,
    evidence: Evidence,
    incumbent: ModelVersion | None,
    rule: NoRegressionRule,
    primary: str,
) -> GateResult:
    version = evidence.version
    metric = rule.metric or primary
    if incumbent is None:
        return GateResult(
            "no_regression",
            True,
            "no version holds the alias yet, so there is nothing to regress from",
            details={"metric": metric},
        )
    if incumbent.id == version.id:
        return GateResult(
            "no_regression",
            True,
            f"{version.ref} holds the alias itself",
            details={"metric": metric, "incumbent": incumbent.version},
        )
    if metric not in vocabulary.metrics_for(version.task) or incumbent.task != version.task:
        return GateResult(
            "no_regression",
            False,
            f"{metric} cannot compare {version.ref} ({version.task}) with {incumbent.ref} "
            f"({incumbent.task})",
        )
    rows, candidate, held = _same_rows_metric(project, evidence, incumbent, metric)
    return _regression_verdict(version, incumbent, metric, rule, rows, candidate, held)


def _same_rows_metric(
    project: Project, evidence: Evidence, incumbent: ModelVersion, metric: str
) -> tuple[holdout.Holdout, float | None, float | None]:
    """Both models' ``metric`` on the test rows of the newer of their two data versions."""
    from core.experiments.training import evaluate

    other = Evidence(project, incumbent)
    basis = evidence
    same_data = incumbent.dataset == evidence.version.dataset
    if same_data and incumbent.dataset_version > evidence.version.dataset_version:
        basis = other
    rows = basis.holdout
    values = []
    for side in (evidence, other):
        X = rows.model_input(side.version.io_schema)
        measured, _, _, _ = evaluate(side.pipeline, X, rows.y, side.version.task)
        values.append(vocabulary.finite(measured.get(metric)))
    return rows, values[0], values[1]


def _regression_verdict(version, incumbent, metric, rule, rows, candidate, held) -> GateResult:
    where = f"the same {rows.rows} test rows of {rows.dataset.ref}"
    if candidate is None or held is None:
        return GateResult(
            "no_regression",
            False,
            f"{metric} could not be computed on {where}",
            details={"metric": metric, "incumbent": incumbent.version},
        )
    higher = vocabulary.GREATER_IS_BETTER[metric]
    allowed = rule.max_drop * abs(held) if rule.relative else rule.max_drop
    drop = (held - candidate) if higher else (candidate - held)
    limit = held - allowed if higher else held + allowed
    passed = drop <= allowed + EPSILON
    allowance = f"{rule.max_drop:.1%} relative" if rule.relative else f"{rule.max_drop:g}"
    comparison = (
        f"{metric} {candidate:.4g} vs {held:.4g} for {incumbent.ref} on {where}: "
        f"{'a drop' if drop > 0 else 'no drop'} of {max(drop, 0.0):.4g}"
    )
    verdict = "within" if passed else "more than"
    return GateResult(
        "no_regression",
        passed,
        f"{comparison}, {verdict} the {allowance} allowed",
        value=candidate,
        threshold=f"{'>=' if higher else '<='} {limit:.6g}",
        details={
            "metric": metric,
            "incumbent": incumbent.version,
            "incumbent_value": held,
            "rows": rows.rows,
            "data": rows.dataset.ref,
        },
    )


def latency(evidence: Evidence, limit_ms: float) -> GateResult:
    from core.experiments.evaluation import predict_latency_ms

    X = evidence.holdout.model_input(evidence.version.io_schema)
    measured = predict_latency_ms(
        evidence.pipeline, X, repeats=LATENCY_CALLS, budget_s=LATENCY_BUDGET_S
    )
    p95 = measured["p95"]
    passed = p95 <= limit_ms
    return GateResult(
        "max_latency_p95_ms",
        passed,
        f"single-row predict p95 = {p95:.2f} ms over {measured['calls']} calls on this machine "
        f"({'within' if passed else 'over'} the {limit_ms:g} ms budget)",
        value=round(p95, 3),
        threshold=limit_ms,
        details={"p50": round(measured["p50"], 3), "calls": measured["calls"]},
    )


def model_size(version: ModelVersion, limit_mb: float) -> GateResult:
    size = version.model_size / MB
    passed = size <= limit_mb
    return GateResult(
        "max_size_mb",
        passed,
        f"the stored model is {size:.2f} MB ({'within' if passed else 'over'} the "
        f"{limit_mb:g} MB limit)",
        value=round(size, 4),
        threshold=limit_mb,
    )


def data_checks(evidence: Evidence) -> GateResult:
    version, dataset = evidence.version, evidence.dataset
    problems = [p for p in dataset.report.get("problems", []) if p.get("severity") == "warning"]
    found = [f"{dataset.ref}: {p.get('message', p.get('kind'))}" for p in problems[:5]]
    if version.task == "classification":
        classes = [str(c) for c in version.io_schema.get("output", {}).get("classes", [])]
        present = {str(c) for c in evidence.holdout.y.unique()}
        absent = [c for c in classes if c not in present]
        if absent:
            found.append(f"classes absent from the test split: {', '.join(absent)}")
    passed = not found
    message = (
        f"the import report of {dataset.ref} is clean and the test split holds every class"
        if passed
        else "; ".join(found) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
    )
    return GateResult(
        "data_checks", passed, message, value=len(found), threshold=0, details={"found": found}
    )


def smoke_test(evidence: Evidence) -> GateResult:
    rows = evidence.holdout.frame.head(smoke.SAMPLE_ROWS)
    outcome = smoke.run(evidence.project, evidence.version, rows)
    return GateResult(
        "smoke_test",
        outcome.ok,
        outcome.message,
        value=outcome.predictions,
        threshold=len(rows),
        details={"seconds": round(outcome.seconds, 3)},
    )


def approval(project: Project, version: ModelVersion) -> GateResult:
    approvals = [
        a
        for a in project.reviews.approvals(version.model, version.version)
        if a.approver != version.trained_by
    ]
    if not approvals:
        return GateResult(
            "approval",
            False,
            f"{version.ref} needs an approval by someone other than {version.trained_by}, who "
            f"trained it: `shipway models approve {version.ref}`",
            value=0,
            threshold=1,
        )
    names = ", ".join(f"{a.approver} ({a.at:%Y-%m-%d %H:%M} UTC)" for a in approvals)
    return GateResult("approval", True, f"approved by {names}", value=len(approvals), threshold=1)


def challenger_wins(
    version: ModelVersion, rule: ChallengerWinsRule, live: LiveEvidence | None
) -> GateResult:
    """The version, running as a challenger, beats its champion on live traffic."""
    wanted = f"better at {rule.confidence:.0%} on >= {rule.min_rows} rows"
    if live is None:
        return GateResult("challenger_wins", False, "live traffic cannot be read here",
                          threshold=wanted)  # fmt: skip
    comparisons = live(version, rule.metric, rule.confidence)
    if not comparisons:
        return GateResult(
            "challenger_wins", False,
            f"no running deployment has {version.ref} as its challenger: deploy the champion "
            f"with --challenger {version.ref}", threshold=wanted)  # fmt: skip
    best = max(comparisons, key=lambda c: c["rows"])
    test, metric = best["test"], best["metric"]
    sides = best["sides"]
    values = (f"{metric} {_shown(sides['challenger']['metric']['value'])} vs "
              f"{_shown(sides['champion']['metric']['value'])} for {version.model}@"
              f"{best['champion']} in deployment {best['deployment']}")  # fmt: skip
    details = {"deployment": best["deployment"], "metric": metric, "rows": best["rows"],
               "test": test["name"], "p_value": test["p_value"], "mode": best["mode"]}  # fmt: skip
    if best["rows"] < rule.min_rows:
        return GateResult(
            "challenger_wins", False,
            f"not enough rows: {best['rows']} live rows with feedback, {rule.min_rows} needed "
            f"({values})", value=best["rows"], threshold=wanted, details=details)  # fmt: skip
    passed = best["better"] == "challenger"
    p = test["p_value"]
    verdict = (f"better ({test['name']}, p = {p:.3g})" if passed
               else f"not shown better ({test['name']}, p = "
               f"{'n/a' if p is None else format(p, '.3g')})")  # fmt: skip
    return GateResult("challenger_wins", passed, f"{values} on {best['rows']} rows: {verdict}",
                      value=test["difference"], threshold=wanted, details=details)  # fmt: skip


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
