"""Every estimator at once (``--model all``) and the Bayesian search (Optuna, resumable)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.experiments import bayes, catalog
from core.services import TrainRequest, Workspace
from tests.e2e.cli import shipway

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("all")
    lines = ["x,z,y"] + [
        f"{i % 17},{(i * 7) % 11},{(i % 17) * 2.5 + (i * 7) % 11}" for i in range(80)
    ]
    (folder / "small.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    workspace = Workspace.create(folder / "proj")
    workspace.data.import_file(folder / "small.csv")
    workspace.data.import_file(PENGUINS)
    yield workspace
    workspace.close()


def test_every_estimator_of_the_task_as_ranked_children(ws: Workspace) -> None:
    parent = ws.runs.train(TrainRequest("small", "y", task="regression", estimator="all")).result()
    assert parent.status == "done", parent.error
    children = ws.runs.list(parent=parent.id)
    wanted = {e.key for e in catalog.estimators("regression")}
    assert {child.estimator for child in children} == wanted
    assert {json.dumps(child.spec["split"]) for child in children} == {
        json.dumps(parent.spec["split"])
    }
    ranking = ws.runs.ranking(parent.id)
    values = [row["value"] for row in ranking if row["value"] is not None]
    assert values == sorted(values)  # rmse: lower first
    assert ranking[0]["is_best"] and ranking[0]["run"] == next(c.id for c in children if c.is_best)
    assert all(row["fit_s"] is not None and row["predict_p50_ms"] for row in ranking)
    shown = json.loads(shipway(Path(ws.root), "runs", "show", str(parent.id), "--json").stdout)
    assert [row["run"] for row in shown["ranking"]] == [row["run"] for row in ranking]
    text = shipway(Path(ws.root), "runs", "show", str(parent.id)).stdout
    assert "rank  run" in text and "fit s" in text and "predict ms" in text
    best = ranking[0]["run"]
    card = ws.registry.card(ws.lifecycle.register(best, "small-best").ref)
    assert f"Chosen from run {parent.id}, which tried every estimator" in card
    assert "1 (this)" in card and f"{len(ranking)} runs on rmse" in card


def test_all_with_params_is_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="--param cannot go with --model all"):
        ws.runs.prepare(TrainRequest("small", "y", estimator="all", params=["alpha=1"]))


def test_a_bayes_search_reports_folds_and_resumes(ws: Workspace) -> None:
    request = TrainRequest("penguins", "species", estimator="decision_tree", cv_folds=2)
    first = ws.runs.search(request, "bayes", 3).result()
    assert first.status == "done", first.error
    assert len(ws.runs.list(parent=first.id)) == 3
    optuna = bayes.require_optuna()
    study = optuna.load_study(
        study_name=first.spec["search"]["study"], storage=bayes.storage_url(Path(ws.root))
    )
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 3 and all(t.intermediate_values for t in finished)  # folds reported
    assert {t.user_attrs["run"] for t in finished} == {c.id for c in ws.runs.list(parent=first.id)}
    # The same search again goes on from the study: 3 done before, 2 more now.
    second = ws.runs.search(request, "bayes", 5).result()
    assert second.spec["search"] == first.spec["search"] | {"trials": 5, "resumed": 3}
    assert len(ws.runs.list(parent=second.id)) == 2
    with pytest.raises(InvalidInput, match="already has 5 finished trials"):
        ws.runs.search(request, "bayes", 5)


def test_without_optuna_bayes_says_how_to_get_it(ws: Workspace) -> None:
    code = (
        "import sys; sys.modules['optuna'] = None\n"
        "from core.cli import main\n"
        f"sys.exit(main(['--project', {str(ws.root)!r}, 'train', '--data', 'penguins', "
        "'--target', 'species', '--search', 'bayes', '--trials', '2']))"
    )
    before = len(ws.runs.list())
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0
    assert "--search bayes needs Optuna" in result.stderr
    assert "pip install 'shipway[search]'" in result.stderr
    assert len(ws.runs.list()) == before  # nothing recorded
