"""A registered version's fitted pipeline: loaded after its hash check, or written out as a
serving model directory (``model.joblib`` + ``model.json``, the contract of core.serving)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from core.entities import ModelVersion
from core.errors import CorruptObject, NotFound
from core.project import Project


def load_pipeline(project: Project, version: ModelVersion) -> Any:
    """The fitted pipeline; a blob that no longer matches its hash raises CorruptObject."""
    import joblib

    data = project.blobs.read_verified(version.model_sha256)
    return joblib.load(io.BytesIO(data))


def write_model_dir(project: Project, version: ModelVersion, folder: Path) -> Path:
    """Write the version as a serving model directory, from its hash-checked blob, with its
    drift reference (``reference.bin``, when the version has one) for the server's drift
    scores and its data contract (``contract.json``) in the mode shipway.toml says now."""
    from core.registry import contracts
    from core.serving.encoding import attributes
    from core.serving.model import write_model_dir as write

    metadata = attributes(version, "name=model version task io_schema run=run_id metrics")
    folder = write(
        folder,
        project.blobs.read_verified(version.model_sha256),
        **metadata,
        created=version.created_at.isoformat(),
        reference=_reference(project, version),
    )
    from core.config import load_settings

    mode = contracts.serving_mode(load_settings(project.root).raw)  # as the file says now
    contracts.write_served(project, version, folder, mode)
    return folder


def _reference(project: Project, version: ModelVersion) -> bytes | None:
    """The version's reference blob, or None (none yet, or unreadable: drift is derived data,
    recomputed on its next use, and a server without it only reports no drift)."""
    if not version.reference_sha256:
        return None
    try:
        return project.blobs.read_verified(version.reference_sha256)
    except (NotFound, CorruptObject):
        return None
