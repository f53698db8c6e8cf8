"""The scoring floor's service, reached as ``workspace.scoring``.

It sits above :mod:`core.monitoring` (the drift check of a scored version is monitoring's
comparison) and below the flows: it resolves the model through the registry, reads the input
through the data and store floors, and stores the predictions as a data set version the way an
import stores one. The order of work is in the package docstring (:mod:`core.scoring`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.data.importer import dataset_name_for
from core.data.report import ImportReport
from core.entities import ModelVersion
from core.errors import ShipwayError, UsageError
from core.monitoring.config import current_drift_config
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.project import Project
from core.registry.service import ModelVersionsService
from core.scoring import drift, output
from core.scoring.profile import profile_file
from core.scoring.runners import RunStats, make_runner, run_chunks
from core.scoring.sources import Source, check_columns, chunks, open_source
from core.scoring.spec import ScoreRequest, ScorerSpec, ScoringResult
from core.times import Laps

__all__ = ["ScoreRequest", "ScoringResult", "ScoringService"]

#: Chunks read and not yet written, per worker: one being scored, one waiting in line.
IN_FLIGHT_PER_WORKER = 2


class ScoringService(ModelVersionsService):
    """Batch predictions of registered model versions, stored as data set versions."""

    def spec(
        self, version: ModelVersion, keep: tuple[str, ...] = (), invalid: str = "error"
    ) -> ScorerSpec:
        """What a worker needs to score with ``version`` (its model bytes hash-checked here;
        they are unpickled by the workers only: this process does not hold the model)."""
        data = self._project.blobs.read_verified(version.model_sha256)
        inputs = tuple((e["name"], e["type"]) for e in version.io_schema.get("inputs", []))
        classes = tuple(str(c) for c in version.io_schema.get("output", {}).get("classes", []))
        preprocessing = version.spec.get("preprocessing", {}) or {}
        if version.task != "classification":
            classes = ()
        return ScorerSpec(
            version.ref,
            version.model_sha256,
            data,
            version.task,
            inputs,
            classes,
            tuple(keep),
            invalid,
            preprocessing.get("infinite") == "missing",
        )

    def score(
        self,
        request: ScoreRequest,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> ScoringResult:
        """Score ``request``'s input with its model version; see :class:`ScoreRequest`."""
        cancel = cancel or CancelToken()
        laps = Laps()
        version = self._registry.version(request.model)
        spec = self.spec(version, request.keep_columns, request.invalid)
        _check_keep(spec)
        source = open_source(self._project, request)
        try:
            check_columns(source, spec.read_columns, version.ref, spec.keep)
            job = _Job(
                request, version, spec, source, _output_name(request.name, source.stem, version)
            )
            laps.lap("open")
            return self._run(job, progress, cancel, laps)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def _run(
        self, job: _Job, progress: ProgressFn, cancel: CancelToken, laps: Laps
    ) -> ScoringResult:
        config = current_drift_config(self._project.root)
        sample = output.Sample(config.window, drift.sample_columns(job.spec, job.version.target))
        with self._project.blobs.new_temp(".parquet") as temp:
            writer = output.ScoredWriter(temp, sample)
            stats, executor = self._score(
                job, writer, Stage(progress, 0.0, 0.85, "scoring"), cancel
            )
            schema = writer.close()
            laps.lap("score")
            profile = profile_file(temp, Stage(progress, 0.85, 0.95, "profile"), cancel)
            cancel.raise_if_cancelled()
            lineage = _lineage(self._project, job, writer.rows)
            progress(0.95, "storing")
            stored, created = output.record_version(
                self._project,
                temp,
                schema,
                writer.rows,
                job.name,
                lineage,
                profile,
                _report(job.version, lineage, writer),
            )
        laps.lap("store")
        self._project.repo.record_event(
            "dataset.score",
            "dataset_version",
            stored.ref,
            model=job.version.ref,
            input=lineage["input"],
            rows=writer.rows,
            created=created,
        )
        found, note = None, "drift check skipped"
        if job.request.drift:
            found, note = self._drift(job, sample, config, stored.ref, progress, cancel)
        laps.lap("drift")
        progress(1.0, "done")
        return ScoringResult(
            stored,
            created,
            job.version.ref,
            job.version.model_sha256,
            lineage["input"],
            writer.rows,
            stats.chunks,
            stats.max_in_flight,
            executor,
            laps.laps,
            writer.invalid,
            found,
            note,
        )

    def _score(
        self, job: _Job, writer: output.ScoredWriter, progress: Stage, cancel: CancelToken
    ) -> tuple[RunStats, str]:
        """Every chunk scored and written in order; the workers are gone when this returns."""
        request = job.request
        runner = make_runner(
            job.spec,
            request.executor,
            request.scheduler,
            request.workers,
            job.source.small(request.chunk_rows),
        )
        in_flight = request.in_flight or IN_FLIGHT_PER_WORKER * getattr(runner, "workers", 1)

        def write(result: Any) -> None:
            writer.write(result)
            progress(job.source.fraction(writer.rows), f"{writer.rows:,} rows scored")

        try:
            read = chunks(job.source, job.spec.read_columns, request.chunk_rows)
            return run_chunks(read, runner, in_flight, write, cancel), runner.name
        except BaseException:
            writer.abandon()
            raise
        finally:
            runner.close()

    def _drift(
        self,
        job: _Job,
        sample: output.Sample,
        config: Any,
        ref: str,
        progress: ProgressFn,
        cancel: CancelToken,
    ) -> tuple[Any, str | None]:
        rows = sample.table()
        if rows is None:
            return None, "no rows to compare"
        source = f"data set {ref}, a sample of {rows.num_rows:,} rows"
        try:
            found = drift.check(
                self._project,
                job.version,
                job.spec,
                rows,
                config,
                source,
                Stage(progress, 0.97, 1.0, "drift"),
                cancel,
            )
        except ShipwayError as exc:  # the version is stored: drift is a finding, not the job
            return None, f"no drift check: {exc.one_line()}"
        return found, None


