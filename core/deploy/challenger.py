"""A challenger for a deployment: checked against the champion, written beside it.

A deployment's folder holds ``challenger.json`` (the contract is :mod:`core.serving.challenger`)
and the challenger's model directory ``models/challenger-vN``; the server follows the file, so
a challenger can be set or removed while the deployment runs (no restart, no lost request).

A challenger must answer the same question from the same rows as the champion: the same task,
the same input columns with the same types and, for a classifier, the same classes. Anything
else is refused at deploy with every difference named. Decisions:

- The challenger is resolved to a version when it is set (``M@staging`` is the version staging
  holds then); it does not follow its alias.
- A version cannot challenge itself. After a promotion that makes the challenger the champion,
  the servers see the same model on both sides and stop challenging; :func:`remove` then clears
  the file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.entities import ModelVersion
from core.errors import InvalidInput
from core.project import Project
from core.registry.artifacts import write_model_dir
from core.serving.challenger import DEFAULT_TIMEOUT_MS, MODES, SPEC_FILE, write_spec

MODEL_DIR = "models/challenger-v{version}"


@dataclass(frozen=True)
class ChallengerConfig:
    """How a challenger takes part: ``shadow``, or ``split`` with ``share`` percent."""

    ref: str
    mode: str = "shadow"
    share: float = 10.0
    sticky: str | None = None
    timeout_ms: float = DEFAULT_TIMEOUT_MS

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(
                f"challenger mode {self.mode!r} is not one of {', '.join(MODES)}",
                where="--mode",
                hint="shadow: the challenger scores every request unseen; split: it answers "
                "--share percent of them",
            )
        share = self.share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 100:
            raise InvalidInput(
                f"the challenger's share must be a percentage from 0 to 100, not {share!r}",
                where="--share",
                hint="e.g. --share 10 sends one request in ten to the challenger",
            )
        if self.sticky is not None and not self.sticky.strip():
            raise InvalidInput("--sticky needs a column name", where="--sticky")
        if not self.timeout_ms > 0:
            raise InvalidInput("the challenger's time limit must be positive", where="timeout")


@dataclass(frozen=True)
class ChallengerInfo:
    """A deployment's challenger as its folder says."""

    ref: str
    model: str
    version: int
    mode: str
    share: float
    sticky: str | None
    timeout_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def differences(champion: ModelVersion, challenger: ModelVersion) -> list[str]:
    """Why ``challenger`` cannot stand beside ``champion``, one sentence each (empty: it can)."""
    found = []
    if challenger.task != champion.task:
        found.append(f"task {challenger.task}, not {champion.task}")
    mine = _inputs(champion)
    theirs = _inputs(challenger)
    for name in sorted(set(mine) - set(theirs)):
        found.append(f"input {name!r} ({mine[name]}) is missing")
    for name in sorted(set(theirs) - set(mine)):
        found.append(f"input {name!r} ({theirs[name]}) is not an input of the champion")
    for name in sorted(set(mine) & set(theirs)):
        if mine[name] != theirs[name]:
            found.append(f"input {name!r} is {theirs[name]}, not {mine[name]}")
    if champion.task == challenger.task == "classification":
        old, new = _classes(champion), _classes(challenger)
        if old != new:
            found.append(f"classes {sorted(new)} differ from {sorted(old)}")
    return found


def _inputs(version: ModelVersion) -> dict[str, str]:
    return {c["name"]: c.get("type", "?") for c in version.io_schema.get("inputs", [])}


def _classes(version: ModelVersion) -> set[str]:
    return {str(c) for c in version.io_schema.get("output", {}).get("classes") or []}


def check(champion: ModelVersion, challenger: ModelVersion) -> None:
    """Refuse a challenger that is the champion, or answers another question."""
    if challenger.id == champion.id:
        raise InvalidInput(
            f"{challenger.ref} cannot challenge itself",
            where=challenger.ref,
            hint="choose another version as --challenger",
        )
    found = differences(champion, challenger)
    if found:
        raise InvalidInput(
            f"{challenger.ref} cannot challenge {champion.ref}: " + "; ".join(found),
            where=challenger.ref,
            hint="a challenger must have the champion's task, input columns and types, and classes",
        )


def write(
    project: Project, folder: Path, version: ModelVersion, config: ChallengerConfig
) -> ChallengerInfo:
    """Write the challenger's model directory and then ``challenger.json`` (the server sees a
    complete model once the file names it)."""
    relative = MODEL_DIR.format(version=version.version)
    model_dir = folder / relative
    if not (model_dir / "model.json").is_file():
        write_model_dir(project, version, model_dir)
    write_spec(
        folder / SPEC_FILE,
        {
            "model_dir": relative,
            "mode": config.mode,
            "share": float(config.share),
            "sticky": config.sticky,
            "timeout_ms": float(config.timeout_ms),
            "ref": config.ref,
            "model": version.model,
            "version": version.version,
        },
    )
    return ChallengerInfo(config.ref, version.model, version.version, config.mode,
                          float(config.share), config.sticky, float(config.timeout_ms))  # fmt: skip


def remove(folder: Path) -> None:
    """No challenger any more (the servers stop challenging within a second)."""
    if (folder / SPEC_FILE).exists():
        write_spec(folder / SPEC_FILE, {"mode": "off"})


def read(folder: Path) -> ChallengerInfo | None:
    """The challenger ``challenger.json`` names, or None."""
    try:
        data = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("mode") not in MODES:
        return None
    return ChallengerInfo(
        ref=str(data.get("ref", "")),
        model=str(data.get("model", "")),
        version=int(data.get("version", 0)),
        mode=data["mode"],
        share=float(data.get("share", 0.0)),
        sticky=data.get("sticky"),
        timeout_ms=float(data.get("timeout_ms", DEFAULT_TIMEOUT_MS)),
    )
