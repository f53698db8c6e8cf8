"""Counters and a latency histogram, rendered in the Prometheus text format (version 0.0.4).

Hand-written so the package needs no client library: a few dictionaries under one lock, cheap to
update on the request path. Routes are the matched URL rules (``/predict``), never raw paths, so a
client sending junk paths cannot grow the label set.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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

    def render(self, model: str, version: int) -> str:
        """The whole exposition, ending with a newline."""
        with self._lock:
            lines = [
                *self._family_requests(),
                *self._family_errors(),
                *self._family_latency(),
                *self._family_predictions(),
            ]
            feedback = self._feedback
        lines += _family(
            "shipway_feedback_total", "counter", "Feedback received.", [("", feedback)]
        )
        info = _labels(("model", "version"), (model, version))
        lines += _family("shipway_model_info", "gauge", "The model now serving.", [(info, 1)])
        for name, read in sorted(self.counters.items()):
            lines += _family(name, "counter", _HELP.get(name, name), [("", read())])
        for name, read in sorted(self.gauges.items()):
            lines += _family(name, "gauge", _HELP.get(name, name), [("", read())])
        return "\n".join(lines) + "\n"

    def _family_requests(self) -> list[str]:
        samples = [
            (_labels(("route", "method", "status"), key), count)
            for key, count in sorted(self._requests.items())
        ]
        return _family("shipway_http_requests_total", "counter", "HTTP requests answered.", samples)

    def _family_errors(self) -> list[str]:
        samples = [(_labels(("route", "code"), k), n) for k, n in sorted(self._errors.items())]
        return _family("shipway_http_errors_total", "counter", "Error answers by code.", samples)

    def _family_latency(self) -> list[str]:
        name = "shipway_http_request_duration_seconds"
        lines = [f"# HELP {name} Time to answer a request.", f"# TYPE {name} histogram"]
        for route, buckets in sorted(self._latency.items()):
            total = 0
            for bound, count in zip((*BUCKETS, float("inf")), buckets, strict=True):
                total += count
                le = "+Inf" if bound == float("inf") else repr(bound)
                lines.append(f"{name}_bucket{_labels(('route', 'le'), (route, le))} {total}.0")
            lines.append(f"{name}_sum{_labels(('route',), (route,))} {self._latency_sum[route]!r}")
            lines.append(f"{name}_count{_labels(('route',), (route,))} {total}.0")
        return lines

    def _family_predictions(self) -> list[str]:
        by_class = [
            (_labels(("model", "version", "class"), k), n)
            for k, n in sorted(self._predictions.items())
        ]
        rows = [(_labels(("model", "version"), k), n) for k, n in sorted(self._rows.items())]
        return [
            *_family("shipway_predictions_total", "counter", "Predicted rows by class.", by_class),
            *_family("shipway_predicted_rows_total", "counter", "Predicted rows.", rows),
        ]


_HELP = {
    "shipway_prediction_log_dropped_total": "Prediction log entries dropped (queue full).",
    "shipway_prediction_log_written_total": "Prediction log entries written.",
    "shipway_prediction_log_queue_depth": "Prediction log entries waiting to be written.",
}


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]
    return lines
