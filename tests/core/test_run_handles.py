"""Starting a run returns at once with its id; the run is recorded to its end whether or not
anyone waits, and a caller that waits late still sees every progress message."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def _eventually(condition, timeout: float = 300.0, what: str = "the condition"):
    """The first truthy value of ``condition()``, polled until a generous deadline."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture
def big(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A data set large enough that a 400-tree forest takes seconds to fit on any machine."""
    rng = np.random.default_rng(0)
    rows = 30_000
    frame = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    frame["label"] = (frame["x0"] + rng.normal(size=rows) > 0).map({True: "yes", False: "no"})
    frame.to_csv(tmp_path / "big.csv", index=False)
    workspace.data.import_file(tmp_path / "big.csv")
    return workspace


def test_train_returns_the_run_id_before_the_run_ends(big: Workspace) -> None:
    request = TrainRequest(data="big", target="label", params={"n_estimators": 400})
    handle = big.runs.train(request)
    assert handle.kind == "train" and isinstance(handle.run_id, int)
    assert big.runs.get(handle.run_id).status in {"queued", "running"}
    assert not handle.done()
    run = handle.result(timeout=600)
    assert handle.done()
    assert run.id == handle.run_id and run.status == "done", run.error
    assert big.runs.get(handle.run_id).status == "done"
    assert handle.result().id == run.id  # asking again gives the same run


def test_a_run_nobody_waits_for_is_still_recorded_done(workspace: Workspace) -> None:
    workspace.data.import_file(PENGUINS)
    run_id = workspace.runs.train(TrainRequest("penguins", "species", estimator="dummy")).run_id
    # the handle is dropped at once: the engine records the outcome on its own
    run = _eventually(
        lambda: (found := workspace.runs.get(run_id)).status == "done" and found,
        what=f"run {run_id} to be recorded done",
    )
    assert run.model_sha256 and run.metrics


def test_a_late_waiter_still_gets_every_progress_message(workspace: Workspace) -> None:
    """A caller that waits only once the run has ended sees its stages from the first on."""
    workspace.data.import_file(PENGUINS)
    handle = workspace.runs.train(TrainRequest("penguins", "species", estimator="dummy"))
    _eventually(handle.done, what="the run to end")
    late: list[tuple[float | None, str]] = []
    run = handle.result(lambda *message: late.append(message))
    assert run.status == "done", run.error
    assert late[0] == (0.02, "loading data") and late[-1] == (1.0, "done")
    assert any(message == "evaluating" for _, message in late)


def test_a_busy_waiter_still_gets_the_last_messages(big: Workspace) -> None:
    request = TrainRequest(data="big", target="label", params={"n_estimators": 100})
    handle = big.runs.train(request)
    received: list[tuple[float | None, str]] = []

    def busy(fraction: float | None, message: str) -> None:
        if not received:  # like a GUI busy elsewhere: back only once the run has ended
            _eventually(handle.done, what="the run to end")
        received.append((fraction, message))

    assert handle.result(busy).status == "done"
    late: list[tuple[float | None, str]] = []
    handle.result(lambda *message: late.append(message))
    assert received[-1] == (1.0, "done") and received == late
