"""What a scoring job is asked to do, what its workers need, and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import UsageError

if TYPE_CHECKING:
    from core.entities import DatasetVersion
    from core.monitoring.results import DriftReport

DEFAULT_CHUNK_ROWS = 50_000
INVALID_POLICIES = ("error", "missing")
EXECUTORS = ("local", "dask")
PREDICTION = "prediction"
PROBA_PREFIX = "proba_"


@dataclass(frozen=True)
class ScoreRequest:
    """One scoring job. Give exactly one input: ``dataset`` (``N`` or ``N@V``), ``file`` (CSV,
    TSV or Parquet) or ``sql`` with ``url``.

    ``keep_columns`` are input columns kept beside the model's inputs (e.g. an id, the actual
    target); ``invalid`` says what a value that does not read as its column's type does:
    ``"error"`` stops the job naming it, ``"missing"`` scores it as a missing value (counted in
    the version's report). ``workers`` is the number of threads that score while the calling one
    reads and writes (default: one per core); 1 scores in the calling thread alone.
    """

    model: str
    dataset: str | None = None
    file: Path | str | None = None
    sql: str | None = None
    url: str | None = None
    name: str | None = None
    keep_columns: tuple[str, ...] = ()
    invalid: str = "error"
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    executor: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    in_flight: int | None = None
    drift: bool = True

    def __post_init__(self) -> None:
        given = [x for x in (self.dataset, self.file, self.sql) if x is not None]
        if len(given) != 1:
            raise UsageError(
                "give exactly one input to score: a data set, a file or a SQL query",
                hint="e.g. `shipway score M@V --data penguins` or `--file new.csv`",
            )
        if (self.sql is None) != (self.url is None):
            raise UsageError("--sql and --url go together", hint="give the query and its URL")
        if self.invalid not in INVALID_POLICIES:
            raise UsageError(
                f"unknown invalid-value policy {self.invalid!r}", hint="use error or missing"
            )
        if self.executor not in EXECUTORS:
            raise UsageError(f"unknown executor {self.executor!r}", hint="use local or dask")
        if self.executor == "dask" and not self.scheduler:
            raise UsageError(
                "the dask executor needs --scheduler ADDRESS",
                hint="e.g. --scheduler tcp://127.0.0.1:8786",
            )
        for number, what in (
            (self.chunk_rows, "chunk rows"),
            (self.workers, "workers"),
            (self.in_flight, "chunks in flight"),
        ):
            if number is not None and number < 1:
                raise UsageError(f"{what} must be at least 1, got {number}")


@dataclass(frozen=True)
class ScorerSpec:
    """Everything a worker needs to score a chunk; sent once to each worker."""

    model: str
    model_sha256: str
    model_bytes: bytes = field(repr=False)
    task: str
    inputs: tuple[tuple[str, str], ...]  # (name, Shipway type) in the model's order
    classes: tuple[str, ...]
    keep: tuple[str, ...]
    invalid: str
    infinite_as_missing: bool

    @property
    def features(self) -> list[str]:
        return [name for name, _ in self.inputs]

    @property
    def schema(self) -> dict[str, str]:
        return dict(self.inputs)

    @property
    def read_columns(self) -> list[str]:
        """The input columns a chunk carries: the model's, then the kept ones."""
        return [*self.features, *(c for c in self.keep if c not in self.schema)]

    @property
    def output_names(self) -> list[str]:
        return [PREDICTION, *(PROBA_PREFIX + label for label in self.classes)]


@dataclass(frozen=True)
class Chunk:
    """Rows ``start`` to ``start + len(table)`` of the input, as read (only the columns used)."""

    index: int
    start: int
    table: Any = field(repr=False)  # pyarrow.Table


@dataclass(frozen=True)
class ChunkResult:
    """A scored chunk: the rows to write, and the invalid values found (per column, problem)."""

    index: int
    table: Any = field(repr=False)  # pyarrow.Table
    problems: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ScoringResult:
    """A finished scoring job: the new version (or the identical one already stored)."""

    version: DatasetVersion
    created: bool
    model: str
    model_sha256: str
    input: dict[str, Any]
    rows: int
    chunks: int
    max_in_flight: int
    executor: str
    seconds: dict[str, float]
    invalid: dict[str, int] = field(default_factory=dict)
    drift: DriftReport | None = None
    drift_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.version.summary()
        data.update(
            created=self.created,
            model=self.model,
            model_sha256=self.model_sha256,
            input=self.input,
            scored_rows=self.rows,
            chunks=self.chunks,
            max_in_flight=self.max_in_flight,
            executor=self.executor,
            schema=self.version.schema,
            lineage=self.version.options.get("lineage", {}),
            invalid=self.invalid,
            seconds=self.seconds,
            drift=None if self.drift is None else self.drift.to_dict(),
            drift_note=self.drift_note,
        )
        return data
