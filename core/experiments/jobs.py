"""The messages between the caller and a worker: a job in, a result out.

Kept free of heavy imports so that starting a worker does not wait for scikit-learn to load in
the calling process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.experiments.spec import RunSpec


@dataclass(frozen=True)
class RunJob:
    """What a worker needs: the spec, where the data blob is, and where models go."""

    run_id: int
    spec: RunSpec
    schema: dict[str, str]
    data_path: str
    data_sha256: str
    objects_root: str | None = None  # None: return the model's bytes instead of storing them
    threads: int | None = None  # native thread limit; None: the executor's share of the cores
    prune: dict[str, Any] | None = None  # a Bayesian trial: where to report folds (.bayes)


@dataclass(frozen=True)
class RunResult:
    run_id: int
    ok: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    validation_metrics: dict[str, Any] = field(default_factory=dict)
    cv: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, Any] = field(default_factory=dict)
    io_schema: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    model_sha256: str | None = None
    model_size: int = 0
    model_bytes: bytes | None = None
    error: str | None = None
    error_code: str | None = None
    traceback: str | None = None
    log: list[str] = field(default_factory=list)
