"""Counters and a latency histogram, rendered in the Prometheus text format (version 0.0.4).

Hand-written so the package needs no client library: a few dictionaries under one lock, cheap to
update on the request path. Routes are the matched URL rules (``/predict``), never raw paths, so a
client sending junk paths cannot grow the label set.

A server of several worker processes answers ``/metrics`` from any one of them, so each worker
can publish its :meth:`Metrics.state` (plain JSON) and the one answering adds its siblings'
states to its own (:func:`merge`): counters and histograms are sums, and so are the gauges (a
queue depth per worker).

A :class:`Section` renders families that are not plain sums: the process's CPU and memory
(:mod:`core.serving.process_metrics`) and the drift of the latest requests
(:mod:`core.serving.drift_window`). Each section's state travels with the worker's state, and
the section renders its own state together with its siblings' (``None`` when it has none).
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
State = dict[str, Any]


class Section(Protocol):
    """Families rendered from this worker's state and its siblings'."""

    def state(self) -> Any:
        """This worker's part, as plain JSON."""

    def render(self, states: list[Any], model: str, version: int) -> list[str]:
        """Exposition lines from this worker's state (first) and its live siblings'."""


def escape(value: object) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    text = str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Iterable[str], values: Iterable[object]) -> str:
    pairs = [f'{name}="{escape(value)}"' for name, value in zip(names, values, strict=True)]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{int(value)}.0"


