"""The monitoring floor's service: drift, traffic and alerts. Reached as ``workspace.monitoring``.

Every method here reads and computes, except the two named as acts: :meth:`MonitoringService.
prune_log` (retention) and :meth:`MonitoringService.erase_from_log` (an erasure request) delete
rows of a prediction log, audited. None trains, registers, promotes or changes settings.
Evaluating the triggers of shipway.toml (alerts, and the retraining an alert may start) is
an explicit act: :meth:`core.lifecycle.Lifecycle.check_triggers` (``shipway monitor check``,
a visible job in the app). The ``[drift]`` and ``[triggers]`` tables are read from
shipway.toml at each call, so an edit counts at once without touching shared settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import load_settings
from core.deploy.service import DeploymentsService
from core.entities import Alert, Deployment, ModelVersion
from core.errors import NotFound, UsageError
from core.monitoring.config import (
    DriftConfig,
    TriggerConfig,
    current_drift_config,
    current_trigger_config,
)
from core.monitoring.results import DriftReport, DriftSeries, LiveSegments
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.project import Project
from core.registry.service import ModelVersionsService, RegistryService

if TYPE_CHECKING:  # numpy and pandas are imported when first needed
    from collections.abc import Sequence

    from core.monitoring.challenger import Comparison
    from core.monitoring.reference import Reference
    from core.monitoring.retention import ErasureResult, PruneResult
    from core.monitoring.traffic import TrafficSeries

REFERENCE_CACHE = 8  # references kept in memory per workspace


@dataclass(frozen=True)
class ReferenceSummary:
    """A version's reference statistics, in brief."""

    model: str
    version: int
    sha256: str
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "sha256": self.sha256,
                **self.summary}  # fmt: skip


