"""Validation gates from shipway.toml, evaluated on real registered models."""

from __future__ import annotations

import io
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import joblib
import pandas as pd
import pytest

from core.errors import GateBlocked, ProjectError, UsageError
from core.registry.gate_config import GateConfigError
from core.services import ImportOptions, TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


@pytest.fixture(scope="module")
def registered_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """penguins@1 and penguins@2 (newer rows); m@1 good, m@2 a stump, m@3 trained on @2."""
    base = tmp_path_factory.mktemp("gates")
    root = base / "penguins"
    newer = base / "penguins-2025.csv"
    frame = pd.read_csv(PENGUINS)
    pd.concat([frame, frame.sample(60, random_state=1)]).to_csv(newer, index=False)
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        good = ws.runs.train(
            TrainRequest("penguins@1", "species", estimator="logistic_regression")
        ).result()
        stump = ws.runs.train(
            TrainRequest(
                "penguins@1", "species", estimator="decision_tree", params={"max_depth": 1}
            )
        ).result()
        ws.data.import_file(newer, options=ImportOptions(name="penguins"))
        later = ws.runs.train(
            TrainRequest("penguins@2", "species", estimator="logistic_regression")
        ).result()
        for run in (good, stump, later):
            ws.lifecycle.register(run.id, "m")
    return root


OPENED: list[Workspace] = []


