"""The model card's sections about trust: the data contract and the metrics per segment.

Blocks are the card's own (:mod:`core.registry.card` renders and escapes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.entities import ModelVersion
from core.project import Project

if TYPE_CHECKING:
    from core.registry.card import Block


def contract_blocks(project: Project, version: ModelVersion) -> list[Block]:
    from core.registry import contracts
    from core.registry.card import Paragraph, Table

    kept = contracts.stored(project, version)
    rows = []
    for column in kept.contract.columns:
        shown = "" if column.categories is None else ", ".join(column.categories[:8])
        if column.categories is not None and len(column.categories) > 8:
            shown += f" … (+{len(column.categories) - 8})"
        rows.append(
            (
                column.name,
                column.type,
                "yes" if column.nullable else "no",
                "" if column.minimum is None else f"{column.minimum:g}",
                "" if column.maximum is None else f"{column.maximum:g}",
                shown,
                "yes" if column.unique else "",
            )
        )
    headers = ("Column", "Type", "Nullable", "Min", "Max", "Categories", "Unique")
    origin = (
        "inferred from the training data's profile (ranges widened by 10% of their span)"
        if kept.source == "inferred"
        else "edited since registration (the audit trail says by whom)"
    )
    return [
        Paragraph(f"The rules every input row must meet, {origin}."),
        Table(headers, tuple(rows)),
    ]


def segment_blocks(project: Project, version: ModelVersion) -> list[Block]:
    from core.config import load_settings
    from core.registry import fairness
    from core.registry.card import Paragraph, Table
    from core.registry.gates import Evidence

    columns = fairness.configured(load_settings(project.root).raw)
    if not columns:
        return [
            Paragraph(
                'No segments were evaluated (set [evaluation] segments = ["column", ...] '
                "in shipway.toml to report every metric per segment)."
            )
        ]
    blocks: list[Block] = []
    for column, table in fairness.tables(Evidence(project, version), columns).items():
        metrics = table["metrics"]
        headers = ("Segment", "Rows", *(f"{m} (95% CI)" for m in metrics))
        rows = tuple(
            (
                group["value"],
                group["rows"],
                *(_interval(group["metrics"].get(m)) for m in metrics),
            )
            for group in table["groups"]
        )
        blocks.append(Paragraph(f"By {column} on the test split:"))
        blocks.append(Table(headers, rows))
        blocks += [Paragraph(note) for note in table.get("notes", [])]
    return blocks


def _interval(value: Any) -> str:
    if not value or value.get("value") is None:
        return ""
    low, high = value.get("low"), value.get("high")
    if low is None or high is None:
        return f"{value['value']:.4g}"
    return f"{value['value']:.4g} ({low:.3g}–{high:.3g})"
