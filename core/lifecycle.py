"""The flows that cross floors, in one place: what a registration, a promotion, a rollback and
an alert set off. Reached as ``workspace.lifecycle``.

- :meth:`Lifecycle.register`: the registry records the version, then monitoring computes the
  reference statistics drift compares against (a failure there never undoes a registration).
- :meth:`Lifecycle.promote` / :meth:`Lifecycle.rollback`: the registry moves the alias (after
  the gates), then every running deployment that follows the alias is pointed at the version
  and awaited.
- :meth:`Lifecycle.check_triggers`: the only read that acts. It evaluates shipway.toml's
  ``[triggers]`` over each running deployment's drift series, records the alerts that are due
  (once per streak) and, with ``retrain = true``, trains the version's spec on the newest data,
  registers the run and evaluates its ``production`` gates. Nothing is promoted.

Domain services never call upwards; this module is the only one that knows them all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack

from core.deploy.service import DeploymentsService
from core.entities import Alert, AliasMove, Deployment, GateReport, ModelVersion, Run
from core.errors import ShipwayError, UsageError
from core.experiments.service import RunsService
from core.experiments.spec import RunSpec, TrainRequest
from core.monitoring.config import TriggerConfig
from core.monitoring.service import MonitoringService
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.project import Project
from core.registry.service import DEFAULT_ALIAS, ModelVersionsService, Promotion, RegistryService


@dataclass(frozen=True)
class TriggerCheck:
    """What one evaluation of the triggers looked at and fired."""

    deployments: tuple[str, ...]
    alerts: tuple[Alert, ...]
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployments": list(self.deployments),
            "alerts": [alert.to_dict() for alert in self.alerts],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Retraining:
    """A version's spec trained again: the run, and the version it became (with its gates)."""

    of: str
    run: Run
    version: ModelVersion | None
    report: GateReport | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "of": self.of,
            "run": self.run.id,
            "status": self.run.status,
            "error": self.run.error,
            "version": None if self.version is None else self.version.version,
            "gates_passed": None if self.report is None else self.report.passed,
        }


def retrain_request(version: ModelVersion) -> TrainRequest:
    """A request repeating the version's spec on the newest version of its data set."""
    spec = RunSpec.from_dict(version.spec)
    return TrainRequest(
        data=spec.dataset,
        target=spec.target,
        task=spec.task,
        estimator=spec.estimator,
        params=dict(spec.params),
        features=list(spec.features),
        test_size=spec.split.test_size,
        split=spec.split.kind,
        cv_folds=spec.cv_folds,
        seed=spec.seed,
        inf_as_missing=spec.preprocessing.infinite == "missing",
    )


class PromoteOptions(TypedDict, total=False):
    """The keyword options of a promotion, as :meth:`RegistryService.promote` takes them.

    ``force`` (default False) moves the alias although a gate fails, with a written
    ``reason``; ``progress`` and ``cancel`` follow and stop the gates' evaluation.
    """

    force: bool
    reason: str
    progress: ProgressFn
    cancel: CancelToken | None


