"""A model version as the Models page shows it: everything read about it in one record, the
columns of its approvals and alias history, and its summary in words.

A binary classifier trained with a threshold rule (``--threshold``, ``[evaluation] threshold``)
says in its summary which threshold the rule chose and the precision and recall there, from
the run's ``curves["threshold"]``: the version's labels (and its server's) use that threshold,
not 0.5, so it belongs next to the metric that ranks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.entities import AliasMove, Approval, GateEvaluation, ModelVersion
from desktop.widgets.common import format_metric, format_size, plural
from desktop.widgets.table_model import Column


@dataclass(frozen=True)
class VersionDetail:
    """Everything the detail shows of one version, read in one background call."""

    version: ModelVersion
    evaluations: list[GateEvaluation]  # newest first
    approvals: list[Approval]
    history: list[AliasMove]
    card_html: str
    user: str
    primary_metric: str = "f1"
    holders: dict[str, int] = field(default_factory=dict)  # alias → version, of this model
    contract: Any = None  # its StoredContract
    datasets: tuple[str, ...] = ()  # data set versions to check the contract against, newest first
    threshold: dict[str, Any] | None = None  # the run's chosen decision threshold, if any


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


APPROVAL_COLUMNS = [
    Column("Approver", lambda a: a.approver),
    Column("Comment", lambda a: a.comment or "—"),
    Column("When (UTC)", lambda a: a.at, text=lambda a: _when(a.at)),
]
HISTORY_COLUMNS = [
    Column("When (UTC)", lambda m: m.at, text=lambda m: _when(m.at)),
    Column("Alias", lambda m: m.alias),
    Column(
        "Move",
        lambda m: m.to_version,
        text=lambda m: f"v{m.from_version or '—'} → v{m.to_version or '—'}",
    ),
    Column("Kind", lambda m: m.kind + (" (rolled back)" if m.rolled_back else "")),
    Column("By", lambda m: m.user),
    Column("Reason", lambda m: m.reason or "—", cell_tip=lambda m: m.reason),
]


def summary_text(detail: VersionDetail) -> str:
    v = detail.version
    metric = detail.primary_metric
    value = v.metrics.get(metric)
    aliases = ", ".join(f"<b>{a}</b>" for a in v.aliases) or "no alias"
    lines = [
        f"<b style='font-size:12pt'>{v.ref}</b> · {aliases} · {v.estimator} on {v.dataset_ref}, "
        f"predicts <b>{v.target}</b> ({v.task}) · {metric} {format_metric(value)} · "
        f"{format_size(v.model_size)}",
        f"registered by {v.created_by} {_when(v.created_at)} UTC from run #{v.run_id} "
        f"(trained by {v.trained_by})" + (f" · {_escape(v.description)}" if v.description else ""),
    ]
    if detail.threshold:
        lines.append(threshold_text(detail.threshold))
    return "<br>".join(lines)


def rule_text(rule: dict[str, Any]) -> str:
    """``precision ≥ 0.9``, ``recall ≥ 0.8`` or ``cost 1 × false positive + 5 × false negative``."""
    if "min_precision" in rule:
        return f"precision ≥ {rule['min_precision']:g}"
    if "min_recall" in rule:
        return f"recall ≥ {rule['min_recall']:g}"
    if "cost_fp" in rule:
        fp, fn = rule["cost_fp"], rule.get("cost_fn", 0)
        return f"least cost {fp:g} × false positive + {fn:g} × false negative"
    return ", ".join(f"{key} = {value}" for key, value in rule.items())


def threshold_text(chosen: dict[str, Any]) -> str:
    """The decision threshold line of the summary."""
    positive = chosen.get("positive")
    of = f" on P({_escape(str(positive))})" if positive is not None else ""
    return (
        f"decision threshold <b>{chosen['threshold']:.3f}</b>{of}, chosen for "
        f"{rule_text(chosen.get('rule', {}))} (precision {format_metric(chosen.get('precision'))}"
        f", recall {format_metric(chosen.get('recall'))} there, on the test split)"
    )


def approval_note(detail: VersionDetail) -> str:
    v = detail.version
    if detail.user == v.trained_by:
        return (
            f"You ({detail.user}) trained this version, so your approval does not count: the "
            "approval gate needs someone else (another person opening this project)."
        )
    count = len(detail.approvals)
    return (
        f"Approving as {detail.user}. {plural(count, 'approval')} so far; the trainer was "
        f"{v.trained_by}."
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
