"""Serving a pipeline converted to ONNX: onnxruntime instead of a pickle.

A pickle-free model directory holds ``model.onnx`` (written by Shipway's exporter,
:mod:`core.bundles.onnx_export`), a graph with this contract:

- one input per feature, in ``io_schema.inputs`` order, named ``x0``, ``x1``, …: a
  ``tensor(double)`` of shape ``[N, 1]`` for numeric features (as :func:`core.serving.frames.
  model_frame` coerces them; NaN is missing), a ``tensor(string)`` ``[N, 1]`` for text features,
  where a missing value is :data:`MISSING_TEXT`;
- outputs ``label`` (``[N]``) and, for classifiers that have probabilities, ``probabilities``
  (``[N, classes]``, in the order of the model's classes); for regressors ``prediction``
  (``[N, 1]``).

:class:`OnnxPipeline` runs the graph and offers what the scoring core calls on a fitted
pipeline (``predict``, ``predict_proba``, ``classes_``), plus :meth:`OnnxPipeline.predict_both`
so that one run gives labels and probabilities. The bytes are handed to onnxruntime only after
their sha256 was checked (:func:`core.serving.model.load_model`), and loaded from memory, so the
graph cannot name files beside it (ONNX "external data") for onnxruntime to read.

onnxruntime is imported here only, and this module only when a model directory says
``"model_format": "onnx"``: the serving package still runs without it for pickled models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.serving.errors import ModelDirError
from core.serving.frames import NUMERIC_TYPES

if TYPE_CHECKING:
    from core.serving.model import InputColumn

#: The text a missing value of a text feature is fed as (scikit-learn's encoders see ``None``).
#: A client's own text equal to it is fed as :data:`ESCAPED_TEXT`, an unseen category.
MISSING_TEXT = "\x00"
ESCAPED_TEXT = "\x00\x00"
LABEL, PROBABILITIES, PREDICTION = "label", "probabilities", "prediction"


def input_name(position: int) -> str:
    """The graph input of the feature at ``position`` in ``io_schema.inputs``."""
    return f"x{position}"


class OnnxPipeline:
    """An onnxruntime session that answers like the scikit-learn pipeline it was made from."""

    def __init__(self, session: Any, inputs: Sequence[InputColumn], task: str, classes: Any):
        self._session = session
        self._inputs = tuple(inputs)
        self._task = task
        outputs = {output.name for output in session.get_outputs()}
        self._outputs = [LABEL, PROBABILITIES] if PROBABILITIES in outputs else [LABEL]
        if task == "regression":
            self._outputs = [PREDICTION]
        self.classes_ = np.asarray(classes if classes is not None else [])

    @property
    def has_proba(self) -> bool:
        return PROBABILITIES in self._outputs

    def feeds(self, frame: Any) -> dict[str, np.ndarray]:
        """The graph's inputs for a frame built by :func:`core.serving.frames.model_frame`."""
        feeds = {}
        for position, column in enumerate(self._inputs):
            values = frame[column.name].to_numpy()
            if column.type in NUMERIC_TYPES:
                array = np.asarray(values, dtype=np.float64).reshape(-1, 1)
            else:
                array = np.array([_text(value) for value in values], dtype=object).reshape(-1, 1)
            feeds[input_name(position)] = array
        return feeds

    def predict_both(self, frame: Any, want_proba: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions and, when wanted and the model has them, class probabilities."""
        names = self._outputs if want_proba else self._outputs[:1]
        results = self._session.run(names, self.feeds(frame))
        predicted = np.asarray(results[0])
        if self._task == "regression":
            return predicted.reshape(-1).astype(np.float64), None
        proba = np.asarray(results[1], dtype=np.float64) if len(results) > 1 else None
        return predicted.reshape(-1), proba

    def predict(self, frame: Any) -> np.ndarray:
        return self.predict_both(frame, want_proba=False)[0]

    def predict_proba(self, frame: Any) -> np.ndarray:
        if not self.has_proba:
            raise AttributeError("this model has no class probabilities")
        proba = self.predict_both(frame, want_proba=True)[1]
        assert proba is not None
        return proba


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return MISSING_TEXT
    text = str(value)
    return ESCAPED_TEXT if text == MISSING_TEXT else text


def load_onnx(
    data: bytes, inputs: Sequence[InputColumn], task: str, classes: Any, path: Path
) -> OnnxPipeline:
    """An :class:`OnnxPipeline` of checked ``model.onnx`` bytes; :class:`ModelDirError` when
    onnxruntime is missing, refuses the graph, or the graph does not fit the input schema."""
    try:
        import onnxruntime
    except ImportError:
        raise ModelDirError(
            f"{path} is an ONNX model and onnxruntime is not installed: "
            "pip install onnxruntime (the bundle's requirements.txt names it)"
        ) from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one request, one thread: workers scale, not threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own types for a refused graph
        raise ModelDirError(f"{path} cannot be loaded by onnxruntime: {exc}") from None
    _check_signature(session, inputs, task, path)
    return OnnxPipeline(session, inputs, task, classes)


def _check_signature(session: Any, inputs: Sequence[InputColumn], task: str, path: Path) -> None:
    expected = [
        (input_name(i), "tensor(double)" if c.type in NUMERIC_TYPES else "tensor(string)")
        for i, c in enumerate(inputs)
    ]
    found = [(item.name, item.type) for item in session.get_inputs()]
    if found != expected:
        raise ModelDirError(
            f"{path}: the graph's inputs {found} do not match model.json's input schema "
            f"{expected}; export the bundle again"
        )
    outputs = {item.name for item in session.get_outputs()}
    needed = {PREDICTION} if task == "regression" else {LABEL}
    if not needed <= outputs:
        raise ModelDirError(
            f"{path}: the graph has no {sorted(needed - outputs)[0]!r} output; export it again"
        )
