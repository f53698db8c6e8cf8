"""The drift check of a scored version: its rows against the model's training rows, like live
traffic.

Live traffic is compared a window at a time (``[drift] window`` rows, 10,000 by default); a
scored version is compared the same way, on a uniform sample of that many of its rows (kept
while they were written, :class:`core.scoring.output.Sample`), with the predictions it stored
(nothing is predicted again). The sample is read as a log window is (:func:`from_log`), so the
tests, thresholds and report are the ones ``shipway drift`` gives; when the target column was
kept, its values are the actual ones and the live metrics come with it. For a comparison of
every row, ``shipway drift M@V --dataset OUT`` reads the whole version.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from core.entities import ModelVersion
from core.progress import CancelToken, ProgressFn
from core.project import Project
from core.scoring.coerce import features_frame
from core.scoring.spec import PREDICTION, ScorerSpec


def sample_columns(spec: ScorerSpec, target: str) -> list[str]:
    """The columns the drift check needs from each written chunk."""
    wanted = [*spec.features, PREDICTION]
    return wanted + ([target] if target in spec.keep and target not in wanted else [])


def check(
    project: Project,
    version: ModelVersion,
    spec: ScorerSpec,
    sample: pa.Table,
    config: Any,
    source: str,
    progress: ProgressFn,
    cancel: CancelToken,
) -> Any:
    """The :class:`core.monitoring.results.DriftReport` of ``sample`` against ``version``."""
    from core.monitoring.buckets import live_of
    from core.monitoring.engine import compare
    from core.monitoring.reference_store import load_reference
    from core.monitoring.sources import from_log

    _, reference = load_reference(project, version, progress, cancel)
    frame = features_frame(spec, sample)
    frame[PREDICTION] = sample.column(PREDICTION).to_pandas()
    if version.target in sample.column_names and version.target not in spec.schema:
        frame["actual"] = sample.column(version.target).to_pandas()
    current = from_log(frame, version, source)
    live = live_of(frame, version) if "actual" in frame.columns else None
    return compare(
        reference,
        current,
        config,
        model=version.model,
        version=version.version,
        live=live,
        cancel=cancel,
    )
