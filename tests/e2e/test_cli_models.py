"""The registry CLI end to end: register, gates, blocked and passing promotions, rollback,
approvals, the model card and the audit trail, through real `shipway` processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli import PENGUINS, ok_json, shipway


def gates(project: Path, text: str) -> None:
    path = project / "shipway.toml"
    content = path.read_text(encoding="utf-8").split("\n# -- test gates --\n")[0]
    path.write_text(content + "\n# -- test gates --\n" + text, encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    for model, extra in (
        ("logistic_regression", []),
        ("decision_tree", ["--param", "max_depth=1"]),
    ):
        trained = ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
                          model, *extra)  # fmt: skip
        assert trained["status"] == "done"
    return root


def test_register_promote_block_relax_rollback_and_audit(project: Path, tmp_path: Path) -> None:
    first = ok_json(project, "models", "register", "1", "--name", "penguins-model")
    assert (first["model"], first["version"], first["aliases"]) == ("penguins-model", 1, [])
    assert ok_json(project, "models", "register", "2", "--name", "penguins-model")["version"] == 2

    promoted = ok_json(project, "models", "promote", "penguins-model@1")
    assert promoted["aliases"] == ["production"] and promoted["moved"]
    assert {"rule", "value", "threshold", "passed", "message"} <= set(promoted["gates"][0])

    gates(project, '[gates.production]\nmetrics = { f1 = ">= 0.9" }\n')
    blocked = shipway(project, "models", "promote", "penguins-model@2", "--json")
    assert blocked.returncode == 3
    document = json.loads(blocked.stdout)
    assert document["moved"] is False and document["aliases"] == []
    failing = [gate for gate in document["gates"] if not gate["passed"]]
    assert failing[0]["rule"] == "metric:f1" and failing[0]["threshold"] == ">= 0.9"
    assert 0 < failing[0]["value"] < 0.9
    assert "metric:f1" in blocked.stderr and blocked.stderr.count("\n") == 1
    shown = ok_json(project, "models", "show", "penguins-model@production")
    assert shown["version"] == 1

    report = ok_json(project, "models", "gates", "penguins-model@2")
    assert report["passed"] is False and report["incumbent"] == 1

    gates(project, '[gates.production]\nmetrics = { f1 = ">= 0.5" }\n')
    relaxed = ok_json(project, "models", "promote", "penguins-model@2")
    assert relaxed["previous"] == 1 and relaxed["passed"]

    rolled = ok_json(project, "models", "rollback", "penguins-model")
    assert (rolled["version"], rolled["previous"]) == (1, 2)
    assert ok_json(project, "models", "list")["models"][0]["aliases"] == {"production": 1}

    history = ok_json(project, "models", "history", "penguins-model")["moves"]
    assert [move["kind"] for move in history] == ["rollback", "promote", "promote"]

    card = tmp_path / "card.html"
    ok_json(project, "models", "card", "penguins-model@1", "--format", "html", "-o", str(card))
    assert "<h1>Model card: penguins-model@1</h1>" in card.read_text()

    audit = ok_json(project, "audit")
    actions = [entry["action"] for entry in audit["entries"]]
    for action in ("model.register", "model.promote", "model.promote_blocked", "model.rollback"):
        assert action in actions
    assert all(entry["user"] for entry in audit["entries"])


def test_approval_by_the_trainer_fails_and_by_another_person_passes(project: Path) -> None:
    ok_json(project, "models", "register", "1", "--name", "approved")
    refused = shipway(project, "models", "approve", "approved@1")
    assert refused.returncode == 1 and "cannot approve" in refused.stderr
    approval = ok_json(project, "models", "approve", "approved@1", "--comment", "ok", user="bob")
    assert approval["approver"] == "bob"
    gates(project, "[gates.production]\napproval = true\n")
    assert ok_json(project, "models", "promote", "approved@1")["passed"]


def test_gate_file_mistakes_exit_1_naming_the_line(project: Path) -> None:
    ok_json(project, "models", "register", "1", "--name", "typo")
    gates(project, "[gates.production]\nmetrics = { accuracyy = 0.9 }\n")
    result = shipway(project, "models", "promote", "typo@1")
    assert result.returncode == 1
    assert "unknown metric 'accuracyy'" in result.stderr and "shipway.toml line" in result.stderr
    assert ok_json(project, "models", "show", "typo@1")["aliases"] == []


def test_two_promotions_racing_from_two_processes(project: Path) -> None:
    ok_json(project, "models", "register", "1", "--name", "raced")
    gates(project, "[gates.production]\nmax_size_mb = 100\n")
    command = [sys.executable, "-m", "core.cli", "--project", str(project), "models", "promote"]
    racers = [
        subprocess.Popen(
            [*command, "raced@1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(racer.wait(120), racer.stderr.read()) for racer in racers]
    for racer in racers:
        racer.stdout.close()
        racer.stderr.close()
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "already holds" in loser or "moved to version" in loser
    assert len(ok_json(project, "models", "history", "raced")["moves"]) == 1
