"""`shipway score` end to end: the penguins model scores its data set (shown, exported, checked for
drift); a file without the model's columns is one error; a disk that fills and Ctrl-C in the
middle leave no version and no temporary file; a Dask cluster writes the same bytes."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from core.services import ScoreRequest, Workspace
from tests.e2e.cli import PENGUINS, ok_json, shipway


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("score-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(
        root,
        "train",
        "--data",
        "penguins",
        "--target",
        "species",
        "--model",
        "random_forest",
        "--param",
        "n_estimators=30",
    )
    ok_json(root, "models", "register", "1", "--name", "penguins-model")
    ok_json(root, "models", "promote", "penguins-model@1", "--alias", "staging")
    return root


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 penguin-like rows with noisy measurements (a few MB of Parquet once scored)."""
    raw = pd.read_csv(PENGUINS).drop(columns="species")
    rng = np.random.default_rng(3)
    rows = raw.sample(200_000, replace=True, random_state=1).reset_index(drop=True)
    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        rows[name] = (rows[name] + rng.normal(0, 1, len(rows))).round(4)
    path = tmp_path_factory.mktemp("big") / "many.csv"
    rows.to_csv(path, index=False)
    return path


def _versions(project: Path) -> list[tuple[str, int]]:
    with Workspace.open(project) as ws:
        return [(d.name, d.versions) for d in ws.data.datasets()]


def _temporaries(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "objects" / "tmp").iterdir())


def test_the_penguins_model_scores_its_data_set(project: Path, tmp_path: Path):
    out = tmp_path / "scored.csv"
    document = ok_json(
        project,
        "score",
        "penguins-model@staging",
        "--data",
        "penguins",
        "--keep-columns",
        "species",
        "-o",
        str(out),
    )
    assert document["dataset"] == "penguins-scored-penguins-model-v1"
    assert document["version"] == 1 and document["scored_rows"] == 344 and document["created"]
    assert document["input"]["ref"] == "penguins@1" and document["model"] == "penguins-model@1"
    assert document["lineage"]["scored_by"] and document["lineage"]["scored_at"]
    assert document["drift"]["dataset_drift"] is False and document["drift"]["features"]
    assert document["output"] == str(out)
    header = out.read_text().splitlines()[0]
    assert header.endswith('"prediction","proba_Adelie","proba_Chinstrap","proba_Gentoo"')
    shown = ok_json(project, "data", "show", "penguins-scored-penguins-model-v1")
    assert shown["options"]["lineage"]["model_sha256"] == document["model_sha256"]
    assert shown["schema"]["prediction"] == "string" and shown["rows"] == 344
    assert shown["profile"]["proba_Adelie"]["max"] <= 1.0
    drift = ok_json(
        project, "drift", "penguins-model@1", "--dataset", "penguins-scored-penguins-model-v1@1"
    )
    assert drift["current_rows"] == 344 and drift["dataset_drift"] is False
    text = shipway(project, "score", "penguins-model@1", "--data", "penguins")
    assert text.returncode == 0, text.stderr
    assert "scored by penguins-model@1 from penguins@1" in text.stdout
    assert "drift (data set penguins-scored-penguins-model-v1@2" in text.stdout


def test_a_file_without_the_model_s_columns_is_one_error(project: Path, tmp_path: Path):
    wrong = tmp_path / "wrong.csv"
    pd.read_csv(PENGUINS).rename(columns={"body_mass_g": "mass"}).to_csv(wrong, index=False)
    before = _versions(project)
    result = shipway(project, "score", "penguins-model@1", "--file", str(wrong))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "lacks 1 column(s) that penguins-model@1 reads: 'body_mass_g'" in (lines[0])
    )
    as_json = shipway(project, "score", "penguins-model@1", "--file", str(wrong), "--json")
    error = json.loads(as_json.stdout)
    assert error["error"] == "invalid_input" and error["details"] == [
        {"column": "body_mass_g", "problem": "missing_column"}
    ]
    assert _versions(project) == before and not _temporaries(project)


def _limited(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)

    return apply


def test_a_disk_that_fills_while_scoring_stores_nothing(project: Path, big_csv: Path):
    files = [p for p in project.rglob("*") if p.is_file()]
    limit = max(p.stat().st_size for p in files) + 512 * 1024  # the database may still grow
    before = _versions(project)
    command = [
        sys.executable,
        "-m",
        "core.cli",
        "--project",
        str(project),
        "score",
        "penguins-model@1",
        "--file",
        str(big_csv),
        "--workers",
        "1",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, preexec_fn=_limited(limit)
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the scored rows" in lines[0], result.stderr
    assert "nothing was stored" in lines[0]
    assert _versions(project) == before and not _temporaries(project)


def test_ctrl_c_in_the_middle_cancels_and_stores_nothing(project: Path, big_csv: Path):
    before = _versions(project)
    command = [
        sys.executable,
        "-m",
        "core.cli",
        "--project",
        str(project),
        "score",
        "penguins-model@1",
        "--file",
        str(big_csv),
        "--chunk-rows",
        "2000",
        "--workers",
        "2",
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not _temporaries(project) and child.poll() is None:
            assert time.monotonic() < deadline, "scoring never started writing"
            time.sleep(0.02)
        workers = psutil.Process(child.pid).children(recursive=True)
        assert child.poll() is None, "the job ended before it could be interrupted"
        os.kill(child.pid, signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, stderr
    assert "cancelled" in stderr
    assert _versions(project) == before and not _temporaries(project)
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, "worker processes outlived the job"


def test_a_dask_cluster_writes_the_same_bytes_as_local_workers(project: Path):
    import distributed

    with Workspace.open(project) as ws:
        local = ws.scoring.score(
            ScoreRequest("penguins-model@1", file=PENGUINS, chunk_rows=60, workers=2, name="local")
        )
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            on_dask = ws.scoring.score(
                ScoreRequest(
                    "penguins-model@1",
                    file=PENGUINS,
                    chunk_rows=60,
                    name="dask",
                    executor="dask",
                    scheduler=cluster.scheduler_address,
                )
            )
    assert local.executor == "local" and on_dask.executor == "dask"
    assert on_dask.chunks == local.chunks == 6
    assert on_dask.version.sha256 == local.version.sha256  # the stored blob, bit for bit
