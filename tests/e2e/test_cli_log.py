"""`shipway log erase` and `shipway log prune` end to end, through real `shipway` processes, on
the log a real deployment wrote: what was erased is said and audited (never the value), bad
requests get one line and the right exit code, old rows are pruned by a duration or by
[monitor] keep."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.services import Workspace
from core.serving.logmaint import stamp
from core.serving.logreader import read_requests
from core.serving.predlog import LoggedRequest, PredictionLog
from tests.e2e.cli import PENGUINS, ok_json, shipway

DATA = pd.read_csv(PENGUINS)
DAY = 86_400
NAME = "Ada-Quinn-4711"  # the value a person asks to have erased


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("log-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "logistic_regression")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "peng")
    return root


def post(url: str, records: list[dict]) -> str:
    request = urllib.request.Request(
        f"{url}/predict",
        data=json.dumps({"records": records}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return answer.headers["X-Request-Id"]


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[tuple[str, Path, list[str], list[str]]]:
    """A running deployment that answered six requests, two of them holding NAME."""
    deployed = ok_json(project, "deploy", "peng@1")
    try:
        records = json.loads(DATA.drop(columns="species").head(4).to_json(orient="records"))
        plain = [post(deployed["url"], records) for _ in range(4)]
        theirs = [post(deployed["url"], [records[0], {**records[1], "sex": NAME}])
                  for _ in range(2)]  # fmt: skip
        with Workspace.open(project) as ws:
            folder = ws.deployments.folder(ws.deployments.get(deployed["id"]))
        deadline = time.monotonic() + 120
        while len(read_requests(folder)) < 6:  # the log is written off the request path
            assert time.monotonic() < deadline, "the requests never reached the log"
            time.sleep(0.1)
        yield deployed["id"], folder, plain, theirs
    finally:
        ok_json(project, "undeploy", deployed["id"])


def audit(project: Path) -> list[dict]:
    return [e for e in ok_json(project, "audit")["entries"] if e["action"] == "log.erase"]


def test_erase_by_value_and_by_id_says_what_it_erased_and_audits_no_value(
    project: Path, served
) -> None:
    deployment, folder, plain, theirs = served
    text = shipway(project, "log", "erase", deployment, "--where", f"sex={NAME}")
    assert text.returncode == 0, text.stderr
    assert "Erased 2 request(s)" in text.stdout and NAME not in text.stdout
    remaining = {r.request_id for r in read_requests(folder)}
    assert not set(theirs) & remaining and set(plain) <= remaining
    [entry] = audit(project)
    assert NAME not in json.dumps(entry)
    assert entry["detail"]["requests"] == 2 and entry["detail"]["criterion"] == {
        "column": "sex", "value_sha256": hashlib.sha256(NAME.encode()).hexdigest()
    }  # fmt: skip

    again = ok_json(project, "log", "erase", deployment, "--where", f"sex={NAME}")
    assert again["requests"] == 0 and again["request_ids"] == []  # 0 matches: said, not an error
    none = shipway(project, "log", "erase", deployment, "--request-id", uuid.uuid4().hex)
    assert none.returncode == 0 and "No request in the log" in none.stdout

    by_id = ok_json(project, "log", "erase", deployment, "--request-id", plain[0],
                    "--request-id", plain[1])  # fmt: skip
    assert sorted(by_id["request_ids"]) == sorted(plain[:2])
    assert {r.request_id for r in read_requests(folder)} == set(plain[2:])
    assert [e["detail"]["requests"] for e in audit(project)] == [2, 0, 0, 2]


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        ((), 2, "not both or neither"),
        (("--request-id", "abc", "--where", "sex=male"), 2, "not both or neither"),
        (("--where", "sex"), 2, "COLUMN=VALUE"),
        (("--where", "email=a@b.org"), 2, "known columns: bill_depth_mm, bill_length_mm"),
    ],
)
def test_a_bad_erase_request_is_one_line(project: Path, served, args, code, said) -> None:
    deployment = served[0]
    before = {r.request_id for r in read_requests(served[1])}
    result = shipway(project, "log", "erase", deployment, *args)
    assert result.returncode == code and result.stdout == ""
    assert result.stderr.count("\n") == 1 and said in result.stderr
    assert {r.request_id for r in read_requests(served[1])} == before
    as_json = shipway(project, "log", "erase", deployment, *args, "--json")
    assert as_json.returncode == code and json.loads(as_json.stdout)["error"] == "usage"


def test_an_unknown_deployment_is_one_line(project: Path) -> None:
    for args in (("erase", "no-such", "--request-id", "x"), ("prune", "no-such", "--older-than",
                                                               "1d")):  # fmt: skip
        result = shipway(project, "log", *args)
        assert result.returncode == 1 and result.stderr.count("\n") == 1
        assert "no deployment 'no-such'" in result.stderr


def test_prune_by_a_duration_or_by_monitor_keep(project: Path, served) -> None:
    deployment, folder = served[0], served[1]
    frame = DATA.drop(columns="species").head(3)
    old = [LoggedRequest(uuid.uuid4().hex, stamp(time.time() - (40.5 + i) * DAY), "peng", 1, 1.0,
                         200, 3, inputs=json.loads(frame.to_json(orient="records")))
           for i in range(30)]  # fmt: skip
    log = PredictionLog(folder)
    assert all(log.put(entry) for entry in old)
    log.close(timeout=120)
    kept = {r.request_id for r in read_requests(folder)} - {e.request_id for e in old}

    wrong = shipway(project, "log", "prune", deployment, "--older-than", "soon")
    assert wrong.returncode == 2 and "--older-than must be a positive duration" in wrong.stderr
    unset = shipway(project, "log", "prune", deployment)
    assert unset.returncode == 2 and "[monitor]" in unset.stderr
    first = ok_json(project, "log", "prune", deployment, "--older-than", "60d")
    [result] = first["deployments"]
    assert result["requests"] == 10 and first["problems"] == []  # days 60.5 to 69.5

    settings = project / "shipway.toml"
    text = settings.read_text()
    settings.write_text(text + '\n[monitor]\nkeep = "30d"\n')
    try:
        everyone = shipway(project, "log", "prune")  # every deployment, by [monitor] keep
    finally:
        settings.write_text(text)
    assert everyone.returncode == 0, everyone.stderr
    assert f"{deployment}: pruned 20 requests" in everyone.stdout
    assert {r.request_id for r in read_requests(folder)} == kept
