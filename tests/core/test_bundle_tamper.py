"""A bundle swapped on disk after (or while) it is verified: what is served is what was verified.

The swapped-in archive holds a hostile model.joblib: a pickle that creates a marker file when it
is loaded, padded to the size of the real one. The tests swap it in at the instant between two
steps of a real call (a hook on the step, set in the test) and show it is never extracted,
never unpickled, and never served.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import stat
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.bundles import safe_zip, signing
from core.bundles.safe_zip import BundleRefused
from core.bundles.verify import verify_snapshot
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
MODEL = "model/model.joblib"
META = "model/model.json"


class OpensAFile:
    """Unpickling this creates ``marker``: proof that the pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("tamper")
    with Workspace.create(base / "penguins") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", base / "penguins-1.zip")
    return base / "penguins", base / "penguins-1.zip"


@pytest.fixture
def ws(exported: tuple[Path, Path], tmp_path: Path) -> Iterator[Workspace]:
    shutil.copytree(exported[0], tmp_path / "project")
    workspace = Workspace.open(tmp_path / "project")
    yield workspace
    workspace.close()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the snapshots go to, so a test can look at it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def hostile(original: Path, marker: Path, target: Path) -> bytes:
    """The original bundle with model.joblib replaced by a same-sized pickle that runs code,
    and model.json giving that pickle's sha256 (so only the bundle's manifest stands guard)."""
    with zipfile.ZipFile(original) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    payload = pickle.dumps(OpensAFile(marker), protocol=2)
    assert len(payload) < len(files[MODEL])
    real = hashlib.sha256(files[MODEL]).hexdigest()
    files[MODEL] = payload + bytes(len(files[MODEL]) - len(payload))
    fake = hashlib.sha256(files[MODEL]).hexdigest()
    assert real.encode() in files[META]
    files[META] = files[META].replace(real.encode(), fake.encode())
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target.read_bytes()


def swap(path: Path, data: bytes, how: str) -> None:
    """Replace the file (a new inode renamed over it) or rewrite it where it is."""
    if how == "replaced":
        path.with_name("incoming.zip").write_bytes(data)
        os.replace(path.with_name("incoming.zip"), path)
    else:
        with open(path, "r+b") as handle:
            handle.write(data)
            handle.truncate()


def hook_before(
    monkeypatch: pytest.MonkeyPatch, name: str, action: Callable[[], None], after: bool = False
) -> None:
    """Run ``action`` just before (or just after) each call of ``safe_zip.<name>``."""
    real = getattr(safe_zip, name)

    def hooked(*args, **kwargs):
        if not after:
            action()
        result = real(*args, **kwargs)
        if after:
            action()
        return result

    monkeypatch.setattr(safe_zip, name, hooked)


def setup_swap(
    exported: tuple[Path, Path], tmp_path: Path, how: str
) -> tuple[Path, bytes, Path, Callable[[], None]]:
    archive = tmp_path / "penguins-1.zip"
    shutil.copy(exported[1], archive)
    marker = tmp_path / "pickle-ran"
    evil = hostile(exported[1], marker, tmp_path / "evil.zip")
    with zipfile.ZipFile(exported[1]) as original:
        model = original.read(MODEL)
    return archive, model, marker, lambda: swap(archive, evil, how)


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
def test_a_bundle_swapped_between_verify_and_extract_is_not_extracted(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path, private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:  # fmt: skip
    archive, model, marker, do_swap = setup_swap(exported, tmp_path, how)
    modes: list[int] = []

    def swap_and_look() -> None:
        do_swap()
        modes.extend(stat.S_IMODE(path.stat().st_mode) for path in private_tmp.iterdir())

    hook_before(monkeypatch, "extract", swap_and_look)
    folder = ws.bundles.extract(archive, tmp_path / "out")
    assert (folder / MODEL).read_bytes() == model  # the verified model, not the swapped one
    assert b"pickle-ran" not in (folder / MODEL).read_bytes()
    assert not marker.exists()
    # the copy that was verified and extracted is private, and removed afterwards
    assert modes == [0o700]
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("how", ["replaced", "rewritten"])
def test_a_bundle_swapped_between_verify_and_serve_serves_the_verified_model(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:  # fmt: skip
    archive, model, marker, do_swap = setup_swap(exported, tmp_path, how)
    hook_before(monkeypatch, "extract", do_swap)
    stop, ready, failed = threading.Event(), [], []

    def serve() -> None:
        try:
            ws.bundles.serve(archive, on_ready=ready.append, stop=stop)
        except BaseException as exc:  # shown by the assertion below
            failed.append(exc)

    server = threading.Thread(target=serve)
    server.start()
    try:
        deadline = time.monotonic() + 180
        while not ready and not failed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not failed and ready, failed
        assert not marker.exists(), "the swapped-in pickle ran"
        served = ws.root / "deployments" / ready[0].id / "bundle" / MODEL
        assert served.read_bytes() == model
        with urllib.request.urlopen(f"{ready[0].url}/health", timeout=30) as answer:
            assert json.loads(answer.read())["model"] == "penguins"
    finally:
        stop.set()
        server.join(60)
    assert not marker.exists()


def test_a_bundle_swapped_during_verification_reports_what_it_read(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _, marker, do_swap = setup_swap(exported, tmp_path, "rewritten")
    hook_before(monkeypatch, "inspect", do_swap, after=True)  # the entries are read next
    report = ws.bundles.verify(archive)
    assert report.ok and report.problems == ()
    assert report.sha256 == hashlib.sha256(exported[1].read_bytes()).hexdigest()
    assert not marker.exists()


def test_extraction_refuses_an_entry_that_is_not_what_was_verified(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "bundle"
    with safe_zip.snapshot(exported[1]) as source:
        report = verify_snapshot(source, signing.load_key(ws.root))
        assert report.ok and set(report.digests) == {e.name for e in report.entries}
        digests = report.digests | {MODEL: "0" * 64}
        with pytest.raises(BundleRefused, match="not the one that was verified") as caught:
            safe_zip.extract(source, list(report.entries), target, digests)
    assert caught.value.where == str(exported[1])
    assert list((tmp_path / "out").iterdir()) == []  # no folder, no staging left behind


def test_a_hostile_pickle_is_never_loaded_when_its_hash_is_wrong(
    ws: Workspace, exported: tuple[Path, Path], tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"
    hostile(exported[1], marker, tmp_path / "evil.zip")
    with pytest.raises(BundleRefused, match=r"failed verification.*model\.joblib"):
        ws.bundles.serve(tmp_path / "evil.zip", trust=True, stop=threading.Event())
    assert not marker.exists() and ws.deployments.list() == []
