"""The always-on service's monitoring path never imports scipy (about 70 MB resident), nor a web
stack, the data importers, bundles or batch scoring (about 15 MB more): a fresh Python process
builds the CLI's parser and imports the service module, as ``shipway service run`` does, looks
for failing challengers and evaluates the triggers over a real deployment's prediction log (one
drift check: KS, chi-square and z tests on the penguins reference), as the service's monitoring
tick does, and reports what it imported.

The log has no feedback, as a service that waits has none: live metrics, which use training's
scikit-learn metric functions (and so scipy), are computed only once actual values come back."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.services import TrainRequest, Workspace
from tests.logged_traffic import log_an_hour

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"

CHILD = textwrap.dedent(
    """
    import json, sys

    HEAVY = ("scipy", "sklearn", "flask", "waitress", "pyarrow.parquet", "pyarrow.csv",
             "core.data.importer", "core.bundles.service", "core.scoring.service")
    from core.cli import build_parser

    build_parser()  # `shipway service run` parses its command line with every command's parser
    import core.cli.service_run, core.operations.service  # then imports the service
    from core.services import Workspace

    with Workspace.open(sys.argv[1]) as ws:
        ws.lifecycle.check_challengers()  # what check_triggers() runs first in the service
        check = ws.lifecycle.check_triggers(sys.argv[2])
        series = ws.monitoring.drift_series("peng@1", sys.argv[2])
    tests = sorted({f.test for b in series.buckets for f in b.report.features if f.test})
    print(json.dumps({
        "problems": list(check.problems),
        "buckets": len(series.buckets),
        "tests": tests,
        "heavy": sorted(m for m in HEAVY if m in sys.modules),
    }))
    """
)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A registered version, a deployment of it (stopped; its log stays) with an hour of
    traffic in the previous hour, and [triggers] on."""
    root = tmp_path_factory.mktemp("scipy-free") / "p"
    with Workspace.create(root, name="scipy-free") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest("penguins", "species",
                                         estimator="logistic_regression")).result()  # fmt: skip
        ws.lifecycle.register(run.id, "peng")
        deployment = ws.deployments.deploy("peng@1", workers=1)
        ws.deployments.undeploy(deployment.id)
        start = math.floor(time.time() / 3600) * 3600 - 2 * 3600
        log_an_hour(ws, "peng@1", ws.deployments.folder(deployment), start)
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text(encoding="utf-8")
                        + "\n[triggers]\ndrift_buckets = 3\n", encoding="utf-8")  # fmt: skip
    return root, deployment.id


@pytest.fixture(scope="module")
def report(logged) -> dict:
    """What a fresh process, started as the service is, imported and found in one check."""
    root, deployment = logged
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    done = subprocess.run([sys.executable, "-c", CHILD, str(root), deployment],
                          capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_drift_check_in_a_fresh_service_process_never_imports_scipy(report) -> None:
    assert report["problems"] == []
    assert report["buckets"] >= 1
    assert {"ks", "chisquare", "z"} <= set(report["tests"])  # the check really tested
    assert "scipy" not in report["heavy"], "the service's drift check imported scipy"


def test_the_service_process_imports_no_web_stack_importers_bundles_or_scoring(report) -> None:
    assert report["heavy"] == []
