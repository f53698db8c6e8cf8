"""Model cards: what a version is, what it was trained on, how good it is, who let it through.

The content is built once as plain blocks (:class:`Paragraph`, :class:`Table`, :class:`Image`,
:class:`Code`) and rendered to Markdown or HTML. Every text taken from the project (column
names, categories, descriptions, tags, user names) is escaped by the renderer, so a data set
cannot inject markup into a card. Curves are embedded SVG images (see :mod:`core.registry.svg`).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

from core import metrics as vocabulary
from core.entities import GateEvaluation, ModelVersion, Run
from core.project import Project
from core.registry import svg, trust_card, validation_card


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Image:
    alt: str
    uri: str


@dataclass(frozen=True)
class Code:
    text: str


Block = Paragraph | Table | Image | Code
Section = tuple[str, list[Block]]


def render(project: Project, version: ModelVersion, fmt: str = "markdown") -> str:
    sections = build_sections(project, version)
    title = f"Model card: {version.ref}"
    if fmt == "html":
        return to_html(title, sections)
    if fmt in ("markdown", "md"):
        return to_markdown(title, sections)
    raise ValueError(f"unknown card format {fmt!r}; use markdown or html")


def build_sections(project: Project, version: ModelVersion) -> list[Section]:
    run = project.runs.get(version.run_id)
    dataset = project.repo.get_version(version.dataset, version.dataset_version)
    return [
        ("Summary", _summary(version, run)),
        ("Data", _data(version, dataset, run)),
        ("Features", _features(version, dataset, run)),
        ("Data contract", trust_card.contract_blocks(project, version)),
        ("Metrics", _metrics(version, run)),
        ("Segments", trust_card.segment_blocks(project, version)),
        ("Validation", validation_card.validation_blocks(project, version, run)),
        ("Curves", _curves(version, run)),
        ("Gates", _gates(project.reviews.gate_evaluations(version.id))),
        ("Approvals and aliases", _approvals(project, version)),
        ("Lineage", _lineage(version, dataset)),
        ("Environment", _environment(version)),
        ("Known limits", _limits(version, run, dataset)),
    ]


# -- sections ------------------------------------------------------------------------------


def _summary(version: ModelVersion, run: Run) -> list[Block]:
    purpose = version.description or (
        f"No description yet (set one with `shipway models edit {version.ref} --description TEXT`)."
    )
    params = ", ".join(f"{k}={v}" for k, v in sorted(version.spec.get("params", {}).items()))
    rows = [
        ("Purpose", purpose),
        ("Task", f"{version.task}: predicts {version.target!r}"),
        ("Estimator", f"{version.estimator}" + (f" ({params})" if params else "")),
        ("Aliases", ", ".join(version.aliases) or "none"),
        ("Registered", f"{version.created_at:%Y-%m-%d %H:%M} UTC by {version.created_by}"),
        ("Trained", f"run {run.id} by {version.trained_by}"),
    ]
    rows += [(f"Tag {key}", value) for key, value in sorted(version.tags.items())]
    return [Table(("", ""), tuple(rows))]


def _data(version: ModelVersion, dataset: Any, run: Run) -> list[Block]:
    split = version.spec.get("split", {})
    report = dataset.report or {}
    warnings = [p.get("message", "") for p in report.get("problems", [])]
    rows = (
        ("Data set", dataset.ref),
        ("Rows × columns", f"{dataset.rows:,} × {dataset.columns}"),
        ("Source", f"{dataset.source} ({dataset.source_format})"),
        ("sha256", dataset.sha256),
        (
            "Split",
            f"{split.get('kind', 'train_test')}, test share {split.get('test_size', 0.2):g}, "
            f"seed {version.spec.get('seed')}",
        ),
        ("Cross-validation", f"{run.cv.get('k')} folds" if run.cv else "none"),
        ("Import report", "clean" if not warnings else f"{len(warnings)} problem(s)"),
    )
    blocks: list[Block] = [Table(("", ""), rows)]
    blocks += [Paragraph(f"Import problem: {message}") for message in warnings[:10]]
    return blocks


def _features(version: ModelVersion, dataset: Any, run: Run) -> list[Block]:
    importance = run.importance.get("values", {}) if run.importance else {}
    rows = []
    for entry in version.io_schema.get("inputs", []):
        name = entry["name"]
        stats = dataset.profile.get(name, {})
        rows.append(
            (
                name,
                entry["type"],
                f"{stats.get('missing_share', 0):.1%}",
                _feature_range(entry),
                _fmt(importance.get(name)) + _spread(run.importance, name),
            )
        )
    method = run.importance.get("method", "") if run.importance else ""
    spread = (run.importance or {}).get("spread")
    over = f", ± std over {run.importance.get('spread_n')} {spread}" if spread else ""
    headers = ("Feature", "Type", "Missing", "Seen in training", f"Importance ({method}{over})")
    return [Table(headers, tuple(rows))]


def _spread(importance: dict[str, Any] | None, name: str) -> str:
    """`` ± std`` of a column's importance when the run measured its spread."""
    std = (importance or {}).get("std") or {}
    return f" ± {_fmt(std[name])}" if name in std else ""


