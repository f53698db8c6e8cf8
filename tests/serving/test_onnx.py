"""A pickle-free model directory (model.onnx) is served by onnxruntime with the same answers,
the same endpoints, schema checks and log as the pickled one, and without loading a pickle or
importing scikit-learn or joblib; a graph that does not fit the schema, or no onnxruntime, is a
clear ModelDirError."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from core.bundles.onnx_check import synthetic_rows
from core.bundles.onnx_export import convert
from core.serving.errors import ModelDirError
from core.serving.logreader import read_requests
from core.serving.model import load_model, read_metadata, write_model_dir
from tests.serving.helpers import ROOT, ROW, Client, export_model, penguins

#: Runs in a fresh interpreter: every way to load a pickle fails, then the ONNX model directory
#: is loaded and predicts; prints the answer and the heavy modules that were imported.
GUARDED = """
import json, pickle, sys
def refuse(*args, **kwargs):
    raise RuntimeError("a pickle was loaded")
class Refused(pickle._Unpickler):
    def __init__(self, *args, **kwargs):
        refuse()
for name in ("load", "loads", "_load", "_loads"):
    setattr(pickle, name, refuse)
pickle._Unpickler.load = refuse
pickle.Unpickler = Refused
from core.serving.model import load_model
from core.serving.scoring import score
from core.serving.settings import ServingConfig
model = load_model(sys.argv[1])
answer = score(model, sys.argv[2].encode(), "application/json", ServingConfig(), "r1").answer
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "joblib", "scipy"})
print(json.dumps({"answer": answer, "heavy": heavy}))
"""


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The penguin forest as a joblib model directory and as an ONNX one."""
    root = tmp_path_factory.mktemp("onnx")
    joblib_dir = export_model(root / "joblib", RandomForestClassifier(30, random_state=0))
    expected = load_model(joblib_dir)
    meta = read_metadata(joblib_dir)
    rows = pd.concat([expected_input(expected), synthetic_rows(meta["io_schema"])])
    converted = convert(expected.pipeline, expected, rows.reset_index(drop=True), "penguins@1")
    onnx_dir = write_model_dir(
        root / "onnx", converted.data, name="penguins", version=1, task="classification",
        io_schema=meta["io_schema"], run=1, metrics=meta["metrics"], model_format="onnx",
    )  # fmt: skip
    return {"joblib": joblib_dir, "onnx": onnx_dir}


def expected_input(model) -> pd.DataFrame:
    from core.serving.frames import model_frame

    return model_frame(penguins(), model.schema, model.features)


def records(count: int = 40) -> list[dict]:
    frame = penguins().drop(columns="species").sample(count, random_state=7)
    rows = json.loads(frame.to_json(orient="records"))
    rows[0]["island"] = "Atlantis"  # unseen: a warning, and the encoders' unknown handling
    return rows


def test_the_onnx_directory_loads_no_pickle_and_imports_no_scikit_learn(dirs) -> None:
    body = json.dumps({"records": records()})
    done = subprocess.run(
        [sys.executable, "-c", GUARDED, str(dirs["onnx"]), body],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["heavy"] == []
    from core.serving.scoring import score
    from core.serving.settings import ServingConfig

    expected = score(load_model(dirs["joblib"]), body.encode(), "application/json",
                     ServingConfig(), "r1").answer  # fmt: skip
    got = found["answer"]
    assert got["predictions"] == expected["predictions"]
    gap = np.abs(np.array(got["probabilities"]) - np.array(expected["probabilities"]))
    assert gap.max() <= 1e-5
    assert got["warnings"] == expected["warnings"] and got["classes"] == expected["classes"]


def test_the_guard_does_catch_a_pickle(dirs) -> None:
    """The same guard on the joblib directory fails: the test above can fail."""
    done = subprocess.run(
        [sys.executable, "-c", GUARDED, str(dirs["joblib"]), json.dumps({"records": [ROW]})],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "a pickle was loaded" in done.stderr


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_onnx_server_answers_as_the_joblib_one(dirs, serve, tmp_path: Path) -> None:
    servers = {kind: serve(dirs[kind], log_dir=str(tmp_path / kind)) for kind in dirs}
    clients = {kind: Client(server.port) for kind, server in servers.items()}
    rows = records()
    answers = {kind: client.predict({"records": rows}).json for kind, client in clients.items()}
    assert answers["onnx"]["predictions"] == answers["joblib"]["predictions"]
    assert answers["onnx"]["warnings"] == answers["joblib"]["warnings"] != []
    for kind, client in clients.items():  # the same schema checks, the same refusal
        bad = client.predict({"records": [{**ROW, "bill_length_mm": "long"}]})
        assert bad.status == 422 and bad.json["error"] == "schema_mismatch", kind
    meta = {kind: client.call("GET", "/metadata").json for kind, client in clients.items()}
    assert meta["onnx"]["inputs"] == meta["joblib"]["inputs"]
    assert clients["onnx"].call("GET", "/openapi.json").status == 200
    _wait_for(lambda: len(read_requests(tmp_path / "onnx")) == 2)
    logged = read_requests(tmp_path / "onnx")
    assert [entry.status for entry in logged] == [200, 422]
    assert logged[0].outputs["predictions"] == answers["joblib"]["predictions"]


def test_a_graph_that_does_not_fit_the_schema_is_refused(dirs, tmp_path: Path) -> None:
    meta = read_metadata(dirs["onnx"])
    schema = {**meta["io_schema"], "inputs": meta["io_schema"]["inputs"][:-1]}  # no "year"
    folder = write_model_dir(
        tmp_path / "short", (dirs["onnx"] / "model.onnx").read_bytes(), name="penguins",
        version=1, task="classification", io_schema=schema, model_format="onnx",
    )  # fmt: skip
    with pytest.raises(ModelDirError, match=r"do not match model\.json's input schema"):
        load_model(folder)


def test_a_changed_graph_is_refused_before_onnxruntime_reads_it(dirs, tmp_path: Path) -> None:
    import shutil

    folder = Path(shutil.copytree(dirs["onnx"], tmp_path / "changed"))
    data = bytearray((folder / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelDirError, match="does not match model_sha256"):
        load_model(folder)


def test_without_onnxruntime_the_error_says_what_to_install(dirs) -> None:
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"
        "from core.serving.model import load_model\n"
        f"load_model({str(dirs['onnx'])!r})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)  # fmt: skip
    assert done.returncode != 0
    assert "onnxruntime is not installed: pip install onnxruntime" in done.stderr
