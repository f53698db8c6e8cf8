"""A registered version's fitted pipeline: loaded after its hash check, or written out as a
serving model directory (``model.joblib`` + ``model.json``, the contract of core.serving)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from core.entities import ModelVersion
from core.project import Project

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "model.json"
MODEL_DIR_FORMAT = 1


def load_pipeline(project: Project, version: ModelVersion) -> Any:
    """The fitted pipeline; a blob that no longer matches its hash raises CorruptObject."""
    import joblib

    data = project.blobs.read_verified(version.model_sha256)
    return joblib.load(io.BytesIO(data))


def model_manifest(version: ModelVersion) -> dict[str, Any]:
    """What ``model.json`` holds: everything serving needs besides the pipeline itself."""
    return {
        "format": MODEL_DIR_FORMAT,
        "name": version.model,
        "version": version.version,
        "run": version.run_id,
        "task": version.task,
        "io_schema": version.io_schema,
        "metrics": version.metrics,
        "model_sha256": version.model_sha256,
        "created": version.created_at.isoformat(),
        "dataset": version.dataset_ref,
        "dataset_sha256": version.dataset_sha256,
    }


def write_model_dir(project: Project, version: ModelVersion, folder: Path) -> Path:
    """Write the version as a serving model directory (hash-checked; written atomically).

    Files are written under temporary names and renamed into place, manifest last, so a reader
    never sees a manifest pointing at a half-written pipeline.
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = project.blobs.read_verified(version.model_sha256)
    manifest = json.dumps(model_manifest(version), indent=2, sort_keys=True).encode()
    for name, content in ((MODEL_FILE, data), (MANIFEST_FILE, manifest)):
        temp = folder / f".{name}.part"
        with open(temp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, folder / name)
    return folder
