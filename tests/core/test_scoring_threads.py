"""Local batch scoring runs its chunks on threads of the calling process: no worker process is
started, the native thread pools are held to one thread while the job runs and restored after,
and the stored predictions are bit for bit those of one thread."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from core.errors import Cancelled
from core.progress import CancelToken
from core.services import ScoreRequest, TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
OUTPUTS = ["prediction", "proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("scoring-threads") / "proj"
    workspace = Workspace.create(root, name="proj")
    workspace.data.import_file(PENGUINS)
    request = TrainRequest(
        "penguins", "species", estimator="random_forest", params={"n_estimators": 20}
    )
    run = workspace.runs.train(request).result()
    assert run.status == "done", run.error
    workspace.lifecycle.register(run.id, "rf")
    yield workspace
    workspace.close()


def _limits() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_chunks_are_scored_on_threads_of_this_process(ws: Workspace) -> None:
    seen: list[tuple[set[int], set[str], list[int]]] = []
    trainers = {child.pid for child in multiprocessing.active_children()}  # the engine's pool

    def progress(fraction: float, message: str) -> None:
        if "rows scored" not in message:  # after the chunks: profiling, storing
            return
        names = {thread.name.rsplit("_", 1)[0] for thread in threading.enumerate()}
        started = {child.pid for child in multiprocessing.active_children()} - trainers
        seen.append((started, names, _limits()))

    # A first job loads every native library scoring uses, so the pools compared below are the
    # same whichever tests ran in this process before (a pool first loaded mid-job is not held).
    # Both paths warm up: the threaded one may load a library the one-thread path does not.
    ws.scoring.score(ScoreRequest("rf@1", file=PENGUINS, chunk_rows=40, workers=1, name="warm"))
    ws.scoring.score(ScoreRequest("rf@1", file=PENGUINS, chunk_rows=40, workers=2, name="warm2"))
    before = _limits()
    threaded = ws.scoring.score(
        ScoreRequest("rf@1", file=PENGUINS, chunk_rows=40, workers=2, name="threads"),
        progress=progress,
    )
    alone = ws.scoring.score(
        ScoreRequest("rf@1", file=PENGUINS, chunk_rows=40, workers=1, name="alone")
    )
    assert threaded.executor == "local" and threaded.chunks == 9 and threaded.max_in_flight > 1
    assert seen and all(not started for started, _, _ in seen)  # no worker process
    assert any("shipway-score" in names for _, names, _ in seen)
    assert all(all(n == 1 for n in limits) for _, _, limits in seen)
    assert _limits() == before  # the native pools have their threads back
    assert not any(t.name.startswith("shipway-score") for t in threading.enumerate())
    ours = ws.data.read(threaded.version.ref)[OUTPUTS]
    assert ours.equals(ws.data.read(alone.version.ref)[OUTPUTS])  # bit for bit


def test_a_cancel_stops_the_threads_and_stores_nothing(ws: Workspace) -> None:
    cancel = CancelToken()
    versions = [d.versions for d in ws.data.datasets()]

    def progress(fraction: float, message: str) -> None:
        if "rows scored" in message:
            cancel.cancel()

    with pytest.raises(Cancelled):
        ws.scoring.score(
            ScoreRequest("rf@1", file=PENGUINS, chunk_rows=20, workers=2, name="stopped"),
            progress=progress,
            cancel=cancel,
        )
    assert [d.versions for d in ws.data.datasets()] == versions
    assert not any(t.name.startswith("shipway-score") for t in threading.enumerate())
