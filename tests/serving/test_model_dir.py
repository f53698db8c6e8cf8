"""The model directory contract: written by write_model_dir, read with the hash checked first."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import joblib
import pytest

from core.serving.errors import ModelDirError
from core.serving.model import load_model, write_model_dir
from core.serving.slot import ModelSlot
from tests.serving.helpers import FEATURES


class _Trap:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_written_directory_loads_with_its_metadata(models) -> None:
    model = load_model(models["v1"])
    meta = json.loads((models["v1"] / "model.json").read_text())
    assert set(meta) == {
        "format",
        "name",
        "version",
        "run",
        "task",
        "io_schema",
        "metrics",
        "model_sha256",
        "created",
    }
    assert (model.name, model.version, model.run, model.task) == (
        "penguins",
        1,
        1,
        "classification",
    )
    assert model.features == FEATURES
    island = model.inputs[0]
    assert island.type == "string" and island.categories == ("Biscoe", "Dream", "Torgersen")
    assert model.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert model.sha256 == meta["model_sha256"]


def test_run_bytes_are_written_as_they_are(tmp_path: Path, models) -> None:
    data = (models["v1"] / "model.joblib").read_bytes()
    meta = json.loads((models["v1"] / "model.json").read_text())
    folder = write_model_dir(
        tmp_path / "copy", data, name="penguins", version=4, task="classification",
        io_schema=meta["io_schema"],
    )  # fmt: skip
    assert load_model(folder).sha256 == meta["model_sha256"]


def test_a_changed_model_file_is_refused_before_it_is_unpickled(tmp_path: Path, models) -> None:
    folder = tmp_path / "tampered"
    shutil.copytree(models["v1"], folder)
    marker = tmp_path / "unpickled"
    joblib.dump(_Trap(marker), folder / "model.joblib")
    assert pickle.loads(pickle.dumps(_Trap(tmp_path / "probe"))) is None  # the trap works
    assert (tmp_path / "probe").exists()
    with pytest.raises(ModelDirError, match="does not match model_sha256"):
        load_model(folder)
    assert not marker.exists()


def test_missing_and_malformed_directories_are_refused_clearly(tmp_path: Path, models) -> None:
    with pytest.raises(ModelDirError, match="not a model directory"):
        load_model(tmp_path)
    folder = tmp_path / "bad"
    shutil.copytree(models["v1"], folder)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, "format": 2}))
    with pytest.raises(ModelDirError, match="unknown format"):
        load_model(folder)
    (folder / "model.json").write_text(json.dumps({**meta, "task": "clustering"}))
    with pytest.raises(ModelDirError, match="task"):
        load_model(folder)
    (folder / "model.json").write_text(json.dumps(meta))
    (folder / "model.joblib").unlink()
    with pytest.raises(ModelDirError, match="does not exist"):
        load_model(folder)


def test_a_failed_swap_keeps_the_current_model(tmp_path: Path, models) -> None:
    slot = ModelSlot.from_dir(models["v1"])
    with pytest.raises(ModelDirError):
        slot.swap(tmp_path / "nothing")
    assert slot.current().version == 1
    old = slot.swap(models["v2"])
    assert (old.version, slot.current().version) == (1, 2)
