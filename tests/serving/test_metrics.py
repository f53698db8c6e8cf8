"""GET /metrics is valid Prometheus text and counts what happened."""

from __future__ import annotations

import math
import re

from prometheus_client.parser import text_string_to_metric_families

from core.serving.metrics import Metrics
from tests.serving.helpers import ROW, Client

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"({_NAME})(\{{(?:{_LABEL})(?:,{_LABEL})*\}})? (\S+)")
_VALUE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|Inf|NaN)")


def strict_parse(text: str) -> dict[str, dict[str, float]]:
    """Samples by family, checking the rules prometheus_client's parser lets pass."""
    assert text.endswith("\n") and "\r" not in text
    types: dict[str, str] = {}
    samples: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped")
            assert name not in types, f"family {name} declared twice"
            types[name] = kind
            continue
        match = _SAMPLE.fullmatch(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.group(1), match.group(2) or "", match.group(3)
        assert _VALUE.fullmatch(value), line
        family = next(
            (f for f in types if name in (f, f + "_bucket", f + "_sum", f + "_count")), None
        )
        assert family is not None, f"sample {name} before its TYPE line"
        series = samples.setdefault(family, {})
        assert name + labels not in series, f"duplicate series {name}{labels}"
        series[name + labels] = float(value)
    return samples


def _histogram_ok(series: dict[str, float], route: str) -> None:
    name = "shipway_http_request_duration_seconds"
    buckets = [
        (key, value)
        for key, value in series.items()
        if key.startswith(f'{name}_bucket{{route="{route}"')
    ]
    values = [value for _, value in buckets]
    assert values == sorted(values), "buckets must be cumulative"
    assert buckets[-1][0].endswith('le="+Inf"}')
    assert values[-1] == series[f'{name}_count{{route="{route}"}}']


def test_metrics_are_valid_prometheus_text_and_count_requests(serve, models) -> None:
    server = serve(models["v1"])
    client = Client(server.port)
    for _ in range(3):
        assert (
            client.predict({"records": [ROW, dict(ROW, island="Dream", sex="male")]}).status == 200
        )
    client.predict({"records": []})
    client.call("GET", "/nope")
    reply = client.call("GET", "/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.body.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {"shipway_http_requests", "shipway_http_request_duration_seconds"} <= set(families)
    samples = strict_parse(text)
    requests = samples["shipway_http_requests_total"]
    assert requests['shipway_http_requests_total{route="/predict",method="POST",status="200"}'] == 3
    assert requests['shipway_http_requests_total{route="/predict",method="POST",status="422"}'] == 1
    assert requests['shipway_http_requests_total{route="unmatched",method="GET",status="404"}'] == 1
    errors = samples["shipway_http_errors_total"]
    assert errors['shipway_http_errors_total{route="/predict",code="schema_mismatch"}'] == 1
    _histogram_ok(samples["shipway_http_request_duration_seconds"], "/predict")
    by_class = samples["shipway_predictions_total"]
    assert sum(by_class.values()) == 6
    assert all(
        key.startswith('shipway_predictions_total{model="penguins",version="1",class="')
        for key in by_class
    )
    assert samples["shipway_prediction_log_dropped_total"] == {
        "shipway_prediction_log_dropped_total": 0
    }
    assert samples["shipway_model_info"] == {'shipway_model_info{model="penguins",version="1"}': 1}


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.observe_predictions('we"ird\\', 1, ['a"b', "c\nd", "e\\f"], "classification")
    metrics.observe_request("/predict", "POST", 200, 0.003, None)
    text = metrics.render("m", 1)
    samples = strict_parse(text)
    assert len(samples["shipway_predictions_total"]) == 3
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    labels = {s.labels["class"] for s in parsed["shipway_predictions"].samples}
    assert labels == {'a"b', "c\nd", "e\\f"}
    hist = samples["shipway_http_request_duration_seconds"]
    assert math.isclose(hist['shipway_http_request_duration_seconds_sum{route="/predict"}'], 0.003)


def test_contract_violations_are_summed_over_the_workers() -> None:
    """Each worker counts the rows it answered; the worker answering /metrics shows the sum of
    its own counts and its live siblings' published states (core.serving.shared_metrics)."""
    from core.serving.contract import Counts, Violation

    def violation(rule: str, rows: int) -> Violation:
        return Violation(rule=rule, field=rule.split(".")[0], rows=rows, examples=(0,), message="")

    answering, sibling = Counts(), Counts()
    answering.add("pen", 1, [violation("body_mass_g.max", 2)])
    sibling.add("pen", 1, [violation("body_mass_g.max", 3), violation('is"land.categories', 1)])
    metrics = Metrics()
    metrics.sections["contract"] = answering
    published = Metrics()
    published.sections["contract"] = sibling
    text = metrics.render("pen", 1, [published.state()])
    samples = strict_parse(text)["shipway_contract_violations_total"]
    assert samples == {
        'shipway_contract_violations_total{model="pen",version="1",rule="body_mass_g.max"}': 5,
        'shipway_contract_violations_total{model="pen",version="1",rule="is\\"land.categories"}': 1,
    }
