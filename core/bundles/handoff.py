"""What the hand-off artefacts are generated from: one version's facts, measured where unknown.

:class:`HandoffFacts` holds everything the Kubernetes manifests, the Grafana dashboard and the
Prometheus rules need: names, task, features and classes from the version's metadata; the
single-row predict latency (the p95 its training run measured, or, when that is unknown or the
bundle serves an ONNX graph, a measurement taken at export through the serving code); the size
of the model in memory; the latency gate of ``production`` and the drift threshold of the
project. A bundle keeps them in its manifest (``handoff``), so ``shipway k8s BUNDLE`` makes the
same files from the bundle alone.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.entities import ModelVersion
from core.errors import InvalidInput
from core.project import Project

LATENCY_CALLS = 30
MAX_NAME = 50  # a Service name is at most 63 characters; the suffixes need the rest


@dataclass(frozen=True)
class HandoffFacts:
    """The facts of one served version that its hand-off files are made from."""

    name: str
    version: int
    task: str
    features: tuple[str, ...]
    classes: tuple[str, ...]
    model_format: str  # "joblib" | "onnx"
    python: str  # "3.11"
    latency_p95_ms: float
    latency_source: str  # "training run 12" | "measured at export"
    model_bytes: int
    gate_p95_ms: float | None
    psi_drift: float
    metric: str  # the live metric /metrics reports: "accuracy" | "mae"

    @property
    def slug(self) -> str:
        """A name Kubernetes accepts for every object (DNS-1035: a letter first)."""
        text = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "model"
        text = text if text[0].isalpha() else f"m-{text}"
        return text[:MAX_NAME].rstrip("-")

    @property
    def image(self) -> str:
        """The image the bundle's Dockerfile builds, by default."""
        return f"{self.slug}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"], data["classes"] = list(self.features), list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> HandoffFacts:
        """Facts read back from a bundle's manifest; wrong or missing ones are refused."""
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            raise InvalidInput(
                "the bundle's manifest has no hand-off facts, or not these ones",
                where=where,
                hint="export the bundle again with this Shipway, or name the version (M@V)",
            )
        try:
            values = dict(data)
            values["features"] = tuple(str(f) for f in data["features"])
            values["classes"] = tuple(str(c) for c in data["classes"])
            values["version"] = int(data["version"])
            values["latency_p95_ms"] = float(data["latency_p95_ms"])
            values["model_bytes"] = int(data["model_bytes"])
            values["psi_drift"] = float(data["psi_drift"])
            gate = data["gate_p95_ms"]
            values["gate_p95_ms"] = None if gate is None else float(gate)
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(
                f"the bundle's hand-off facts are malformed: {exc}", where=where
            ) from None


def facts_for(
    project: Project,
    version: ModelVersion,
    model_dir: Path,
    model_format: str,
    rows: Callable[[], pd.DataFrame],
) -> HandoffFacts:
    """The facts of ``version`` served from ``model_dir``; ``rows()`` gives model input rows to
    time single-row predictions on, when the training run's figure does not apply (an ONNX
    graph, or a run that recorded none): the model is then loaded and timed here."""
    from core.serving.model import load_model

    p95, source = _run_latency(project, version) if model_format == "joblib" else (None, "")
    if p95 is None:
        p95, source = measure_latency(load_model(model_dir), rows()), "measured at export"
    classes = tuple(str(c) for c in version.io_schema.get("output", {}).get("classes", []))
    return HandoffFacts(
        name=version.model,
        version=version.version,
        task=version.task,
        features=tuple(version.features),
        classes=classes if version.task == "classification" else (),
        model_format=model_format,
        python=trained_python(version),
        latency_p95_ms=round(float(p95), 3),
        latency_source=source,
        model_bytes=model_size(model_dir, model_format),
        gate_p95_ms=_gate_p95(project),
        psi_drift=_psi_drift(project),
        metric="accuracy" if version.task == "classification" else "mae",
    )


def _run_latency(project: Project, version: ModelVersion) -> tuple[float | None, str]:
    try:
        value = project.runs.get(version.run_id).timings.get("predict_p95_ms")
    except Exception:  # the run may be gone (an imported project): measure instead
        return None, ""
    if isinstance(value, int | float) and np.isfinite(value) and value > 0:
        return float(value), f"training run {version.run_id}"
    return None, ""


def measure_latency(model: Any, rows: pd.DataFrame, calls: int = LATENCY_CALLS) -> float:
    """Single-row predict p95 in milliseconds through the serving code (after one warm-up)."""
    from core.serving.scoring import predict
    from core.serving.validation import ModelInput

    if rows.empty:
        raise InvalidInput("no rows to time the model on", where=model.label)
    one = [rows.iloc[[i % len(rows)]] for i in range(calls + 1)]
    predict(model, ModelInput(frame=one[0], rows=1))
    timings = []
    for frame in one[1:]:
        mark = time.perf_counter()
        predict(model, ModelInput(frame=frame, rows=1))
        timings.append((time.perf_counter() - mark) * 1000.0)
    return float(np.percentile(timings, 95))


def model_size(model_dir: Path, model_format: str) -> int:
    """The model's size in memory, approximately: the length of its pickle (the stored file
    is a zlib stream of it), or of the ONNX graph."""
    from core.serving.model import MODEL_FILES

    data = (model_dir / MODEL_FILES[model_format]).read_bytes()
    if model_format == "onnx":
        return len(data)
    try:
        return len(zlib.decompress(data))
    except zlib.error:  # not compressed
        return len(data)


def trained_python(version: ModelVersion) -> str:
    """``3.X``, the Python the version was trained with (3.11 when unknown)."""
    found = re.match(r"^(\d+)\.(\d+)", str(version.environment.get("python", "")))
    return f"{found.group(1)}.{found.group(2)}" if found else "3.11"


def _gate_p95(project: Project) -> float | None:
    from core.config import load_settings
    from core.registry.gate_config import load_gates

    gates = load_gates(project.root, load_settings(project.root).raw, "production")
    return gates.max_latency_p95_ms


def _psi_drift(project: Project) -> float:
    from core.monitoring.config import current_drift_config

    return float(current_drift_config(project.root).psi_drift)
