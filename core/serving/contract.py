"""Data contracts: what a model's input columns may hold, inferred from the training data's
profile, edited by people, and checked on any frame (a request, a test split, a new import).

A contract is one rule set per column: its Shipway type, whether it may be missing
(``nullable``), a numeric range (``min``/``max``, the training range widened by
:data:`RANGE_MARGIN` of its span on each side), the allowed categories of a text column, and
whether its values must be distinct (``unique``; inferred only for whole-number and text columns
whose every training value differs, since a continuous measurement is distinct by chance). Rules
are named ``COLUMN.KEY`` (``bill_length_mm.max``) wherever a violation is reported.

The checks are written here with numpy and pandas rather than with a validation library: the
serving package runs inside exported bundles with the fewest dependencies (flask, waitress,
numpy, pandas, scikit-learn, joblib), and five vectorised comparisons per column need none.

A served model directory may hold ``contract.json`` (:data:`CONTRACT_FILE`): the contract and
the mode the server enforces it in (``off``, ``warn``: violations counted per rule in /metrics
and listed in the answer's warnings, ``reject``: a 422 naming the rule and field).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.serving.encoding import attributes
from core.serving.metrics import escape

CONTRACT_FILE = "contract.json"
MODES = ("off", "warn", "reject")
KEYS = ("type", "nullable", "min", "max", "categories", "unique")
RANGE_MARGIN = 0.1
NUMERIC = ("integer", "float")
SHOWN_ROWS = 5


class ContractProblem(ValueError):
    """A contract that cannot be used as written (it contradicts itself, names no column...)."""


@dataclass(frozen=True)
class ColumnRule:
    """What one column may hold."""

    name: str
    type: str
    nullable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    unique: bool = False

    def to_dict(self) -> dict[str, Any]:
        return attributes(self, "name type nullable min=minimum max=maximum categories unique")


@dataclass(frozen=True)
class Violation:
    """Rows of a frame breaking one rule."""

    rule: str
    field: str
    rows: int
    message: str
    examples: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return attributes(self, "rule field rows message examples")


@dataclass(frozen=True)
class Contract:
    """The rules of every column a model reads."""

    columns: tuple[ColumnRule, ...]

    def column(self, name: str) -> ColumnRule | None:
        return next((c for c in self.columns if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [column.to_dict() for column in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> Contract:
        """The contract of a JSON document, checked (:func:`check_consistent`)."""
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise ContractProblem('a contract is {"columns": [{"name": ..., "type": ...}, ...]}')
        contract = cls(tuple(_rule_from(entry, i) for i, entry in enumerate(data["columns"])))
        check_consistent(contract)
        return contract


def _rule_from(entry: Any, position: int) -> ColumnRule:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ContractProblem(f"column {position} of the contract has no name")
    unknown = set(entry) - {"name", *KEYS}
    if unknown:
        raise ContractProblem(
            f"{entry['name']}: unknown contract keys {', '.join(sorted(unknown))} "
            f"(known: {', '.join(KEYS)})"
        )
    name = entry["name"]
    categories = entry.get("categories")
    if categories is not None and not isinstance(categories, list):
        raise ContractProblem(f"{name}.categories must be a list of values or null")
    return ColumnRule(
        name=name,
        type=str(entry.get("type", "")),
        nullable=_flag(entry.get("nullable", True), f"{name}.nullable"),
        minimum=_number(entry.get("min"), f"{name}.min"),
        maximum=_number(entry.get("max"), f"{name}.max"),
        categories=None if categories is None else tuple(str(c) for c in categories),
        unique=_flag(entry.get("unique", False), f"{name}.unique"),
    )


def _flag(value: Any, rule: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ContractProblem(f"{rule} must be true or false, not {value!r}")


def _number(value: Any, rule: str) -> float | None:
    if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ContractProblem(f"{rule} must be a number (or none), not {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ContractProblem(f"{rule} must be a finite number, not {value!r}")
    return number


def check_consistent(contract: Contract) -> None:
    """Raise :class:`ContractProblem` when a rule contradicts itself or another."""
    seen: set[str] = set()
    for rule in contract.columns:
        if rule.name in seen:
            raise ContractProblem(f"column {rule.name!r} appears twice in the contract")
        seen.add(rule.name)
        low, high = rule.minimum, rule.maximum
        if low is not None and high is not None and low > high:
            raise ContractProblem(
                f"{rule.name}.min ({low:g}) is above {rule.name}.max ({high:g}): no value could "
                "meet both; lower the min or raise the max"
            )
        if (low is not None or high is not None) and rule.type not in NUMERIC:
            raise ContractProblem(f"{rule.name} is {rule.type!r}: only numbers have a min/max")
        if rule.categories is not None and rule.type != "string":
            raise ContractProblem(f"{rule.name} is {rule.type!r}: only text has categories")
        if rule.categories is not None and not rule.categories:
            raise ContractProblem(f"{rule.name}.categories is empty: no value could meet it")


# -- inference and editing -------------------------------------------------------------------


def infer(
    inputs: list[dict[str, Any]], profile: dict[str, dict[str, Any]], margin: float = RANGE_MARGIN
) -> Contract:
    """The contract of a model's ``inputs`` (io_schema entries) from its data's ``profile``."""
    return Contract(tuple(_infer_column(e, profile.get(e["name"], {}), margin) for e in inputs))


def _infer_column(entry: dict[str, Any], stats: dict[str, Any], margin: float) -> ColumnRule:
    kind = entry["type"]
    nullable = bool(stats.get("missing", 1 if entry.get("nullable") else 0))
    present = stats.get("count", 0)
    distinct = stats.get("distinct")
    low, high = stats.get("min", entry.get("min")), stats.get("max", entry.get("max"))
    minimum = maximum = None
    if kind in NUMERIC and low is not None and high is not None:
        widen = margin * (high - low) if high > low else margin * max(abs(high), 1.0)
        minimum, maximum = float(low) - widen, float(high) + widen
        if kind == "integer":
            minimum, maximum = float(math.floor(minimum)), float(math.ceil(maximum))
    categories = None
    top = stats.get("top")
    if kind == "string" and top is not None and distinct is not None and len(top) == distinct:
        categories = tuple(sorted(str(t["value"]) for t in top))
    unique = kind in ("integer", "string") and present > 1 and distinct == present
    return ColumnRule(entry["name"], kind, nullable, minimum, maximum, categories, unique)


def edit(contract: Contract, assignments: list[str] | tuple[str, ...]) -> Contract:
    """``contract`` with ``COLUMN.KEY=VALUE`` assignments applied (``none`` clears a bound,
    categories are comma-separated), then checked as a whole."""
    columns = {column.name: column for column in contract.columns}
    for text in assignments:
        target, sep, value = text.partition("=")
        name, dot, key = target.strip().rpartition(".")
        if not sep or not dot:
            raise ContractProblem(f"{text!r} is not COLUMN.KEY=VALUE (e.g. body_mass_g.max=7000)")
        if name not in columns:
            raise ContractProblem(
                f"the contract has no column {name!r} (columns: {', '.join(columns)})"
            )
        columns[name] = _assign(columns[name], key.strip(), value.strip())
    edited = Contract(tuple(columns.values()))
    check_consistent(edited)
    return edited


def _assign(rule: ColumnRule, key: str, value: str) -> ColumnRule:
    rule_name = f"{rule.name}.{key}"
    if key == "min":
        return replace(rule, minimum=_number(value, rule_name))
    if key == "max":
        return replace(rule, maximum=_number(value, rule_name))
    if key == "nullable":
        return replace(rule, nullable=_flag(value, rule_name))
    if key == "unique":
        return replace(rule, unique=_flag(value, rule_name))
    if key == "categories":
        if value.lower() in ("none", "null"):
            return replace(rule, categories=None)
        return replace(rule, categories=tuple(v.strip() for v in value.split(",") if v.strip()))
    raise ContractProblem(
        f"{rule_name}: {key!r} cannot be set (settable: min, max, nullable, unique, categories)"
    )


# -- checking --------------------------------------------------------------------------------


def check(
    contract: Contract, frame: pd.DataFrame, types: dict[str, str] | None = None
) -> list[Violation]:
    """Every rule of ``contract`` that rows of ``frame`` break (numbers already as float64,
    text as ``str``, missing as NaN/None: :func:`core.serving.frames.model_frame`'s form).
    ``types``, when given, are the frame's own Shipway types, checked against the contract."""
    found: list[Violation] = []
    for rule in contract.columns:
        if rule.name not in frame:
            if types is not None:
                found.append(Violation(f"{rule.name}.type", rule.name, 0, "the column is absent"))
            continue
        if types is not None and not _same_kind(types.get(rule.name, rule.type), rule.type):
            message = f"typed {types[rule.name]!r}, the contract says {rule.type!r}"
            found.append(Violation(f"{rule.name}.type", rule.name, len(frame), message))
            continue
        found += _column_violations(rule, frame[rule.name])
    return found


def _same_kind(found: str, wanted: str) -> bool:
    """Whole numbers written as ``5.0`` still meet an integer rule (its range is checked)."""
    return found == wanted or (found in NUMERIC and wanted in NUMERIC)


def _column_violations(rule: ColumnRule, series: pd.Series) -> list[Violation]:
    missing = series.isna().to_numpy()
    found = []
    if not rule.nullable:
        found.append(_violation(rule, "nullable", missing, "missing, and the contract says never"))
    if rule.type in NUMERIC:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if rule.minimum is not None:
            found.append(_violation(rule, "min", values < rule.minimum, f"below {rule.minimum:g}"))
        if rule.maximum is not None:
            found.append(_violation(rule, "max", values > rule.maximum, f"above {rule.maximum:g}"))
    if rule.categories is not None:
        allowed = series.isin(rule.categories).to_numpy()
        shown = ", ".join(rule.categories[:10])
        found.append(_violation(rule, "categories", ~allowed & ~missing, f"not one of {shown}"))
    if rule.unique:
        repeated = series.duplicated(keep="first").to_numpy() & ~missing
        found.append(_violation(rule, "unique", repeated, "a value an earlier row already has"))
    return [violation for violation in found if violation is not None]


def _violation(rule: ColumnRule, key: str, broken: np.ndarray, what: str) -> Violation | None:
    rows = np.flatnonzero(broken)
    if len(rows) == 0:
        return None
    return Violation(
        f"{rule.name}.{key}",
        rule.name,
        len(rows),
        f"{len(rows)} value(s) of {rule.name} {what}",
        tuple(int(r) for r in rows[:SHOWN_ROWS]),
    )


# -- in a served model directory -------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """The contract of a model directory and the mode it is enforced in."""

    contract: Contract
    mode: str


def write_file(directory: Path, contract: Contract, mode: str) -> Path:
    if mode not in MODES:
        raise ContractProblem(f"contract mode {mode!r} is not one of {', '.join(MODES)}")
    path = Path(directory) / CONTRACT_FILE
    document = {"mode": mode, **contract.to_dict()}
    path.write_text(json.dumps(document, indent=2, allow_nan=False), encoding="utf-8")
    return path


@lru_cache(maxsize=16)
def served(directory: str, model_sha256: str) -> Served | None:
    """``contract.json`` of a model directory (cached per directory and model hash), or None."""
    path = Path(directory) / CONTRACT_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        mode = document.get("mode", "off") if isinstance(document, dict) else None
        if mode not in MODES:
            raise ContractProblem(f"mode {mode!r} is not one of {', '.join(MODES)}")
        return Served(Contract.from_dict(document), mode)
    except (OSError, ValueError) as exc:
        raise ContractProblem(f"{path} cannot be used: {exc}") from None


class Counts:
    """Violations per (model, version, rule) since the server started; thread-safe.

    A :class:`core.serving.metrics.Section`: each worker publishes its own counts with its
    metrics state, and the worker answering ``/metrics`` renders the sum over the live workers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int, str], int] = defaultdict(int)

    def add(self, model: str, version: int, violations: list[Violation]) -> None:
        with self._lock:
            for violation in violations:
                self._counts[(model, version, violation.rule)] += violation.rows

    def state(self) -> list[list[Any]]:
        """This worker's counts as ``[model, version, rule, count]`` lists (plain JSON)."""
        with self._lock:
            return [[*key, count] for key, count in self._counts.items()]

    def render(self, states: list[Any], model: str = "", version: int = 0) -> list[str]:
        """The ``shipway_contract_violations_total`` family, summed over ``states``."""
        totals: dict[tuple[str, int, str], int] = defaultdict(int)
        for state in states:
            for entry in state if isinstance(state, list) else []:
                with contextlib.suppress(TypeError, ValueError):
                    name, number, rule, count = entry
                    totals[(str(name), int(number), str(rule))] += int(count)
        family = "shipway_contract_violations_total"
        lines = [f"# HELP {family} Request values breaking a data contract rule.",
                 f"# TYPE {family} counter"]  # fmt: skip
        for (name, number, rule), count in sorted(totals.items()):
            labels = f'model="{escape(name)}",version="{number}",rule="{escape(rule)}"'
            lines.append(f"{family}{{{labels}}} {float(count)}")
        return lines


COUNTS = Counts()


def enforce(model: Any, model_input: Any, mode: str | None = None) -> list[dict[str, Any]]:
    """Check a request's validated rows against the served contract of ``model``.

    ``mode`` overrides the directory's (``None``: as ``contract.json`` says). Returns the
    answer's warnings (``warn``); raises a 422 naming the first rule and field (``reject``).
    Violations are counted per rule in :data:`COUNTS` in both modes.
    """
    from core.serving.errors import SchemaMismatch

    current = served(model.directory, model.sha256)
    if current is None or (mode or current.mode) == "off":
        return []
    violations = check(current.contract, model_input.frame)
    if not violations:
        return []
    COUNTS.add(model.name, model.version, violations)
    details = [
        {
            "column": v.field,
            "problem": "contract_violation",
            "rule": v.rule,
            "rows": list(v.examples),
            "count": v.rows,
            "message": v.message,
        }
        for v in violations
    ]
    if (mode or current.mode) == "reject":
        first = violations[0]
        more = f" (and {len(violations) - 1} more rule(s))" if len(violations) > 1 else ""
        raise SchemaMismatch(
            f"the data contract's rule {first.rule} refuses field {first.field}: "
            f"{first.message}{more}",
            details,
            code="contract_violation",
        )
    return details
