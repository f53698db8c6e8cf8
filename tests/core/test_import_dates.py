"""Dates written other ways than ISO 8601: typed when a whole column reads one way, else text
with a report entry that says why and what to pass.

Real files (CSV, and a workbook written by openpyxl) go through ``Workspace.data.import_file``;
the typing paths are compared on the same columns.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest

from core.data import dates, infer, infer_fast
from core.data.report import ImportReport
from core.errors import UsageError
from core.services import ImportOptions, Workspace, preview_file


def write_csv(folder: Path, name: str, header: str, rows: list[str]) -> Path:
    path = folder / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def imported(workspace: Workspace, path: Path, **options: Any) -> tuple[dict[str, Any], Any]:
    outcome = workspace.data.import_file(path, ImportOptions(**options))
    document = outcome.to_dict() | {"options": outcome.version.options}
    return document, workspace.data.read(outcome.version.ref)


def problems(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in document["report"]["problems"] if p["kind"] == kind]


def day(year: int, month: int, date: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, date, hour, minute)


# -- layouts read as dates ------------------------------------------------------------------

LAYOUTS = {
    "year first, slashes": (["2012/01/01", "2012/01/02", "2012/12/31"], day(2012, 12, 31)),
    "year first, dots": (["2012.01.01", "2012.1.2", "2012.12.31"], day(2012, 12, 31)),
    "year first, single digits": (["2012-1-1", "2012-1-2", "2012-12-31"], day(2012, 12, 31)),
    "day first, a day above 12": (["01/02/2012", "31/12/2012", "05/06/2012"], day(2012, 12, 31)),
    "month first, a day above 12": (["01/02/2012", "12/31/2012", "05/06/2012"], day(2012, 12, 31)),
    "day first, dots": (["01.02.2012", "31.12.2012", "5.6.2012"], day(2012, 12, 31)),
    "with minutes": (["2012/01/01 10:00", "2012/01/02 9:30", "2012/12/31 23:59"],
                     day(2012, 12, 31, 23, 59)),
    "ISO with minutes": (["2012-01-01 10:00", "2012-01-02 09:30", "2012-12-31 23:59"],
                         day(2012, 12, 31, 23, 59)),
    "month name first": (["Jan 5 2012", "Feb 29 2012", "Dec 31 2012"], day(2012, 12, 31)),
    "month name, comma": (["Jan 5, 2012", "Feb 29, 2012", "Dec 31, 2012"], day(2012, 12, 31)),
    "day, month name": (["5 January 2012", "29 Feb 2012", "31 December 2012"], day(2012, 12, 31)),
    "day-month name-year": (["5-Jan-2012", "29-feb-2012", "31-DEC-2012"], day(2012, 12, 31)),
    "year-month name-day": (["2012-Jan-05", "2012-Feb-29", "2012-Dec-31"], day(2012, 12, 31)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LAYOUTS))
def test_a_column_written_one_way_is_a_datetime(
    workspace: Workspace, tmp_path: Path, case: str
) -> None:
    cells, last = LAYOUTS[case]
    rows = [f'"{c}",{i}' for i, c in enumerate(cells)]  # quoted: "Jan 5, 2012" holds a comma
    path = write_csv(tmp_path, "d.csv", "when,n", rows)
    document, frame = imported(workspace, path)
    assert document["schema"]["when"] == "datetime", document["report"]
    assert frame["when"].max().to_pydatetime() == last
    assert problems(document, "not_dates") == problems(document, "date_formats") == []


def test_the_weather_file_dates_with_slashes(workspace: Workspace, tmp_path: Path) -> None:
    """``2012/01/01`` used to stay text."""
    rows = [f"2012/01/{d:02d},{d * 0.5}" for d in range(1, 29)]
    document, frame = imported(workspace, write_csv(tmp_path, "w.csv", "date,rain", rows))
    assert document["schema"] == {"date": "datetime", "rain": "float"}
    assert frame["date"].iloc[0].to_pydatetime() == day(2012, 1, 1)
    assert document["report"]["clean"]


def test_missing_cells_stay_missing(workspace: Workspace, tmp_path: Path) -> None:
    rows = ["2012/01/01,1", ",2", "NA,3", "2012/01/04,4"]
    document, frame = imported(workspace, write_csv(tmp_path, "m.csv", "date,n", rows))
    assert document["schema"]["date"] == "datetime"
    assert frame["date"].isna().tolist() == [False, True, True, False]
    assert document["report"]["missing_tokens"]["date"] == {"": 1, "NA": 1}


# -- day and month order --------------------------------------------------------------------

AMBIGUOUS = ["01/02/2012", "03/04/2012", "05/06/2012", "11/12/2012"]


def test_an_ambiguous_column_stays_text_and_the_report_says_what_to_pass(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "a.csv", "visit,n", [f"{c},{i}" for i, c in enumerate(AMBIGUOUS)])
    document, frame = imported(workspace, path)
    assert document["schema"]["visit"] == "string"
    assert frame["visit"].tolist() == AMBIGUOUS
    [entry] = problems(document, "date_order")
    assert entry["column"] == "visit" and entry["severity"] == "warning"
    assert "'visit'" in entry["message"]
    assert "--date-order day-first" in entry["message"]
    assert "--date-order month-first" in entry["message"]
    assert "date_order=" in entry["message"]
    assert not document["report"]["clean"]


@pytest.mark.parametrize(
    ("order", "first"),
    [("day_first", day(2012, 2, 1)), ("month_first", day(2012, 1, 2)),
     ("day-first", day(2012, 2, 1))],
)  # fmt: skip
def test_an_ambiguous_column_with_a_date_order_is_typed_that_way(
    workspace: Workspace, tmp_path: Path, order: str, first: dt.datetime
) -> None:
    path = write_csv(tmp_path, "a.csv", "visit,n", [f"{c},{i}" for i, c in enumerate(AMBIGUOUS)])
    document, frame = imported(workspace, path, date_order=order)
    assert document["schema"]["visit"] == "datetime"
    assert frame["visit"].iloc[0].to_pydatetime() == first
    assert problems(document, "date_order") == []
    assert document["options"]["date_order"] == order.replace("-", "_")


def test_the_date_order_is_part_of_the_import_options_key(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "a.csv", "visit,n", [f"{c},{i}" for i, c in enumerate(AMBIGUOUS)])
    text = workspace.data.import_file(path, ImportOptions(name="v"))
    dated = workspace.data.import_file(path, ImportOptions(name="v", date_order="day_first"))
    assert dated.created and dated.version.version == 2
    assert text.version.schema["visit"] == "string" and dated.version.schema["visit"] == "datetime"
    assert "date_order" not in text.version.options


def test_a_day_above_12_beyond_the_sample_settles_the_order(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The sample (1,000 values) fits both orders; row 1,500 holds the 13th."""
    rng = random.Random(5)
    cells = [f"{rng.randint(1, 12):02d}/{rng.randint(1, 12):02d}/2012" for _ in range(2000)]
    cells[1499] = "13/05/2012"
    path = write_csv(tmp_path, "late.csv", "visit,n", [f"{c},{i}" for i, c in enumerate(cells)])
    for order in ("auto", "month_first"):  # an order given does not overrule the values
        document, frame = imported(workspace, path, name=f"late-{order}", date_order=order)
        assert document["schema"]["visit"] == "datetime"
        assert frame["visit"].iloc[1499].to_pydatetime() == day(2012, 5, 13)


