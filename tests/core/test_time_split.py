"""Time-aware validation on a weather data set: the time split, backtests, and the refusals."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from core.errors import InvalidInput
from core.experiments import timesplit
from core.services import TrainRequest, Workspace
from tests.e2e.cli import shipway


def weather_lines(days: int, repeat: int = 1) -> list[str]:
    """Daily weather from 2012-01-01 (each day ``repeat`` times), dates written 2012/01/01."""
    rng = random.Random(2012)
    lines = ["date,precipitation,temp_max,wind,weather"]
    start = datetime.date(2012, 1, 1)
    for day in range(days):
        for _ in range(repeat):
            kind = rng.choice(("rain", "sun", "sun", "fog"))
            rain = {"rain": 8.0}.get(kind, 0.0) * rng.random()
            high = {"sun": 24.0}.get(kind, 12.0) + rng.uniform(-4, 4)
            date = (start + datetime.timedelta(days=day)).strftime("%Y/%m/%d")
            lines.append(f"{date},{rain:.1f},{high:.1f},{rng.uniform(0.5, 7):.1f},{kind}")
    return lines


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("time")
    files = {
        "weather": weather_lines(200),
        "ties": weather_lines(40, repeat=3),
        "zones": ["when,x,y"]
        + [f"2012-01-{d:02d}T00:00{'+02:00' * (d % 2)},{d},{d % 3}" for d in range(1, 29)],
    }
    workspace = Workspace.create(folder / "proj")
    for name, lines in files.items():
        path = folder / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        workspace.data.import_file(path)
    yield workspace
    workspace.close()


def forest(data: str, **options) -> TrainRequest:
    return TrainRequest(data, "weather", params={"n_estimators": 10}, **options)


def test_a_time_split_tests_on_the_latest_rows_and_backtests(ws: Workspace) -> None:
    run = ws.runs.train(
        forest("weather", split="time", time_column="date", backtest=4, cv_folds=3)
    ).result()
    assert run.status == "done", run.error
    windows = run.cv["backtest"]["windows"]
    assert [w["train_rows"] for w in windows] == [40, 80, 120, 160]
    assert [w["test_rows"] for w in windows] == [40, 40, 40, 40]
    assert windows[0]["test_from"] == "2012-02-10" and windows[-1]["test_to"] == "2012-07-18"
    assert set(run.cv["backtest"]["summary"]["accuracy"]) == {"mean", "std"}
    # The time split's test part is the latest fifth: the last window is the same fit and rows.
    assert run.metrics["accuracy"] == windows[-1]["metrics"]["accuracy"]
    assert len(run.cv["folds"]) == 3
    assert not any("split is random" in note for note in run.notes)
    version = ws.lifecycle.register(run.id, "rain")
    card = ws.registry.card(version.ref)
    assert "Split by time on 'date'" in card and "Walk-forward backtest, 4 windows" in card
    assert "2012-02-10 – " in card and "over the windows:" in card


def test_a_random_split_on_dated_data_is_warned_about(ws: Workspace) -> None:
    run = ws.runs.train(forest("weather")).result()
    warning = next(note for note in run.notes if "split is random" in note)
    assert "'date'" in warning and "--split time --time-column date" in warning


def test_ties_at_the_cut_stay_on_one_side() -> None:
    times = np.repeat(np.arange(10, dtype="int64") * 86_400 * 10**9, 3)  # 10 days × 3 rows
    cut, notes = timesplit.time_cut(times, 0.22)  # 23.4 → 23 rows, inside day 8
    assert cut == 21 and times[cut - 1] < times[cut]
    assert notes == ["2 rows share the time at the cut (1970-01-08): all rows of that time were "
                     "kept in the test part"]  # fmt: skip


def test_gaps_are_fine_and_said() -> None:
    days = np.array([0, 1, 2, 3, 4, 30, 31, 32, 33, 34], dtype="int64") * 86_400 * 10**9
    cut, notes = timesplit.time_cut(days, 0.2)
    assert cut == 8
    assert "from 1970-01-05 to 1970-01-31" in notes[0]


def test_a_time_split_over_tied_days(ws: Workspace) -> None:
    run = ws.runs.train(forest("ties", split="time", time_column="date", test_size=0.21)).result()
    assert run.status == "done", run.error
    assert "2 rows share the time at the cut (2012-02-01)" in " ".join(run.notes)


def test_mixed_time_zones_are_refused_naming_two_values(ws: Workspace) -> None:
    with pytest.raises(InvalidInput) as caught:
        ws.runs.prepare(TrainRequest("zones", "y", split="time", time_column="when"))
    message = caught.value.one_line()
    assert "mixes times with and without a time zone" in message
    assert "'2012-01-02T00:00'" in message and "'2012-01-01T00:00+02:00'" in message
    assert "column 'when'" in message


def test_a_column_that_is_not_a_date_is_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match=r"'wind' holds float values, not dates") as caught:
        ws.runs.prepare(forest("weather", split="time", time_column="wind"))
    assert "--time-column date" in caught.value.one_line()
    with pytest.raises(InvalidInput, match="needs a time split"):
        ws.runs.prepare(forest("weather", backtest=3))
    with pytest.raises(InvalidInput, match="needs the column that orders"):
        ws.runs.prepare(forest("weather", split="time"))


def test_the_command_shows_the_backtest(ws: Workspace) -> None:
    root = Path(ws.root)
    shown = shipway(
        root, "train", "--data", "weather", "--target", "weather", "--split", "time",
        "--time-column", "date", "--backtest", "3", "--param", "n_estimators=10",
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    run = shown.stdout.split()[1]
    text = shipway(root, "runs", "show", run).stdout
    assert "backtest: 3 walk-forward windows" in text
    assert "2012-05-30 – 2012-07-18" in text and "\nmean " in text and "\nstd " in text