class MonitoringService(ModelVersionsService):
    """Drift of current data against a version's training rows, over time; traffic; alerts."""

    def __init__(
        self, project: Project, registry: RegistryService, deployments: DeploymentsService
    ) -> None:
        super().__init__(project, registry)
        self._deployments = deployments
        self._references: dict[str, Reference] = {}

    # -- settings and reference ----------------------------------------------------------------

    def drift_config(self) -> DriftConfig:
        """The [drift] thresholds as shipway.toml says now (MonitoringConfigError names a line)."""
        return current_drift_config(self._project.root)

    def trigger_config(self) -> TriggerConfig:
        """The [triggers] as shipway.toml says now."""
        return current_trigger_config(self._project.root)

    def reference(
        self, ref: str, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
    ) -> ReferenceSummary:
        """A summary of the version's reference statistics (computed now if it has none)."""
        version = self._registry.version(ref)
        sha256, reference = self._reference(version, progress, cancel)
        return ReferenceSummary(version.model, version.version, sha256, reference.summary())

    def store_reference(self, version: ModelVersion) -> str | None:
        """Compute and store a version's reference (at its registration); None when it cannot
        be computed now (it is then computed on first use: registration never fails for it)."""
        from core.monitoring.reference_store import at_registration

        return at_registration(self._project, version)

    def _reference(
        self, version: ModelVersion, progress: ProgressFn, cancel: CancelToken | None
    ) -> tuple[str, Reference]:
        from core.monitoring.reference_store import load_reference

        cache = self._references
        if version.reference_sha256 in cache:
            return version.reference_sha256, cache[version.reference_sha256]
        sha256, reference = load_reference(self._project, version, progress, cancel)
        if len(cache) >= REFERENCE_CACHE:
            cache.pop(next(iter(cache)))
        cache[sha256] = reference
        return sha256, reference

    # -- one window ------------------------------------------------------------------------------

    def drift(
        self,
        ref: str,
        *,
        current: Path | str | None = None,
        dataset: str | None = None,
        deployment: str | None = None,
        window: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> DriftReport:
        """Drift of a file, a data set version or the last ``window`` rows a deployment
        answered with the version ``ref`` (give exactly one), against its training rows."""
        from core.monitoring.engine import compare

        if sum(source is not None for source in (current, dataset, deployment)) != 1:
            raise UsageError(
                "give exactly one of a file, a data set version or a deployment to compare",
                hint="e.g. `shipway drift M@V --current new.csv` or `--deployment ID`",
            )
        version = self._registry.version(ref)
        config = self.drift_config()
        _, reference = self._reference(version, Stage(progress, 0.0, 0.5, "reference"), cancel)
        progress(0.5, "reading the current data")
        if deployment is not None:
            data, live = self._log_window(version, deployment, window or config.window)
        else:
            data, live = self._table_window(version, current, dataset)
        progress(0.8, "comparing")
        report = compare(reference, data, config, model=version.model, version=version.version,
                         live=live, cancel=cancel)  # fmt: skip
        progress(1.0, "done")
        return report

    def _log_window(self, version: ModelVersion, deployment_id: str, rows: int):
        from core.monitoring.buckets import live_of
        from core.monitoring.engine import Current
        from core.monitoring.sources import from_log, log_rows

        folder = self._deployments.folder(self._serving(version, deployment_id))
        frame = log_rows(folder, version.version, rows)
        data = from_log(frame, version, f"deployment {deployment_id}, last {len(frame):,} rows")
        if not len(frame):
            note = f"the log of {deployment_id} holds no rows answered by {version.ref}"
            data = Current(data.frame, data.source, problems=(note,))
        return data, live_of(frame, version) if len(frame) else None

    def _table_window(self, version: ModelVersion, current: Any, dataset: str | None):
        from core.data import versions
        from core.data.importer import missing_tokens
        from core.monitoring.live import live_metrics
        from core.monitoring.sources import from_table, read_file
        from core.registry.artifacts import load_pipeline

        if dataset is not None:
            found = versions.resolve(self._project, dataset)
            raw = versions.load_table(self._project, found).to_pandas()
            source = f"data set {found.ref}, {len(raw):,} rows"
        else:
            path = Path(current)
            raw = read_file(path, missing_tokens(self._project.settings.data))
            source = f"file {path.name}, {len(raw):,} rows"
        data = from_table(raw, version, load_pipeline(self._project, version), source)
        live = None
        if data.prediction is not None and version.target in raw.columns:
            classes = version.io_schema.get("output", {}).get("classes", [])
            live = live_metrics(version.task, classes, data.prediction,
                                raw[version.target].to_numpy(dtype=object),
                                version.metrics)  # fmt: skip
        return data, live

    def _serving(self, version: ModelVersion, deployment_id: str) -> Deployment:
        found = self._deployments.get(deployment_id)
        if found.model != version.model:
            raise UsageError(
                f"deployment {deployment_id} serves {found.model!r}, not {version.model!r}",
                where=deployment_id,
                hint="`shipway deployments` lists what each deployment serves",
            )
        return found

    # -- over time -------------------------------------------------------------------------------

    def drift_series(
        self,
        ref: str,
        deployment: str,
        bucket_seconds: int | None = None,
        *,
        last: int | None = None,
        now: float | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> DriftSeries:
        """Drift per time bucket of what ``deployment`` answered with ``ref``; complete buckets
        are cached (see :mod:`core.monitoring.buckets`). ``last``: only the buckets of the
        last ``last`` bucket lengths. A pure read: no trigger is evaluated."""
        from core.monitoring.buckets import bucket_series

        version = self._registry.version(ref)
        config = self.drift_config()
        seconds = int(bucket_seconds or config.bucket_seconds)
        if seconds < 1:
            raise UsageError("buckets must last at least one second", hint="e.g. --buckets 3600")
        if last is not None and last < 1:
            raise UsageError("--last must be at least 1", hint="e.g. --last 24")
        reference = self._reference(version, Stage(progress, 0.0, 0.2, "reference"), cancel)
        folder = self._deployments.folder(self._serving(version, deployment))
        buckets, cache = bucket_series(folder, version, reference, config, seconds, last=last,
                                       now=now, progress=Stage(progress, 0.2, 0.9, "buckets"),
                                       cancel=cancel)  # fmt: skip
        progress(1.0, "done")
        return DriftSeries(
            version.model, version.version, deployment, seconds, tuple(buckets), str(cache)
        )

    def traffic(
        self,
        deployment_id: str,
        bucket_seconds: int | None = None,
        buckets: int = 60,
        now: float | None = None,
    ) -> TrafficSeries:
        """Requests, latency, errors and prediction mix of a deployment per time bucket."""
        from core.monitoring.traffic import traffic_series

        seconds = int(bucket_seconds or self.drift_config().bucket_seconds)
        if seconds < 1 or buckets < 1:
            raise UsageError("buckets must last at least one second", hint="e.g. --buckets 60")
        deployment = self._deployments.get(deployment_id)
        version = self._registry.version(f"{deployment.model}@{deployment.version}")
        classes = [str(c) for c in version.io_schema.get("output", {}).get("classes", [])]
        folder = self._deployments.folder(deployment)
        moment = time.time() if now is None else now
        return traffic_series(folder, deployment_id, classes, seconds, buckets, moment)

    def compare_challenger(
        self, deployment_id: str, metric: str | None = None, confidence: float = 0.95
    ) -> Comparison:
        """The deployment's champion against its challenger on the traffic logged so far
        (:mod:`core.monitoring.challenger`); ``metric`` defaults to the primary one."""
        from core.monitoring.challenger import compare

        deployment = self._deployments.get(deployment_id)
        info = self._deployments.challenger(deployment_id)
        if info is None:
            raise NotFound(
                f"deployment {deployment_id} has no challenger",
                where=deployment_id,
                hint="deploy with --challenger M@ALIAS --mode shadow|split",
            )
        champion = self._registry.version(f"{deployment.model}@{deployment.version}")
        metric = self._live_metric(champion, metric)
        if not 0.5 <= confidence < 1:
            raise UsageError(f"confidence must be from 0.5 to below 1, not {confidence}")
        folder = self._deployments.folder(deployment)
        return compare(deployment, folder, champion, info, metric, confidence)

    def challenger_comparisons(
        self, version: ModelVersion, metric: str | None, confidence: float
    ) -> list[dict[str, Any]]:
        """Every running deployment where ``version`` is the challenger, compared (the live
        evidence of the ``challenger_wins`` gate)."""
        return [
            self.compare_challenger(deployment.id, metric, confidence).to_dict()
            for deployment, _ in self._deployments.challenged_by(version)
        ]

    def _live_metric(self, version: ModelVersion, metric: str | None) -> str:
        from core.experiments.runs import primary_metric
        from core.monitoring.live import CLASSIFICATION_LIVE, REGRESSION_LIVE

        known = CLASSIFICATION_LIVE if version.task == "classification" else REGRESSION_LIVE
        if metric is None:
            primary = primary_metric(self._project, version.task)
            fallback = "f1" if version.task == "classification" else "rmse"
            metric = primary if primary in known else fallback
        if metric not in known:
            raise UsageError(
                f"{metric} cannot be compared on live traffic of a {version.task} model",
                hint=f"use one of {', '.join(known)}",
            )
        return metric

    def live_segments(
        self, deployment_id: str, *, last: int | None = None, min_rows: int | None = None
    ) -> LiveSegments:
        """Live metrics per value of each ``[evaluation] segments`` column on the rows the
        deployment's version answered that received feedback (the newest ``last`` predicted
        rows, or the whole log), beside the test split's (:mod:`core.monitoring.segments_live`);
        the gaps are of the primary metric over segments of at least ``min_rows`` rows."""
        from core.experiments.segments import MIN_CI_ROWS
        from core.monitoring.segments_live import measure
        from core.registry import fairness

        if last is not None and last < 1:
            raise UsageError("--last must be at least 1", hint="e.g. --last 10000")
        if min_rows is not None and min_rows < 1:
            raise UsageError("--min-rows must be at least 1", hint="e.g. --min-rows 20")
        deployment = self._deployments.get(deployment_id)
        version = self._registry.version(f"{deployment.model}@{deployment.version}")
        columns = fairness.configured(load_settings(self._project.root).raw)
        frame = self._answered(deployment, version, last) if columns else None
        metric = self._live_metric(version, None)
        least = MIN_CI_ROWS if min_rows is None else min_rows
        return measure(deployment.id, version, frame, columns, metric, self._test_tables(version),
                       least)  # fmt: skip

    def _answered(self, deployment: Deployment, version: ModelVersion, last: int | None):
        """The predicted rows of the log answered by ``version`` (the newest ``last``)."""
        from core.monitoring.sources import log_rows
        from core.serving.logreader import inputs_frame

        folder = self._deployments.folder(deployment)
        if last is not None:
            return log_rows(folder, version.version, last)
        frame = inputs_frame(folder)
        return frame[frame["version"] == version.version].reset_index(drop=True)

    def _test_tables(self, version: ModelVersion):
        """A column's segment table on the version's test split, or None and why not."""
        from core.errors import ShipwayError
        from core.registry import fairness
        from core.registry.gates import Evidence

        evidence = Evidence(self._project, version)

        def table(column: str) -> tuple[dict[str, Any] | None, str]:
            try:
                return fairness.table(evidence, column, intervals=False), ""
            except ShipwayError as exc:
                return None, f"no test-split values for {column}: {exc.one_line()}"

        return table

    def alerts(
        self, ref: str | None = None, deployment: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Recorded alerts, newest first (of one model or version, one deployment, or all)."""
        model = version = None
        if ref is not None:
            model = ref.split("@", 1)[0]
            version = self._registry.version(ref).version if "@" in ref else None
        return self._project.alerts.list(model, version, deployment, limit)

    # -- retention and erasure of the prediction log (acts: see core.monitoring.retention) ----

    def prune_log(
        self,
        deployment_id: str,
        keep_seconds: float,
        *,
        now: float | None = None,
        vacuum: bool | None = None,
        busy_timeout: float = 10.0,
    ) -> PruneResult:
        """Remove the log rows (and drift cache files) older than ``keep_seconds``; an act,
        called by the always-on service ([monitor] keep) and ``shipway log prune``."""
        from core.monitoring import retention

        if not keep_seconds > 0:
            raise UsageError("the time to keep must be positive", hint='e.g. "90d"')
        deployment = self._deployments.get(deployment_id)
        folder = self._deployments.folder(deployment)
        before = (time.time() if now is None else now) - keep_seconds
        result = retention.prune(folder, deployment.id, before, busy_timeout=busy_timeout,
                                 vacuum=vacuum)  # fmt: skip
        if result.requests or result.feedback:
            self._project.repo.record_event("log.prune", "deployment", deployment.id,
                                            before=result.before, requests=result.requests,
                                            feedback=result.feedback)  # fmt: skip
        return result

    def erase_from_log(
        self,
        deployment_id: str,
        request_ids: Sequence[str] = (),
        where: str | tuple[str, str] | None = None,
        *,
        vacuum: bool | None = None,
        busy_timeout: float = 10.0,
    ) -> ErasureResult:
        """Erase requests chosen by id or by ``where`` (``"COLUMN=VALUE"`` on an input column)
        from the deployment's log and its caches; audited as ``log.erase`` (no value in clear)."""
        from core.monitoring import retention

        found = retention.criterion(request_ids, where)
        deployment = self._deployments.get(deployment_id)
        folder = self._deployments.folder(deployment)
        columns = self._log_columns(deployment, folder)

        def audit(detail: dict[str, Any]) -> None:
            self._project.repo.record_event("log.erase", "deployment", deployment.id,
                                            model=deployment.model, **detail)  # fmt: skip

        return retention.erase(folder, deployment.id, found, columns, audit,
                               busy_timeout=busy_timeout, vacuum=vacuum)  # fmt: skip

    def _log_columns(self, deployment: Deployment, folder: Path) -> dict[str, set[str]]:
        """The input columns (and their types) of every version the log holds, and of the
        version the deployment serves now."""
        from core.serving.logmaint import log_versions

        columns: dict[str, set[str]] = {}
        for number in sorted({deployment.version, *log_versions(folder)}):
            try:
                schema = self._registry.version(f"{deployment.model}@{number}").io_schema
            except NotFound:
                continue
            for column in schema.get("inputs", []):
                columns.setdefault(column["name"], set()).add(column.get("type", "string"))
        return columns
