"""Local batch scoring runs its chunks on threads of the calling process: no worker process is
started, the native thread pools are held to one thread while the job runs and restored after,
and the stored predictions are bit for bit those of one thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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


#: The job runs in a fresh process: the native pools are process-wide, and in this test process
#: whatever earlier tests left running (or loaded) may set or load one while the job runs.
JOB = """
import json, multiprocessing, sys, threading
from threadpoolctl import threadpool_info
from core.services import ScoreRequest, Workspace

penguins, outputs = sys.argv[2], json.loads(sys.argv[3])
ws = Workspace.open(sys.argv[1])
seen = []

def pools():
    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}

def progress(fraction, message):
    if "rows scored" in message:  # after the chunks: profiling, storing
        names = sorted({t.name.rsplit("_", 1)[0] for t in threading.enumerate()})
        seen.append({"children": len(multiprocessing.active_children()), "names": names,
                     "pools": pools()})

# a first job loads every native library scoring uses (a pool loaded mid-job is not held)
ws.scoring.score(ScoreRequest("rf@1", file=penguins, chunk_rows=40, workers=2, name="warm"))
before = pools()
threaded = ws.scoring.score(
    ScoreRequest("rf@1", file=penguins, chunk_rows=40, workers=2, name="threads"),
    progress=progress)
after = pools()
alone = ws.scoring.score(ScoreRequest("rf@1", file=penguins, chunk_rows=40, workers=1,
                                      name="alone"))
same = ws.data.read(threaded.version.ref)[outputs].equals(ws.data.read(alone.version.ref)[outputs])
print(json.dumps({
    "executor": threaded.executor, "chunks": threaded.chunks, "peak": threaded.max_in_flight,
    "seen": seen, "before": before, "after": after, "same": same,
    "left": [t.name for t in threading.enumerate() if t.name.startswith("shipway-score")],
}))
"""


def test_chunks_are_scored_on_threads_of_this_process(ws: Workspace) -> None:
    """The child process opens the project beside this one, as a second team member would."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    args = [str(ws.root), str(PENGUINS), json.dumps(OUTPUTS)]
    done = subprocess.run([sys.executable, "-c", JOB, *args], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["executor"] == "local" and found["chunks"] == 9 and found["peak"] > 1
    seen = found["seen"]
    assert seen and all(look["children"] == 0 for look in seen)  # no worker process
    assert any("shipway-score" in look["names"] for look in seen)
    held = set(found["before"])
    for look in seen:  # every pool the process had is held to one thread while the job runs
        assert {path: n for path, n in look["pools"].items() if path in held} == dict.fromkeys(
            held, 1
        ), (look["pools"], found["before"])
    assert found["after"] == found["before"]  # the native pools have their threads back
    assert not found["left"]
    assert found["same"]  # bit for bit


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
