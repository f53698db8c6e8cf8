"""Damaged archives (bad CRC, lying sizes, corrupt deflate data, an unknown compression method,
local and central headers that disagree, cut short) are refused with one BundleRefused that
names the archive, and nothing is written, extracted or served."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.bundles.safe_zip import BundleRefused
from core.services import TrainRequest, Workspace
from tests.core.bundle_damage import DAMAGE

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
ENTRIES = ("manifest.json", "model/model.joblib", "requirements.txt")
#: What the error says for each kind of damage.
MESSAGES = {
    "bad CRC": "damaged.*Bad CRC-32",
    "sizes too big": "does not unpack to its declared size",
    "sizes too small": "damaged.*Bad CRC-32",
    "local size differs": "local and central headers give different sizes",
    "corrupt deflate": "damaged.*while decompressing",
    "unknown method": "compression method 99",
    "local name differs": "local header names",
    "truncated": "not a readable zip archive",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("damaged")
    with Workspace.create(base / "penguins") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", base / "penguins-1.zip")
    return base / "penguins", base / "penguins-1.zip"


@pytest.fixture(scope="module")
def ws(exported: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    copy = tmp_path_factory.mktemp("damaged-project") / "project"
    shutil.copytree(exported[0], copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


def test_the_damage_helpers_leave_a_good_archive_good(
    ws: Workspace, exported: tuple[Path, Path]
) -> None:
    report = ws.bundles.verify(exported[1])
    assert report.ok and report.signed == "this project"


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_archive_is_refused_and_nothing_is_written(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path, damage: str, entry: str
) -> None:
    archive = tmp_path / "damaged.zip"
    archive.write_bytes(DAMAGE[damage](exported[1].read_bytes(), entry))
    target = tmp_path / "out" / "bundle"
    before = sorted(tmp_path.rglob("*"))
    deployments = sorted((ws.root / "deployments").iterdir())
    for attempt in (
        lambda: ws.bundles.verify(archive),
        lambda: ws.bundles.extract(archive, target, trust=True),
        lambda: ws.bundles.serve(archive, trust=True, stop=threading.Event()),
    ):
        with pytest.raises(BundleRefused, match=MESSAGES[damage]) as caught:
            attempt()
        assert caught.value.where == str(archive)
        assert "\n" not in caught.value.one_line() and caught.value.hint
    assert sorted(tmp_path.rglob("*")) == before
    assert sorted((ws.root / "deployments").iterdir()) == deployments
    assert ws.deployments.list() == []


def test_an_oversized_manifest_is_not_read_into_memory(
    ws: Workspace, exported: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.bundles import verify

    monkeypatch.setattr(verify, "MAX_JSON_BYTES", 100)  # the real bundle's manifest is larger
    report = ws.bundles.verify(exported[1])
    assert not report.ok and "manifest.json is larger than 100 bytes" in report.problems
