"""The model card's sections about trust: the data contract and the metrics per segment.

Blocks are the card's own (:mod:`core.registry.card` renders and escapes them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.entities import ModelVersion
from core.project import Project

if TYPE_CHECKING:
    from core.registry.card import Block
    from core.registry.version_segments import Interval


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
    """Every metric per segment; a configured column the data lacks is named, not fatal."""
    from core.config import load_settings
    from core.registry.card import Paragraph, Table
    from core.registry.version_segments import version_segments

    found = version_segments(project, version, load_settings(project.root).raw)
    if not found.columns:
        return [
            Paragraph(
                'No segments were evaluated (set [evaluation] segments = ["column", ...] '
                "in shipway.toml to report every metric per segment)."
            )
        ]
    blocks: list[Block] = []
    for table in found.tables:
        headers = ("Segment", "Rows", *(f"{m} (95% CI)" for m in table.metrics))
        rows = tuple(
            (
                segment.value,
                segment.rows,
                *(_interval(segment.metrics.get(m)) for m in table.metrics),
            )
            for segment in table.segments
        )
        blocks.append(Paragraph(f"By {table.column} on the test split:"))
        blocks.append(Table(headers, rows))
        blocks += [Paragraph(note) for note in table.notes]
    blocks += [Paragraph(f"Not evaluated: {problem}") for problem in found.problems]
    return blocks


def _interval(found: Interval | None) -> str:
    if found is None or found.value is None:
        return ""
    if found.low is None or found.high is None:
        return f"{found.value:.4g}"
    return f"{found.value:.4g} ({found.low:.3g}–{found.high:.3g})"