class Metrics:
    """What ``GET /metrics`` reports. Every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self._errors: dict[tuple[str, str], int] = defaultdict(int)
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = defaultdict(float)
        self._predictions: dict[tuple[str, int, str], int] = defaultdict(int)
        self._rows: dict[tuple[str, int], int] = defaultdict(int)
        self._feedback = 0
        self.gauges: dict[str, Callable[[], float]] = {}
        self.counters: dict[str, Callable[[], float]] = {}
        self.sections: dict[str, Section] = {}

    def observe_request(
        self, route: str, method: str, status: int, seconds: float, code: str | None
    ) -> None:
        with self._lock:
            self._requests[(route, method, status)] += 1
            if code is not None:
                self._errors[(route, code)] += 1
            buckets = self._latency.setdefault(route, [0] * (len(BUCKETS) + 1))
            buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
            self._latency_sum[route] += seconds

    def observe_predictions(self, model: str, version: int, predictions: list, task: str) -> None:
        with self._lock:
            self._rows[(model, version)] += len(predictions)
            if task == "classification":
                for label in predictions:
                    self._predictions[(model, version, str(label))] += 1

    def observe_feedback(self) -> None:
        with self._lock:
            self._feedback += 1

    def state(self) -> State:
        """Everything counted so far, as JSON-able lists (keys first, the count last)."""
        with self._lock:
            return {
                "requests": [[*key, n] for key, n in self._requests.items()],
                "errors": [[*key, n] for key, n in self._errors.items()],
                "latency": {
                    route: [*buckets, self._latency_sum[route]]
                    for route, buckets in self._latency.items()
                },
                "predictions": [[*key, n] for key, n in self._predictions.items()],
                "rows": [[*key, n] for key, n in self._rows.items()],
                "feedback": self._feedback,
                "counters": {name: float(read()) for name, read in self.counters.items()},
                "gauges": {name: float(read()) for name, read in self.gauges.items()},
                "sections": {name: section.state() for name, section in self.sections.items()},
            }

    def render(self, model: str, version: int, others: Iterable[State] = ()) -> str:
        """The whole exposition (this process's counts plus ``others``), ending with a newline."""
        own = self.state()
        others = list(others)
        state = merge([own, *others])
        lines = [
            *_family("shipway_http_requests_total", "counter", "HTTP requests answered.",
                     _samples(state["requests"], ("route", "method", "status"))),
            *_family("shipway_http_errors_total", "counter", "Error answers by code.",
                     _samples(state["errors"], ("route", "code"))),
            *_latency_family(state["latency"]),
            *_family("shipway_predictions_total", "counter", "Predicted rows by class.",
                     _samples(state["predictions"], ("model", "version", "class"))),
            *_family("shipway_predicted_rows_total", "counter", "Predicted rows.",
                     _samples(state["rows"], ("model", "version"))),
            *_family("shipway_feedback_total", "counter", "Feedback received.",
                     [("", state["feedback"])]),
            *_family("shipway_model_info", "gauge", "The model now serving.",
                     [(_labels(("model", "version"), (model, version)), 1)]),
        ]  # fmt: skip
        for kind in ("counters", "gauges"):
            for name, value in sorted(state[kind].items()):
                lines += _family(name, kind[:-1], _HELP.get(name, name), [("", value)])
        for name, section in self.sections.items():
            parts = [own["sections"][name], *(o.get("sections", {}).get(name) for o in others)]
            lines += section.render(parts, model, version)
        return "\n".join(lines) + "\n"


def merge(states: Iterable[State]) -> State:
    """One state whose every count is the sum of ``states``' counts."""
    keyed: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
    latency: dict[str, list[float]] = {}
    totals: dict[str, dict[str, float]] = {
        "counters": defaultdict(float),
        "gauges": defaultdict(float),
    }
    feedback = 0
    for state in states:
        for family in ("requests", "errors", "predictions", "rows"):
            for *key, count in state.get(family, []):
                keyed[family][tuple(key)] += count
        for route, values in state.get("latency", {}).items():
            current = latency.setdefault(route, [0.0] * len(values))
            latency[route] = [a + b for a, b in zip(current, values, strict=True)]
        for kind in ("counters", "gauges"):
            for name, value in state.get(kind, {}).items():
                totals[kind][name] += value
        feedback += state.get("feedback", 0)
    merged: State = {family: [[*k, n] for k, n in keyed[family].items()] for family in
                     ("requests", "errors", "predictions", "rows")}  # fmt: skip
    merged.update(latency=latency, feedback=feedback, **{k: dict(v) for k, v in totals.items()})
    return merged


def _samples(entries: list[list], names: tuple[str, ...]) -> list[tuple[str, float]]:
    rows = sorted((tuple(entry[:-1]), entry[-1]) for entry in entries)
    return [(_labels(names, key), count) for key, count in rows]


def _latency_family(latency: dict[str, list[float]]) -> list[str]:
    name = "shipway_http_request_duration_seconds"
    lines = [f"# HELP {name} Time to answer a request.", f"# TYPE {name} histogram"]
    for route, values in sorted(latency.items()):
        *buckets, seconds = values
        total = 0.0
        for bound, count in zip((*BUCKETS, float("inf")), buckets, strict=True):
            total += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f"{name}_bucket{_labels(('route', 'le'), (route, le))} {_number(total)}")
        lines.append(f"{name}_sum{_labels(('route',), (route,))} {float(seconds)!r}")
        lines.append(f"{name}_count{_labels(('route',), (route,))} {_number(total)}")
    return lines


_HELP = {
    "shipway_prediction_log_dropped_total": "Prediction log entries dropped (queue full).",
    "shipway_prediction_log_written_total": "Prediction log entries written.",
    "shipway_prediction_log_queue_depth": "Prediction log entries waiting to be written.",
    "shipway_prediction_log_queue_bytes": "Bytes of prediction log entries waiting.",
    "shipway_prediction_log_bad_entries_total": "Prediction log entries that could not be "
    "stored (dropped).",
    "shipway_prediction_log_writer_restarts_total": "Times the prediction log writer ended and "
    "was started again.",
    "shipway_prediction_log_writer_up": "Prediction log writers running (one per worker).",
    "shipway_drift_worker_up": "Drift scoring threads running (one per worker).",
    "shipway_drift_worker_restarts_total": "Times the drift scoring thread ended and was "
    "started again.",
    "shipway_drift_errors_total": "Drift scorings that failed (the thread went on).",
}


def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    """The ``# HELP``/``# TYPE`` lines of a family and one line per (labels, value) sample."""
    return _family(name, kind, help_text, samples)


def labels(names: Iterable[str], values: Iterable[object]) -> str:
    """``{name="value",...}`` with the values escaped ("" when there are none)."""
    return _labels(names, values)


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]
    return lines
