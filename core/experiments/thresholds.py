"""The decision threshold of a binary classifier, picked from its precision/recall curve.

A classifier's own label is the class of the higher probability (a threshold of 0.5 on the
positive class, the second of the sorted classes). Where a false alarm and a miss do not cost
the same, a team picks the operating point instead, by one rule:

- ``{min_precision = P}``: the threshold of the highest recall whose precision is at least P;
- ``{min_recall = R}``: the threshold of the highest precision whose recall is at least R;
- ``{cost_fp = A, cost_fn = B}``: the threshold of the lowest ``A × false positives + B × false
  negatives``.

The rule comes from ``--threshold`` (``min_precision=0.9``, ``cost_fp=1,cost_fn=5``) or
shipway.toml's ``[evaluation] threshold``; it is part of the run's spec. The threshold is chosen
on the run's test rows. It is recorded in ``curves["threshold"]`` (rule, threshold, precision,
recall, f1 and, for costs, the cost at that point; the Compare page marks it on the precision/
recall curve) and in ``io_schema["output"]["threshold"]``, which a registered version and the
served ``model.json`` carry, so that the server's labels use it. The run's metrics stay those
of the estimator's own labels, so runs with and without a rule compare alike.

A rule no threshold satisfies is refused, naming the best value reachable; a rule for a
regression or multiclass task is refused before the run starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

    from core.entities import DatasetVersion
    from core.experiments.spec import RunSpec

#: The keys of shipway.toml's [evaluation] table that this module reads.
EVALUATION_KEYS = frozenset({"threshold", "segments"})
RULES = ("min_precision", "min_recall", "cost")
HINT = "use min_precision=P, min_recall=R (0 < P, R ≤ 1) or cost_fp=A,cost_fn=B (costs ≥ 0)"


def parse_rule(value: str | Mapping[str, Any] | None, where: str = "--threshold") -> dict | None:
    """``{"min_precision": 0.9}`` (or min_recall, or cost_fp and cost_fn) from text or a table."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        value = _from_text(value, where)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"threshold rule {value!r} is not a table", where=where, hint=HINT)
    rule = {str(key): _number(key, item, where) for key, item in value.items()}
    keys = set(rule)
    if keys in ({"min_precision"}, {"min_recall"}):
        (name, level), = rule.items()  # fmt: skip
        if not 0 < level <= 1:
            raise InvalidInput(f"{name} {level:g} is outside (0, 1]", where=where, hint=HINT)
        return rule
    if keys == {"cost_fp", "cost_fn"}:
        if min(rule.values()) < 0 or max(rule.values()) == 0:
            raise InvalidInput(f"costs {rule} must be ≥ 0, one above 0", where=where, hint=HINT)
        return rule
    raise InvalidInput(
        f"threshold rule {', '.join(sorted(keys))} is not one rule", where=where, hint=HINT
    )


def _from_text(text: str, where: str) -> dict[str, str]:
    pairs = [part.split("=", 1) for part in text.replace(";", ",").split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise InvalidInput(f"threshold rule {text!r} is not KEY=VALUE", where=where, hint=HINT)
    return {key.strip(): item.strip() for key, item in pairs}


def _number(key: str, value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidInput(f"threshold {key} = {value!r} is not a number", where=where, hint=HINT)
    return number


def settings_rule(raw: Mapping[str, Any], text: str) -> dict | None:
    """shipway.toml's ``[evaluation] threshold``, errors naming its line."""
    from core.settings_rules import where

    table = raw.get("evaluation", {})
    if not isinstance(table, Mapping):
        return None
    return parse_rule(table.get("threshold"), where(text, "evaluation", "threshold"))


def check_task(spec: RunSpec, version: DatasetVersion) -> None:
    """A threshold is for binary classifiers only (refused before the run starts)."""
    if spec.threshold is None:
        return
    where = f"{version.ref} column {spec.target!r}"
    if spec.task != "classification":
        raise InvalidInput(
            f"a decision threshold was asked of a {spec.task} task; only a binary classifier "
            "has one",
            where=where,
            hint="leave out --threshold (or [evaluation] threshold) for this target",
        )
    classes = version.profile.get(spec.target, {}).get("distinct", 2)
    if classes != 2:
        raise InvalidInput(
            f"a decision threshold was asked of {spec.target!r}, which has {classes} classes; "
            "only a binary classifier has one",
            where=where,
            hint="leave out --threshold for this target, or predict a yes/no column",
        )


def is_binary(spec: RunSpec, version: DatasetVersion) -> bool:
    profile = version.profile.get(spec.target, {})
    return spec.task == "classification" and profile.get("distinct", 2) == 2


def choose(positive: np.ndarray, scores: np.ndarray, rule: Mapping[str, float]) -> dict:
    """The threshold ``rule`` picks on test rows (``positive``: booleans; ``scores``: the
    positive class's probabilities), with precision, recall and f1 there."""
    import numpy as np

    table = _operating_points(np.asarray(positive, dtype=bool), np.asarray(scores, dtype=float))
    if "cost_fp" in rule:
        costs = rule["cost_fp"] * table["fp"] + rule["cost_fn"] * table["fn"]
        best = int(np.argmin(costs))
        return _point(table, best, dict(rule)) | {"cost": float(costs[best])}
    name = "min_precision" if "min_precision" in rule else "min_recall"
    mine, other = ("precision", "recall") if name == "min_precision" else ("recall", "precision")
    reaching = np.flatnonzero(table[mine] >= rule[name])
    if not len(reaching):
        best = float(np.max(table[mine]))
        raise InvalidInput(
            f"no threshold reaches {mine} {rule[name]:g} on the test rows; the best reachable "
            f"is {best:.4f}",
            where=f"threshold rule {name}",
            hint=f"ask for {name}={math.floor(best * 1000) / 1000:g} or less, or improve the model",
        )
    best = int(reaching[np.argmax(table[other][reaching])])
    return _point(table, best, dict(rule))


def _operating_points(positive: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and the error counts at each distinct score used as the threshold
    (a row is positive when its score ≥ the threshold)."""
    import numpy as np

    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # last row of each score
    tp = np.cumsum(hits)[last].astype(float)
    flagged = (last + 1).astype(float)
    total = float(hits.sum())
    return {
        "threshold": ranked[last],
        "precision": tp / flagged,
        "recall": tp / total if total else np.zeros_like(tp),
        "fp": flagged - tp,
        "fn": total - tp,
    }


def _point(table: dict[str, np.ndarray], index: int, rule: dict) -> dict[str, Any]:
    precision, recall = float(table["precision"][index]), float(table["recall"][index])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "rule": rule,
        "threshold": float(table["threshold"][index]),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
