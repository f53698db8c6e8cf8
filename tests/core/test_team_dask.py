"""The Dask executor gives the same runs as the local one: a search on a real LocalCluster."""

from __future__ import annotations

from pathlib import Path

import distributed

from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def _search(ws: Workspace) -> list[tuple]:
    request = TrainRequest("penguins", "species", estimator="random_forest", cv_folds=3)
    parent = ws.runs.search(request, "random", 4).result()
    assert parent.status == "done"
    trials = [ws.runs.get(trial.id) for trial in ws.runs.list(parent=parent.id)]  # with their CV
    return sorted(
        (
            sorted(t.spec["params"].items()),
            sorted(t.metrics.items()),
            t.cv["summary"]["f1"]["mean"],
            t.executor,
        )
        for t in trials
    )


def test_a_search_on_a_two_worker_cluster_matches_the_local_executor(workspace: Workspace):
    workspace.data.import_file(PENGUINS)
    local = _search(workspace)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        workspace.runs.executor("dask", cluster.scheduler_address)
        on_dask = _search(workspace)
        workspace.runs.close()
    assert [row[:3] for row in on_dask] == [row[:3] for row in local]
    assert {row[3] for row in local} == {"local"} and {row[3] for row in on_dask} == {"dask"}
