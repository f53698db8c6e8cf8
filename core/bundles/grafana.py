"""A Grafana dashboard of a served version, on the metrics its server exports.

Every query names only families ``GET /metrics`` exports (:data:`QUERIES` lists them, and a test
scrapes a live server and parses every query against what it found). Request, latency and error
families have no ``model`` label (a server serves one model at a time), so they are joined with
``shipway_model_info{model="$model"}`` on the scrape target (``instance``, ``job``): the panels
show the servers of this model, however many replicas and versions run.

Panels: requests per second by status, latency percentiles (p50, p95, p99 of ``/predict``),
errors per second by code, the prediction mix (classes per second; predicted rows per second
for a regressor), the drift score (PSI) per feature with the warning and drift thresholds, the
live metric, the version serving, and the servers' CPU and memory.
"""

from __future__ import annotations

import json
from typing import Any

from core.bundles.handoff import HandoffFacts

RATE = "$__rate_interval"
ON_MODEL = '* on(instance, job) group_left() shipway_model_info{model="$model"}'


def _of_model(expression: str) -> str:
    return f"({expression} {ON_MODEL})"


def queries(facts: HandoffFacts) -> dict[str, list[tuple[str, str]]]:
    """Panel title -> [(legend, PromQL)], with Grafana's ``$model`` and ``$__rate_interval``."""
    predict = 'route="/predict"'
    requests = f"rate(shipway_http_requests_total{{{predict}}}[{RATE}])"
    buckets = f"rate(shipway_http_request_duration_seconds_bucket{{{predict}}}[{RATE}])"
    errors = f"rate(shipway_http_errors_total{{{predict}}}[{RATE}])"
    latency = [
        (f"p{q}", f"histogram_quantile(0.{q}, sum by (le) {_of_model(buckets)})")
        for q in ("50", "95", "99")
    ]
    if facts.task == "classification":
        mix = [
            (
                "{{class}}",
                f'sum by (class) (rate(shipway_predictions_total{{model="$model"}}[{RATE}]))',
            )
        ]
    else:
        mix = [("rows", f'sum(rate(shipway_predicted_rows_total{{model="$model"}}[{RATE}]))')]
    return {
        "Requests per second (/predict)": [
            ("{{status}}", f"sum by (status) {_of_model(requests)}")
        ],
        "Latency of /predict (seconds)": latency,
        "Errors per second by code (/predict)": [
            ("{{code}}", f"sum by (code) {_of_model(errors)}")
        ],
        "Prediction mix": mix,
        "Drift per feature (PSI of the latest requests)": [
            ("{{feature}}", 'max by (feature) (shipway_feature_drift_psi{model="$model"})')
        ],
        f"Live {facts.metric}": [
            ("{{metric}}", 'avg by (metric) (shipway_live_metric{model="$model"})')
        ],
        "Version serving": [
            ("v{{version}}", 'sum by (version) (shipway_model_info{model="$model"})')
        ],
        "CPU (cores)": [("{{instance}}", _of_model(f"rate(process_cpu_seconds_total[{RATE}])"))],
        "Memory (resident bytes)": [("{{instance}}", _of_model("process_resident_memory_bytes"))],
    }


_UNITS = {
    "Latency of /predict (seconds)": "s",
    "Requests per second (/predict)": "reqps",
    "Errors per second by code (/predict)": "reqps",
    "Memory (resident bytes)": "bytes",
}


def _panel(index: int, title: str, targets: list[tuple[str, str]], facts: HandoffFacts) -> dict:
    panel: dict[str, Any] = {
        "id": index + 1,
        "type": "stat" if title == "Version serving" else "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, (legend, expr) in enumerate(targets)
        ],
        "fieldConfig": {"defaults": {"unit": _UNITS.get(title, "short")}, "overrides": []},
        "options": {},
    }
    if title.startswith("Drift"):
        panel["fieldConfig"]["defaults"]["thresholds"] = {
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": None},
                {"color": "orange", "value": 0.1},
                {"color": "red", "value": facts.psi_drift},
            ],
        }
        panel["fieldConfig"]["defaults"]["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return panel


def dashboard(facts: HandoffFacts) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (import it, pick the Prometheus data source)."""
    panels = [
        _panel(i, title, targets, facts)
        for i, (title, targets) in enumerate(queries(facts).items())
    ]
    return {
        "title": f"Shipway: {facts.name}",
        "uid": f"shipway-{facts.slug}"[:40],
        "description": f"{facts.name}@{facts.version} served by Shipway ({facts.task}).",
        "tags": ["shipway", facts.slug],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "utc",
        "panels": panels,
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "model",
                    "label": "Model",
                    "type": "custom",
                    "query": facts.name,
                    "current": {"text": facts.name, "value": facts.name},
                    "options": [{"text": facts.name, "value": facts.name, "selected": True}],
                },
            ]
        },
        "annotations": {"list": []},
    }


def dashboard_bytes(facts: HandoffFacts) -> bytes:
    return (json.dumps(dashboard(facts), indent=2, sort_keys=True) + "\n").encode()
