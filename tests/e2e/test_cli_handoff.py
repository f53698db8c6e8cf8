"""`shipway k8s|grafana|alerts-rules|ci init|ci gate` and `bundle export --format onnx` end to end:
the files are written and valid, the CI pipelines validate against their providers' schemas, and
their commands, run as the CI job would run them, retrain, gate (exit 3 with the rule's
sentence), export and verify."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.e2e.cli import PENGUINS, ok_json, shipway

BIN = str(Path(sys.executable).parent)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose root is the project, its data file in data/."""
    root = tmp_path_factory.mktemp("handoff-cli") / "repo"
    assert shipway(root.parent, "init", str(root)).returncode == 0
    (root / "data").mkdir()
    shutil.copy(PENGUINS, root / "data" / "penguins.csv")
    for args in (
        ("data", "import", str(root / "data" / "penguins.csv"), "--name", "penguins"),
        ("train", "--data", "penguins", "--target", "species", "--model", "logistic_regression"),
        ("models", "register", "1", "--name", "penguins"),
    ):
        done = shipway(root, *args)
        assert done.returncode == 0, done.stderr
    return root


def test_k8s_grafana_and_rules_from_a_version_and_from_a_bundle(project, tmp_path) -> None:
    written = ok_json(project, "k8s", "penguins@1", "-o", str(tmp_path / "k8s"))
    assert sorted(written["files"]) == ["deployment.yaml", "hpa.yaml", "kustomization.yaml",
                                        "pdb.yaml", "service.yaml"]  # fmt: skip
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml"):
        document = yaml.safe_load((tmp_path / "k8s" / name).read_text())
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    bundle = tmp_path / "penguins-1.zip"
    ok_json(project, "bundle", "export", "penguins@1", "-o", str(bundle))
    image = "registry.example.org/team/penguins:2024.1"
    ok_json(project, "k8s", str(bundle), "-o", str(tmp_path / "from-bundle"), "--image", image)
    kustomization = yaml.safe_load((tmp_path / "from-bundle" / "kustomization.yaml").read_text())
    assert kustomization["images"] == [{"name": "registry.example.org/team/penguins",
                                        "newName": "registry.example.org/team/penguins",
                                        "newTag": "2024.1"}]  # fmt: skip
    dashboard = ok_json(project, "grafana", str(bundle), "-o", str(tmp_path / "d.json"))
    assert "Drift per feature (PSI of the latest requests)" in dashboard["panels"]
    assert json.loads((tmp_path / "d.json").read_text())["title"] == "Shipway: penguins"
    rules = ok_json(project, "alerts-rules", "penguins@1", "-o", str(tmp_path / "r.yaml"))
    assert "ShipwayFeatureDrift" in rules["alerts"]
    if shutil.which("promtool"):
        command = ["promtool", "check", "rules", str(tmp_path / "r.yaml")]
        checked = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_image_tag_kubernetes_refuses_is_one_line(project, tmp_path: Path) -> None:
    done = shipway(project, "k8s", "penguins@1", "-o", str(tmp_path / "k"), "--image", "p:v1+x")
    assert done.returncode == 1 and not (tmp_path / "k").exists()
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "the tag 'v1+x' of image 'p:v1+x'" in lines[0]


def test_an_onnx_export_of_a_model_that_does_not_convert_is_refused(project, tmp_path) -> None:
    """A model skl2onnx cannot convert (a baseline, the cheapest to train) is refused as one JSON
    document, and nothing is written."""
    trained = ok_json(project, "train", "--data", "penguins", "--target", "species",
                      "--model", "dummy")  # fmt: skip
    version = ok_json(project, "models", "register", str(trained["run"]), "--name", "baseline")
    out = tmp_path / "baseline.zip"
    done = shipway(project, "bundle", "export", f"baseline@{version['version']}", "-o", str(out),
                   "--format", "onnx", "--json")  # fmt: skip
    assert done.returncode == 1 and not out.exists()
    error = json.loads(done.stdout)
    assert error["error"] == "onnx_refused"
    assert "skl2onnx cannot convert its DummyClassifier" in error["message"]


def _pipeline(project: Path, provider: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{provider}.yml"
    written = ok_json(project, "ci", "init", "--provider", provider, "--model", "penguins",
                      "-o", str(out))  # fmt: skip
    assert written["data_file"] == "data/penguins.csv" and written["model"] == "penguins"
    schema = {"github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}[provider]
    checked = subprocess.run(
        [f"{BIN}/check-jsonschema", "--builtin-schema", schema, str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return out


def _checkout(project: Path, tmp_path: Path, extra_settings: str = "") -> Path:
    """What a CI runner sees: the repository's shipway.toml and data, no database."""
    clone = tmp_path / "checkout"
    (clone / "data").mkdir(parents=True)
    shutil.copy(project / "data" / "penguins.csv", clone / "data" / "penguins.csv")
    settings = (project / "shipway.toml").read_text() + extra_settings
    (clone / "shipway.toml").write_text(settings)
    return clone


def _run(script: str, folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHIPWAY_PROJECT"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1200, check=False)  # fmt: skip


def test_the_github_pipeline_validates_and_its_commands_bundle(project, tmp_path) -> None:
    workflow = yaml.safe_load(_pipeline(project, "github", tmp_path).read_text())
    assert workflow["on"]["push"]["paths"] == ["data/penguins.csv", "shipway.toml",
                                                "github.yml"]  # fmt: skip
    job = workflow["jobs"]["train-gate-bundle"]
    steps = {step["name"]: step for step in job["steps"]}
    assert steps["Keep the bundle"]["with"]["path"] == "dist/*.zip"
    folder = _checkout(project, tmp_path) / job["defaults"]["run"]["working-directory"]
    done = _run(steps["Train, gate, export and verify"]["run"], folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Gates of production on penguins@1: pass" in done.stdout
    bundles = sorted((folder / "dist").glob("*.zip"))
    assert [b.name for b in bundles] == ["penguins-1.zip"]
    assert ok_json(folder, "bundle", "verify", str(bundles[0]))["ok"] is True


def test_the_gitlab_pipeline_fails_with_the_rule_when_a_gate_blocks(project, tmp_path) -> None:
    pipeline = yaml.safe_load(_pipeline(project, "gitlab", tmp_path).read_text())
    job = pipeline["shipway-penguins"]
    assert job["artifacts"]["paths"] == ["dist/"]
    assert job["rules"][0]["changes"] == ["data/penguins.csv", "shipway.toml", "gitlab.yml"]
    strict = '\n[gates.production]\nmetrics = { f1 = "> 1" }\n'
    clone = _checkout(project, tmp_path, strict)
    done = _run("\n".join(job["script"]), clone)
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    assert "FAIL metric:f1: " in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("shipway: error: the gates of production refuse penguins@1: metric:f1")
    assert not (clone / "dist").exists() or not any((clone / "dist").iterdir())
