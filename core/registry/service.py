"""The registry floor's service: registering, gating, promoting, approving and describing
model versions. Reached as ``workspace.registry``.

What a registration or an alias move sets off elsewhere (drift's reference statistics, the
deployments that follow an alias) is not done here but in :mod:`core.lifecycle`, the one place
where flows cross floors.

Promotion is evaluate-then-move: the gates are evaluated against the version holding the alias
*now*, and the move happens only if that version still holds it when the write transaction
runs (see :mod:`core.store.model_repository`). A forced move needs a written reason; it is
recorded as ``model.promote_forced`` together with the rules that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import load_settings
from core.entities import (
    AliasMove,
    Approval,
    GateEvaluation,
    GateReport,
    ModelVersion,
    RegisteredModel,
)
from core.errors import CorruptObject, GateBlocked, UsageError
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project
from core.registry import contracts
from core.registry.refs import parse_model_ref
from core.registry.roles import denied, load_roles
from core.store.model_repository import check_alias

if TYPE_CHECKING:
    from core.registry.gates import LiveEvidence
    from core.registry.version_segments import VersionSegments

DEFAULT_ALIAS = "production"


@dataclass(frozen=True)
class Promotion:
    """The outcome of a promotion that moved the alias."""

    version: ModelVersion
    move: AliasMove
    report: GateReport
    forced: bool
    deployments: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = self.version.summary()
        data.update(
            alias=self.move.alias,
            previous=self.move.from_version,
            moved=True,
            forced=self.forced,
            passed=self.report.passed,
            gates=[result.to_dict() for result in self.report.results],
            gate_source=self.report.source,
            deployments=list(self.deployments),
        )
        return data


class RegistryService:
    """The model registry of one project."""

    def __init__(self, project: Project) -> None:
        self._project = project
        #: The live-traffic comparisons the ``challenger_wins`` gate reads (set by the
        #: composition root: monitoring sits above the registry).
        self.live_evidence: LiveEvidence | None = None

    # -- registering and reading ---------------------------------------------------------------

    def register(
        self, run_id: int, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a finished run as the next version of model ``name`` (the registry's part:
        :meth:`core.lifecycle.Lifecycle.register` adds drift's reference statistics)."""
        run = self._project.runs.get(run_id)
        if run.model_sha256 is not None:
            self._check_blob(run.model_sha256, f"run {run_id}")
        version = self._project.models.register(run_id, name, description, tags)
        contracts.store_inferred(self._project, version)
        return version

    def models(self) -> list[RegisteredModel]:
        return self._project.models.list_models()

    def versions(self, name: str) -> list[ModelVersion]:
        return self._project.models.list_versions(name)

    def version(self, ref: str) -> ModelVersion:
        """``M``, ``M@3``, ``M@latest`` or ``M@ALIAS`` → the version it names."""
        parsed = parse_model_ref(ref)
        if parsed.alias is not None:
            return self._project.models.by_alias(parsed.name, parsed.alias)
        return self._project.models.get(parsed.name, parsed.version)

    def edit(
        self,
        ref: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        remove_tags: tuple[str, ...] = (),
    ) -> ModelVersion:
        version = self.version(ref)
        return self._project.models.edit(
            version.model, version.version, description, tags, remove_tags
        )

    def history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        return self._project.models.history(name, alias)

    def approvals(self, ref: str) -> list[Approval]:
        version = self.version(ref)
        return self._project.reviews.approvals(version.model, version.version)

    def gate_evaluations(self, ref: str) -> list[GateEvaluation]:
        return self._project.reviews.gate_evaluations(self.version(ref).id)

    # -- gates and aliases -----------------------------------------------------------------------

    def evaluate_gates(
        self,
        ref: str,
        alias: str = DEFAULT_ALIAS,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> GateReport:
        """Evaluate the gates guarding ``alias`` on a version; nothing moves."""
        version = self.version(ref)
        return self._evaluate(version, check_alias(alias), progress, cancel)

    def promote(
        self,
        ref: str,
        alias: str = DEFAULT_ALIAS,
        *,
        force: bool = False,
        reason: str = "",
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> Promotion:
        """Move ``alias`` to a version if its gates pass (or, forced, with a reason)."""
        check_alias(alias)
        reason = reason.strip()
        if force and not reason:
            raise UsageError(
                "a forced promotion needs a written reason",
                hint='add --reason "why the gates may be overridden"',
            )
        self._check_may_move(alias, "promote")
        version = self.version(ref)
        report = self._evaluate(version, alias, progress, cancel)
        gates = [result.to_dict() for result in report.results]
        if not report.passed and not force:
            self._project.models.record_blocked(version.model, version.version, alias, gates)
            raise _blocked(version, alias, report)
        move = self._project.models.move_alias(
            version.model,
            alias,
            version.version,
            expected=report.incumbent,
            kind="force" if force and not report.passed else "promote",
            reason=reason,
            gates=gates,
        )
        moved = self._project.models.get(version.model, version.version)
        return Promotion(moved, move, report, force and not report.passed)

    def rollback(self, name: str, alias: str = DEFAULT_ALIAS) -> AliasMove:
        """Move ``alias`` back to the version it held before its latest move."""
        self._check_may_move(alias, "roll back")
        return self._project.models.rollback(name, alias)

    def approve(self, ref: str, comment: str = "") -> Approval:
        version = self.version(ref)
        roles = load_roles(self._settings_now())
        user = self._project.user
        if not roles.may_approve(user):
            self._project.repo.record_event(
                "access.denied", "model_version", version.ref, attempted="approve"
            )
            raise denied(user, f"approve {version.ref}", roles.approve or ())
        return self._project.reviews.approve(version.model, version.version, comment)

    def _check_may_move(self, alias: str, action: str) -> None:
        roles = load_roles(self._settings_now())
        user = self._project.user
        if not roles.may_move(user, alias):
            self._project.repo.record_event("access.denied", "alias", alias, attempted=action)
            raise denied(user, f"{action} the {alias!r} alias", roles.promote[alias])

    # -- data contracts ---------------------------------------------------------------------------

    def contract(self, ref: str) -> contracts.StoredContract:
        """The version's data contract (inferred at registration, or as edited since)."""
        return contracts.stored(self._project, self.version(ref))

    def edit_contract(
        self, ref: str, assignments: tuple[str, ...] = (), file: Path | None = None
    ) -> contracts.StoredContract:
        """Change the contract (``COLUMN.KEY=VALUE`` assignments and/or a JSON file); audited."""
        return contracts.edit(self._project, self.version(ref), assignments, file)

    def check_contract(self, ref: str, dataset_ref: str) -> contracts.ContractCheck:
        """The violations of ``ref``'s contract in the data set version ``dataset_ref``."""
        from core.data.versions import parse_ref

        name, number = parse_ref(dataset_ref)
        dataset = self._project.repo.get_version(name, number)
        return contracts.check_dataset(self._project, self.version(ref), dataset)

    def segments(self, ref: str) -> VersionSegments:
        """Every metric per segment of ``[evaluation] segments`` on the version's test rows."""
        from core.registry.version_segments import version_segments

        return version_segments(self._project, self.version(ref), self._settings_now())

    # -- artifacts -------------------------------------------------------------------------------

    def card(self, ref: str, fmt: str = "markdown") -> str:
        from core.registry import card

        version = self.version(ref)
        return card.render(self._project, version, fmt)

    def write_model_dir(self, ref: str, folder: Path | str) -> Path:
        from core.registry.artifacts import write_model_dir

        return write_model_dir(self._project, self.version(ref), Path(folder))

    # -- helpers ---------------------------------------------------------------------------------

    def _evaluate(
        self,
        version: ModelVersion,
        alias: str,
        progress: ProgressFn,
        cancel: CancelToken | None,
    ) -> GateReport:
        from core.experiments.runs import primary_metric
        from core.registry.gate_config import load_gates
        from core.registry.gates import evaluate_gates

        self._check_blob(version.model_sha256, version.ref)
        config = load_gates(self._project.root, self._settings_now(), alias)
        holder = self._project.models.holder(version.model, alias)
        incumbent = self._project.models.get(version.model, holder) if holder else None
        report = evaluate_gates(
            self._project,
            version,
            config,
            incumbent,
            primary_metric(self._project, version.task),
            progress,
            cancel,
            self.live_evidence,
        )
        self._project.reviews.save_gate_evaluation(
            version.id,
            alias,
            report.passed,
            [result.to_dict() for result in report.results],
            report.incumbent,
        )
        return report

    def _settings_now(self) -> dict[str, Any]:
        """shipway.toml as it is now: gates and roles edited in an editor count at once."""
        return load_settings(self._project.root).raw

    def _check_blob(self, sha256: str, what: str) -> None:
        problem = self._project.blobs.verify(sha256)
        if problem is not None:
            raise CorruptObject(
                f"the model of {what} is unusable: {problem}",
                where=what,
                hint="restore objects/ from a backup or retrain; it will not be used",
            )


def _blocked(version: ModelVersion, alias: str, report: GateReport) -> GateBlocked:
    failed = report.failures
    first = failed[0]
    more = f" (and {len(failed) - 1} more rule(s))" if len(failed) > 1 else ""
    return GateBlocked(
        f"the gates of {alias!r} blocked {version.ref}: {first.rule}: {first.message}{more}",
        where=report.source,
        hint=f"`shipway models gates {version.ref} --alias {alias}` lists every rule; fix the "
        "model or the rule, or promote with --force --reason",
        details=[result.to_dict() for result in report.results],
        report=report,
    )


class ModelVersionsService:
    """A service of one project that reaches model versions through the registry it is given.

    The floors above the registry that serve, watch, score or bundle model versions (deploy,
    monitoring, scoring, bundles) derive their services from it, and so do the flows that cross
    them (:class:`core.lifecycle.Lifecycle`).
    """

    def __init__(self, project: Project, registry: RegistryService) -> None:
        self._project = project
        self._registry = registry
