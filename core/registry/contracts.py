"""The data contract of a model version: inferred when the version is registered, shown,
edited, and checked against any data set version or held-out rows.

The rules and the checks themselves live in :mod:`core.serving.contract`, because a served model
enforces them too (the server stands alone). This module keeps them with the version (the
``model_contracts`` table, one row per version), turns the checker's problems into
:class:`~core.errors.InvalidInput` naming the version, and loads data set versions to check.

A version registered before contracts existed has none stored: reading it gives the contract
inferred from its data's profile then (``source = "inferred"``), and nothing is written until
someone edits it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.entities import DatasetVersion, ModelVersion
from core.errors import InvalidInput
from core.project import Project
from core.serving import contract as rules
from core.serving.encoding import attributes
from core.store.contract_repository import ContractRepository


@dataclass(frozen=True)
class StoredContract:
    """A version's contract and where it comes from (``inferred`` or ``edited``)."""

    ref: str
    contract: rules.Contract
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.ref, "source": self.source, **self.contract.to_dict()}


@dataclass(frozen=True)
class ContractCheck:
    """The violations of a version's contract found in some rows."""

    ref: str
    data: str
    rows: int
    violations: tuple[rules.Violation, ...]

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        violations = [v.to_dict() for v in self.violations]
        return {"model": self.ref, **attributes(self, "data rows passed"), "violations": violations}


def _repository(project: Project) -> ContractRepository:
    return ContractRepository(project.database, project.user)


def infer(project: Project, version: ModelVersion) -> rules.Contract:
    """The contract of ``version`` inferred from the profile of its data set version."""
    dataset = project.repo.get_version(version.dataset, version.dataset_version)
    return rules.infer(version.io_schema.get("inputs", []), dataset.profile or {})


def store_inferred(project: Project, version: ModelVersion) -> StoredContract:
    """Infer and keep the contract of a version just registered."""
    inferred = infer(project, version)
    _repository(project).save(version.model, version.version, inferred.to_dict(), "inferred")
    return StoredContract(version.ref, inferred, "inferred")


def stored(project: Project, version: ModelVersion) -> StoredContract:
    """The version's contract as kept (or inferred now when none is kept)."""
    found = _repository(project).get(version.model, version.version)
    if found is None:
        return StoredContract(version.ref, infer(project, version), "inferred")
    document, source = found
    return StoredContract(version.ref, rules.Contract.from_dict(document), source)


def edit(
    project: Project,
    version: ModelVersion,
    assignments: tuple[str, ...] = (),
    file: Path | None = None,
) -> StoredContract:
    """Replace the contract by ``file`` (a JSON document as ``models contract --json`` prints)
    and/or apply ``COLUMN.KEY=VALUE`` assignments; a contract contradicting itself is refused
    and nothing is stored."""
    current = stored(project, version).contract
    try:
        if file is not None:
            current = rules.Contract.from_dict(_read(file))
        edited = rules.edit(current, assignments)
    except rules.ContractProblem as exc:
        raise InvalidInput(
            f"the contract of {version.ref} cannot be saved: {exc}",
            where=str(file) if file is not None else version.ref,
            hint=f"`shipway models contract {version.ref}` shows the rules now; nothing was "
            "changed",
        ) from None
    known = set(version.features)
    extra = [c.name for c in edited.columns if c.name not in known]
    if extra:
        raise InvalidInput(
            f"the contract of {version.ref} names columns the model does not read: "
            f"{', '.join(extra)}",
            where=str(file) if file is not None else version.ref,
            hint=f"the model's inputs are {', '.join(version.features)}; nothing was changed",
        )
    _repository(project).save(version.model, version.version, edited.to_dict(), "edited")
    return StoredContract(version.ref, edited, "edited")


def _read(file: Path) -> Any:
    try:
        return json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise rules.ContractProblem(f"{file} is not a readable JSON document: {exc}") from None


def check_rows(
    contract: rules.Contract, frame: Any, types: dict[str, str], ref: str, data: str
) -> ContractCheck:
    """Check raw rows (``frame``, columns typed ``types``) after serving's coercion."""
    from core.serving.frames import model_frame

    present = [c.name for c in contract.columns if c.name in frame and c.name in types]
    schema = {name: types[name] for name in present}
    coerced = model_frame(frame, schema, present)
    found = rules.check(contract, coerced, types)
    return ContractCheck(ref, data, len(frame), tuple(found))


def check_dataset(
    project: Project, version: ModelVersion, dataset: DatasetVersion
) -> ContractCheck:
    """The violations of ``version``'s contract in every row of a data set version."""
    from core.data import versions

    contract = stored(project, version).contract
    frame = versions.load_table(project, dataset).to_pandas()
    types = {name: stats.get("type", "") for name, stats in (dataset.profile or {}).items()}
    return check_rows(contract, frame, types, version.ref, dataset.ref)


def write_served(project: Project, version: ModelVersion, folder: Path, mode: str) -> None:
    """Put the version's contract into a served model directory, enforced in ``mode``."""
    rules.write_file(folder, stored(project, version).contract, mode)


def serving_mode(raw: dict[str, Any]) -> str:
    """``[serving] contract`` of shipway.toml: ``off`` (the default), ``warn`` or ``reject``."""
    from core.errors import ProjectError

    serving = raw.get("serving", {})
    value = serving.get("contract", "off") if isinstance(serving, dict) else "off"
    if value not in rules.MODES:
        raise ProjectError(
            f"[serving] contract must be one of {', '.join(rules.MODES)}, not {value!r}",
            where="shipway.toml [serving]",
            hint='e.g. contract = "reject" (refuse requests breaking the data contract)',
        )
    return value
