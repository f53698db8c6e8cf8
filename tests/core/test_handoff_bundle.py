"""A penguins bundle holds Kubernetes manifests, a Grafana dashboard and Prometheus rules made
from the version's real metadata, each passing the check its users would run (kubernetes-
validate, kustomize, promtool); its server really serves the probes, port and Host names the
manifests name, and every query names a metric a live /metrics exports. The ONNX bundle serves
the same answers without loading a pickle."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import numpy as np
import pandas as pd
import pytest

from core.bundles.handoff import HandoffFacts
from core.errors import InvalidInput
from core.services import TrainRequest, Workspace
from tests.core.handoff_helpers import (
    BundleServer,
    container,
    load_yaml,
    metric_names,
    scraped_names,
    start_bundle,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
SETTINGS = "\n[gates.production]\nmax_latency_p95_ms = 80\n\n[drift]\npsi_drift = 0.25\n"
RESOURCES = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    base = tmp_path_factory.mktemp("handoff")
    with Workspace.create(base / "penguins") as ws:
        with (ws.root / "shipway.toml").open("a", encoding="utf-8") as settings:
            settings.write(SETTINGS)
        ws.data.import_file(PENGUINS)
        request = TrainRequest("penguins", "species", params=["n_estimators=40"])
        ws.lifecycle.register(ws.runs.train(request).result().id, "penguins")
        yield ws, base


@pytest.fixture(scope="module")
def bundles(project) -> dict[str, Path]:
    """The joblib and the ONNX bundle of penguins@1, each exported once and extracted."""
    ws, base = project
    found = {}
    for kind in ("joblib", "onnx"):
        archive = base / f"penguins-{kind}.zip"
        ws.bundles.export("penguins@1", archive, model_format=kind)
        found[kind] = ws.bundles.extract(archive, base / kind)
        found[f"{kind}.zip"] = archive
    return found


@pytest.fixture(scope="module")
def servers(bundles, tmp_path_factory) -> Iterator[dict[str, BundleServer]]:
    """The joblib bundle served as its Deployment runs it."""
    server = start_bundle(bundles["joblib"], tmp_path_factory.mktemp("logs"))
    try:
        yield {"joblib": server}
    finally:
        server.stop()


def records(count: int = 30) -> list[dict]:
    frame = pd.read_csv(PENGUINS).drop(columns="species").sample(count, random_state=11)
    return json.loads(frame.to_json(orient="records"))


def test_the_manifests_validate_and_name_the_measured_resources(bundles) -> None:
    folder = bundles["joblib"] / "k8s"
    version = kubernetes_validate.latest_version()
    for name in RESOURCES:
        kubernetes_validate.validate(load_yaml(folder / name), version, strict=True)
    kustomization = load_yaml(folder / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(RESOURCES)
    assert kustomization["images"] == [{"name": "penguins", "newName": "penguins", "newTag": "1"}]
    if shutil.which("kubectl"):  # kustomize builds it offline
        built = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True,
                               text=True, timeout=120, check=True).stdout  # fmt: skip
        assert built.count("\nkind: ") + built.startswith("kind: ") >= 4
    spec = container(bundles["joblib"])
    facts = HandoffFacts.from_dict(
        json.loads((bundles["joblib"] / "manifest.json").read_text())["handoff"]["facts"], "x"
    )
    assert facts.latency_source == "training run 1" and facts.gate_p95_ms == 80.0
    cpu = max(100, int(np.ceil(facts.latency_p95_ms * 10)))
    assert spec["resources"]["requests"]["cpu"] == f"{cpu}m"
    pod = load_yaml(folder / "deployment.yaml")["spec"]["template"]
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    secret = next(e for e in spec["env"] if e["name"] == "SHIPWAY_SERVING_TOKEN")
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "penguins-serving", "key": "token"}


def test_the_probes_and_port_are_what_the_server_serves(bundles, servers) -> None:
    spec = container(bundles["joblib"])
    port = spec["ports"][0]
    assert port == {"name": "http", "containerPort": 8080, "protocol": "TCP"}
    assert spec["args"][spec["args"].index("--port") + 1] == "8080"
    service = load_yaml(bundles["joblib"] / "k8s" / "service.yaml")["spec"]["ports"][0]
    assert service["targetPort"] == "http"
    server = servers["joblib"]
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = spec[kind]["httpGet"]
        assert probe["port"] == "http"  # the container port: the one serve.py listens on
        status, body = server.get(probe["path"], token=False)  # as the kubelet asks: pod IP
        assert status == 200 and json.loads(body)["status"] == "ok", kind
    for host in ("penguins", "penguins.models.svc", "penguins.models.svc.cluster.local"):
        assert server.get("/metadata", host=host)[0] == 200, host  # through the Service
    assert server.get("/metadata", host="evil.example.org")[0] == 403
    assert server.get("/metadata", token=False)[0] == 401
    memory = spec["resources"]["requests"]["memory"]
    status, text = server.get("/metrics")
    resident = [line for line in text.decode().splitlines()
                if line.startswith("process_resident_memory_bytes ")]  # fmt: skip
    assert float(resident[0].split()[1]) < int(memory.removesuffix("Mi")) * 1024 * 1024


def _exercise(server: BundleServer) -> str:
    """Predictions, one refused request and feedback, then the scrape once drift and the live
    metric are in it."""
    answers = [server.post("/predict", {"records": records()})[1] for _ in range(3)]
    assert server.post("/predict", {"records": [{"island": 3}]})[0] == 422
    for answer in answers:
        feedback = {"request_id": answer["request_id"], "actual": answer["predictions"]}
        assert server.post("/feedback", feedback)[0] in (200, 202)

    def complete() -> str | None:
        text = server.get("/metrics")[1].decode()
        names = scraped_names(text)
        wanted = {"shipway_feature_drift_psi", "shipway_live_metric"}
        return text if wanted <= names and "shipway_feature_drift_psi{" in text else None

    return wait_for(complete)


def test_every_query_and_rule_names_an_exported_metric(bundles, servers, tmp_path) -> None:
    names = scraped_names(_exercise(servers["joblib"]))
    dashboard = json.loads((bundles["joblib"] / "monitoring/grafana-dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    facts = json.loads((bundles["joblib"] / "manifest.json").read_text())["handoff"]["facts"]
    from core.bundles.grafana import dashboard as regression_dashboard

    other = regression_dashboard(HandoffFacts.from_dict({**facts, "task": "regression"}, "x"))
    queries += [t["expr"] for panel in other["panels"] for t in panel["targets"]]
    rules = load_yaml(bundles["joblib"] / "monitoring/alert-rules.yaml")["groups"][0]["rules"]
    expressions = [q.replace("$__rate_interval", "5m").replace("$model", "penguins")
                   for q in queries] + [rule["expr"] for rule in rules]  # fmt: skip
    for expression in expressions:
        used = metric_names(expression)
        assert used and used <= names, (expression, used - names)
    assert {r["alert"] for r in rules} >= {"ShipwayServerErrors", "ShipwayLatencyOverGate",
                                           "ShipwayFeatureDrift"}  # fmt: skip
    latency = next(r for r in rules if r["alert"] == "ShipwayLatencyOverGate")
    assert latency["expr"].endswith("> 0.08")  # the production gate's 80 ms
    drift = next(r for r in rules if r["alert"] == "ShipwayFeatureDrift")
    assert ">= 0.25" in drift["expr"]  # the project's [drift] psi_drift
    _check_with_promtool(bundles["joblib"] / "monitoring/alert-rules.yaml", expressions, tmp_path)


def _check_with_promtool(rules_file: Path, expressions: list[str], tmp_path: Path) -> None:
    """promtool checks the rules file, and every expression's syntax as a recording rule; without
    promtool, the rules file's shape is checked against a schema."""
    promtool = shutil.which("promtool")
    if promtool is None:
        _schema_check(rules_file)
        return
    done = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    recorded_rules = [
        {"record": f"shipway:query_{i}", "expr": e} for i, e in enumerate(expressions)
    ]
    recorded = {"groups": [{"name": "queries", "rules": recorded_rules}]}
    (tmp_path / "queries.yaml").write_text(json.dumps(recorded))
    done = subprocess.run([promtool, "check", "rules", str(tmp_path / "queries.yaml")],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _schema_check(rules_file: Path) -> None:
    import jsonschema

    schema = {
        "type": "object", "required": ["groups"], "additionalProperties": False,
        "properties": {"groups": {"type": "array", "items": {
            "type": "object", "required": ["name", "rules"],
            "properties": {"name": {"type": "string"}, "rules": {"type": "array", "items": {
                "type": "object", "required": ["alert", "expr"], "additionalProperties": False,
                "properties": {"alert": {"type": "string"}, "expr": {"type": "string"},
                               "for": {"type": "string", "pattern": "^[0-9]+[smhdwy]$"},
                               "labels": {"type": "object"},
                               "annotations": {"type": "object"}}}}}}}},
    }  # fmt: skip
    jsonschema.validate(load_yaml(rules_file), schema)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_the_drift_alert_fires_on_drifted_series(bundles, tmp_path: Path) -> None:
    """promtool's rule tests: the drift rule fires after 15 minutes of a PSI over 0.25."""
    labels = 'model="penguins",version="1",instance="pod:8080",job="models"'
    test = {
        "rule_files": [str(bundles["joblib"] / "monitoring/alert-rules.yaml")],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": f'shipway_feature_drift_psi{{{labels},feature="island"}}',
                 "values": "0.6x30"},
                {"series": f'shipway_feature_drift_psi{{{labels},feature="sex"}}',
                 "values": "0.01x30"},
                {"series": f"shipway_drift_window_rows{{{labels}}}", "values": "500x30"},
                {"series": f"shipway_model_info{{{labels}}}", "values": "1x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "ShipwayFeatureDrift", "exp_alerts": []},
                {"eval_time": "20m", "alertname": "ShipwayFeatureDrift", "exp_alerts": [{
                    "exp_labels": {"severity": "warning", "feature": "island"},
                    "exp_annotations": {
                        "summary": "penguins: feature island drifted (PSI 0.60)",
                        "description": "The latest requests differ from the training rows (PSI "
                        ">= 0.25): run `shipway drift` on the deployment, and consider "
                        "retraining."}}]},
            ],
        }],
    }  # fmt: skip
    (tmp_path / "test.yaml").write_text(json.dumps(test))
    done = subprocess.run(["promtool", "test", "rules", str(tmp_path / "test.yaml")],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_onnx_bundle_answers_the_same_without_a_pickle(bundles, servers, tmp_path) -> None:
    with zipfile.ZipFile(bundles["onnx.zip"]) as archive:
        names = archive.namelist()
    assert "model/model.onnx" in names and not any(n.endswith(".joblib") for n in names)
    requirements = (bundles["onnx"] / "requirements.txt").read_text()
    assert "onnxruntime==" in requirements
    assert not any(p in requirements for p in ("scikit-learn", "scipy", "joblib"))
    readme = (bundles["onnx"] / "README.md").read_text()
    assert "an ONNX graph, not a pickle" in readme and "is a pickle" not in readme
    assert "The model file is a pickle" in (bundles["joblib"] / "README.md").read_text()
    rows = records(60)
    want = servers["joblib"].post("/predict", {"records": rows})[1]
    onnx = start_bundle(bundles["onnx"], tmp_path / "log", guarded=True)  # pickles refused
    try:
        status, got = onnx.post("/predict", {"records": rows})
    finally:
        errors = onnx.stop()
    assert status == 200, got
    assert got["predictions"] == want["predictions"]
    assert np.abs(np.array(got["probabilities"]) - np.array(want["probabilities"])).max() <= 1e-5
    assert got["warnings"] == want["warnings"] and got["classes"] == want["classes"]
    heavy = [line for line in errors.splitlines() if line.startswith("HEAVY ")]
    assert heavy == ["HEAVY []"], errors[-2000:]  # no scikit-learn, joblib or scipy imported
    manifest = json.loads((bundles["onnx"] / "manifest.json").read_text())
    assert manifest["handoff"]["facts"]["latency_source"] == "measured at export"


def test_a_tag_kubernetes_refuses_stops_the_export(project, tmp_path: Path) -> None:
    ws, _ = project
    for image, part in (("penguins:v1+build", "tag 'v1+build'"), ("Penguins:1", "image name"),
                        ("registry.example.org:5000/team/penguins:.1", "tag '.1'")):  # fmt: skip
        with pytest.raises(InvalidInput, match=re.escape(part)) as caught:
            ws.bundles.export("penguins@1", tmp_path / "bad.zip", image=image)
        assert "is not one Kubernetes can pull" in caught.value.message
        assert not (tmp_path / "bad.zip").exists()
    ws.bundles.export("penguins@1", tmp_path / "ok.zip", image="registry.example.org:5000/t/p:1.0")
    with zipfile.ZipFile(tmp_path / "ok.zip") as archive:
        deployment = archive.read("k8s/deployment.yaml").decode()
    assert '"registry.example.org:5000/t/p:1.0"' in deployment


def test_a_run_without_a_latency_is_measured_at_export(project, tmp_path: Path) -> None:
    ws, _ = project
    copy = tmp_path / "project"
    shutil.copytree(ws.root, copy)
    with sqlite3.connect(copy / "shipway.db") as database:  # a run from before latencies
        database.execute("UPDATE runs SET timings = '{}'")
    with Workspace.open(copy) as other:
        other.bundles.export("penguins@1", tmp_path / "measured.zip")
    with zipfile.ZipFile(tmp_path / "measured.zip") as archive:
        facts = json.loads(archive.read("manifest.json"))["handoff"]["facts"]
        deployment = archive.read("k8s/deployment.yaml").decode()
    assert facts["latency_source"] == "measured at export" and facts["latency_p95_ms"] > 0
    assert "measured at export" in deployment
