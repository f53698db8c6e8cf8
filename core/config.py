"""``shipway.toml``: the project's settings as code.

The file is meant to be read and edited by people and kept in version control, so it is written
with comments and read leniently: unknown keys are kept, missing keys take the defaults below.
Later parts of Shipway (gates, drift thresholds) add their own tables.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProjectError

SETTINGS_FILE = "shipway.toml"
DEFAULT_DB_FILE = "shipway.db"
PROJECT_FORMAT = 1


_TEMPLATE = """\
# Shipway project settings. This file is the project's settings as code: edit it, review it,
# keep it in version control. Shipway reads it every time the project is opened.

[project]
name = {name}
format = {format}
# The machine-learning problem. Empty values are filled in by the new-project wizard or inferred.
task = ""             # "classification" or "regression"
target = ""           # the column to predict
primary_metric = ""   # e.g. "f1" or "rmse"; used to rank runs

[database]
# Empty: shipway.db beside this file (SQLite). A team can name a PostgreSQL server instead, e.g.
# "postgresql+psycopg://alice@db.example.org/shipway" (the password comes from the environment).
url = ""

[data]
# Cells holding exactly one of these become missing values on import; empty cells always do.
# Remove "NA" here (or pass --missing-tokens) when NA is a real value, e.g. Namibia's code.
missing_tokens = {missing_tokens}
# A column whose values are numbers except for at most this share becomes numeric; the other
# values become missing and the import report lists them with their row.
max_type_conflict_share = 0.01
# Limits checked before a Parquet file or a workbook is read, since such files can unpack to far
# more than their size (a 1 MB Parquet file can hold 100 million rows). An import past one is
# refused with the figure and the setting to raise; raise it for real data this machine can hold.
max_parquet_rows = 50_000_000
max_parquet_bytes = 4_294_967_296   # column data once decoded (4 GiB; an import peaks near 2x)
max_xlsx_bytes = 2_147_483_648      # a workbook's parts unpacked, all together (2 GiB)
max_xlsx_ratio = 200                # unpacked / packed size, of each large part and of the whole

# Validation gates: the rules a model version must pass before an alias moves to it
# (`shipway models gates M@V` evaluates them, `shipway models promote M@V` enforces them).
# Without a [gates.production] table, production is guarded by data_checks, smoke_test and
# no_regression on the primary metric (max_drop 0.01). Uncomment and edit to choose your own:
#
# [gates.production]
# metrics = {{ f1 = ">= 0.85", log_loss = "<= 0.4" }}   # on the version's test split
# no_regression = {{ metric = "f1", max_drop = 0.01 }}  # or max_drop_relative = 0.02
# max_latency_p95_ms = 50                             # single-row predict, measured at gate time
# max_size_mb = 200
# data_checks = true                                  # import report clean, classes present
# smoke_test = true                                   # loads and predicts in a fresh process
# approval = true                                     # by someone other than the trainer
"""


#: ``[data]`` limits checked before a source that unpacks is read: (key, default, kind).
#: A one-column Parquet file of 10 million rows peaked at 0.6 GB of memory on import, so the row
#: limit (5x the 10-million-row tables Shipway is built for) keeps such a file near 3 GB; the
#: byte limit bounds wide files, whose import peaks at about twice their decoded size.
MAX_PARQUET_ROWS = 50_000_000
MAX_PARQUET_BYTES = 4 * 1024**3
MAX_XLSX_BYTES = 2 * 1024**3
MAX_XLSX_RATIO = 200
DATA_LIMITS: tuple[tuple[str, int, type], ...] = (
    ("max_parquet_rows", MAX_PARQUET_ROWS, int),
    ("max_parquet_bytes", MAX_PARQUET_BYTES, int),
    ("max_xlsx_bytes", MAX_XLSX_BYTES, int),
    ("max_xlsx_ratio", MAX_XLSX_RATIO, float),
)


@dataclass(frozen=True)
class DataSettings:
    missing_tokens: tuple[str, ...] | None = None  # None: the import's defaults (core.data)
    max_type_conflict_share: float = 0.01
    max_parquet_rows: int = MAX_PARQUET_ROWS
    max_parquet_bytes: int = MAX_PARQUET_BYTES
    max_xlsx_bytes: int = MAX_XLSX_BYTES
    max_xlsx_ratio: float = MAX_XLSX_RATIO


@dataclass(frozen=True)
class ExecutorSettings:
    kind: str = "local"
    workers: int = 2
    address: str = ""


@dataclass(frozen=True)
class Settings:
    """The parsed content of shipway.toml."""

    name: str
    format: int = PROJECT_FORMAT
    task: str = ""
    target: str = ""
    primary_metric: str = ""
    db_url: str = ""
    data: DataSettings = field(default_factory=DataSettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    raw: dict[str, Any] = field(default_factory=dict)


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def write_new_settings(folder: Path, name: str, missing_tokens: tuple[str, ...]) -> Path:
    """Write a fresh, commented shipway.toml for a new project (``missing_tokens`` listed)."""
    tokens = ", ".join(_toml_string(t) for t in missing_tokens)
    text = _TEMPLATE.format(
        name=_toml_string(name), format=PROJECT_FORMAT, missing_tokens=f"[{tokens}]"
    )
    path = folder / SETTINGS_FILE
    path.write_text(text, encoding="utf-8")
    return path


def set_database_url(folder: Path, url: str) -> None:
    """Record a database URL in shipway.toml, keeping the file's comments."""
    import tomlkit

    path = folder / SETTINGS_FILE
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    document.setdefault("database", tomlkit.table())["url"] = url
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


