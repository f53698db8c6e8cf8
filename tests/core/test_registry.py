"""The model registry on a real project: versions from real runs, aliases, rollback, approvals,
audit, and the refusals the registry must make."""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import Conflict, CorruptObject, InvalidInput, NotFound, UsageError
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with penguins@1 and two finished runs: 1 (good) and 2 (a one-split tree)."""
    root = tmp_path_factory.mktemp("registry") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        ws.runs.train(
            TrainRequest(data="penguins", target="species", estimator="logistic_regression")
        ).result()
        ws.runs.train(
            TrainRequest(
                data="penguins",
                target="species",
                estimator="decision_tree",
                params={"max_depth": 1},
            )
        ).result()
    return root


@pytest.fixture
def ws(trained_project: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the trained project, opened as the user who trained its runs."""
    root = tmp_path / "copy"
    shutil.copytree(trained_project, root)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()


def test_register_keeps_the_lineage_of_the_run(ws: Workspace) -> None:
    run = ws.runs.get(1)
    version = ws.lifecycle.register(1, "penguins", description="species from measurements")
    assert (version.model, version.version, version.aliases) == ("penguins", 1, ())
    assert version.run_id == 1 and version.dataset_ref == "penguins@1"
    assert version.dataset_sha256 == run.dataset_sha256
    assert version.model_sha256 == run.model_sha256 and version.metrics == run.metrics
    assert version.environment["python"] and version.trained_by == run.created_by
    assert version.features == list(run.spec["features"])
    assert ws.lifecycle.register(2, "penguins").version == 2
    assert [v.version for v in ws.registry.versions("penguins")] == [1, 2]


def test_registering_an_unknown_or_unfinished_run_is_refused(ws: Workspace) -> None:
    with pytest.raises(NotFound, match="no run 99"):
        ws.lifecycle.register(99, "penguins")
    project = ws._project
    failed = project.runs.create(
        spec=ws.runs.get(1).spec,
        dataset_version_id=ws.data.version("penguins@1").id,
        dataset_sha256=ws.runs.get(1).dataset_sha256,
        executor="local",
    )
    project.runs.finish(failed, "failed", error="ValueError: boom")
    with pytest.raises(InvalidInput, match=f"run {failed} is failed") as caught:
        ws.lifecycle.register(failed, "penguins")
    assert caught.value.hint
    assert ws.registry.models() == []


def test_bad_model_and_alias_names_are_refused(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="model name"):
        ws.lifecycle.register(1, "../escape")
    ws.lifecycle.register(1, "penguins")
    with pytest.raises(UsageError, match="alias 'Latest!'"):
        ws.lifecycle.promote("penguins@1", "Latest!")
    with pytest.raises(UsageError, match="'latest' is reserved"):
        ws.lifecycle.promote("penguins@1", "latest")


def test_edit_changes_description_and_tags_only(ws: Workspace) -> None:
    before = ws.lifecycle.register(1, "penguins", tags={"owner": "ada"})
    after = ws.registry.edit(
        "penguins@1", description="v1", tags={"team": "birds"}, remove_tags=("owner",)
    )
    assert after.description == "v1" and after.tags == {"team": "birds"}
    assert after.model_sha256 == before.model_sha256 and after.metrics == before.metrics
    assert ws.project.audit(action="model.edit")[0].object_ref == "penguins@1"


def test_promote_rollback_and_history(ws: Workspace) -> None:
    ws.lifecycle.register(1, "penguins")
    ws.lifecycle.register(1, "penguins")
    first = ws.lifecycle.promote("penguins@1", "staging")
    assert first.move.from_version is None and first.version.aliases == ("staging",)
    second = ws.lifecycle.promote("penguins@2", "staging")
    assert second.move.from_version == 1
    assert ws.registry.version("penguins@staging").version == 2
    assert ws.registry.version("penguins@1").aliases == ()
    back = ws.lifecycle.rollback("penguins", "staging")
    assert (back.from_version, back.to_version, back.kind) == (2, 1, "rollback")
    assert ws.registry.version("penguins@staging").version == 1
    with pytest.raises(Conflict, match="no earlier version to roll back to") as caught:
        ws.lifecycle.rollback("penguins", "staging")
    assert caught.value.hint
    moves = ws.registry.history("penguins", "staging")
    assert [(m.kind, m.from_version, m.to_version) for m in moves] == [
        ("rollback", 2, 1),
        ("promote", 1, 2),
        ("promote", None, 1),
    ]
    assert moves[1].rolled_back


