"""A registered version's fitted pipeline: loaded after its hash check, or written out as a
serving model directory (``model.joblib`` + ``model.json``, the contract of core.serving)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from core.entities import ModelVersion
from core.project import Project


def load_pipeline(project: Project, version: ModelVersion) -> Any:
    """The fitted pipeline; a blob that no longer matches its hash raises CorruptObject."""
    import joblib

    data = project.blobs.read_verified(version.model_sha256)
    return joblib.load(io.BytesIO(data))


def write_model_dir(project: Project, version: ModelVersion, folder: Path) -> Path:
    """Write the version as a serving model directory, from its hash-checked blob."""
    from core.registry import contracts
    from core.serving.model import write_model_dir as write

    folder = write(
        folder,
        project.blobs.read_verified(version.model_sha256),
        name=version.model,
        version=version.version,
        task=version.task,
        io_schema=version.io_schema,
        run=version.run_id,
        metrics=version.metrics,
        created=version.created_at.isoformat(),
    )
    from core.config import load_settings

    mode = contracts.serving_mode(load_settings(project.root).raw)  # as the file says now
    contracts.write_served(project, version, folder, mode)
    return folder
