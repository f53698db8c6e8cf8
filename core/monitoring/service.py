"""Monitoring's part of the engine's front door (mixed into :class:`core.services.Workspace`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.entities import Deployment, ModelVersion
from core.errors import ShipwayError, UsageError
from core.monitoring import alerts as alert_store
from core.monitoring.config import (
    DriftConfig,
    TriggerConfig,
    load_drift_config,
    load_trigger_config,
)
from core.monitoring.results import Alert, DriftReport, DriftSeries
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.project import Project

if TYPE_CHECKING:  # the engine (numpy, scipy) is imported when drift is first computed
    from core.monitoring.reference import Reference

REFERENCE_CACHE = 8  # references kept in memory per workspace


class MonitoringMixin:
    """Drift of current data against a version's training rows, over time, with triggers."""

    _project: Project
    model_version: Callable[[str], ModelVersion]
    deployment: Callable[[str], Deployment]
    deployment_folder: Callable[[Deployment], Path]
    train: Callable[..., Any]
    register_model: Callable[..., ModelVersion]
    evaluate_gates: Callable[..., Any]

    # -- settings and reference ----------------------------------------------------------------

    def drift_config(self) -> DriftConfig:
        """The [drift] thresholds of shipway.toml (MonitoringConfigError names a bad line)."""
        return load_drift_config(self._project.root, self._project.settings.raw)

    def trigger_config(self) -> TriggerConfig:
        return load_trigger_config(self._project.root, self._project.settings.raw)

    def drift_reference(
        self, ref: str, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
    ) -> dict[str, Any]:
        """A summary of the version's reference statistics (computed now if it has none)."""
        version = self.model_version(ref)
        sha256, reference = self._reference(version, progress, cancel)
        return {
            "model": version.model,
            "version": version.version,
            "sha256": sha256,
            **reference.summary(),
        }

    def _reference(
        self, version: ModelVersion, progress: ProgressFn, cancel: CancelToken | None
    ) -> tuple[str, Reference]:
        from core.monitoring.reference_store import load_reference

        cache: dict[str, Reference] = self.__dict__.setdefault("_drift_references", {})
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
        version = self.model_version(ref)
        config = self.drift_config()
        _, reference = self._reference(version, Stage(progress, 0.0, 0.5, "reference"), cancel)
        progress(0.5, "reading the current data")
        if deployment is not None:
            data, live = self._log_window(version, deployment, window or config.window)
        else:
            data, live = self._table_window(version, current, dataset)
        progress(0.8, "comparing")
        report = compare(
            reference,
            data,
            config,
            model=version.model,
            version=version.version,
            live=live,
            cancel=cancel,
        )
        progress(1.0, "done")
        return report

    def _log_window(self, version: ModelVersion, deployment_id: str, rows: int):
        from core.monitoring.buckets import live_of
        from core.monitoring.engine import Current
        from core.monitoring.sources import from_log, log_rows

        folder = self.deployment_folder(self._serving(version, deployment_id))
        frame = log_rows(folder, version.version, rows)
        data = from_log(frame, version, f"deployment {deployment_id}, last {len(frame):,} rows")
        if not len(frame):
            note = f"the log of {deployment_id} holds no rows answered by {version.ref}"
            data = Current(data.frame, data.source, problems=(note,))
        return data, live_of(frame, version) if len(frame) else None

    def _table_window(self, version: ModelVersion, current: Any, dataset: str | None):
        from core.data import versions
        from core.monitoring.live import live_metrics
        from core.monitoring.sources import from_table, read_file
        from core.registry.artifacts import load_pipeline

        if dataset is not None:
            found = versions.resolve(self._project, dataset)
            raw = versions.load_table(self._project, found).to_pandas()
            source = f"data set {found.ref}, {len(raw):,} rows"
        else:
            path = Path(current)
            raw = read_file(path, self._project.settings.data.missing_tokens)
            source = f"file {path.name}, {len(raw):,} rows"
        data = from_table(raw, version, load_pipeline(self._project, version), source)
        live = None
        if data.prediction is not None and version.target in raw.columns:
            classes = version.io_schema.get("output", {}).get("classes", [])
            live = live_metrics(
                version.task,
                classes,
                data.prediction,
                raw[version.target].to_numpy(dtype=object),
                version.metrics,
            )
        return data, live

    def _serving(self, version: ModelVersion, deployment_id: str) -> Deployment:
        found = self.deployment(deployment_id)
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
        triggers: bool = True,
        now: float | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> DriftSeries:
        """Drift per time bucket of what ``deployment`` answered with ``ref``; complete buckets
        are cached (see :mod:`core.monitoring.buckets`). ``last``: only the buckets of the
        last ``last`` bucket lengths. With ``triggers``, the [triggers] of shipway.toml are
        evaluated over the buckets returned: alerts fired now are in ``alerts``."""
        from core.monitoring.buckets import bucket_series

        version = self.model_version(ref)
        config = self.drift_config()
        trigger_config = self.trigger_config() if triggers else TriggerConfig()
        seconds = int(bucket_seconds or config.bucket_seconds)
        if seconds < 1:
            raise UsageError("buckets must last at least one second", hint="e.g. --buckets 3600")
        reference = self._reference(version, Stage(progress, 0.0, 0.2, "reference"), cancel)
        folder = self.deployment_folder(self._serving(version, deployment))
        if last is not None and last < 1:
            raise UsageError("--last must be at least 1", hint="e.g. --last 24")
        buckets, cache = bucket_series(
            folder,
            version,
            reference,
            config,
            seconds,
            last=last,
            now=now,
            progress=Stage(progress, 0.2, 0.9, "buckets"),
            cancel=cancel,
        )
        fired = self._fire(version, deployment, seconds, buckets, trigger_config, cancel)
        progress(1.0, "done")
        return DriftSeries(
            version.model,
            version.version,
            deployment,
            seconds,
            tuple(buckets),
            tuple(fired),
            str(cache),
        )

    def _fire(self, version, deployment, seconds, buckets, config, cancel) -> list[Alert]:
        from core.monitoring.triggers import due_alerts

        fired = []
        for pending in due_alerts(buckets, config) if config.active else []:
            alert = alert_store.record_alert(
                self._project,
                version.model,
                version.version,
                deployment,
                pending.kind,
                seconds,
                pending.bucket_start,
                pending.message,
                pending.detail,
            )
            if alert is None:
                continue
            if config.retrain:
                alert = self._retrain(version, alert, cancel)
            fired.append(alert)
        return fired

    def _retrain(self, version: ModelVersion, alert: Alert, cancel: CancelToken | None) -> Alert:
        """Train the version's spec on the newest data, register it, evaluate its gates."""
        from core.monitoring.triggers import retrain_request

        update = alert_store.update_alert
        alert = update(self._project, alert.id, retrain_status="running")
        try:
            run = self.train(retrain_request(version), cancel=cancel)
            if run.status != "done":
                return update(
                    self._project,
                    alert.id,
                    retrain_status="failed",
                    retrain_run=run.id,
                    retrain_error=run.error,
                )
            tags = {"retrained_from": version.ref, "alert": str(alert.id)}
            new = self.register_model(run.id, version.model, f"retrained: {alert.message}", tags)
            report = self.evaluate_gates(new.ref, "production", cancel=cancel)
        except ShipwayError as error:
            return update(
                self._project, alert.id, retrain_status="failed", retrain_error=error.one_line()
            )
        self._project.repo.record_event(
            "monitoring.retrain",
            "model_version",
            new.ref,
            alert=alert.id,
            run=run.id,
            gates_passed=report.passed,
            retrained_from=version.ref,
        )
        return update(
            self._project,
            alert.id,
            retrain_status="at_gates",
            retrain_run=run.id,
            retrain_version=new.version,
            gates_passed=report.passed,
        )

    def monitoring_alerts(
        self, ref: str | None = None, deployment: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Recorded alerts, newest first (of one model or version, one deployment, or all)."""
        model = version = None
        if ref is not None:
            model = ref.split("@", 1)[0]
            version = self.model_version(ref).version if "@" in ref else None
        return alert_store.list_alerts(self._project, model, version, deployment, limit)