def test_rollback_without_history_is_a_clear_error(ws: Workspace) -> None:
    ws.lifecycle.register(1, "penguins")
    with pytest.raises(Conflict, match="no earlier version") as caught:
        ws.lifecycle.rollback("penguins", "production")
    assert "promote a version" in caught.value.hint


def test_an_alias_already_on_the_version_is_refused(ws: Workspace) -> None:
    ws.lifecycle.register(1, "penguins")
    ws.lifecycle.promote("penguins@1", "staging")
    with pytest.raises(Conflict, match="already holds 'staging'"):
        ws.lifecycle.promote("penguins@1", "staging")
    assert len(ws.registry.history("penguins", "staging")) == 1


def test_approval_by_the_trainer_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.lifecycle.register(1, "penguins")
    with pytest.raises(InvalidInput, match="cannot approve it") as caught:
        ws.registry.approve("penguins@1")
    assert "second person" in caught.value.hint
    monkeypatch.setenv("SHIPWAY_USER", "bob")
    with Workspace.open(ws.root) as bob:
        approval = bob.registry.approve("penguins@1", "looked at the card")
        assert (approval.approver, approval.comment) == ("bob", "looked at the card")
        with pytest.raises(Conflict, match="already approved"):
            bob.registry.approve("penguins@1")
    assert [a.approver for a in ws.registry.approvals("penguins@1")] == ["bob"]


def test_a_corrupt_model_blob_is_refused(ws: Workspace) -> None:
    version = ws.lifecycle.register(1, "penguins")
    blob = ws._project.blobs.path_of(version.model_sha256)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(CorruptObject, match="unusable"):
        ws.registry.evaluate_gates("penguins@1")
    with pytest.raises(CorruptObject):
        ws.lifecycle.promote("penguins@1", force=True, reason="urgent")
    with pytest.raises(CorruptObject):
        ws.lifecycle.register(1, "penguins")
    assert ws.registry.version("penguins@1").aliases == ()


def test_the_audit_trail_names_every_registry_step(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.lifecycle.register(1, "penguins")
    ws.lifecycle.register(1, "penguins")
    ws.lifecycle.promote("penguins@1", "staging")
    ws.lifecycle.promote("penguins@2", "staging")
    ws.lifecycle.rollback("penguins", "staging")
    monkeypatch.setenv("SHIPWAY_USER", "bob")
    with Workspace.open(ws.root) as bob:
        bob.registry.approve("penguins@2")
    actions = [(e.action, e.object_ref, e.user) for e in ws.project.audit(limit=20)]
    trainer = ws.runs.get(1).created_by
    for expected in [
        ("model.register", "penguins@1", trainer),
        ("model.register", "penguins@2", trainer),
        ("model.promote", "penguins@1", trainer),
        ("model.promote", "penguins@2", trainer),
        ("model.rollback", "penguins@1", trainer),
        ("model.approve", "penguins@2", "bob"),
    ]:
        assert expected in actions


def _move(root: str, number: int, barrier: multiprocessing.synchronize.Barrier, out) -> None:
    with Workspace.open(Path(root)) as ws:
        barrier.wait()
        try:
            ws._project.models.move_alias(
                "penguins", "production", number, expected=None, kind="promote"
            )
            out.put(("moved", number))
        except Conflict as conflict:
            out.put(("conflict", conflict.message))


def test_two_racing_moves_from_two_processes_one_wins(ws: Workspace) -> None:
    ws.lifecycle.register(1, "penguins")
    ws.lifecycle.register(1, "penguins")
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_move, args=(str(ws.root), number, barrier, out))
        for number in (1, 2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    outcomes = sorted(out.get(timeout=5) for _ in workers)
    assert [kind for kind, _ in outcomes] == ["conflict", "moved"]
    winner = outcomes[1][1]
    assert f"moved to version {winner}" in outcomes[0][1]
    assert ws.registry.version("penguins@production").version == winner
    assert len(ws.registry.history("penguins", "production")) == 1
