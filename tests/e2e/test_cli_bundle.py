"""`shipway bundle export|verify|extract` and `shipway serve BUNDLE.zip --trust` end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.e2e.cli import PENGUINS, shipway


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    for args in (
        ("data", "import", str(PENGUINS)),
        ("train", "--data", "penguins", "--target", "species", "--model", "logistic_regression"),
        ("models", "register", "1", "--name", "penguins"),
    ):
        assert shipway(root, *args).returncode == 0
    return root


def test_export_verify_and_tampering(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "penguins-1.zip"
    exported = shipway(project, "bundle", "export", "penguins@1", "-o", str(out), "--json")
    assert exported.returncode == 0, exported.stderr
    assert set(json.loads(exported.stdout)) >= {"path", "sha256"}
    verified = shipway(project, "bundle", "verify", str(out), "--json")
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["ok"] and report["signed"] == "this project"
    assert report["sha256"] == json.loads(exported.stdout)["sha256"]

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data + b"#" if name == "requirements.txt" else data)
    result = shipway(project, "bundle", "verify", str(tampered), "--json")
    assert result.returncode == 1
    assert not json.loads(result.stdout)["ok"]
    assert "requirements.txt" in result.stderr and result.stderr.count("\n") == 1
    served = shipway(project, "serve", str(tampered), "--trust")
    assert served.returncode == 1 and "failed verification" in served.stderr


def test_extract_refuses_an_existing_folder(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    assert shipway(project, "bundle", "export", "penguins@1", "-o", str(out)).returncode == 0
    assert (
        shipway(project, "bundle", "extract", str(out), "-o", str(tmp_path / "x")).returncode == 0
    )
    again = shipway(project, "bundle", "extract", str(out), "-o", str(tmp_path / "x"))
    assert again.returncode == 1 and "exists already" in again.stderr