@pytest.fixture
def ws(registered_project: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(registered_project, root)
    yield reopen(root)
    while OPENED:
        OPENED.pop().close()


def reopen(root: Path) -> Workspace:
    OPENED.append(Workspace.open(root))
    return OPENED[-1]


def set_gates(ws: Workspace, text: str, replace: tuple[str, str] | None = None) -> Workspace:
    """Add ``text`` to shipway.toml (or replace a part of it); reopen so the file is read."""
    path = ws.root / "shipway.toml"
    content = path.read_text(encoding="utf-8") + "\n" + text
    if replace is not None:
        content = content.replace(*replace)
    path.write_text(content, encoding="utf-8")
    return reopen(ws.root)


def rules(report) -> dict:
    return {result.rule: result for result in report.results}


def test_default_production_gates_pass_a_first_version(ws: Workspace) -> None:
    promotion = ws.lifecycle.promote("m@1")
    found = rules(promotion.report)
    assert set(found) == {"no_regression", "data_checks", "smoke_test"}
    assert "nothing to regress from" in found["no_regression"].message
    assert "fresh process" in found["smoke_test"].message
    assert found["smoke_test"].value == 5
    assert "default gates" in promotion.report.source
    assert ws.registry.version("m@production").version == 1


def test_done_when_blocked_then_relaxed_then_rolled_back(ws: Workspace) -> None:
    ws.lifecycle.promote("m@1")
    ws = set_gates(ws, '[gates.production]\nmetrics = { f1 = ">= 0.9" }\n')
    with pytest.raises(GateBlocked) as caught:
        ws.lifecycle.promote("m@2")
    blocked = caught.value
    assert blocked.exit_code == 3
    assert "metric:f1" in blocked.message and ">= 0.9" in blocked.message
    failing = blocked.report.failures[0]
    assert failing.value == pytest.approx(ws.runs.get(2).metrics["f1"])
    assert failing.threshold == ">= 0.9"
    assert ws.registry.version("m@production").version == 1
    assert ws.project.audit(action="model.promote_blocked")[0].detail["failed"] == ["metric:f1"]

    ws = set_gates(ws, "", replace=('">= 0.9"', '">= 0.5"'))
    promotion = ws.lifecycle.promote("m@2")
    assert promotion.report.passed and promotion.move.from_version == 1
    back = ws.lifecycle.rollback("m")
    assert (back.from_version, back.to_version) == (2, 1)
    assert ws.registry.version("m@production").version == 1


def test_no_regression_compares_on_the_same_rows_of_the_newer_data(ws: Workspace) -> None:
    ws.lifecycle.promote("m@2")  # the stump holds production
    ws = set_gates(
        ws, '[gates.production]\nno_regression = { metric = "accuracy", max_drop = 0 }\n'
    )
    report = ws.registry.evaluate_gates("m@3")
    result = rules(report)["no_regression"]
    assert result.passed and result.details["data"] == "penguins@2"
    assert result.details["incumbent"] == 2
    assert result.details["rows"] == 81  # a fifth of the 404 rows of penguins@2
    ws.lifecycle.promote("m@3")
    report = ws.registry.evaluate_gates("m@2")
    result = rules(report)["no_regression"]
    assert not result.passed
    assert result.details["incumbent_value"] > result.value
    assert "penguins@2" in result.message and "drop" in result.message


def test_relative_no_regression_margin(ws: Workspace) -> None:
    ws.lifecycle.promote("m@1")
    ws = set_gates(
        ws, '[gates.production]\nno_regression = { metric = "f1", max_drop_relative = 0.9 }\n'
    )
    result = rules(ws.registry.evaluate_gates("m@2"))["no_regression"]
    assert result.passed and "90.0% relative" in result.message


def test_latency_size_and_metric_figures(ws: Workspace) -> None:
    ws = set_gates(
        ws,
        "[gates.production]\nmax_latency_p95_ms = 0.000001\nmax_size_mb = 0.000001\n"
        'metrics = { log_loss = "<= 5", rmse = 3 }\n',
    )
    found = rules(ws.registry.evaluate_gates("m@1"))
    assert not found["max_latency_p95_ms"].passed and found["max_latency_p95_ms"].value > 0
    assert "ms" in found["max_latency_p95_ms"].message
    assert not found["max_size_mb"].passed and found["max_size_mb"].value > 0
    assert found["metric:log_loss"].passed
    assert not found["metric:rmse"].passed
    assert "not a classification metric" in found["metric:rmse"].message


def test_approval_gate_needs_a_second_person(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = set_gates(ws, "[gates.production]\napproval = true\n")
    first = rules(ws.registry.evaluate_gates("m@1"))["approval"]
    assert not first.passed and "someone other than" in first.message
    monkeypatch.setenv("SHIPWAY_USER", "bob")
    with Workspace.open(ws.root) as bob:
        bob.registry.approve("m@1", "fine")
    second = rules(ws.registry.evaluate_gates("m@1"))["approval"]
    assert second.passed and "bob" in second.message


def test_a_model_that_only_loads_in_its_own_process_fails_the_smoke_test(ws: Workspace) -> None:
    module = types.ModuleType("shipway_only_here")

    class Constant:
        def predict(self, frame):
            return ["Adelie"] * len(frame)

    Constant.__module__ = module.__name__
    Constant.__qualname__ = "Constant"
    module.Constant = Constant
    sys.modules[module.__name__] = module
    try:
        buffer = io.BytesIO()
        joblib.dump(Constant(), buffer)
        blob = ws._project.blobs.put_bytes(buffer.getvalue(), ".joblib")
    finally:
        del sys.modules[module.__name__]
    good = ws.runs.get(1)
    project = ws._project
    run_id = project.runs.create(
        spec=good.spec,
        dataset_version_id=ws.data.version("penguins@1").id,
        dataset_sha256=good.dataset_sha256,
        executor="local",
    )
    project.runs.finish(
        run_id,
        "done",
        metrics=good.metrics,
        io_schema=good.io_schema,
        model_sha256=blob.sha256,
        model_size=blob.size_bytes,
    )
    ws.lifecycle.register(run_id, "fragile")
    smoke = rules(ws.registry.evaluate_gates("fragile@1"))["smoke_test"]
    assert not smoke.passed
    assert "fresh process" in smoke.message and "shipway_only_here" in smoke.message


def test_force_needs_a_reason_and_is_marked(ws: Workspace) -> None:
    ws.lifecycle.promote("m@1")
    ws = set_gates(ws, '[gates.production]\nmetrics = { f1 = ">= 0.99" }\n')
    with pytest.raises(UsageError, match="reason"):
        ws.lifecycle.promote("m@2", force=True)
    promotion = ws.lifecycle.promote("m@2", force=True, reason="hotfix while m@1 is investigated")
    assert promotion.forced and not promotion.report.passed
    move = ws.registry.history("m", "production")[0]
    assert move.kind == "force" and move.reason.startswith("hotfix")
    entry = ws.project.audit(action="model.promote_forced")[0]
    assert entry.detail["reason"].startswith("hotfix")
    assert any(not gate["passed"] for gate in entry.detail["gates"])


def test_gate_evaluations_are_kept_for_cards(ws: Workspace) -> None:
    ws.registry.evaluate_gates("m@1")
    kept = ws.registry.gate_evaluations("m@1")
    assert kept[0].alias == "production" and kept[0].gates


def test_an_alias_without_gates_passes_and_says_so(ws: Workspace) -> None:
    report = ws.registry.evaluate_gates("m@2", "staging")
    assert report.passed and report.results == ()
    assert "nothing guards staging" in report.source


# -- mistakes in the gate file --------------------------------------------------------------


def _config_error(ws: Workspace, text: str, replace=None) -> GateConfigError:
    ws = set_gates(ws, text, replace)
    with pytest.raises(GateConfigError) as caught:
        ws.lifecycle.promote("m@1")
    assert ws.registry.version("m@1").aliases == ()
    return caught.value


def test_unknown_metric_names_the_line(ws: Workspace) -> None:
    lines = (ws.root / "shipway.toml").read_text().count("\n") + 2
    error = _config_error(ws, '[gates.production]\nmax_size_mb = 5\nmetrics = { f2 = ">= 1" }\n')
    assert "unknown metric 'f2'" in error.message
    assert error.where == f"shipway.toml line {lines + 2}"
    assert "f1" in error.hint


def test_unknown_rule_names_the_line(ws: Workspace) -> None:
    lines = (ws.root / "shipway.toml").read_text().count("\n") + 2
    error = _config_error(ws, "[gates.production]\nmax_latency = 5\n")
    assert "unknown gate rule 'max_latency'" in error.message
    assert error.where == f"shipway.toml line {lines + 1}"
    assert "max_latency_p95_ms" in error.hint


def test_bad_threshold_and_wrong_types_are_refused(ws: Workspace) -> None:
    error = _config_error(ws, '[gates.production]\nmetrics = { f1 = "at least 0.8" }\n')
    assert "not a comparison" in error.message
    fixed = ('"at least 0.8"', '">= 0.8"')
    assert "true or false" in _config_error(ws, "approval = 1\n", fixed).message


def test_a_syntax_error_names_the_line(ws: Workspace) -> None:
    path = ws.root / "shipway.toml"
    lines = path.read_text().count("\n") + 2
    path.write_text(path.read_text() + "\n[gates.production]\nmetrics = { f1 = >= 0.8 }\n")
    with pytest.raises(ProjectError, match=f"line {lines + 1}") as caught:
        Workspace.open(ws.root)
    assert caught.value.hint == "fix the file's syntax"