@dataclass(frozen=True)
class _Job:
    """One scoring job once its model and input are open."""

    request: ScoreRequest
    version: ModelVersion
    spec: ScorerSpec
    source: Source
    name: str


_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_.\- ]")


def _output_name(given: str | None, stem: str, version: ModelVersion) -> str:
    """``--name``, else ``<input>-scored-<model>-v<version>``."""
    if given is not None:
        return dataset_name_for(Path("scored"), given)
    text = _NAME_CHARACTERS.sub("_", f"{stem}-scored-{version.model}-v{version.version}")
    return dataset_name_for(Path("scored"), text[:200].strip())


def _check_keep(spec: ScorerSpec) -> None:
    taken = [name for name in spec.keep if name in spec.output_names]
    if taken:
        raise UsageError(
            f"--keep-columns {taken[0]!r} would collide with the scored column of that name",
            hint="rename the input column, or leave it out of --keep-columns",
        )


def _lineage(project: Project, job: _Job, rows: int) -> dict[str, Any]:
    return {
        "model": job.version.ref,
        "model_sha256": job.version.model_sha256,
        "input": job.source.lineage(),
        "rows": rows,
        "keep_columns": list(job.request.keep_columns),
        "invalid": job.request.invalid,
        "scored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scored_by": project.user,
    }


def _report(
    version: ModelVersion, lineage: dict[str, Any], writer: output.ScoredWriter
) -> ImportReport:
    shown = lineage["input"].get("ref") or lineage["input"].get("path") or "a query"
    report = ImportReport(format="scored", source=f"scored by {version.ref} from {shown}")
    report.detected = {"model": version.ref, "input": lineage["input"]}
    for problem in writer.problems():
        report.add(
            "invalid_value",
            f"column {problem['column']!r}: {problem['count']} value(s) scored as missing "
            f"({problem['problem'].replace('_', ' ')})",
            column=problem["column"],
            count=problem["count"],
            rows=problem["rows"],
        )
    return report