def load_settings(folder: Path) -> Settings:
    """Read shipway.toml in ``folder``; errors name the file and the line."""
    path = folder / SETTINGS_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            "no shipway.toml here", where=str(folder), hint="run `shipway init DIR` first"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(
            f"shipway.toml cannot be read: {exc}", where=str(path), hint="fix the file's syntax"
        ) from None
    project = _table(raw, "project", path)
    database = _table(raw, "database", path)
    data = _table(raw, "data", path)
    data_settings = DataSettings(
        missing_tokens=(
            tuple(str(t) for t in data["missing_tokens"]) if "missing_tokens" in data else None
        ),
        max_type_conflict_share=float(data.get("max_type_conflict_share", 0.01)),
        **_data_limits(data, path),
    )
    executor = _table(raw, "executor", path)
    executor_settings = ExecutorSettings(
        kind=str(executor.get("kind", "local")),
        workers=int(executor.get("workers", 2)),
        address=str(executor.get("address", "")),
    )
    return Settings(
        name=str(project.get("name") or folder.name),
        format=int(project.get("format", PROJECT_FORMAT)),
        task=str(project.get("task", "")),
        target=str(project.get("target", "")),
        primary_metric=str(project.get("primary_metric", "")),
        db_url=str(database.get("url", "")),
        data=data_settings,
        executor=executor_settings,
        raw=raw,
    )


