"""`shipway bundle verify` and `shipway serve` of a damaged archive: exit 1, one readable line on
stderr (what, where, what to do), no traceback; with --json one JSON document on stdout. And the
--trust help says in plain words that a bundle's model is a pickle that runs code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.services import TrainRequest, Workspace
from tests.core.bundle_damage import DAMAGE
from tests.e2e.cli import PENGUINS, ROOT, shipway

COMMANDS = {"verify": ("bundle", "verify"), "serve": ("serve",)}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    base = tmp_path_factory.mktemp("damaged-cli")
    with Workspace.create(base / "penguins") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", base / "penguins-1.zip")
    return base / "penguins", (base / "penguins-1.zip").read_bytes()


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_bundle_gives_one_line_and_exit_1(
    project: tuple[Path, bytes], tmp_path: Path, damage: str, command: str
) -> None:
    root, good = project
    archive = tmp_path / "penguins-1.zip"
    archive.write_bytes(DAMAGE[damage](good, "model/model.joblib"))
    text = shipway(root, *COMMANDS[command], str(archive), timeout=120)
    assert text.returncode == 1, text.stderr
    assert "Traceback" not in text.stderr and text.stderr.count("\n") == 1
    line = text.stderr.strip()
    assert line.startswith("shipway: error: ") and f"[{archive}]" in line  # what and where
    assert "nothing was extracted" in line  # what to do, and that nothing happened
    document = shipway(root, *COMMANDS[command], str(archive), "--json", timeout=120)
    assert document.returncode == 1 and "Traceback" not in document.stderr
    error = json.loads(document.stdout)  # one document, nothing else on stdout
    assert error["error"] == "bundle_refused" and error["where"] == str(archive)
    assert document.stderr.strip() == line
    assert not (root / "deployments").exists() or not list((root / "deployments").iterdir())


@pytest.mark.parametrize("command", [("serve",), ("bundle", "extract")])
def test_the_trust_option_says_the_model_is_a_pickle_that_runs_code(command: tuple) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", *command, "--help"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    trust = text[text.index("--trust") :]
    for words in ("pickle", "runs code from whoever made the bundle", "people you trust"):
        assert words in trust
