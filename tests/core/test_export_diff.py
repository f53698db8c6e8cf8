"""Exporting versions (formula-like cells neutralised, a round trip keeps values and types) and
diffing two versions (schema changes, distribution shifts by PSI)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import UsageError
from core.services import ImportOptions, Workspace


def import_frame(workspace: Workspace, frame: pd.DataFrame, path: Path, name: str) -> str:
    frame.to_csv(path, index=False)
    return workspace.data.import_file(path, ImportOptions(name=name)).version.ref


def read_csv_cells(path: Path) -> dict[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {name: [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])}


# -- export -------------------------------------------------------------------------------------


def test_csv_export_neutralises_formulas_but_not_negative_numbers(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = ["=cmd|' /C calc'!A0", "+x", "-x", "@SUM(A1)", "\t=1+1", "plain", "a=b"]
    frame = pd.DataFrame(
        {
            "text": text,
            "count": [-5, -1, 0, 1, 2, 3, 4],
            "amount": [-2.5, -1.0, 0.5, 1.0, 2.0, 3.0, 4.0],
        }
    )
    ref = import_frame(workspace, frame, tmp_path / "risky.csv", "risky")
    target = workspace.data.export(ref, tmp_path / "out" / "risky.csv")
    exported = read_csv_cells(target)
    assert exported["text"] == ["'=cmd|' /C calc'!A0", "'+x", "'-x", "'@SUM(A1)", "'\t=1+1",
                                "plain", "a=b"]  # fmt: skip
    assert exported["count"] == ["-5", "-1", "0", "1", "2", "3", "4"]
    assert exported["amount"] == ["-2.5", "-1.0", "0.5", "1.0", "2.0", "3.0", "4.0"]
    assert [p.name for p in target.parent.iterdir()] == ["risky.csv"]  # no temporary left


def test_csv_export_neutralises_formula_like_column_names(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The header row is cells too: a name like =cmd|... would run when the file is opened."""
    frame = pd.DataFrame(
        {"=cmd|' /C calc'!A0": ["a"], "@SUM(A1)": [1], "+x": [1.5], "-y": ["b"], "a=b": ["c"]}
    )
    ref = import_frame(workspace, frame, tmp_path / "names.csv", "names")
    assert list(workspace.data.version(ref).schema) == list(frame.columns)  # stored as given
    target = workspace.data.export(ref, tmp_path / "out.csv")
    with open(target, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == ["'=cmd|' /C calc'!A0", "'@SUM(A1)", "'+x", "'-y", "a=b"]
    table = workspace.data.export_table_csv({"=HYPERLINK(1)": ["x"]}, tmp_path / "table.csv")
    assert table.read_text(encoding="utf-8").splitlines()[0] == '"\'=HYPERLINK(1)"'


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_then_reimport_round_trips(
    workspace: Workspace, tmp_path: Path, suffix: str
) -> None:
    source = tmp_path / "source.csv"
    source.write_text(
        "id,price,whole,label,code,ok,at\n"
        '1,2.5,1.0,"comma, inside",007,true,2024-01-02T03:04:05\n'
        '2,,2.0,"line\nbreak",012,false,2024-02-03T04:05:06\n'
        '3,-0.125,,"say ""hi""",100,,\n',
        encoding="utf-8",
    )
    original = workspace.data.import_file(source)
    target = workspace.data.export(original.version.ref, tmp_path / f"copy{suffix}")
    copy = workspace.data.import_file(target, ImportOptions(name="copy"))
    assert copy.version.schema == original.version.schema == {
        "id": "integer", "price": "float", "whole": "float", "label": "string",
        "code": "string", "ok": "boolean", "at": "datetime",
    }  # fmt: skip
    pd.testing.assert_frame_equal(
        workspace.data.read(copy.version.ref), workspace.data.read(original.version.ref)
    )


def test_export_to_a_folder_is_a_usage_error(workspace: Workspace, tmp_path: Path) -> None:
    ref = import_frame(workspace, pd.DataFrame({"a": [1, 2]}), tmp_path / "a.csv", "a")
    with pytest.raises(UsageError):
        workspace.data.export(ref, tmp_path)


# -- diff ---------------------------------------------------------------------------------------


def sales(seed: int, rows: int, amount_mean: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": rng.normal(amount_mean, 15, rows).round(2),
            "city": rng.choice(["Lyon", "Oslo", "Graz", "Porto"], rows),
        }
    )


def test_diff_reports_schema_changes_and_a_moved_distribution(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = sales(1, 2000, amount_mean=100).assign(code=7, dropped=1.5)
    second = sales(2, 2500, amount_mean=130).assign(code="A7", added="new")
    import_frame(workspace, first, tmp_path / "v1.csv", "sales")
    import_frame(workspace, second, tmp_path / "v2.csv", "sales")
    result = workspace.data.diff("sales@1", "sales@2")
    assert (result.rows, result.rows_delta) == ((2000, 2500), 500)
    assert result.schema == {
        "added": {"added": "string"},
        "removed": {"dropped": "float"},
        "retyped": {"code": ["integer", "string"]},
    }
    by_name = {column["name"]: column for column in result.columns}
    assert by_name["amount"]["psi"] > 0.2 and by_name["amount"]["shift"] == "shift"
    assert by_name["amount"]["mean"][1] - by_name["amount"]["mean"][0] == pytest.approx(30, abs=2)
    assert by_name["city"]["psi"] < 0.1 and by_name["city"]["shift"] == "stable"
    assert by_name["code"]["shift"] == "n/a"
    assert "amount" in result.shifted and "city" not in result.shifted


def test_a_version_diffed_with_itself_is_stable(workspace: Workspace, tmp_path: Path) -> None:
    import_frame(workspace, sales(1, 500, 100), tmp_path / "v1.csv", "same")
    result = workspace.data.diff("same@1", "same@1")
    assert result.shifted == () and all(c["psi"] == 0 for c in result.columns)


def test_a_constant_column_that_moved_shows_a_shift(workspace: Workspace, tmp_path: Path) -> None:
    """A constant first version has no deciles to bin by; the move must not read as PSI 0."""
    import_frame(
        workspace, pd.DataFrame({"x": [5] * 100, "y": range(100)}), tmp_path / "a.csv", "c"
    )
    import_frame(
        workspace, pd.DataFrame({"x": [9] * 100, "y": range(100)}), tmp_path / "b.csv", "c"
    )
    result = workspace.data.diff("c@1", "c@2")
    assert result.shifted == ("x",)
