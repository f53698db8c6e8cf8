"""The experiments CLI end to end: a real `shipway` process, a real project, real workers."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def shipway(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok_json(project: Path, *args: str) -> dict:
    result = shipway(project, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "penguins"
    subprocess.run(
        [sys.executable, "-m", "core.cli", "init", str(root)], check=True, capture_output=True
    )
    ok_json(root, "data", "import", str(PENGUINS))
    return root


def test_train_show_compare_reproduce(project: Path, tmp_path: Path) -> None:
    first = ok_json(
        project,
        "train",
        "--data",
        "penguins",
        "--target",
        "species",
        "--model",
        "logistic_regression",
        "--cv",
        "3",
    )
    assert first["status"] == "done" and first["task"] == "classification"
    assert {"run", "status", "task", "metrics", "duration_s"} <= set(first)
    second = ok_json(
        project,
        "train",
        "--data",
        "penguins@1",
        "--target",
        "species",
        "--model",
        "random_forest",
        "--param",
        "n_estimators=40",
    )
    shown = ok_json(project, "runs", "show", str(first["run"]))
    assert shown["cv"]["k"] == 3 and shown["environment"]["python"]
    compared = ok_json(project, "runs", "compare", str(first["run"]), str(second["run"]))
    assert compared["best"] in (first["run"], second["run"])
    assert "estimator" in compared["differences"]
    listed = ok_json(project, "runs", "list", "--sort", "f1")
    assert {r["run"] for r in listed["runs"]} >= {first["run"], second["run"]}
    again = ok_json(project, "runs", "reproduce", str(first["run"]))
    assert again["identical"] is True and again["of"] == first["run"]
    exported = ok_json(project, "runs", "export", "-o", str(tmp_path / "runs.csv"))
    with open(exported["path"], newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:4] == ["run", "parent", "kind", "status"] and "f1" in header


def test_search_reports_its_trials_and_best(project: Path) -> None:
    result = ok_json(
        project,
        "train",
        "--data",
        "penguins",
        "--target",
        "species",
        "--model",
        "decision_tree",
        "--search",
        "grid",
        "--trials",
        "3",
    )
    assert len(result["trials"]) == 3
    assert result["best"] in {t["run"] for t in result["trials"]}


def test_catalog_lists_estimators_with_parameters(project: Path) -> None:
    catalog = ok_json(project, "catalog")
    keys = {entry["key"] for entry in catalog["estimators"]}
    assert {"logistic_regression", "random_forest", "hist_gradient_boosting", "dummy"} <= keys


def test_a_refused_run_exits_1_with_one_line(project: Path) -> None:
    before = ok_json(project, "runs", "list", "--all")["runs"]
    result = shipway(project, "train", "--data", "penguins", "--target", "speciez")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "speciez" in result.stderr
    assert ok_json(project, "runs", "list", "--all")["runs"] == before


def test_a_failing_fit_exits_1_and_keeps_the_failed_run(project: Path) -> None:
    result = shipway(
        project,
        "train",
        "--data",
        "penguins",
        "--target",
        "species",
        "--model",
        "logistic_regression",
        "--param",
        "l1_ratio=0.5",
        "--param",
        "solver=lbfgs",
        "--json",
    )
    assert result.returncode == 1
    document = json.loads(result.stdout.split("\n}\n")[0] + "\n}")
    assert document["status"] == "failed"
    shown = ok_json(project, "runs", "show", str(document["run"]))
    assert "Traceback" in shown["traceback"]


def test_usage_errors_exit_2(project: Path) -> None:
    assert shipway(project, "train", "--data", "penguins").returncode == 2
    assert shipway(project, "runs", "show", "abc").returncode == 2
