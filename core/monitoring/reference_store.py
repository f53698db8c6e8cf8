"""A model version's reference statistics: computed from its training rows, kept as a blob.

The training rows are rebuilt exactly as the run split them (:func:`core.registry.holdout.
train_rows`), coerced as serving coerces requests, and predicted once by the fitted pipeline, so
the reference holds the features, the prediction and (the class mix of) the target as the model
saw them. The blob's sha256 is recorded on the version (``reference_sha256``). Registration
computes it; a version registered before monitoring existed gets it on first use; a blob that
went missing or corrupt is recomputed (it is derived data).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from core.entities import ModelVersion
from core.errors import CorruptObject, NotFound
from core.monitoring import codec
from core.monitoring.reference import Reference, column_reference, label_text
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project

PREDICT_CHUNK = 100_000
log = logging.getLogger("shipway.monitoring")


def feature_kinds(io_schema: dict[str, Any]) -> dict[str, str]:
    """Feature name -> "numeric" or "categorical", from a version's input schema."""
    from core.serving.frames import NUMERIC_TYPES

    return {
        entry["name"]: "numeric" if entry["type"] in NUMERIC_TYPES else "categorical"
        for entry in io_schema.get("inputs", [])
    }


def compute_reference(
    project: Project,
    version: ModelVersion,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Reference:
    """The reference statistics of ``version``, from its data version's training part."""
    from core.experiments.spec import RunSpec
    from core.registry.artifacts import load_pipeline
    from core.registry.holdout import train_rows

    cancel = cancel or CancelToken()
    progress(0.0, "reading the training rows")
    spec = RunSpec.from_dict(version.spec)
    dataset = project.repo.get_version(version.dataset, version.dataset_version)
    part = train_rows(project, dataset, spec)
    frame = part.model_input(version.io_schema)
    kinds = feature_kinds(version.io_schema)
    progress(0.2, "predicting the training rows")
    predictions = predict(load_pipeline(project, version), frame, cancel)
    features = []
    for index, (name, kind) in enumerate(kinds.items()):
        cancel.raise_if_cancelled()
        features.append(column_reference(name, kind, frame[name]))
        progress(0.6 + 0.4 * (index + 1) / max(len(kinds), 1), f"statistics of {name}")
    classification = version.task == "classification"
    outcome = "categorical" if classification else "numeric"
    labels = [label_text(c) for c in version.io_schema.get("output", {}).get("classes", [])]
    return Reference(
        task=version.task,
        rows=len(frame),
        features=tuple(features),
        prediction=column_reference("prediction", outcome, _outcome(predictions, classification)),
        target=column_reference(version.target, outcome, _outcome(part.y, classification)),
        classes=tuple(labels),
        meta={
            "model": version.model,
            "version": version.version,
            "dataset": dataset.ref,
            "dataset_sha256": dataset.sha256,
            "part": "train",
            "seed": spec.seed,
        },
    )


def predict(pipeline: Any, frame: Any, cancel: CancelToken | None = None) -> np.ndarray:
    """``pipeline.predict`` in chunks (a cancel is honoured between them)."""
    parts = []
    for start in range(0, len(frame), PREDICT_CHUNK):
        if cancel is not None:
            cancel.raise_if_cancelled()
        parts.append(np.asarray(pipeline.predict(frame.iloc[start : start + PREDICT_CHUNK])))
    return np.concatenate(parts) if parts else np.empty(0)


def _outcome(values: Any, classification: bool) -> Any:
    if classification:
        return np.array([None if v is None else label_text(v) for v in values], dtype=object)
    return np.asarray(values, dtype=np.float64)


def _put(
    project: Project, version: ModelVersion, progress: ProgressFn, cancel: CancelToken | None
) -> tuple[str, Reference]:
    reference = compute_reference(project, version, progress, cancel)
    return project.blobs.put_bytes(codec.encode(reference), ".reference").sha256, reference


def at_registration(project: Project, version: ModelVersion) -> str | None:
    """The blob of the reference of a version just registered (the caller records it on the
    version), or None when it cannot be computed now.

    Registration never fails because of monitoring: the error is logged and the reference is
    computed (and the error raised) on first use instead.
    """
    try:
        return _put(project, version, no_progress, None)[0]
    except Exception as exc:  # any failure here must not undo a registration
        log.warning("reference statistics of %s not computed: %s", version.ref, exc)
        return None


def load_reference(
    project: Project,
    version: ModelVersion,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[str, Reference]:
    """The stored reference of ``version``; (sha256, reference). Computed now, stored and
    recorded on the version when it has none or it is unreadable."""
    if version.reference_sha256:
        try:
            data = project.blobs.read_verified(version.reference_sha256)
            return version.reference_sha256, codec.decode(data)
        except (NotFound, CorruptObject) as exc:
            log.warning("reference of %s recomputed: %s", version.ref, exc.message)
    sha256, reference = _put(project, version, progress, cancel)
    project.models.set_reference(version.id, sha256)
    return sha256, reference