def _feature_range(entry: dict[str, Any]) -> str:
    if "categories" in entry:
        shown = entry["categories"][:6]
        more = len(entry["categories"]) - len(shown)
        return ", ".join(shown) + (f" … (+{more})" if more > 0 else "")
    if "min" in entry:
        return f"{entry['min']:.4g} to {entry['max']:.4g}"
    return ""


def _metrics(version: ModelVersion, run: Run) -> list[Block]:
    summary = run.cv.get("summary", {}) if run.cv else {}
    rows = []
    for name in vocabulary.metrics_for(version.task):
        cv = summary.get(name, {})
        spread = (
            f"{_fmt(cv.get('mean'))} ± {_fmt(cv.get('std'))}" if cv.get("mean") is not None else ""
        )
        rows.append((name, _fmt(version.metrics.get(name)), spread))
    return [Table(("Metric", "Test split", "Cross-validation (mean ± std)"), tuple(rows))]


def _curves(version: ModelVersion, run: Run) -> list[Block]:
    curves = run.curves or {}
    if version.task == "regression":
        return _regression_curves(curves)
    blocks: list[Block] = []
    roc = [(label, c["fpr"], c["tpr"]) for label, c in curves.get("roc", {}).items()]
    if roc:
        uri = svg.line_chart(
            "ROC",
            roc,
            "false positive rate",
            "true positive rate",
            bounds=(0, 1, 0, 1),
            diagonal=True,
        )
        blocks.append(Image("ROC curve per class", uri))
    pr = [(label, c["recall"], c["precision"]) for label, c in curves.get("pr", {}).items()]
    if pr:
        uri = svg.line_chart("Precision-recall", pr, "recall", "precision", bounds=(0, 1, 0, 1))
        blocks.append(Image("Precision-recall curve per class", uri))
    matrix = curves.get("confusion_matrix", {})
    if matrix.get("labels"):
        labels = matrix["labels"]
        pairs = zip(labels, matrix["matrix"], strict=False)
        rows = tuple((f"actual {label}", *row) for label, row in pairs)
        blocks.append(Table(("", *(f"predicted {label}" for label in labels)), rows))
    return blocks or [Paragraph("The run recorded no curves.")]