def test_an_unknown_date_order_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        ImportOptions(date_order="year-first")
    assert "year-first" in caught.value.message and "day-first" in caught.value.hint


# -- columns that stay text, and why ------------------------------------------------------------


def test_dates_written_several_ways_stay_text_with_a_note(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = ["2012-01-01,1", "02/01/2012,2", "2012/01/03,3"]
    document, frame = imported(workspace, write_csv(tmp_path, "mix.csv", "when,n", rows))
    assert document["schema"]["when"] == "string"
    assert frame["when"].tolist() == ["2012-01-01", "02/01/2012", "2012/01/03"]
    [entry] = problems(document, "date_formats")
    assert entry["column"] == "when" and "several ways" in entry["message"]
    assert "'2012-01-01'" in entry["message"]


@pytest.mark.parametrize("bad", ["2012/02/30", "2011/02/29", "2012/13/01", "2012/04/31"])
def test_an_impossible_date_keeps_the_column_text(
    workspace: Workspace, tmp_path: Path, bad: str
) -> None:
    rows = ["2012/01/01,1", "2012/01/02,2", f"{bad},3", "2012/03/01,4"]
    document, frame = imported(workspace, write_csv(tmp_path, "bad.csv", "when,n", rows))
    assert document["schema"]["when"] == "string"
    assert frame["when"].tolist()[2] == bad
    [entry] = problems(document, "not_dates")
    assert entry["column"] == "when" and entry["count"] == 1
    assert entry["rows"] == [3] and entry["lines"] == [4]
    assert f"'{bad}'" in entry["message"] and "2012/01/31" in entry["message"]


def test_an_impossible_date_beyond_the_sample(workspace: Workspace, tmp_path: Path) -> None:
    cells = [f"2012/{1 + i % 12:02d}/{1 + i % 28:02d}" for i in range(12_000)]
    cells[11_000] = "2012/02/30"
    path = write_csv(tmp_path, "late.csv", "when,n", [f"{c},{i}" for i, c in enumerate(cells)])
    document, _ = imported(workspace, path)
    assert document["schema"]["when"] == "string"
    [entry] = problems(document, "not_dates")
    assert entry["rows"] == [11_001] and entry["tokens"] == {"2012/02/30": 1}


def test_two_digit_years_are_not_dates(workspace: Workspace, tmp_path: Path) -> None:
    rows = ["1/2/12,1", "3/4/12,2"]
    document, _ = imported(workspace, write_csv(tmp_path, "yy.csv", "when,n", rows))
    assert document["schema"]["when"] == "string"


# -- digits only: YYYYMMDD ------------------------------------------------------------------


def test_yyyymmdd_in_a_column_named_like_a_date(workspace: Workspace, tmp_path: Path) -> None:
    rows = ["20120101,20120101,5", "20120229,20120229,6", ",20121231,7"]
    path = write_csv(tmp_path, "c.csv", "order_date,amount,n", rows)
    document, frame = imported(workspace, path)
    assert document["schema"] == {"order_date": "datetime", "amount": "integer", "n": "integer"}
    assert frame["order_date"].iloc[1].to_pydatetime() == day(2012, 2, 29)
    assert frame["order_date"].isna().tolist() == [False, False, True]


@pytest.mark.parametrize("cells", [["20120101", "20120230"], ["18991231", "20120101"],
                                   ["20120101", "21010101"], ["2012010", "20120101"]])  # fmt: skip
def test_yyyymmdd_that_are_not_all_plausible_dates_stay_integers(
    workspace: Workspace, tmp_path: Path, cells: list[str]
) -> None:
    path = write_csv(tmp_path, "c.csv", "date,n", [f"{c},{i}" for i, c in enumerate(cells)])
    document, _ = imported(workspace, path)
    assert document["schema"]["date"] == "integer"


@pytest.mark.parametrize(
    ("name", "dated"),
    [("date", True), ("Date", True), ("order_dt", True), ("BirthDate", True), ("day", True),
     ("start_time", True), ("ts", True), ("amount", False), ("id", False), ("days", False),
     ("updated", False)],
)  # fmt: skip
def test_which_names_suggest_dates(name: str, dated: bool) -> None:
    assert dates.name_suggests_date(name) is dated


# -- a workbook, and the preview ------------------------------------------------------------


def test_a_workbook_of_text_dates(workspace: Workspace, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["visit", "ymd", "real"])
    for cells in (["01/02/2012", "2012/01/05", dt.datetime(2012, 1, 5)],
                  ["03/04/2012", "2012/02/06", dt.datetime(2012, 2, 6)]):  # fmt: skip
        sheet.append(cells)
    path = tmp_path / "visits.xlsx"
    book.save(path)
    document, _ = imported(workspace, path)
    assert document["schema"] == {"visit": "string", "ymd": "datetime", "real": "datetime"}
    assert [p["column"] for p in problems(document, "date_order")] == ["visit"]
    document, frame = imported(workspace, path, name="again", date_order="month_first")
    assert document["schema"]["visit"] == "datetime"
    assert frame["visit"].iloc[1].to_pydatetime() == day(2012, 3, 4)


def test_the_preview_types_dates_as_the_import_would(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "a.csv", "visit,n", [f"{c},{i}" for i, c in enumerate(AMBIGUOUS)])
    preview = preview_file(path)
    assert preview.types["visit"] == "string"
    assert [p["kind"] for p in preview.problems] == ["date_order"]
    preview = preview_file(path, ImportOptions(date_order="day_first"))
    assert preview.types["visit"] == "datetime" and preview.problems == ()


# -- the quick path and the rules agree --------------------------------------------------------

TOKENS = frozenset(["", "NA", "NULL", "n/a"])


def _slash(rng: random.Random, i: int) -> str:
    return f"2012/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"


def _ambiguous(rng: random.Random, i: int) -> str:
    return f"{rng.randint(1, 12):02d}/{rng.randint(1, 12):02d}/2012"


def _named(rng: random.Random, i: int) -> str:
    return rng.choice(["Jan 5 2012", "Feb 29 2012", "Dec 31 2012"])


DATE_CASES = {
    "slashes": (_slash, None),
    "slashes, empty cells and tokens": (_slash, "NA"),
    "slashes, late impossible date": (_slash, "2012/02/30"),
    "slashes, late other layout": (_slash, "2012-01-05"),
    "slashes, late word": (_slash, "soon"),
    "ambiguous": (_ambiguous, None),
    "ambiguous, late day above 12": (_ambiguous, "13/01/2012"),
    "month names": (_named, None),
    "month names, late NULL": (_named, "NULL"),
}


@pytest.mark.parametrize("order", ["auto", "day_first"])
@pytest.mark.parametrize("case", list(DATE_CASES))
def test_quick_typing_of_dates_equals_the_rules(case: str, order: str) -> None:
    make, late = DATE_CASES[case]
    rng = random.Random(case)
    cells = [make(rng, i) for i in range(12_000)]
    if late is not None:
        cells[-1] = late
    if "empty" in case:
        cells[::7] = [""] * len(cells[::7])
    values = pa.chunked_array([pa.array(cells[:6000]), pa.array(cells[6000:])], pa.string())
    rules = infer.TypingRules(TOKENS, ".", 0.01, order)
    quick_report, rules_report = ImportReport("csv", "x"), ImportReport("csv", "x")
    line_of = lambda index: index + 2  # noqa: E731
    quick = infer_fast.type_text_column("when", values, rules, quick_report, line_of)
    reference = infer.type_column("when", values, rules, rules_report, line_of)
    assert quick.type == reference.type and quick.equals(reference)
    assert quick_report.problems == rules_report.problems
    assert quick_report.missing_tokens == rules_report.missing_tokens


@pytest.mark.parametrize("name", ["date", "amount"])
def test_quick_typing_of_yyyymmdd_equals_the_rules(name: str) -> None:
    cells = [f"2012{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, 29)] * 40
    values = pa.chunked_array([pa.array(cells)], pa.string())
    rules = infer.TypingRules(TOKENS)
    quick_report, rules_report = ImportReport("csv", "x"), ImportReport("csv", "x")
    quick = infer_fast.type_text_column(name, values, rules, quick_report, lambda i: None)
    reference = infer.type_column(name, values, rules, rules_report, lambda i: None)
    assert quick.equals(reference)
    assert quick.type == (pa.timestamp("us") if name == "date" else pa.int64())
