"""Scoring one chunk, in a thread of this process or on a Dask worker.

A process loads the model once (after checking its bytes against their sha256: unpickling runs
code) and keeps it for every chunk of the job; the threads of a job share it. Predictions are
made as serving makes them (:mod:`core.serving.scoring`): the preprocessing runs once, then the
final estimator's ``predict_proba`` gives the class probabilities and, for the models whose
``predict`` is the class of the highest probability, the class too (forests summed tree by
tree, bit for bit scikit-learn's one-job result, see :mod:`core.serving.forests`). A chunk's
answer depends on its rows alone, so threads and a Dask cluster write the same bytes.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import pyarrow as pa

from core.scoring.coerce import features_frame, type_chunk
from core.scoring.spec import PREDICTION, PROBA_PREFIX, Chunk, ChunkResult, ScorerSpec

_PIPELINES: dict[str, Any] = {}


def load_pipeline(spec: ScorerSpec) -> Any:
    """The fitted pipeline of ``spec`` (loaded once per process, after its hash check)."""
    pipeline = _PIPELINES.get(spec.model_sha256)
    if pipeline is None:
        import joblib

        if hashlib.sha256(spec.model_bytes).hexdigest() != spec.model_sha256:
            raise RuntimeError(f"the model bytes of {spec.model} do not match their sha256")
        pipeline = joblib.load(io.BytesIO(spec.model_bytes))
        _PIPELINES.clear()
        _PIPELINES[spec.model_sha256] = pipeline
    return pipeline


def forget() -> None:
    """Drop the loaded model (this process scored a job itself and goes on living)."""
    _PIPELINES.clear()


def predict(pipeline: Any, frame: Any, classification: bool) -> tuple[np.ndarray, Any]:
    """Predictions, and class probabilities for a classifier that has them (else None)."""
    from core.serving import fastprep, forests  # scikit-learn: only where predictions are made
    from core.serving.scoring import ARGMAX_OF_PROBA

    steps = getattr(pipeline, "steps", None)
    if steps is not None and len(steps) > 1:
        features, final = fastprep.transform(pipeline[:-1], frame), pipeline[-1]
    else:
        features, final = frame, pipeline
    if not classification or not hasattr(final, "predict_proba"):
        return np.asarray(forests.predict(final, features)), None
    proba = np.asarray(forests.predict_proba(final, features), dtype=np.float64)
    if type(final).__name__ in ARGMAX_OF_PROBA:
        return np.asarray(final.classes_).take(np.argmax(proba, axis=1), axis=0), proba
    return np.asarray(final.predict(features)), proba


def _outputs(spec: ScorerSpec, predicted: np.ndarray, proba: Any) -> dict[str, pa.Array]:
    if spec.task == "classification":
        values = pa.array(predicted.tolist() if predicted.dtype == object else predicted)
    else:
        values = pa.array(np.asarray(predicted, dtype=np.float64))
    columns = {PREDICTION: values}
    if spec.classes and proba is not None:  # a classifier without predict_proba has none
        if proba.shape[1] != len(spec.classes):
            raise RuntimeError(
                f"{spec.model} gave {proba.shape[1]} probabilities for {len(spec.classes)} classes"
            )
        for position, label in enumerate(spec.classes):
            columns[PROBA_PREFIX + label] = pa.array(np.ascontiguousarray(proba[:, position]))
    return columns


def score_chunk(spec: ScorerSpec, chunk: Chunk) -> ChunkResult:
    """The chunk's rows to store (kept columns, typed inputs, prediction, probabilities), or
    only its problems when it has invalid values and the job stops on them."""
    typed, problems = type_chunk(spec, chunk.table, chunk.start)
    if problems and spec.invalid == "error":
        return ChunkResult(chunk.index, None, tuple(problems))
    frame = features_frame(spec, typed)
    predicted, proba = predict(load_pipeline(spec), frame, spec.task == "classification")
    for name, values in _outputs(spec, predicted, proba).items():
        typed = typed.append_column(name, values)
    return ChunkResult(chunk.index, typed, tuple(problems))


def score_on_dask(spec: ScorerSpec, chunk: Chunk) -> ChunkResult:
    """A Dask task: the same as :func:`score_chunk` (the model is cached per worker process)."""
    return score_chunk(spec, chunk)