def _regression_curves(curves: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    pairs = curves.get("predicted_vs_actual", {})
    if pairs.get("actual"):
        low = min(min(pairs["actual"]), min(pairs["predicted"]))
        high = max(max(pairs["actual"]), max(pairs["predicted"]))
        uri = svg.line_chart(
            "Predicted vs actual",
            [("test rows", pairs["actual"], pairs["predicted"])],
            "actual",
            "predicted",
            bounds=(low, high, low, high),
            diagonal=True,
            points=True,
        )
        blocks.append(Image("Predicted against actual values", uri))
    residuals = curves.get("residuals", {}).get("histogram", {})
    if residuals.get("counts"):
        uri = svg.histogram(
            "Residuals", residuals["edges"], residuals["counts"], "actual − predicted"
        )
        blocks.append(Image("Histogram of residuals", uri))
    return blocks or [Paragraph("The run recorded no curves.")]


def _gates(evaluations: list[GateEvaluation]) -> list[Block]:
    if not evaluations:
        return [Paragraph("No gates have been evaluated on this version yet.")]
    latest: dict[str, GateEvaluation] = {}
    for evaluation in evaluations:  # newest first
        latest.setdefault(evaluation.alias, evaluation)
    blocks: list[Block] = []
    for alias, evaluation in sorted(latest.items()):
        verdict = "passed" if evaluation.passed else "failed"
        blocks.append(
            Paragraph(
                f"Gates of {alias}: {verdict} ({evaluation.at[:16]} UTC, by {evaluation.user})"
            )
        )
        rows = tuple(
            ("pass" if gate["passed"] else "FAIL", gate["rule"], gate["message"])
            for gate in evaluation.gates
        )
        blocks.append(Table(("", "Rule", "Result"), rows or (("", "", "no rules"),)))
    return blocks


def _approvals(project: Project, version: ModelVersion) -> list[Block]:
    approvals = project.reviews.approvals(version.model, version.version)
    rows = tuple((a.approver, f"{a.at:%Y-%m-%d %H:%M} UTC", a.comment or "") for a in approvals)
    moves = [
        m
        for m in project.models.history(version.model)
        if version.version in (m.to_version, m.from_version)
    ]
    blocks: list[Block] = [
        Table(("Approved by", "When", "Comment"), rows)
        if rows
        else Paragraph("Nobody has approved this version.")
    ]
    if moves:
        blocks.append(
            Table(
                ("When", "Alias", "Move", "By", "Reason"),
                tuple(
                    (
                        f"{m.at:%Y-%m-%d %H:%M}",
                        m.alias,
                        f"{m.kind}: {m.from_version or '–'} → {m.to_version}",
                        m.user,
                        m.reason,
                    )
                    for m in moves
                ),
            )
        )
    return blocks


def _lineage(version: ModelVersion, dataset: Any) -> list[Block]:
    rows = (
        ("Run", str(version.run_id)),
        ("Data set version", f"{dataset.ref} (sha256 {version.dataset_sha256})"),
        ("Model blob", f"sha256 {version.model_sha256}, {version.model_size:,} bytes"),
    )
    spec = json.dumps(version.spec, indent=2, sort_keys=True, default=str)
    return [Table(("", ""), rows), Paragraph("Run spec:"), Code(spec)]


def _environment(version: ModelVersion) -> list[Block]:
    env = version.environment or {}
    packages = env.get("packages", {})
    rows = [
        ("Python", f"{env.get('python', '?')} ({env.get('implementation', '')})"),
        ("Platform", str(env.get("platform", "?"))),
        ("CPUs", str(env.get("cpu_count", "?"))),
    ]
    rows += [(name, str(value)) for name, value in sorted(packages.items())]
    return [Table(("", ""), tuple(rows))]


def _limits(version: ModelVersion, run: Run, dataset: Any) -> list[Block]:
    limits = [
        f"The metrics come from held-out rows of {dataset.ref} alone; they say nothing about "
        "data that has drifted away from it (watch the Monitoring view).",
        "Categories not seen in training are ignored by the encoder: such rows are predicted "
        "as if the column were missing.",
        "Numbers outside the range seen in training (see Features) are extrapolated.",
    ]
    limits += list(run.notes)
    return [Paragraph(f"• {text}") for text in limits]


# -- renderers -----------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    number = vocabulary.finite(value)
    return "" if number is None else f"{number:.4g}"


def _md(value: Any) -> str:
    text = html.escape(str(value), quote=False)
    for char in "\\`*[]|":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def to_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {_md(title)}", ""]
    for heading, blocks in sections:
        lines += [f"## {_md(heading)}", ""]
        for block in blocks:
            lines += [*_markdown_block(block), ""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [_md(block.text)]
    if isinstance(block, Image):
        return [f"![{_md(block.alt)}]({block.uri})"]
    if isinstance(block, Code):
        return ["```", block.text.replace("```", "ʼʼʼ"), "```"]
    header = "| " + " | ".join(_md(h) for h in block.headers) + " |"
    rule = "|" + "|".join("---" for _ in block.headers) + "|"
    rows = ["| " + " | ".join(_md(c) for c in row) + " |" for row in block.rows]
    return [header, rule, *rows]


_STYLE = (
    "body{font-family:'DejaVu Sans',sans-serif;max-width:60em;margin:2em auto;color:#1f2937}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d1d5db;"
    "padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f4f6}"
    "pre{background:#f9fafb;border:1px solid #e5e7eb;padding:.6em;overflow:auto}"
    "img{margin:.3em .6em .3em 0}"
)


def to_html(title: str, sections: list[Section]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    for heading, blocks in sections:
        parts.append(f"<h2>{esc(heading)}</h2>")
        parts += [_html_block(block) for block in blocks]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_block(block: Block) -> str:
    esc = html.escape
    if isinstance(block, Paragraph):
        return f"<p>{esc(block.text)}</p>"
    if isinstance(block, Image):
        return f'<img alt="{esc(block.alt)}" src="{esc(block.uri)}">'
    if isinstance(block, Code):
        return f"<pre>{esc(block.text)}</pre>"
    head = "".join(f"<th>{esc(str(h))}</th>" for h in block.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in block.rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"