def _data_limits(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The ``[data]`` limits, each a positive number (whole where it counts rows or bytes)."""
    limits: dict[str, Any] = {}
    for key, default, kind in DATA_LIMITS:
        value = data.get(key, default)
        if not _positive(value, whole=kind is int):
            from core.settings_rules import where

            raise ProjectError(
                f"[data] {key} must be a positive {'whole ' if kind is int else ''}number, "
                f"not {value!r}",
                where=where(path.read_text(encoding="utf-8"), "data", key),
                hint=f"write e.g. {key} = {default:_}, or remove the line for that default",
            )
        limits[key] = kind(value)
    return limits


def _positive(value: Any, whole: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if not math.isfinite(value) or value <= 0:
        return False
    return not whole or float(value).is_integer()


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"[{key}] must be a table", where=str(path), hint=f"write [{key}]")
    return value


def current_user() -> str:
    """Who is acting: ``$SHIPWAY_USER`` when set, else the operating-system user."""
    name = os.environ.get("SHIPWAY_USER", "").strip()
    if name:
        return name
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user database entry, e.g. in a container with an arbitrary uid
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def update_settings(
    folder: Path,
    project: dict[str, Any] | None = None,
    gates: dict[str, dict[str, Any]] | None = None,
    tables: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Set keys of ``[project]``, replace whole ``[gates.ALIAS]`` tables, and set keys of other
    tables (``tables``: table → key → value; ``None`` removes the key) in shipway.toml.

    Comments and every other key are kept (tomlkit, as in :func:`set_database_url`). Table
    values (``metrics``, ``no_regression``, ``live_metrics``) are written as inline tables, the
    way the template shows them. The new text replaces the file in one rename, so a reader
    never sees half of it.
    """
    import tomlkit

    path = folder / SETTINGS_FILE
    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    for name, values in {"project": project or {}, **(tables or {})}.items():
        if not values:
            continue
        section = document.setdefault(name, tomlkit.table())
        for key, value in values.items():
            if value is None:
                section.pop(key, None)
            else:
                section[key] = _inline(value)
    if gates:
        if "gates" not in document:
            document["gates"] = tomlkit.table(is_super_table=True)
        for alias, rules in gates.items():
            table = tomlkit.table()
            for key, value in rules.items():
                table[key] = _inline(value)
            document["gates"][alias] = table
    temporary = path.with_name(f".{SETTINGS_FILE}.tmp")
    temporary.write_text(tomlkit.dumps(document), encoding="utf-8")
    os.replace(temporary, path)


def _inline(value: Any) -> Any:
    """A dict as a TOML inline table (``{ f1 = ">= 0.8" }``); anything else as it is."""
    if not isinstance(value, dict):
        return value
    import tomlkit

    inline = tomlkit.inline_table()
    inline.update(value)
    return inline


#: The tables and keys this module reads; other floors add theirs (see ``settings_warnings``).
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "project": frozenset({"name", "format", "task", "target", "primary_metric"}),
    "database": frozenset({"url"}),
    "data": frozenset({"missing_tokens", "max_type_conflict_share"} | {k for k, *_ in DATA_LIMITS}),
    "executor": frozenset({"kind", "workers", "address"}),
    "storage": frozenset({"objects"}),
}


def settings_warnings(
    raw: dict[str, Any], text: str, known: dict[str, frozenset[str]]
) -> list[str]:
    """Unknown or misplaced tables and keys of shipway.toml, each naming the key and its line.

    ``known`` maps a table to its keys; a table whose sub-tables are free (``gates``: one per
    alias) maps to the keys of each sub-table. A key that another table knows is said to
    belong there. Nothing here raises: the file is read leniently, and these are warnings.
    """
    from core.settings_rules import where

    found: list[str] = []
    owners: dict[str, list[str]] = {}
    for table, keys in known.items():
        for key in keys:
            owners.setdefault(key, []).append(table)
    for table, value in raw.items():
        if table not in known:
            found.append(f"{where(text, table, None)}: unknown table [{table}] (known: "
                         f"{', '.join(f'[{t}]' for t in sorted(known))})")  # fmt: skip
            continue
        if not isinstance(value, dict):
            continue
        tables = value.items() if table in SUBTABLES else [(None, value)]
        for sub, content in tables:
            name = table if sub is None else f"{table}.{sub}"
            if not isinstance(content, dict):
                continue
            for key in content:
                if key not in known[table]:
                    found.append(_misplaced(text, name, key, owners.get(key, [])))
    return found


#: Tables made of one sub-table per name (``[gates.production]``, ``[gates.staging]``...).
SUBTABLES = frozenset({"gates", "imports"})


def _misplaced(text: str, table: str, key: str, owners: list[str]) -> str:
    from core.settings_rules import where

    there = f"; it belongs in [{owners[0]}]" if len(owners) == 1 else ""
    return f"{where(text, table, key)}: unknown key {key!r} in [{table}]{there}"
