"""The import report: every problem found while reading a file, named with where it is.

Problems are data (``kind``, ``severity``, ``column``, ``row``/``line``, ``count``, ``message``)
so the CLI, the wizard and the gates of a later step can all read them. Severity ``warning`` means
a person should look (the "data checks" gate treats any warning as not clean); ``info`` is a note.
Fatal problems are not reported here: they raise :class:`core.errors.ImportFailed`.

``identifiers`` names the columns that identify rows rather than describe them, each with its
reason (:mod:`core.data.column_roles`). They are not problems: a report with identifiers can be
clean; they are left out of a run's features unless chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

MAX_LISTED = 20  # row/line numbers listed per problem; the count is always complete


@dataclass
class ImportReport:
    format: str
    source: str
    detected: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    missing_tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        message: str,
        *,
        severity: str = "warning",
        column: str | None = None,
        count: int | None = None,
        rows: list[int] | None = None,
        lines: list[int] | None = None,
        **extra: Any,
    ) -> None:
        problem: dict[str, Any] = {"kind": kind, "severity": severity, "message": message}
        if column is not None:
            problem["column"] = column
        if count is not None:
            problem["count"] = int(count)
        if rows:
            problem["rows"] = [int(r) for r in rows[:MAX_LISTED]]
        if lines:
            problem["lines"] = [int(n) for n in lines[:MAX_LISTED]]
        problem.update(extra)
        self.problems.append(problem)

    def add_listed(
        self,
        kind: str,
        column: str,
        values: pa.ChunkedArray,
        flagged: pa.ChunkedArray,
        line_of: Callable[[int], int | None],
        message: Callable[[int, str, str], str],
    ) -> None:
        """A problem with the cells ``flagged`` in a column: their count, values and first rows.

        ``message(count, values_text, where)`` words it ("'n/k' ×3", "row 5 (line 6)").
        """
        count = pc.sum(flagged).as_py() or 0
        indices = pc.indices_nonzero(flagged).slice(0, MAX_LISTED).to_pylist()
        tokens = pc.value_counts(pc.filter(values, flagged)).to_pylist()
        tokens.sort(key=lambda item: -item["counts"])
        token_text = ", ".join(f"{t['values']!r} ×{t['counts']}" for t in tokens[:5])
        first = indices[0]
        line = line_of(first)
        where = f"row {first + 1}" + (f" (line {line})" if line else "")
        self.add(
            kind,
            message(count, token_text, where),
            column=column,
            count=count,
            rows=[i + 1 for i in indices],
            lines=[n for n in (line_of(i) for i in indices) if n],
            tokens={str(t["values"]): int(t["counts"]) for t in tokens[:MAX_LISTED]},
        )

    def note_missing(self, column: str, token_counts: dict[str, int]) -> None:
        """Record which tokens became missing values in ``column`` and how often."""
        if token_counts:
            self.missing_tokens[column] = {k: int(v) for k, v in token_counts.items()}

    def part(self) -> ImportReport:
        """An empty report for one column's findings, to be :meth:`absorb`-ed in column order."""
        return ImportReport(self.format, self.source)

    def absorb(self, part: ImportReport) -> None:
        """Append the problems and missing-token counts of ``part`` (from :meth:`part`)."""
        self.problems.extend(part.problems)
        self.missing_tokens.update(part.missing_tokens)

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p["severity"] == "warning")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "detected": self.detected,
            "clean": self.warnings == 0,
            "warnings": self.warnings,
            "problems": self.problems,
            "missing_tokens": self.missing_tokens,
            "identifiers": self.identifiers,
        }
