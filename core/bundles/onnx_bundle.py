"""The model directory of a pickle-free bundle, and the rows an export checks and times on.

:func:`onnx_model_dir` loads the version's pickled pipeline (the project's own, hash-checked
blob: trusted), converts it (:mod:`core.bundles.onnx_export`) and writes a model directory
holding ``model.onnx`` instead of ``model.joblib``, with the same ``model.json`` facts and drift
reference; the conversion is kept only if the graph, served through the same code, answers as
the pipeline does on :class:`CheckRows`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from core.bundles.onnx_check import synthetic_rows
from core.bundles.onnx_export import convert
from core.entities import ModelVersion
from core.project import Project

CHECK_ROWS = 2000  # data rows compared (besides the synthetic ones)
log = logging.getLogger("shipway.bundles")


class CheckRows:
    """Model input rows of a version, read once when first asked for: its data's test and
    training rows (at most :data:`CHECK_ROWS`), then synthetic rows probing the edges."""

    def __init__(self, project: Project, version: ModelVersion) -> None:
        self._project, self._version = project, version
        self._rows: pd.DataFrame | None = None

    def __call__(self) -> pd.DataFrame:
        if self._rows is None:
            self._rows = pd.concat(
                [self._data(), synthetic_rows(self._version.io_schema)], ignore_index=True
            )
        return self._rows

    def _data(self) -> pd.DataFrame:
        from core.experiments.spec import RunSpec
        from core.registry.holdout import test_rows, train_rows

        version, project = self._version, self._project
        try:
            spec = RunSpec.from_dict(version.spec)
            dataset = project.repo.get_version(version.dataset, version.dataset_version)
            parts = [
                part(project, dataset, spec).model_input(version.io_schema)
                for part in (test_rows, train_rows)
            ]
        except Exception as exc:  # the data may be gone (an imported project)
            log.warning("checking %s on synthetic rows only: %s", version.ref, exc)
            return pd.DataFrame(columns=version.features)
        return pd.concat(parts, ignore_index=True).head(CHECK_ROWS)


def onnx_model_dir(version: ModelVersion, model_dir: Path, target: Path, rows: Any) -> Path:
    """Write the ONNX model directory of the joblib one at ``model_dir`` into ``target``."""
    from core.serving.model import REFERENCE_FILE, load_model, read_metadata, write_model_dir

    expected = load_model(model_dir)
    converted = convert(expected.pipeline, expected, rows, version.ref)
    meta = read_metadata(model_dir)
    reference = model_dir / REFERENCE_FILE
    write_model_dir(
        target,
        converted.data,
        name=meta["name"],
        version=meta["version"],
        task=meta["task"],
        io_schema=meta["io_schema"],
        run=meta.get("run"),
        metrics=meta.get("metrics"),
        created=meta.get("created"),
        model_format="onnx",
        reference=reference.read_bytes() if reference.is_file() else None,
    )
    return target
