"""Models a team can trust, on penguins: data contracts (inferred at registration, shown and
edited by the CLI, enforced at import, by the data_contract gate and at /predict on a real
server) and metrics per segment (the model card's table, the max_disparity gate)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.errors import InvalidInput, ProjectError
from core.services import TrainRequest, Workspace
from core.serving import contract as rules
from core.serving.server import start_server
from core.serving.settings import ServingConfig
from tests.serving.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
ROW = {
    "island": "Biscoe",
    "bill_length_mm": 45.0,
    "bill_depth_mm": 15.0,
    "flipper_length_mm": 215,
    "body_mass_g": 5000,
    "sex": "male",
    "year": 2008,
}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("contracts")
    workspace = Workspace.create(folder / "proj")
    workspace.data.import_file(PENGUINS)
    request = TrainRequest("penguins", "species", estimator="logistic_regression")
    run = workspace.runs.train(request).result()
    assert run.status == "done", run.error
    workspace.lifecycle.register(run.id, "pen")
    workspace.lifecycle.register(run.id, "pen")  # pen@2: edited by the tests below
    yield workspace
    workspace.close()


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--project", str(ws.root), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_inferred_contract_is_shown(ws: Workspace, capsys) -> None:
    code, out, _ = cli(ws, capsys, "models", "contract", "pen@1", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["source"] == "inferred"
    columns = {c["name"]: c for c in shown["columns"]}
    mass = columns["body_mass_g"]  # 2700..6300 in the data, widened by a tenth of 3600
    assert (mass["min"], mass["max"]) == (2340.0, 6660.0)
    assert columns["island"]["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert columns["island"]["nullable"] is False and columns["sex"]["nullable"] is True
    code, out, _ = cli(ws, capsys, "models", "contract", "pen@1")
    assert code == 0 and "body_mass_g" in out and "6660" in out and "inferred" in out


def test_a_contradicting_edit_is_refused_and_changes_nothing(ws, capsys, tmp_path) -> None:
    before = ws.registry.contract("pen@1").to_dict()
    code, _, err = cli(ws, capsys, "models", "contract", "pen@1", "--set", "body_mass_g.min=7000")
    assert code == 1
    assert "body_mass_g.min (7000) is above body_mass_g.max (6660)" in err
    document = dict(before, columns=[dict(c) for c in before["columns"]])
    document["columns"][1].update(min=10, max=5)
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(document))
    with pytest.raises(
        InvalidInput, match=r"bill_length_mm\.min \(10\) is above bill_length_mm\.max"
    ):
        ws.registry.edit_contract("pen@1", file=path)
    with pytest.raises(InvalidInput, match="no column 'wings'"):
        ws.registry.edit_contract("pen@1", ("wings.max=3",))
    assert ws.registry.contract("pen@1").to_dict() == before


def test_the_gate_fails_once_the_test_rows_break_the_contract(ws: Workspace, capsys) -> None:
    settings = ws.root / "shipway.toml"
    settings.write_text(settings.read_text() + "\n[gates.staging]\ndata_contract = true\n")
    report = ws.registry.evaluate_gates("pen@2", "staging")
    assert report.passed, report.results
    code, out, _ = cli(ws, capsys, "models", "contract", "pen@2", "--set", "body_mass_g.max=4000")
    assert code == 0 and "edited" in out
    report = ws.registry.evaluate_gates("pen@2", "staging")
    (result,) = report.results
    assert not result.passed and result.rule == "data_contract"
    assert "body_mass_g.max" in result.message and "above 4000" in result.message
    card = ws.registry.card("pen@2")
    assert "## Data contract" in card and "edited since registration" in card


def test_import_check_lists_a_new_versions_violations(ws, capsys, tmp_path) -> None:
    shifted = pd.read_csv(PENGUINS)
    shifted.loc[:4, "body_mass_g"] = 9000  # five rows far above the contract's 6660
    shifted.loc[5, "island"] = "Atlantis"
    path = tmp_path / "penguins.csv"
    shifted.to_csv(path, index=False)
    code, out, _ = cli(ws, capsys, "--json", "data", "import", str(path), "--check", "pen@1")
    assert code == 0
    found = json.loads(out)["contract"]
    assert found["model"] == "pen@1" and not found["passed"]
    rules_broken = {v["rule"]: v for v in found["violations"]}
    assert rules_broken["body_mass_g.max"]["rows"] == 5
    assert rules_broken["body_mass_g.max"]["examples"] == [0, 1, 2, 3, 4]
    assert rules_broken["island.categories"]["examples"] == [5]
    code, _, err = cli(ws, capsys, "data", "import", str(path), "--check", "nobody@1")
    assert code == 1 and "nobody" in err


def test_predict_rejects_or_counts_a_shifted_row(ws: Workspace, tmp_path: Path) -> None:
    settings = ws.root / "shipway.toml"
    settings.write_text(settings.read_text() + '\n[serving]\ncontract = "reject"\n')
    try:
        folder = ws.registry.write_model_dir("pen@1", tmp_path / "model")
    finally:
        settings.write_text(settings.read_text().replace('contract = "reject"', ""))
    assert json.loads((folder / rules.CONTRACT_FILE).read_text())["mode"] == "reject"
    shifted = dict(ROW, body_mass_g=20000)
    server = start_server(folder)
    try:
        client = Client(server.port)
        assert client.predict({"records": [ROW]}).status == 200
        refused = client.predict({"records": [ROW, shifted]})
        assert refused.status == 422
        answer = refused.json
        assert answer["error"] == "contract_violation"
        assert "body_mass_g.max" in answer["message"] and "body_mass_g" in answer["message"]
        assert answer["details"][0]["rows"] == [1]
        client.close()
    finally:
        server.stop()
    server = start_server(folder, config=ServingConfig(contract="warn"))
    try:
        client = Client(server.port)
        answered = client.predict({"records": [shifted, shifted]})
        assert answered.status == 200
        assert [w["rule"] for w in answered.json["warnings"] if "rule" in w] == ["body_mass_g.max"]
        metrics = client.call("GET", "/metrics").body.decode()
        assert 'rule="body_mass_g.max"} ' in metrics
        line = next(x for x in metrics.splitlines() if 'rule="body_mass_g.max"' in x)
        assert 'model="pen",version="1"' in line and float(line.split()[-1]) >= 2
        client.close()
    finally:
        server.stop()


def test_a_bad_serving_mode_names_the_setting(ws: Workspace, tmp_path: Path) -> None:
    from core.registry.contracts import serving_mode

    with pytest.raises(ProjectError, match=r"\[serving\] contract must be one of off, warn"):
        serving_mode({"serving": {"contract": "strict"}})


def test_checks_on_a_frame() -> None:
    contract = rules.Contract(
        (
            rules.ColumnRule("id", "integer", nullable=False, unique=True),
            rules.ColumnRule("x", "float", minimum=0.0, maximum=1.0),
        )
    )
    frame = pd.DataFrame({"id": [1.0, 2.0, 2.0, None], "x": [0.5, -1.0, 0.2, 3.0]})
    found = {v.rule: v.examples for v in rules.check(contract, frame)}
    assert found == {"id.nullable": (3,), "id.unique": (2,), "x.min": (1,), "x.max": (3,)}
    with pytest.raises(rules.ContractProblem, match="only numbers have a min/max"):
        rules.edit(rules.Contract((rules.ColumnRule("s", "string"),)), ["s.max=3"])


def gates(ws: Workspace, alias: str, table: str) -> None:
    settings = ws.root / "shipway.toml"
    settings.write_text(settings.read_text() + f"\n[gates.{alias}]\n{table}\n")


def test_a_disparity_gate_blocks_then_passes(ws: Workspace) -> None:
    gates(ws, "fair", 'max_disparity = { metric = "log_loss", by = "island", max_gap = 0.0 }')
    gates(ws, "fairer", 'max_disparity = { metric = "log_loss", by = "island", max_gap = 5.0 }')
    (blocked,) = ws.registry.evaluate_gates("pen@1", "fair").results
    assert not blocked.passed and blocked.details["verdict"] == "failed"
    assert blocked.value > 0 and "log_loss by island" in blocked.message
    assert "over the 0 allowed" in blocked.message
    (passed,) = ws.registry.evaluate_gates("pen@1", "fairer").results
    assert passed.passed and passed.value == blocked.value


def test_too_few_rows_is_said_not_passed(ws: Workspace) -> None:
    rule = 'max_disparity = { metric = "recall", by = "sex", max_gap = 1.0, min_rows = 1000 }'
    gates(ws, "small", rule)
    (result,) = ws.registry.evaluate_gates("pen@1", "small").results
    assert not result.passed and result.details["verdict"] == "not_enough_rows"
    assert result.message.startswith("not enough rows: fewer than two segments of sex")


def test_the_card_has_the_segment_table(ws: Workspace) -> None:
    settings = ws.root / "shipway.toml"
    settings.write_text(settings.read_text() + '\n[evaluation]\nsegments = ["sex"]\n')
    card = ws.registry.card("pen@1")
    section = card.split("## Segments")[1].split("## ")[0]
    assert "By sex on the test split" in section
    assert "| female |" in section and "| male |" in section
    assert "recall (95% CI)" in section
    assert section.count("\u2013") >= 14  # two groups of 30 rows or more, seven intervals each


def test_a_segment_column_the_data_lacks_is_named_on_the_card_not_fatal(ws: Workspace) -> None:
    settings = ws.root / "shipway.toml"
    before = settings.read_text()  # the project is the module's: leave its settings as found
    kept = before.split("\n[evaluation]\n")[0]
    settings.write_text(kept + '\n[evaluation]\nsegments = ["sex", "no_such_column"]\n')
    try:
        card = ws.registry.card("pen@1")  # raised before: the card (and the app's detail) failed
        html = ws.registry.card("pen@1", "html")
    finally:
        settings.write_text(before)
    section = card.split("## Segments")[1].split("## ")[0]
    assert "By sex on the test split" in section and "| female |" in section
    assert "Not evaluated:" in section and "no_such_column" in section
    assert "no_such_column" in html


def test_a_column_of_hundreds_of_values_is_grouped() -> None:
    from core.experiments import segments

    values = pd.Series([f"v{i % 300}" for i in range(900)] + ["v1"] * 50, name="shop")
    y = [0, 1] * 475
    table = segments.segment_table(values, y, y, "classification", None, [0, 1])
    shown = [g["value"] for g in table["groups"]]
    assert len(shown) == segments.MAX_GROUPS and segments.OTHER in shown and "v1" in shown
    other = next(g for g in table["groups"] if g["value"] == segments.OTHER)
    assert other["rows"] == 950 - sum(g["rows"] for g in table["groups"] if g is not other)
    (note,) = table["notes"]
    assert "shop has 300 values" in note and "other 291 are grouped as (other)" in note


def test_segment_tables_are_computed_once_until_the_evaluation_table_changes(
    ws: Workspace,
) -> None:
    settings = ws.root / "shipway.toml"
    before = settings.read_text()
    kept = before.split("\n[evaluation]\n")[0]
    settings.write_text(kept + '\n[evaluation]\nsegments = ["sex"]\n')
    try:
        first = ws.registry.segments("pen@1")
        assert ws.registry.segments("pen@1") is first  # the app's card and tab ask in turn
        settings.write_text(kept + '\n[evaluation]\nsegments = ["sex", "island"]\n')
        changed = ws.registry.segments("pen@1")
    finally:
        settings.write_text(before)
    assert changed is not first
    assert changed.columns == ("sex", "island") and len(changed.tables) == 2
