"""Excel, Parquet, JSON lines and SQL sources: good ones import with the right types, bad ones
are refused with a clear error and leave the project unchanged (the ``refused`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import ImportFailed, NotFound, UsageError
from core.services import ImportOptions, Workspace


def cells(frame: pd.DataFrame, column: str) -> list[Any]:
    """The column's values with missing ones as None (pandas shows them as NaN or NaT)."""
    series = frame[column].astype(object)
    return series.where(series.notna(), None).tolist()


# -- Excel --------------------------------------------------------------------------------------


def test_a_real_workbook_imports_with_the_right_types(workspace: Workspace, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["id", "price", "name", "sold", "day", "mixed", "paid"])
    rows = [
        (1, 2.5, "Ann", dt.datetime(2024, 1, 2, 9, 30), dt.date(2024, 1, 2), 1, True),
        (2, 3.0, "Bob", dt.datetime(2024, 2, 3, 10, 0), dt.date(2024, 2, 3), "two", False),
        (3, 4.25, "Cyd", dt.datetime(2024, 3, 4, 11, 15), dt.date(2024, 3, 4), 3.5, True),
        (4, None, "Dee", None, dt.date(2024, 4, 5), None, False),
    ]
    for row in rows:
        sheet.append(row)
    book.create_sheet("Other").append(["x"])
    book.save(tmp_path / "sales.xlsx")
    outcome = workspace.data.import_file(tmp_path / "sales.xlsx")
    frame = workspace.data.read(outcome.version.ref)
    assert outcome.version.schema == {
        "id": "integer", "price": "float", "name": "string", "sold": "datetime",
        "day": "datetime", "mixed": "string", "paid": "boolean",
    }  # fmt: skip
    assert outcome.version.report["detected"]["sheet"] == "Sales"
    assert frame["id"].tolist() == [1, 2, 3, 4]
    assert cells(frame, "price") == [2.5, 3.0, 4.25, None]
    assert frame["sold"].iloc[0] == pd.Timestamp("2024-01-02 09:30")
    assert frame["day"].iloc[3] == pd.Timestamp("2024-04-05")
    assert cells(frame, "mixed") == ["1", "two", "3.5", None]  # one type: text
    assert frame["paid"].tolist() == [True, False, True, False]


def test_a_named_sheet_and_a_missing_sheet(workspace: Workspace, tmp_path: Path, refused) -> None:
    book = openpyxl.Workbook()
    book.active.append(["a"])
    book.active.append([1])
    other = book.create_sheet("Second")
    other.append(["b"])
    other.append(["x"])
    path = tmp_path / "two.xlsx"
    book.save(path)
    outcome = workspace.data.import_file(path, ImportOptions(sheet="Second"))
    assert outcome.version.schema == {"b": "string"}
    error = refused(
        lambda: workspace.data.import_file(path, ImportOptions(sheet="Third", name="t"))
    )
    assert "'Third'" in error.message and "Second" in error.hint


def test_an_empty_sheet_is_refused(workspace: Workspace, tmp_path: Path, refused) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)
    error = refused(lambda: workspace.data.import_file(path))
    assert "empty" in error.message


def test_an_xlsx_that_is_really_text_is_refused(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = tmp_path / "report.xlsx"
    path.write_text("a,b\n1,2\n")
    error = refused(lambda: workspace.data.import_file(path))
    assert "not an Excel workbook" in error.message and "--format csv" in error.hint


# Nine levels of ten: "&lol9;" expands to 10^9 "lol"s, 3 GB, from a few hundred bytes.
BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE lolz [\n'
    '<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    + "]>\n"
)
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
_SHARED_STRINGS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)


def workbook_with(tmp_path: Path, part: str, text: str, prolog: str = "") -> Path:
    """A real workbook (written by openpyxl) whose cell A2 holds ``text`` in ``part``.

    ``part`` is "sheet" (an inline string in xl/worksheets/sheet1.xml) or "shared" (a new
    xl/sharedStrings.xml, declared in the content types and the workbook's relationships).
    ``prolog`` replaces the XML declaration of that part, e.g. with an entity-declaring DTD.
    """
    base = tmp_path / "base.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["name"])
    book.active.append(["placeholder"])
    book.save(base)
    with zipfile.ZipFile(base) as source:
        parts = {info.filename: source.read(info.filename).decode() for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    placeholder = '<c r="A2" t="inlineStr"><is><t>placeholder</t></is></c>'
    assert placeholder in sheet
    if part == "sheet":
        sheet = sheet.replace(placeholder, f'<c r="A2" t="inlineStr"><is><t>{text}</t></is></c>')
        parts["xl/worksheets/sheet1.xml"] = _with_prolog(sheet, prolog)
    else:
        parts["xl/worksheets/sheet1.xml"] = sheet.replace(
            placeholder, '<c r="A2" t="s"><v>0</v></c>'
        )
        shared = f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>{text}</t></si></sst>'
        parts["xl/sharedStrings.xml"] = prolog + shared if prolog else shared
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            "</Types>",
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHARED_STRINGS_TYPE}"/>'
            "</Types>",
        )
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            "</Relationships>",
            f'<Relationship Id="rIdShared" Type="{_SHARED_STRINGS_REL}" '
            'Target="sharedStrings.xml"/></Relationships>',
        )
    path = tmp_path / f"{part}-{'bomb' if prolog else 'plain'}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return path


