"""Drift of the latest requests, per feature, scored off the request path for ``/metrics``.

A request only appends its model input to a window (a reference to the frame, under a lock:
microseconds). A thread of its own, ``shipway-drift``, at most every :data:`EVERY_S` seconds
counts the window's last :data:`WINDOW_ROWS` rows into the bins of the model's drift reference
(``reference.bin`` in the model directory: the statistics Shipway's drift monitoring computed
from the training rows). ``/metrics`` then reports, per feature, the population stability index
(PSI) of those rows against the training rows, computed as ``shipway drift`` computes it
(:mod:`core.monitoring`): quantile bins (or the values themselves, for at most 20 distinct
ones) for numbers, categories (unseen ones each a bin of their own) for text, missing values
left out, Evidently's smoothing of empty bins. A server of several workers adds its workers'
counts before computing the index, so the window is the last rows of each worker.

The thread never stops the server: a scoring that fails is counted and logged and the next one
runs; a thread that ends all the same empties the window (what killed it may be in there) and
is started again by the next ``/health`` or ``/metrics`` (at most five times a minute, counted),
and ``/health`` says ``degraded`` when it cannot be.
A model without a reference (or a server started without one) reports no drift, and says so in
``/health``.

With a prediction log the same thread also reads the live metric (:mod:`core.serving.
live_metric`) every few seconds, so feedback shows in ``/metrics`` without a new prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import numpy as np
import pandas as pd

from core.serving.drift_reference import Bins, load_bins
from core.serving.live_metric import live_metric
from core.serving.metrics import family, labels
from core.serving.model import LoadedModel
from core.serving.processes import name_os_thread
from core.serving.restarts import RestartingThread, error_text
from core.serving.slot import ModelSlot

WINDOW_ROWS = 1000
EVERY_S = 5.0
THREAD = "shipway-drift"
log = logging.getLogger("shipway.serving")


class DriftWindow(RestartingThread):
    """The window of one worker, its scoring thread, and the drift families of ``/metrics``."""

    THREAD = THREAD
    ROLE = "drift scoring thread"

    def __init__(
        self,
        slot: ModelSlot,
        log_dir: str | None = None,
        rows: int = WINDOW_ROWS,
        every: float = EVERY_S,
    ) -> None:
        self.slot, self.log_dir = slot, log_dir
        self.rows, self.every = rows, every
        self._lock = threading.Lock()
        self._frames: deque[pd.DataFrame] = deque()
        self._held = 0
        self._model: LoadedModel | None = None
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._bins: list[Bins] | None = None
        self._binned_for: str | None = None  # the model sha the bins belong to
        self._state: dict[str, Any] = {}
        self.computed_at: float | None = None
        self.errors = 0
        self._init_thread()

    def observe(self, model: LoadedModel, frame: pd.DataFrame) -> None:
        """Add a predicted request's model input (the request path: no work but an append)."""
        with self._lock:
            if self._model is None or self._model.sha256 != model.sha256:
                self._model, self._held = model, 0
                self._frames.clear()
            tail = frame if len(frame) <= self.rows else frame.iloc[-self.rows :]
            self._frames.append(tail)
            self._held += len(tail)
            while self._frames and self._held - len(self._frames[0]) >= self.rows:
                self._held -= len(self._frames.popleft())
        self._changed.set()

    def _run(self) -> None:
        name_os_thread(THREAD)
        try:
            while not self._stop.is_set():
                woke = self._changed.wait(self.every if self.log_dir else 1.0)
                if self._stop.is_set():
                    break
                if woke or self.log_dir:
                    self._changed.clear()
                    self._score_once()
                    self._stop.wait(self.every)
        except BaseException as exc:  # shown by status(); the next /health starts another
            self.last_error = error_text(exc)
            with self._lock:  # what killed it may be in the window: the next one starts empty
                self._frames.clear()
                self._held = 0
            log.error("drift scoring thread failed: %s", self.last_error)
            if not isinstance(exc, Exception):
                raise

    def _score_once(self) -> None:
        try:
            self._state = self.score()
            self.computed_at = time.monotonic()
        except Exception as exc:  # a scoring that fails is counted; the next one runs
            self.errors += 1
            self.last_error = error_text(exc)
            log.warning("drift scoring failed: %s", self.last_error)

    def score(self) -> dict[str, Any]:
        """Count the window into the reference's bins, and read the live metric (what the
        thread does)."""
        with self._lock:
            model, frames = self._model, list(self._frames)
        current = self.slot.current()
        if model is None or model.sha256 != current.sha256:
            model, frames = current, []
        state: dict[str, Any] = {"sha256": model.sha256, "rows": 0, "features": {}}
        if self.log_dir:
            state["live"] = live_metric(self.log_dir, model.name, model.version, model.task)
        if self._binned_for != model.sha256:
            self._bins, self._binned_for = load_bins(model), model.sha256
        if self._bins is None or not frames:
            return state
        window = pd.concat(frames, ignore_index=True).iloc[-self.rows :]
        state["features"] = {
            bins.name: bins.count(window[bins.name]) for bins in self._bins if bins.name in window
        }
        state["rows"] = len(window)
        return state

    ensure_thread = RestartingThread.ensure_running

    def _restarted(self) -> None:
        self._changed.set()

    def status(self) -> dict[str, Any]:
        """What ``/health`` shows (the thread is started again first when it ended)."""
        running = self.ensure_thread()
        state = self._state
        age = None if self.computed_at is None else round(time.monotonic() - self.computed_at, 1)
        return {
            "thread": "running" if running else "stopped",
            "window_rows": int(state.get("rows", 0)),
            "reference": self._bins is not None if self._binned_for else None,
            "scored_seconds_ago": age,
            "restarts": self.restarts,
            "errors": self.errors,
            "last_error": self.last_error,
        }

    def problems(self, status: dict[str, Any]) -> list[str]:
        if status["thread"] != "running":
            return ["the drift scoring thread is not running: " + (self.last_error or "?")]
        return []

    # -- the metrics section ----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self._state

    def render(self, states: list[Any], model: str, version: int) -> list[str]:
        own = states[0] if states and isinstance(states[0], dict) else {}
        sha = own.get("sha256")
        if not sha:
            return []
        key = labels(("model", "version"), (model, version))
        lines = _live_lines(own.get("live"), model, version)
        if self._bins is None or self._binned_for != sha:
            return lines
        parts = [s for s in states if isinstance(s, dict) and s.get("sha256") == sha]
        rows = sum(int(s.get("rows", 0)) for s in parts)
        lines += family(
            "shipway_drift_window_rows",
            "gauge",
            "Predicted rows in the drift window (summed over workers).",
            [(key, rows)],
        )
        samples = []
        for bins in self._bins:
            found = [s["features"][bins.name] for s in parts if bins.name in s["features"]]
            value = bins.psi(found) if found else None
            if value is not None and np.isfinite(value):
                names = ("model", "version", "feature")
                samples.append((labels(names, (model, version, bins.name)), value))
        lines += family(
            "shipway_feature_drift_psi",
            "gauge",
            "Population stability index of each feature over the drift window "
            "against the training rows.",
            samples,
        )
        return lines

    def close(self) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(5)


def _live_lines(live: dict[str, Any] | None, model: str, version: int) -> list[str]:
    if not live:
        return []
    key = labels(("model", "version", "metric"), (model, version, live["metric"]))
    lines = family(
        "shipway_live_metric",
        "gauge",
        "The model's metric on the latest predictions whose truth came back "
        "(accuracy, or mean absolute error).",
        [(key, live["value"])],
    )
    lines += family(
        "shipway_live_labelled_rows",
        "gauge",
        "Predicted rows with feedback that the live metric is computed on.",
        [(labels(("model", "version"), (model, version)), live["rows"])],
    )
    return lines
