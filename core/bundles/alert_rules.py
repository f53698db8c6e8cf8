"""Prometheus alerting rules of a served version, on the metrics its server exports.

One group, ``shipway-<name>``, every expression naming only families ``GET /metrics`` exports
(joined with ``shipway_model_info{model=...}`` where a family has no ``model`` label):

- ``ShipwayServerErrors``: more than 1% of ``/predict`` answers are 5xx, for 5 minutes;
- ``ShipwayRefusedRequests``: more than 20% are refused (4xx: clients sending what the model's
  schema does not accept), for 15 minutes;
- ``ShipwayLatencyOverGate``: the p95 of ``/predict`` is over the ``max_latency_p95_ms`` gate of
  ``production``, for 10 minutes (without that gate: five times the p95 measured for the
  version, at least 50 ms; the rule's annotation says which);
- ``ShipwayFeatureDrift``: a feature's PSI over the latest requests reaches the project's
  ``[drift] psi_drift`` (0.2 unless set) with at least 100 rows in the window, for 15 minutes;
- ``ShipwayDriftScoringStopped`` and ``ShipwayPredictionLogWriterDown``: a server's drift
  thread or log writer is not running;
- ``ShipwayMemoryNearLimit``: a server's resident memory is over 90% of the manifests' limit;
- ``ShipwayModelAbsent``: no server of the model has been scraped for 10 minutes.

The file passes ``promtool check rules``.
"""

from __future__ import annotations

from typing import Any

from core.bundles import yaml_text
from core.bundles.handoff import HandoffFacts
from core.bundles.k8s import memory_limit_bytes
from core.serving.metrics import escape

MIN_DRIFT_ROWS = 100


def latency_budget(facts: HandoffFacts) -> tuple[float, str]:
    """The p95 budget in seconds, and where it comes from."""
    if facts.gate_p95_ms is not None:
        return (
            facts.gate_p95_ms / 1000,
            f"the production gate's max_latency_p95_ms = {facts.gate_p95_ms:g} ms",
        )
    budget = max(50.0, 5 * facts.latency_p95_ms)
    why = (
        f"no production latency gate: five times the measured p95 "
        f"({facts.latency_p95_ms:g} ms, {facts.latency_source}), at least 50 ms"
    )
    return budget / 1000, why


def _expressions(facts: HandoffFacts) -> dict[str, str]:
    """Each alert's PromQL expression."""
    model = f'model="{escape(facts.name)}"'
    info = f"shipway_model_info{{{model}}}"
    on = f"on(instance, job) group_left() {info}"
    requests = 'rate(shipway_http_requests_total{route="/predict"%s}[5m])'
    total = f"sum({requests % ''} * {on})"
    server_errors = requests % ',status=~"5.."'
    client_errors = requests % ',status=~"4.."'
    buckets = 'rate(shipway_http_request_duration_seconds_bucket{route="/predict"}[5m])'
    psi = f"max by (feature) (shipway_feature_drift_psi{{{model}}})"
    rows = f"sum(shipway_drift_window_rows{{{model}}})"
    limit = 0.9 * memory_limit_bytes(facts)
    return {
        "ShipwayServerErrors": f"sum({server_errors} * {on}) / {total} > 0.01",
        "ShipwayRefusedRequests": f"sum({client_errors} * {on}) / {total} > 0.2",
        "ShipwayLatencyOverGate": f"histogram_quantile(0.95, sum by (le) ({buckets} * {on}))"
        f" > {latency_budget(facts)[0]:g}",
        "ShipwayFeatureDrift": f"{psi} >= {facts.psi_drift:g} and on() {rows} >= {MIN_DRIFT_ROWS}",
        "ShipwayDriftScoringStopped": "min by (instance, job) "
        f"(shipway_drift_worker_up * {on}) < 1",
        "ShipwayPredictionLogWriterDown": "min by (instance, job) "
        f"(shipway_prediction_log_writer_up * {on}) < 1",
        "ShipwayMemoryNearLimit": f"(process_resident_memory_bytes * {on}) > {limit:.0f}",
        "ShipwayModelAbsent": f"absent({info})",
    }


def _texts(facts: HandoffFacts) -> dict[str, tuple[str, str, str, str]]:
    """Each alert's wait, severity, summary and description."""
    name, on_instance = facts.name, "{{ $labels.instance }}"
    budget, why = latency_budget(facts)
    return {
        "ShipwayServerErrors": ("5m", "critical", f"{name}: over 1% of predictions fail (5xx)",
            "The server answered more than 1% of /predict requests with a 5xx status over 5 "
            "minutes: read its log (server.log, or the pod's output) for the request ids."),
        "ShipwayRefusedRequests": ("15m", "warning",
            f"{name}: over 20% of requests are refused (4xx)",
            "Clients send what the model's input schema does not accept: see "
            "shipway_http_errors_total by code, and GET /metadata for the schema."),
        "ShipwayLatencyOverGate": ("10m", "warning",
            f"{name}: p95 latency of /predict over {budget * 1000:g} ms", f"The budget is {why}."),
        "ShipwayFeatureDrift": ("15m", "warning",
            f"{name}: feature {{{{ $labels.feature }}}} drifted "
            '(PSI {{ $value | printf "%.2f" }})',
            f"The latest requests differ from the training rows (PSI >= {facts.psi_drift:g}): "
            "run `shipway drift` on the deployment, and consider retraining."),
        "ShipwayDriftScoringStopped": ("5m", "warning",
            f"{name}: drift scoring stopped on {on_instance}",
            "GET /health names the error (drift.last_error)."),
        "ShipwayPredictionLogWriterDown": ("5m", "critical",
            f"{name}: the prediction log is not written on {on_instance}",
            "GET /health names the error (prediction_log.last_error)."),
        "ShipwayMemoryNearLimit": ("10m", "warning",
            f"{name}: memory near the limit on {on_instance}",
            "Resident memory is over 90% of the manifests' limit: raise the limit, or serve a "
            "smaller model."),
        "ShipwayModelAbsent": ("10m", "critical", f"{name}: no server of the model is scraped",
            "No target exports shipway_model_info for this model: are its pods running, and "
            "does the scrape job send the serving token?"),
    }  # fmt: skip


def rules(facts: HandoffFacts) -> dict[str, Any]:
    """The rules file as data (``groups``)."""
    texts = _texts(facts)
    alerts = [_alert(name, expr, *texts[name]) for name, expr in _expressions(facts).items()]
    return {"groups": [{"name": f"shipway-{facts.slug}", "rules": alerts}]}


def _alert(
    name: str, expr: str, wait: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def rules_bytes(facts: HandoffFacts) -> bytes:
    comment = (
        f"Prometheus alerting rules of {facts.name}@{facts.version}, made by Shipway.\n"
        "Check them with: promtool check rules alert-rules.yaml"
    )
    return yaml_text.dump(rules(facts), comment).encode()
