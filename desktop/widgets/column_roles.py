"""What the app proposes for a table's columns: the target to predict and the features.

The engine decides (``core.services.suggest_target``: a column named like target, label, class,
outcome or y, else the last column that is neither an identifier nor a date; identifiers come
with the file preview or the data set version's import report, each with its reason). The app
only orders the candidates: what the person chose a moment ago, then the project's target,
then the engine's suggestion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.services import suggest_target


def pick_target(
    columns: Sequence[str],
    types: Mapping[str, str],
    identifiers: Mapping[str, str],
    *wanted: str | None,
) -> str:
    """The first of ``wanted`` that is a column, else the engine's suggestion, else the last
    column ("" for no columns)."""
    for name in wanted:
        if name and name in columns:
            return name
    suggested = suggest_target(list(columns), dict(types), dict(identifiers))
    if suggested:
        return suggested
    return columns[-1] if columns else ""


def left_out_text(identifiers: Mapping[str, str], target: str = "") -> str:
    """One sentence naming the identifier columns left out of the features, with why."""
    named = [f"{name} — {reason}" for name, reason in identifiers.items() if name != target]
    if not named:
        return ""
    return (
        "Left out of the features by default, as identifying rows rather than describing "
        f"them: {'; '.join(named)}."
    )
