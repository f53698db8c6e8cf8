"""Columns that identify rows rather than describe them: flagged at import (with the reason),
left out of a run's default features (the run's notes say so), never the suggested target.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from core.data.column_roles import identifier_columns, suggest_target
from core.data.profile import profile_table
from core.services import ImportOptions, TrainRequest, Workspace, preview_file
from core.services import suggest_target as exported_suggest_target

WEATHER = """date,precipitation,temp_max,temp_min,wind,weather
2012/01/01,0.0,12.8,5.0,4.7,drizzle
2012/01/02,10.9,10.6,2.8,4.5,rain
2012/01/03,0.8,11.7,7.2,2.3,rain
2012/01/04,20.3,12.2,5.6,4.7,rain
2012/01/05,1.3,8.9,2.8,6.1,rain
2012/01/06,2.5,4.4,2.2,2.2,rain
2012/01/07,0.0,7.2,2.8,2.3,rain
2012/01/08,0.0,10.0,2.8,2.0,sun
2012/01/09,4.3,9.4,5.0,3.4,rain
2012/01/10,1.0,6.1,0.6,3.4,rain
2012/01/11,0.0,6.1,-1.1,5.1,sun
2012/01/12,0.0,6.1,-1.7,1.9,sun
2012/01/13,0.0,5.0,-2.8,1.3,sun
2012/01/14,4.1,4.4,0.6,5.3,snow
2012/01/15,5.3,1.1,-3.3,3.2,snow
2012/01/16,2.5,1.7,-2.8,5.0,snow
2012/01/17,8.1,3.3,0.0,5.6,snow
2012/01/18,19.8,0.0,-2.8,5.0,snow
2012/01/19,15.2,-1.1,-2.8,1.6,snow
2012/01/20,13.5,7.2,-1.1,2.3,snow
2012/01/21,3.0,8.3,3.3,8.2,rain
2012/01/22,6.1,6.7,2.2,4.8,rain
2012/01/23,0.0,8.3,1.1,3.6,rain
2012/01/24,8.6,10.0,2.2,5.1,rain
2012/01/25,8.1,8.9,4.4,5.4,rain
2012/01/26,4.8,8.9,1.1,4.8,rain
2012/01/27,0.0,6.7,-2.2,1.4,drizzle
2012/01/28,0.0,6.7,0.6,2.2,drizzle
2012/01/29,27.7,9.4,3.9,4.5,rain
2012/01/30,3.6,8.3,6.1,5.1,rain
"""


@pytest.fixture
def weather(workspace: Workspace, tmp_path: Path) -> Workspace:
    path = tmp_path / "seattle-weather.csv"
    path.write_text(WEATHER)
    workspace.data.import_file(path, ImportOptions(name="weather"))
    return workspace


def test_the_weather_file(weather: Workspace, tmp_path: Path) -> None:
    """The date is typed, flagged as one row per date, and ``weather`` is the target."""
    version = weather.data.version("weather")
    assert version.schema["date"] == "datetime"
    assert version.report["identifiers"] == {
        "date": "every value is distinct (one row per date: a date used as a key)"
    }
    assert version.report["clean"]
    assert exported_suggest_target(
        list(version.schema), version.schema, version.report["identifiers"]
    ) == "weather"  # fmt: skip
    preview = preview_file(tmp_path / "seattle-weather.csv")
    assert preview.identifiers == version.report["identifiers"]
    assert preview.target == "weather"
    spec, _ = weather.runs.prepare(TrainRequest(data="weather", target="weather"))
    assert spec.features == ("precipitation", "temp_max", "temp_min", "wind")


def test_a_run_on_default_features_notes_what_was_left_out(weather: Workspace) -> None:
    run = weather.runs.train(
        TrainRequest(data="weather", target="weather", estimator="dummy", cv_folds=0)
    ).result(timeout=600)
    assert run.status == "done", run.error
    assert "date" not in run.spec["features"]
    [note] = [n for n in run.notes if "'date'" in n and "left out of the features" in n]
    assert "one row per date" in note
    assert any("--split time --time-column date" in n for n in run.notes)  # and a time split


def test_chosen_features_may_include_an_identifier(weather: Workspace) -> None:
    request = TrainRequest(data="weather", target="weather", features=["date", "wind"])
    spec, _ = weather.runs.prepare(request)
    assert spec.features == ("date", "wind")


def test_repeated_dates_are_not_an_identifier(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("day,store,amount\n" + "".join(
        f"2012/01/{1 + i // 3:02d},s{i % 3},{i * 1.5}\n" for i in range(30)
    ))  # fmt: skip
    version = workspace.data.import_file(path).version
    assert version.schema["day"] == "datetime"
    assert "day" not in version.report["identifiers"]


# -- what makes an identifier ----------------------------------------------------------------

ROWS = 200
rng = random.Random(3)
SHUFFLED = list(range(1000, 1000 + ROWS))
rng.shuffle(SHUFFLED)
COLUMNS = {
    "row": (list(range(ROWS)), "every value is distinct (a row number)"),
    "n": (list(range(1, ROWS + 1)), "every value is distinct (a row number)"),
    "ticket": (SHUFFLED, "every value is distinct (consecutive whole numbers: a running id)"),
    "customer_id": ([rng.randrange(10**9) * 7 + i for i in range(ROWS)],
                    "every value is distinct (a whole-number key)"),
    "order_uuid": ([str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(ROWS)],
                   "every value is distinct (UUIDs)"),
    "sku": ([f"SKU-{i:06d}" for i in range(ROWS)],
            "every value is distinct (codes like 'SKU-000000')"),
    "digest": ([f"{rng.getrandbits(160):040x}" for _ in range(ROWS)], None),
    "name_id": ([f"person {i}" for i in range(ROWS)], "every value is distinct (an id)"),
    "when": ([f"2012-01-01T00:00:{i % 60:02d}" for i in range(ROWS)], None),
}  # fmt: skip
NOT_IDENTIFIERS = {
    "price": [round(rng.uniform(1, 100), 6) for _ in range(ROWS)],  # floats never are
    "count": [rng.randrange(10**9) for _ in range(ROWS)],  # distinct, but no sign of a key
    "with_gap": [None, *range(1, ROWS)],  # a row without a value
    "colour": [rng.choice(["red", "blue"]) for _ in range(ROWS)],
    "person": [f"person {i}" for i in range(ROWS)],  # distinct text, not a code
}


def test_identifier_columns_and_their_reasons() -> None:
    data = {name: values for name, (values, _) in COLUMNS.items()} | NOT_IDENTIFIERS
    table = pa.table(data)
    table = table.set_column(
        table.schema.get_field_index("when"),
        "when",
        pa.array([1_325_376_000 + i * 86_400 for i in range(ROWS)], pa.timestamp("s")).cast(
            pa.timestamp("us")
        ),
    )  # one row per day
    found = identifier_columns(table, profile_table(table))
    digest = found.pop("digest")
    assert digest.startswith("every value is distinct (codes like ")
    assert found.pop("when") == "every value is distinct (one row per date: a date used as a key)"
    assert found == {name: reason for name, (_, reason) in COLUMNS.items() if reason}


def test_a_tiny_table_has_no_identifiers() -> None:
    table = pa.table({"id": [1, 2], "x": ["a", "b"]})
    assert identifier_columns(table, profile_table(table)) == {}


# -- the suggested target ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["a", "b", "label", "c"], "label"),
        (["a", "Churn_Label", "c"], "Churn_Label"),
        (["a", "class", "c"], "class"),
        (["x", "Y", "z"], "Y"),
        (["a", "outcome", "target", "z"], "target"),  # target is preferred
        (["a", "pos_y", "b"], "b"),  # "y" counts only on its own
        (["a", "b", "c"], "c"),
        (["id", "a", "b", "when"], "b"),  # neither an identifier nor a date
        (["id"], None),
        ([], None),
    ],
)
def test_suggest_target(columns: list[str], expected: str | None) -> None:
    types = {name: "string" for name in columns} | {"when": "datetime"}
    assert suggest_target(columns, types, {"id": "every value is distinct (a row number)"}) == (
        expected
    )


def test_an_identifier_named_like_a_target_is_not_suggested() -> None:
    identifiers = {"label": "every value is distinct (codes like 'L-0001')"}
    assert suggest_target(["label", "a", "b"], {}, identifiers) == "b"


def test_versions_without_identifiers_keep_every_column(weather: Workspace) -> None:
    """Versions imported before identifiers existed have no such section in their report."""
    from dataclasses import replace

    from core.experiments.validation import default_features

    version = weather.data.version("weather")
    report = {k: v for k, v in version.report.items() if k != "identifiers"}
    assert "date" in default_features(replace(version, report=report), "weather")