def _with_prolog(xml: str, prolog: str) -> str:
    if not prolog:
        return xml
    body = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    return prolog + body.lstrip()


@pytest.mark.parametrize("part", ["sheet", "shared"])
def test_the_workbook_surgery_itself_imports_when_harmless(
    workspace: Workspace, tmp_path: Path, part: str
) -> None:
    """The control for the bomb tests below: the same construction, without the bomb."""
    outcome = workspace.data.import_file(workbook_with(tmp_path, part, "harmless"))
    assert workspace.data.read(outcome.version.ref)["name"].tolist() == ["harmless"]


@pytest.mark.parametrize("part", ["sheet", "shared"])
def test_an_xml_bomb_in_a_workbook_is_refused(
    workspace: Workspace, tmp_path: Path, refused, part: str
) -> None:
    path = workbook_with(tmp_path, part, "&lol9;", prolog=BILLION_LAUGHS)
    assert path.stat().st_size < 10_000  # and no zip-size check could catch it
    error = refused(lambda: workspace.data.import_file(path))
    assert "XML bomb" in error.message and "EntitiesForbidden" in error.message


def test_an_xml_bomb_does_not_blow_up_memory(project_dir: Path, tmp_path: Path) -> None:
    """In a child process limited to 2 GB of address space; the expansion would need 3 GB."""
    path = workbook_with(tmp_path, "sheet", "&lol9;", prolog=BILLION_LAUGHS)
    limit = 2 * 1024**3

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "core.cli", "--project", str(project_dir), "--json",
               "data", "import", str(path)]  # fmt: skip
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr, preexec_fn=limit_memory)
        # this child's own peak (RUSAGE_CHILDREN would be the largest of every child this test
        # process ever waited for, an installer build included)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    stdout_text, stderr_text = out.read_text(), err.read_text()
    assert child.returncode == 1, stderr_text
    assert json.loads(stdout_text)["error"] == "import_failed"
    assert "XML bomb" in stderr_text and len(stderr_text.splitlines()) == 1
    assert usage.ru_maxrss / 1024 < 1024


# -- Parquet ----------------------------------------------------------------------------------


def test_parquet_round_trip_keeps_values_and_maps_types(
    workspace: Workspace, tmp_path: Path
) -> None:
    stamp = dt.datetime(2024, 5, 6, 7, 8, 9)
    table = pa.table(
        {
            "i32": pa.array([1, None, 3], pa.int32()),
            "u8": pa.array([1, 2, 255], pa.uint8()),
            "f32": pa.array([0.5, 1.5, None], pa.float32()),
            "text": ["a", None, "c,d\ne"],
            "cat": pa.array(["x", "y", "x"]).dictionary_encode(),
            "flag": [True, None, False],
            "ns": pa.array([stamp, None, stamp], pa.timestamp("ns")),
            "utc": pa.array([stamp] * 3, pa.timestamp("ms", tz="UTC")),
            "day": pa.array([dt.date(2024, 1, 1), dt.date(2024, 1, 2), None], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "typed.parquet")
    outcome = workspace.data.import_file(tmp_path / "typed.parquet")
    assert outcome.version.schema == {
        "i32": "integer", "u8": "integer", "f32": "float", "text": "string", "cat": "string",
        "flag": "boolean", "ns": "datetime", "utc": "datetime", "day": "datetime",
    }  # fmt: skip
    frame = workspace.data.read(outcome.version.ref)
    assert cells(frame, "i32") == [1, None, 3]
    assert frame["u8"].tolist() == [1, 2, 255]
    assert cells(frame, "text") == ["a", None, "c,d\ne"]
    assert frame["cat"].tolist() == ["x", "y", "x"]
    assert frame["ns"].iloc[0] == pd.Timestamp(stamp)
    assert frame["day"].iloc[1] == pd.Timestamp("2024-01-02")
    again = workspace.data.import_file(tmp_path / "typed.parquet")
    assert (again.created, again.version.version) == (False, outcome.version.version)


@pytest.mark.parametrize("keep", ["half", "no-tail"])
def test_a_truncated_parquet_file_is_refused(
    workspace: Workspace, tmp_path: Path, refused, keep: str
) -> None:
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), whole)
    data = whole.read_bytes()
    path = tmp_path / "cut.parquet"
    path.write_bytes(data[: len(data) // 2] if keep == "half" else data[:-1])
    error = refused(lambda: workspace.data.import_file(path))
    assert "truncated" in error.message


def test_a_damaged_parquet_file_is_refused(workspace: Workspace, tmp_path: Path, refused) -> None:
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), whole)
    data = whole.read_bytes()
    path = tmp_path / "damaged.parquet"
    path.write_bytes(data[:4] + b"\x00" * (len(data) - 8) + data[-4:])  # markers intact
    error = refused(lambda: workspace.data.import_file(path))
    assert "cannot be read" in error.message


