"""Champion and challenger deployments through the real `shipway` command and real servers.

A weak champion (a one-split tree) and a strong challenger (logistic regression) of the penguin
species serve under load on two worker processes: in shadow mode the challenger's answers are
logged and compared with a paired test, and the ``challenger_wins`` gate decides the promotion;
in split mode a sticky key keeps each customer on one side in every worker process.
"""

from __future__ import annotations

import http.client
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from core.errors import GateBlocked
from core.services import TrainRequest, Workspace
from core.serving.predlog import ChallengerEntry, PredictionLog, now_iso
from tests.e2e.cli import PENGUINS, ok_json, shipway
from tests.serving.test_challenger import _wait_for

FEATURES = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
            "sex", "year"]  # fmt: skip
GATES = """
[gates.production]
challenger_wins = {{ metric = "accuracy", min_rows = {rows}, confidence = 0.95 }}
"""


# A minute for the challenger's predictions (the default is a second): on a loaded machine a
# slow first one would count as a timeout and the champion would answer in its place.
SLOW_MACHINE = ("--challenger-timeout-ms", "60000")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions 1 (weak), 2 (strong) and 3 (a regressor); 1 in production, 2 in staging."""
    root = tmp_path_factory.mktemp("challenger") / "penguins"
    requests = [
        TrainRequest("penguins", "species", estimator="decision_tree", params={"max_depth": 1}),
        TrainRequest("penguins", "species", estimator="logistic_regression"),
        TrainRequest("penguins", "body_mass_g", task="regression", estimator="linear_regression"),
    ]
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        for request in requests:
            ws.lifecycle.register(ws.runs.train(request).result().id, "penguins-model")
        with open(root / "shipway.toml", "a", encoding="utf-8") as handle:
            handle.write("\n[gates.production]\n")  # no gates until a test writes its own
        ws.lifecycle.promote("penguins-model@1", "production")
        ws.lifecycle.promote("penguins-model@2", "staging")
    return root


def _rows() -> list[tuple[dict, str]]:
    frame = pd.read_csv(PENGUINS).dropna().reset_index(drop=True)
    return [(row[FEATURES].to_dict(), row["species"]) for _, row in frame.iloc[::2].iterrows()]


def _post(port: int, route: str, body: dict) -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", route, json.dumps(body), {"Content-Type": "application/json"})
        answer = connection.getresponse()
        headers = {k.lower(): v for k, v in answer.getheaders()}
        return answer.status, json.loads(answer.read()), headers
    finally:
        connection.close()


def _load(port: int, rows: list[tuple[dict, str]], extra=lambda i: {}) -> list[tuple]:
    """Every row as a request (four clients at once, a new connection each: both workers
    answer), with its feedback; ``(index, answer, headers)`` per request."""

    def one(index: int) -> tuple:
        record, species = rows[index]
        status, answer, headers = _post(port, "/predict", {"records": [{**record, **extra(index)}]})
        assert status == 200, answer
        back, _, _ = _post(port, "/feedback", {"request_id": answer["request_id"],
                                               "actual": species})  # fmt: skip
        assert back in (200, 202)
        return index, answer, headers

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(len(rows))))


def _compare(root: Path, deployment: str, want_rows: int) -> dict:
    """The comparison once ``want_rows`` rows with feedback are in the log (then as the
    command prints it)."""

    def ready() -> bool:
        with Workspace.open(root) as ws:
            return ws.monitoring.compare_challenger(deployment, "accuracy").rows >= want_rows

    _wait_for(ready, "the comparison's rows")
    return ok_json(root, "deployments", "compare", deployment, "--metric", "accuracy")


def test_refusals_name_what_is_wrong(project: Path) -> None:
    refused = shipway(project, "deploy", "penguins-model@production",
                      "--challenger", "penguins-model@3")  # fmt: skip
    assert refused.returncode == 1
    message = refused.stderr
    assert "task regression, not classification" in message
    assert "input 'body_mass_g'" in message and "is missing" in message and "'species'" in message
    share = shipway(project, "deploy", "penguins-model@production", "--challenger",
                    "penguins-model@staging", "--mode", "split", "--share", "150")  # fmt: skip
    assert share.returncode == 1 and "from 0 to 100" in share.stderr
    assert not list((project / "deployments").glob("*/challenger.json"))


def test_shadow_under_load_then_the_gate_decides_the_promotion(project: Path) -> None:
    deployed = ok_json(project, "deploy", "penguins-model@production", "--challenger",
                       "penguins-model@staging", "--mode", "shadow", "--workers", "2",
                       *SLOW_MACHINE)  # fmt: skip
    assert deployed["challenger"]["version"] == 2 and deployed["challenger"]["mode"] == "shadow"
    port, rows = urlsplit(deployed["url"]).port, _rows()
    try:
        answers = _load(port, rows)
        assert all(a["version"] == 1 and a["served_by"] == "champion" for _, a, _ in answers)
        assert all(h["x-served-by"] == "champion" for _, _, h in answers)
        found = _compare(project, deployed["id"], len(rows))
        assert found["mode"] == "shadow" and found["test"]["name"] == "mcnemar_exact"
        champion, challenger = found["sides"]["champion"], found["sides"]["challenger"]
        assert champion["requests"] == challenger["requests"] == len(rows)
        assert 0 < found["agreement"] < 1 and found["agreement_rows"] == len(rows)
        assert champion["latency_p50_ms"] > 0 and challenger["latency_p50_ms"] > 0
        assert set(challenger["mix"]) == {"Adelie", "Chinstrap", "Gentoo"}
        low, high = challenger["metric"]["low"], challenger["metric"]["high"]
        assert low <= challenger["metric"]["value"] <= high
        assert challenger["metric"]["value"] > champion["metric"]["value"]
        assert found["better"] == "challenger" and found["test"]["p_value"] < 0.001

        (project / "shipway.toml").write_text(
            (project / "shipway.toml").read_text().replace("[gates.production]\n", "")
            + GATES.format(rows=100_000)
        )
        with Workspace.open(project) as ws, pytest.raises(GateBlocked, match="not enough rows"):
            ws.lifecycle.promote("penguins-model@2", "production")
        text = (project / "shipway.toml").read_text()
        (project / "shipway.toml").write_text(text.replace("100000", str(len(rows) // 2)))
        moved = ok_json(project, "deployments", "promote", deployed["id"])
        assert moved["version"] == 2 and moved["passed"] and moved["deployments"]
        gate = next(g for g in moved["gates"] if g["rule"] == "challenger_wins")
        assert gate["passed"] and gate["details"]["test"] == "mcnemar_exact"
        _wait_for(lambda: "served_by" not in _post(port, "/predict", {"records": [rows[0][0]]})[1],
                  "the challenger's removal")  # fmt: skip
    finally:
        ok_json(project, "undeploy", deployed["id"])


def test_split_with_a_sticky_key_under_load(project: Path) -> None:
    deployed = ok_json(project, "deploy", "penguins-model@1", "--challenger", "penguins-model@2",
                       "--mode", "split", "--share", "40", "--sticky", "customer",
                       "--workers", "2", *SLOW_MACHINE)  # fmt: skip
    port, rows = urlsplit(deployed["url"]).port, _rows()[::2]  # every species
    try:
        answers = _load(port, rows, lambda i: {"customer": f"c{i % 40}"})
        sides: dict[str, set[str]] = {}
        for index, answer, headers in answers:
            assert answer["served_by"] == headers["x-served-by"]
            assert answer["version"] == (2 if answer["served_by"] == "challenger" else 1)
            sides.setdefault(f"c{index % 40}", set()).add(answer["served_by"])
        assert all(len(seen) == 1 for seen in sides.values())  # one side per key, any worker
        assert {side for seen in sides.values() for side in seen} == {"champion", "challenger"}
        status, refused, _ = _post(port, "/predict", {"records": [rows[0][0]]})
        assert status == 422 and refused["details"][0]["column"] == "customer"
        found = _compare(project, deployed["id"], 20)
        assert found["mode"] == "split" and found["agreement"] is None
        assert found["test"]["name"] == "two_proportion_z"
        counts = found["sides"]
        assert counts["champion"]["requests"] + counts["challenger"]["requests"] == len(rows)
        assert counts["challenger"]["metric"]["value"] > counts["champion"]["metric"]["value"]
        text = shipway(project, "deployments", "compare", deployed["id"])
        assert text.returncode == 0 and "split mode" in text.stdout and "bootstrap" in text.stdout
        _a_failing_challenger_raises_one_alert(project, deployed["id"])
    finally:
        ok_json(project, "undeploy", deployed["id"])


def _a_failing_challenger_raises_one_alert(project: Path, deployment_id: str) -> None:
    """A time-out in the log (as a server writes it) is an alert at the next trigger check,
    recorded once however often the check runs."""
    with Workspace.open(project) as ws:
        log = PredictionLog(ws.deployments.folder(ws.deployments.get(deployment_id)))
        log.put(ChallengerEntry("f" * 32, now_iso(), "split", "champion", 2, 1000.0, "timeout"))
        log.close()
        first = ws.lifecycle.check_triggers()
        again = ws.lifecycle.check_triggers()
        (alert,) = [a for a in first.alerts if a.kind == "challenger_failing"]
    assert alert.deployment == deployment_id and "timed out 1" in alert.message
    assert not [a for a in again.alerts if a.kind == "challenger_failing"]


def test_challenger_options_without_a_challenger_are_refused() -> None:
    from argparse import Namespace

    from core.cli.challenger_cmds import challenger_config
    from core.errors import UsageError

    plain = {"challenger": None, "mode": None, "share": None, "sticky": None,
             "challenger_timeout_ms": None}  # fmt: skip
    assert challenger_config(Namespace(**plain)) is None
    with pytest.raises(UsageError, match="--share describes a challenger"):
        challenger_config(Namespace(**{**plain, "share": 10.0}))
    with pytest.raises(UsageError, match="--sticky applies to --mode split"):
        challenger_config(Namespace(**{**plain, "challenger": "m@2", "sticky": "customer"}))
    config = challenger_config(Namespace(**{**plain, "challenger": "m@2"}))
    assert (config.mode, config.share, config.sticky) == ("shadow", 10.0, None)