class Lifecycle(ModelVersionsService):
    """The cross-floor flows of one project."""

    def __init__(
        self,
        project: Project,
        runs: RunsService,
        registry: RegistryService,
        deployments: DeploymentsService,
        monitoring: MonitoringService,
    ) -> None:
        super().__init__(project, registry)
        self._runs = runs
        self._deployments = deployments
        self._monitoring = monitoring

    # -- registry flows --------------------------------------------------------------------------

    def register(
        self, run_id: int, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a finished run as the next version of ``name``, with drift's reference."""
        version = self._registry.register(run_id, name, description, tags)
        reference = self._monitoring.store_reference(version)
        if reference is None:
            return version
        self._project.models.set_reference(version.id, reference)
        return replace(version, reference_sha256=reference)

    def promote(
        self, ref: str, alias: str = DEFAULT_ALIAS, **options: Unpack[PromoteOptions]
    ) -> Promotion:
        """Move ``alias`` to a version if its gates pass (or, forced, with a reason); the
        deployments following the alias then serve it."""
        promotion = self._registry.promote(ref, alias, **options)
        swaps = self._deployments.follow_alias(promotion.version, alias)
        for deployment, _ in self._deployments.challenged_by(promotion.version):
            if deployment.alias == alias:  # the challenger is the champion now
                self._deployments.remove_challenger(deployment.id)
        return replace(promotion, deployments=tuple(swap.to_dict() for swap in swaps))

    def promote_challenger(self, deployment_id: str, *, progress: ProgressFn = no_progress,
                           cancel: CancelToken | None = None) -> Promotion:  # fmt: skip
        """Promote a deployment's challenger to the alias the deployment follows, through the
        gates (``challenger_wins`` among them, when shipway.toml asks for it)."""
        deployment = self._deployments.get(deployment_id)
        info = self._deployments.challenger(deployment_id)
        if info is None or deployment.alias is None:
            raise UsageError(
                f"deployment {deployment_id} has no challenger" if info is None
                else f"deployment {deployment_id} serves a fixed version, not an alias",
                where=deployment_id,
                hint="deploy M@ALIAS --challenger M@OTHER, or promote with shipway models promote",
            )  # fmt: skip
        return self.promote(f"{deployment.model}@{info.version}", deployment.alias,
                            progress=progress, cancel=cancel)  # fmt: skip

    def check_challengers(self) -> list[Alert]:
        """Alerts for challengers that failed or timed out (once per hour of the latest)."""
        from core.monitoring.challenger import failures

        fired = []
        for deployment in self._deployments.list(include_stopped=False):
            info = self._deployments.challenger(deployment.id)
            if info is None:
                continue
            folder = self._deployments.folder(deployment)
            timeouts, failed, latest = failures(folder, info.version)
            if latest is None:
                continue
            alert = self._project.alerts.record(
                deployment.model, deployment.version, deployment.id, "challenger_failing", 3600,
                latest[:13] + ":00:00Z",
                f"the challenger {info.model}@{info.version} of deployment {deployment.id} "
                f"timed out {timeouts} and failed {failed} times; the champion answered alone",
                {"challenger": info.version, "timeouts": timeouts, "failures": failed},
            )  # fmt: skip
            if alert is not None:
                fired.append(alert)
        return fired

    def rollback(self, name: str, alias: str = DEFAULT_ALIAS) -> AliasMove:
        """Move ``alias`` back to the version it held before its latest move; deployments
        following the alias swap back too."""
        move = self._registry.rollback(name, alias)
        self._deployments.follow_alias(self._project.models.get(name, move.to_version), alias)
        return move

    def retrain_request(self, ref: str) -> TrainRequest:
        """The version's spec as a request on the newest version of its data set."""
        return retrain_request(self._registry.version(ref))

    # -- triggers --------------------------------------------------------------------------------

    def check_triggers(
        self,
        deployment: str | None = None,
        *,
        now: float | None = None,
        config: TriggerConfig | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> TriggerCheck:
        """Evaluate [triggers] over one deployment's drift series, or every running one's.

        ``config`` replaces shipway.toml's [triggers] (the always-on service passes its own,
        with ``retrain`` off: it runs retrainings as jobs of their own)."""
        config = config or self._monitoring.trigger_config()
        challengers = self.check_challengers() if deployment is None else []
        targets = (
            [self._deployments.get(deployment)]
            if deployment is not None
            else self._deployments.list(include_stopped=False)
        )
        if not config.active:
            note = "shipway.toml has no [triggers]: nothing to evaluate"
            return TriggerCheck(tuple(d.id for d in targets), tuple(challengers), (note,))
        fired: list[Alert] = list(challengers)
        problems: list[str] = []
        for index, target in enumerate(targets):
            stage = Stage(progress, index / len(targets), (index + 1) / len(targets), target.id)
            try:
                fired += self._check_one(target, config, now, stage, cancel)
            except ShipwayError as error:  # one deployment's problem never hides the others'
                problems.append(f"{target.id}: {error.one_line()}")
        progress(1.0, "done")
        return TriggerCheck(tuple(d.id for d in targets), tuple(fired), tuple(problems))

    def _check_one(self, deployment: Deployment, config, now, progress, cancel) -> list[Alert]:
        from core.monitoring.triggers import due_alerts

        version = self._registry.version(f"{deployment.model}@{deployment.version}")
        series = self._monitoring.drift_series(
            version.ref, deployment.id, now=now, progress=progress, cancel=cancel
        )
        fired = []
        for pending in due_alerts(list(series.buckets), config):
            alert = self._project.alerts.record(
                version.model,
                version.version,
                deployment.id,
                pending.kind,
                series.bucket_seconds,
                pending.bucket_start,
                pending.message,
                pending.detail,
            )
            if alert is None:  # this streak was recorded before
                continue
            if config.retrain:
                alert = self._retrain(version, alert, progress, cancel)
            fired.append(alert)
        return fired

    def retrain(
        self,
        ref: str,
        description: str = "",
        tags: dict[str, str] | None = None,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> Retraining:
        """Train the version's spec on the newest version of its data, register the run as the
        model's next version and evaluate its ``production`` gates; nothing is promoted.

        A run that does not finish is returned as it ended (``version`` None)."""
        version = self._registry.version(ref)
        run = self._runs.train(retrain_request(version)).result(
            Stage(progress, 0.0, 0.8, "training"), cancel
        )
        if run.status != "done":
            return Retraining(version.ref, run, None, None)
        extra = dict(tags or {})
        labels = {"retrained_from": version.ref, **extra}
        new = self.register(run.id, version.model, description or f"retrained from {ref}", labels)
        report = self._registry.evaluate_gates(
            new.ref, DEFAULT_ALIAS, Stage(progress, 0.8, 1.0, "gates"), cancel
        )
        self._project.repo.record_event("monitoring.retrain", "model_version", new.ref,
                                        run=run.id, gates_passed=report.passed,
                                        retrained_from=version.ref, **extra)  # fmt: skip
        return Retraining(version.ref, run, new, report)

    def _retrain(self, version: ModelVersion, alert: Alert, progress, cancel) -> Alert:
        """The retraining an alert starts, recorded on the alert."""
        alerts = self._project.alerts
        alert = alerts.update(alert.id, retrain_status="running")
        try:
            done = self.retrain(version.ref, f"retrained: {alert.message}",
                                {"alert": str(alert.id)}, progress=progress,
                                cancel=cancel)  # fmt: skip
        except ShipwayError as error:
            return alerts.update(alert.id, retrain_status="failed",
                                 retrain_error=error.one_line())  # fmt: skip
        if done.version is None:
            return alerts.update(alert.id, retrain_status="failed", retrain_run=done.run.id,
                                 retrain_error=done.run.error)  # fmt: skip
        return alerts.update(alert.id, retrain_status="at_gates", retrain_run=done.run.id,
                             retrain_version=done.version.version,
                             gates_passed=done.report.passed)  # fmt: skip
