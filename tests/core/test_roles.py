"""Roles in shipway.toml: who may move an alias and who may approve, enforced by the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import PermissionDenied, ProjectError
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
ROLES = '\n[roles]\npromote = { production = ["ann"] }\napprove = ["carol"]\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHIPWAY_USER", "ann")
    root = tmp_path / "p"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "m")
        ws.lifecycle.register(run.id, "m")
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text() + "\n[gates.production]\n" + ROLES)
    return root


def as_user(root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("SHIPWAY_USER", name)
    return Workspace.open(root)


def test_only_listed_people_move_a_guarded_alias(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with as_user(project, "bob", monkeypatch) as bob:
        with pytest.raises(PermissionDenied, match="bob may not promote the 'production'"):
            bob.lifecycle.promote("m@1")
        staged = bob.lifecycle.promote("m@1", "staging")  # an alias no role lists
        assert staged.version.aliases == ("staging",)
        denied = bob.project.audit(action="access.denied")[0]
        assert (denied.user, denied.object_ref, denied.detail["attempted"]) == (
            "bob", "production", "promote",
        )  # fmt: skip
    with as_user(project, "ann", monkeypatch) as ann:
        ann.lifecycle.promote("m@1")
        ann.lifecycle.promote("m@2")
    with as_user(project, "bob", monkeypatch) as bob:
        with pytest.raises(PermissionDenied, match="roll back"):
            bob.lifecycle.rollback("m")
        with pytest.raises(PermissionDenied):
            bob.lifecycle.promote("m@1", force=True, reason="I know better")
        assert bob.registry.version("m@production").version == 2


def test_only_listed_people_approve(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with as_user(project, "dave", monkeypatch) as dave:
        with pytest.raises(PermissionDenied, match="dave may not approve m@1") as caught:
            dave.registry.approve("m@1")
        assert "carol" in caught.value.hint
        assert dave.registry.approvals("m@1") == []
    with as_user(project, "carol", monkeypatch) as carol:
        assert carol.registry.approve("m@1").approver == "carol"


def test_roles_refuse_through_the_cli_too(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project), "models", "promote", "m@1"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**__import__("os").environ, "SHIPWAY_USER": "bob"},
    )  # fmt: skip
    assert result.returncode == 1 and "bob may not promote" in result.stderr


@pytest.mark.parametrize(
    "text, message",
    [
        ("[roles]\npromote = ['ann']\n", "promote must be a table"),
        ("[roles]\napprove = 'carol'\n", "approve must be a list"),
        ("[roles]\nadmins = ['x']\n", "unknown keys in \\[roles\\]: admins"),
    ],
)
def test_malformed_roles_are_refused(
    project: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    settings = project / "shipway.toml"
    settings.write_text(settings.read_text().replace(ROLES, "\n" + text))
    with as_user(project, "ann", monkeypatch) as ann, pytest.raises(ProjectError, match=message):
        ann.lifecycle.promote("m@1")