def test_parquet_with_nested_or_duplicate_columns_is_refused(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"id": [1, 2], "tags": [["a"], ["b", "c"]]}), nested)
    error = refused(lambda: workspace.data.import_file(nested))
    assert "'tags'" in error.message and "list" in error.message
    twice = tmp_path / "twice.parquet"
    pq.write_table(pa.table([pa.array([1]), pa.array([2])], names=["x", "x"]), twice)
    error = refused(lambda: workspace.data.import_file(twice))
    assert "duplicate column names" in error.message


def test_parquet_without_rows_is_refused(workspace: Workspace, tmp_path: Path, refused) -> None:
    path = tmp_path / "norows.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.int64())}), path)
    error = refused(lambda: workspace.data.import_file(path))
    assert "no data rows" in error.message


# -- JSON lines -------------------------------------------------------------------------------


def test_json_lines_with_nested_values(workspace: Workspace, tmp_path: Path) -> None:
    lines = [
        {"id": 1, "score": 1, "tags": ["a", "b"], "meta": {"k": 1}, "ok": True},
        {"id": 2, "score": 2.5, "tags": [], "meta": None, "ok": False},
        {"id": 3, "score": None, "meta": {"k": [1, 2]}, "ok": True, "note": "late key"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    outcome = workspace.data.import_file(path)
    assert outcome.version.schema == {
        "id": "integer", "score": "float", "tags": "string", "meta": "string",
        "ok": "boolean", "note": "string",
    }  # fmt: skip
    frame = workspace.data.read(outcome.version.ref)
    assert cells(frame, "tags") == ['["a", "b"]', "[]", None]
    assert cells(frame, "meta") == ['{"k": 1}', None, '{"k": [1, 2]}']
    assert cells(frame, "note") == [None, None, "late key"]


def test_a_broken_json_line_is_refused_by_its_number(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2,\n{"a": 3}\n')
    error = refused(lambda: workspace.data.import_file(path))
    assert error.message.startswith("line 3 is not valid JSON")
    assert error.where == f"{path}:3"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"a": "\xc3\xa9"}\n{"a": "\xff"}\n', "line 2 is not valid UTF-8"),
        (b'[{"a": 1}, {"a": 2}]\n', "line 1 holds a JSON list, not an object"),
        (b"\n \n", "no JSON objects"),
    ],
    ids=["bad-utf8", "array", "blank"],
)
def test_bad_json_lines_files_are_refused(
    workspace: Workspace, tmp_path: Path, refused, content: bytes, says: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    error = refused(lambda: workspace.data.import_file(path))
    assert says in error.message


def test_an_unknown_encoding_for_json_lines_is_a_usage_error(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"a": 1}\n')
    error = refused(
        lambda: workspace.data.import_file(path, ImportOptions(encoding="klingon")), UsageError
    )
    assert "'klingon'" in error.message


# -- SQL ----------------------------------------------------------------------------------------


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("create table orders (id integer, price real, item text, day text)")
        db.executemany(
            "insert into orders values (?, ?, ?, ?)",
            [(1, 2.5, "tea", "2024-01-01"), (2, None, "cake", "2024-01-02"), (3, 4.0, None, None)],
        )
    return path


def test_sql_import_from_a_sqlite_file_url(workspace: Workspace, shop_db: Path) -> None:
    url = f"sqlite:///{shop_db}"
    outcome = workspace.data.import_sql("select * from orders order by id", url, "orders")
    assert outcome.version.schema == {
        "id": "integer", "price": "float", "item": "string", "day": "datetime"
    }  # fmt: skip
    frame = workspace.data.read("orders")
    assert cells(frame, "price") == [2.5, None, 4.0]
    assert cells(frame, "item") == ["tea", "cake", None]
    assert outcome.version.source_format == "sql"


def test_a_failing_query_is_refused(workspace: Workspace, shop_db: Path, refused) -> None:
    url = f"sqlite:///{shop_db}"
    error = refused(lambda: workspace.data.import_sql("select * from nowhere", url, "x"))
    assert "no such table: nowhere" in error.message


def test_a_missing_sqlite_file_is_not_found_and_not_created(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    missing = tmp_path / "missing.db"
    refused(lambda: workspace.data.import_sql("select 1", f"sqlite:///{missing}", "x"), NotFound)
    assert not missing.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [("nosuchdb://host/db", "no database driver"), ("not a url", "cannot be understood")],
)
def test_unusable_database_urls_are_refused(
    workspace: Workspace, refused, url: str, says: str
) -> None:
    error = refused(lambda: workspace.data.import_sql("select 1", url, "x"), ImportFailed)
    assert says in error.message
