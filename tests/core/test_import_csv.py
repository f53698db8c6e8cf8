"""Bad CSV and TSV input: each file is imported correctly or refused with a clear error.

A refused import is checked with the ``refused`` fixture (tests/conftest.py): the error type,
and that the project holds no new version, no new blob and nothing in objects/tmp.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.data import infer, profile
from core.errors import ImportFailed, NotFound
from core.services import ImportOptions, Workspace


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """A file holding exactly ``content`` (text is written as UTF-8, newlines untouched)."""
    path = folder / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def imported(
    workspace: Workspace, path: Path, **options: Any
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Import ``path``; return the version's document (schema, report...) and its rows."""
    outcome = workspace.data.import_file(path, ImportOptions(**options))
    assert outcome.created
    return outcome.to_dict(), workspace.data.read(outcome.version.ref)


def cells(frame: pd.DataFrame, column: str) -> list[Any]:
    """The column's values with missing ones as None (pandas shows them as NaN)."""
    series = frame[column].astype(object)
    return series.where(series.notna(), None).tolist()


def problems(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in document["report"]["problems"] if p["kind"] == kind]


# -- encodings ------------------------------------------------------------------------------


def test_utf8_bom_imports_with_a_clean_first_header(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffname,age\nAnn,31\nBéla,42\n")
    document, frame = imported(workspace, path)
    assert list(document["schema"]) == ["name", "age"]
    assert frame["name"].tolist() == ["Ann", "Béla"]
    assert document["report"]["detected"]["encoding"] == "utf-8 (BOM)"


def test_utf8_bom_before_a_quoted_header(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "bomq.csv", '\ufeff"id","x"\n1,2\n')
    document, _ = imported(workspace, path)
    assert list(document["schema"]) == ["id", "x"]


def test_windows_1252_is_detected_and_decoded(workspace: Workspace, tmp_path: Path) -> None:
    text = "name;city\r\nMüller;café\r\nJosé;Zürich\r\nSørensen;€ 5\r\n"
    path = write(tmp_path, "cp1252.csv", text.encode("cp1252"))
    document, frame = imported(workspace, path)
    assert document["report"]["detected"]["encoding"] == "windows-1252"
    assert frame["name"].tolist() == ["Müller", "José", "Sørensen"]
    assert frame["city"].tolist() == ["café", "Zürich", "€ 5"]
    [note] = problems(document, "encoding")
    assert note["severity"] == "info" and "line 2" in note["message"]


def test_invalid_utf8_byte_is_refused_with_offset_and_line(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    data = "name,city\nMüller,café\nBob,Z".encode() + b"\xff" + b"rich\nAnn,Oslo\n"
    path = write(tmp_path, "broken.csv", data)
    offset = data.index(b"\xff")
    error = refused(lambda: workspace.data.import_file(path))
    assert f"byte offset {offset}" in error.message
    assert "line 3" in error.message
    assert "0xff" in error.message and error.hint


def test_invalid_utf8_after_a_bom_is_refused_not_guessed(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    data = b"\xef\xbb\xbfname\nAnn\nB\xe9la\n"  # the BOM says UTF-8; the é is Latin-1
    path = write(tmp_path, "bombad.csv", data)
    offset = data.index(b"\xe9")
    error = refused(lambda: workspace.data.import_file(path))
    assert "invalid UTF-8" in error.message
    assert f"byte offset {offset}" in error.message and "line 3" in error.message


def test_a_utf8_character_cut_off_at_the_end_is_refused(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    data = "name\nMüller\nJos".encode() + "é".encode()[:1]
    path = write(tmp_path, "cut.csv", data)
    error = refused(lambda: workspace.data.import_file(path))
    assert f"byte offset {len(data) - 1}" in error.message and "line 3" in error.message


def test_utf16_with_bom_tab_separated_as_excel_unicode_text(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "name\tcity\tscore\r\nMüller\tcafé\t1,5\r\nJosé\tZürich\t2,25\r\n"
    path = write(tmp_path, "unicode.txt", text.encode("utf-16"))  # BOM + UTF-16LE
    document, frame = imported(workspace, path)
    assert document["report"]["detected"]["encoding"] == "utf-16 (BOM)"
    assert document["report"]["detected"]["delimiter"] == "\t"
    assert frame["name"].tolist() == ["Müller", "José"]
    assert frame["city"].tolist() == ["café", "Zürich"]
    assert frame["score"].tolist() == [1.5, 2.25]


def test_utf16_without_bom_is_refused_then_imports_with_encoding(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = write(tmp_path, "nobom.csv", "name,n\nAnn,1\nBob,2\n".encode("utf-16-le"))
    error = refused(lambda: workspace.data.import_file(path))
    assert "NUL bytes" in error.message and "utf-16-le" in error.hint
    _, frame = imported(workspace, path, encoding="utf-16-le")
    assert frame.to_dict("list") == {"name": ["Ann", "Bob"], "n": [1, 2]}


def test_a_binary_file_named_csv_is_refused(workspace: Workspace, tmp_path: Path, refused) -> None:
    path = write(tmp_path, "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    error = refused(lambda: workspace.data.import_file(path))
    assert "not plain text" in error.message


# -- delimiters and decimal marks -------------------------------------------------------------


def test_semicolons_with_decimal_commas_as_european_spreadsheets_write_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (
        "article;price;total;units\r\nA-1;1,5;1.234,56;3\r\nB-2;2,25;12,00;4\r\nC-3;10;-0,5;5\r\n"
    )
    document, frame = imported(workspace, write(tmp_path, "euro.csv", text))
    detected = document["report"]["detected"]
    assert (detected["delimiter"], detected["decimal"]) == (";", ",")
    assert document["schema"] == {
        "article": "string", "price": "float", "total": "float", "units": "integer"
    }  # fmt: skip
    assert frame["price"].tolist() == [1.5, 2.25, 10.0]
    assert frame["total"].tolist() == [1234.56, 12.0, -0.5]


def test_thousands_groups_in_a_decimal_comma_file(workspace: Workspace, tmp_path: Path) -> None:
    """ "1.234" next to "1,5" is one thousand two hundred and thirty-four, not 1.234."""
    text = "rate;amount\n1,5;1.234\n2,5;2.500\n3,5;17\n"
    _, frame = imported(workspace, write(tmp_path, "groups.csv", text))
    assert frame["rate"].tolist() == [1.5, 2.5, 3.5]
    assert frame["amount"].tolist() == [1234.0, 2500.0, 17.0]


def test_decimal_comma_option_reads_thousands_groups(workspace: Workspace, tmp_path: Path) -> None:
    text = "amount;label\n1.234;x\n2.500;y\n10;z\n"
    _, frame = imported(workspace, write(tmp_path, "dec.csv", text), decimal=",")
    assert frame["amount"].tolist() == [1234.0, 2500.0, 10.0]


def test_dot_decimals_in_a_semicolon_file_stay_dot_decimals(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "x;y\n1.5;2.25\n3.75;4.5\n"
    document, frame = imported(workspace, write(tmp_path, "dots.csv", text))
    assert document["report"]["detected"]["decimal"] == "."
    assert frame.to_dict("list") == {"x": [1.5, 3.75], "y": [2.25, 4.5]}


@pytest.mark.parametrize("name", ["tabs.tsv", "tabs.csv", "tabs.txt"])
def test_tab_separated_files(workspace: Workspace, tmp_path: Path, name: str) -> None:
    text = "id\tcomment\tvalue\n1\thello, world\t2.5\n2\tsemi;colon\t3.5\n"
    document, frame = imported(workspace, write(tmp_path, name, text))
    assert document["report"]["detected"]["delimiter"] == "\t"
    assert frame["comment"].tolist() == ["hello, world", "semi;colon"]
    assert frame["value"].tolist() == [2.5, 3.5]


def test_a_single_column_of_email_addresses_is_not_split(
    workspace: Workspace, tmp_path: Path
) -> None:
    emails = ["ann@example.com", "bob.smith@mail.example.org", "c.d-e+tag@x.co.uk", "f@g.h"]
    path = write(tmp_path, "emails.csv", "email\n" + "\n".join(emails * 50) + "\n")
    document, frame = imported(workspace, path)
    assert document["schema"] == {"email": "string"}
    assert frame["email"].tolist() == emails * 50


# -- ragged rows --------------------------------------------------------------------------------


def test_an_extra_field_on_the_first_data_row_is_refused(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    """pandas would silently turn the first column into an index here; Shipway refuses."""
    path = write(tmp_path, "extra.csv", "name,age\nAnn,31,x\nBob,42\nCyd,23\n")
    error = refused(lambda: workspace.data.import_file(path))
    assert "line 2 (3 fields)" in error.message and "2 fields" in error.message
    assert error.details == [{"line": 2, "fields": 3}]
    assert "--bad-rows skip" in error.hint


def test_ragged_rows_are_named_by_physical_line(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    text = 'a,b\n1,"two\nlines"\n2\n3,4\n5,6,7,8\n'
    path = write(tmp_path, "ragged.csv", text)
    error = refused(lambda: workspace.data.import_file(path))
    assert "2 rows do not" in error.message
    assert "lines 4 (1 fields), 6 (4 fields)" in error.message


def test_ragged_rows_in_a_semicolon_file_are_refused_not_read_as_one_column(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = write(tmp_path, "semi.csv", "a;b\n1;2;3\n4;5;6\n7;8\n")
    error = refused(lambda: workspace.data.import_file(path))
    assert "lines 2 (3 fields), 3 (3 fields)" in error.message


def test_skipping_ragged_rows_imports_the_rest_and_lists_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = write(tmp_path, "skip.csv", "name,age\nAnn,31,x\nBob,42\nCyd\nDee,23\n")
    document, frame = imported(workspace, path, bad_rows="skip")
    assert frame.to_dict("list") == {"name": ["Bob", "Dee"], "age": [42, 23]}
    [ragged] = problems(document, "ragged_rows")
    assert ragged["lines"] == [2, 4] and ragged["count"] == 2
    assert ragged["severity"] == "warning" and not document["report"]["clean"]


# -- quoting ---------------------------------------------------------------------------------


def test_quoted_delimiters_newlines_and_quotes_round_trip_exactly(
    workspace: Workspace, tmp_path: Path
) -> None:
    values = ["a,b", "semi;colon", "new\nline", "carriage\rreturn", "crlf\r\nend",
              'say "hi"', "  padded  ", "tab\there"]  # fmt: skip
    body = "".join(f'{i},"{v.replace(chr(34), chr(34) * 2)}"\r\n' for i, v in enumerate(values))
    document, frame = imported(workspace, write(tmp_path, "quoted.csv", "id,text\r\n" + body))
    assert document["schema"] == {"id": "integer", "text": "string"}
    assert frame["text"].tolist() == values


def test_carriage_returns_alone_end_lines_as_old_mac_exports_write(
    workspace: Workspace, tmp_path: Path
) -> None:
    _, frame = imported(workspace, write(tmp_path, "mac.csv", "a,b\r1,x\r2,y\r"))
    assert frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_crlf_line_ends_leave_no_carriage_return_in_values(
    workspace: Workspace, tmp_path: Path
) -> None:
    _, frame = imported(workspace, write(tmp_path, "crlf.csv", "a,b\r\nx,y\r\nz,w\r\n"))
    assert frame.to_dict("list") == {"a": ["x", "z"], "b": ["y", "w"]}


# -- column types -----------------------------------------------------------------------------


def test_a_numeric_column_with_one_late_text_cell_stays_numeric(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = 150_000
    body = "\n".join(f"{i},{i % 3}" for i in range(rows))
    path = write(tmp_path, "late.csv", f"value,group\n{body}\nx12,1\n")
    document, frame = imported(workspace, path)
    assert document["schema"]["value"] == "integer"  # one type for the whole column
    assert frame["value"].dtype.kind == "f"  # pandas' integer column with a gap, not object
    assert frame["value"].iloc[:rows].tolist() == list(range(rows))
    assert pd.isna(frame["value"].iloc[rows])
    [conflict] = problems(document, "type_conflict")
    assert conflict["column"] == "value" and conflict["count"] == 1
    assert conflict["rows"] == [rows + 1] and conflict["lines"] == [rows + 2]
    assert conflict["tokens"] == {"x12": 1}
    assert f"row {rows + 1} (line {rows + 2})" in conflict["message"]


def test_a_column_with_more_text_than_the_conflict_share_stays_text(
    workspace: Workspace, tmp_path: Path
) -> None:
    cells = [str(i) for i in range(90)] + ["n/k", "unknown"] * 5
    document, frame = imported(workspace, write(tmp_path, "text.csv", "v\n" + "\n".join(cells)))
    assert document["schema"] == {"v": "string"}
    assert frame["v"].tolist() == cells
    assert not problems(document, "type_conflict")


def test_codes_with_leading_zeros_stay_text_exactly(workspace: Workspace, tmp_path: Path) -> None:
    text = "code,hex,plain\n007,0x1F,7\n012,0x20,12\n100,0xFF,100\n"
    document, frame = imported(workspace, write(tmp_path, "codes.csv", text))
    assert document["schema"] == {"code": "string", "hex": "string", "plain": "integer"}
    assert frame["code"].tolist() == ["007", "012", "100"]
    assert frame["hex"].tolist() == ["0x1F", "0x20", "0xFF"]
    [kept] = problems(document, "kept_as_text")
    assert kept["column"] == "code" and kept["count"] == 2


def test_zip_codes_with_one_stray_word_keep_their_zeros(
    workspace: Workspace, tmp_path: Path
) -> None:
    codes = [f"{i:05d}" for i in range(300)]
    path = write(tmp_path, "zips.csv", "zip\n" + "\n".join([*codes, "unknown"]) + "\n")
    document, frame = imported(workspace, path)
    assert document["schema"] == {"zip": "string"}
    assert frame["zip"].tolist() == [*codes, "unknown"]


def test_na_country_codes_become_missing_and_are_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "country,n\nNA,1\nDE,2\nNA,3\nFR,4\n,5\n"
    document, frame = imported(workspace, write(tmp_path, "countries.csv", text))
    assert document["report"]["missing_tokens"] == {"country": {"NA": 2, "": 1}}
    assert cells(frame, "country") == [None, "DE", None, "FR", None]


def test_no_missing_tokens_keeps_na_as_a_value(workspace: Workspace, tmp_path: Path) -> None:
    text = "country,n\nNA,1\nDE,2\nNA,3\n,4\n"
    document, frame = imported(workspace, write(tmp_path, "na.csv", text), missing_tokens=())
    assert cells(frame, "country") == ["NA", "DE", "NA", None]  # empty cells stay missing
    assert document["report"]["missing_tokens"] == {"country": {"": 1}}


def test_booleans_and_iso_datetimes_with_missing_cells(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = "ok,at\ntrue,2024-03-01T10:00:00\nFALSE,2024-03-02 11:30\n,\nTrue,2024-03-03\n"
    document, frame = imported(workspace, write(tmp_path, "kinds.csv", text))
    assert document["schema"] == {"ok": "boolean", "at": "datetime"}
    assert cells(frame, "ok") == [True, False, None, True]
    assert frame["at"].iloc[1] == pd.Timestamp("2024-03-02 11:30")
    assert pd.isna(frame["at"].iloc[2])


def test_profiles_of_awkward_numeric_columns(workspace: Workspace, tmp_path: Path) -> None:
    """A maximum of 0 once cut the histogram short; integers that are equal as floats crashed."""
    big = 2**60
    text = f"neg,huge\n-5,{big}\n-1,{big + 1}\n0,{big}\n"
    outcome = workspace.data.import_file(write(tmp_path, "awkward.csv", text))
    profile = workspace.data.version(outcome.version.ref).profile
    assert profile["neg"]["max"] == 0 and sum(profile["neg"]["histogram"]["counts"]) == 3
    assert profile["huge"]["type"] == "integer" and profile["huge"]["distinct"] == 2
    assert sum(profile["huge"]["histogram"]["counts"]) == 3


# -- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file is empty"),
        (b"\n\r\n  \n", "the file is empty"),
        (b"a,b,c\n", "header but no data rows"),
        (b"\xef\xbb\xbfa,b,c", "header but no data rows"),
    ],
    ids=["empty", "blank-lines", "header-only", "bom-header-no-newline"],
)
def test_files_without_data_are_refused(
    workspace: Workspace, tmp_path: Path, refused, content: bytes, says: str
) -> None:
    path = write(tmp_path, "nodata.csv", content)
    error = refused(lambda: workspace.data.import_file(path))
    assert says in error.message and error.where == str(path)


def test_duplicate_column_names_are_refused_with_their_positions(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = write(tmp_path, "dup.csv", "id,name,id,name,x\n1,a,2,b,3\n")
    error = refused(lambda: workspace.data.import_file(path))
    assert "'id' at columns 1, 3" in error.message and "'name' at columns 2, 4" in error.message


def test_a_missing_file_is_not_found(workspace: Workspace, tmp_path: Path, refused) -> None:
    path = tmp_path / "nowhere.csv"
    error = refused(lambda: workspace.data.import_file(path), NotFound)
    assert error.where == str(path)


def test_a_directory_is_refused(workspace: Workspace, tmp_path: Path, refused) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    error = refused(lambda: workspace.data.import_file(folder), ImportFailed)
    assert "folder" in error.message


def test_twenty_thousand_columns_import_in_reasonable_time(
    workspace: Workspace, tmp_path: Path
) -> None:
    columns = 20_000
    header = ",".join(f"c{i}" for i in range(columns))
    rows = [",".join(str((i * 7 + r) % 101) for i in range(columns)) for r in range(3)]
    path = write(tmp_path, "wide.csv", "\n".join([header, *rows]) + "\n")
    started = time.perf_counter()
    outcome = workspace.data.import_file(path)
    seconds = time.perf_counter() - started
    assert seconds < 60, f"20,000 columns took {seconds:.1f} s"
    assert (outcome.version.rows, outcome.version.columns) == (3, columns)
    assert outcome.version.schema["c19999"] == "integer"


def _rounded(value: Any) -> Any:
    """``value`` with floats to 10 significant digits (sums in another order differ in the last)."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def test_wide_tables_are_typed_and_profiled_in_batches_with_the_same_results(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wide tables take batched paths (infer.column_facts, profile.numeric_profiles_batched);
    importing the same file with batching switched off must give the same version."""
    complete_numbers = [
        lambda r: str(r * 3 - 40),
        lambda r: f"{r * 0.37:.2f}",
        lambda r: str(r % 21),  # values exactly on histogram edges
        lambda r: f"{(r - 100) * 1e6:.1f}",
    ]
    others = [
        lambda r: f"{r:03d}",  # codes with leading zeros
        lambda r: "NA" if r % 4 == 0 else "DE",  # a missing token
        lambda r: "x12" if r == 150 else str(r),  # one conflict in 200 rows
        lambda r: "true" if r % 3 else "false",
        lambda r: "" if r % 5 == 0 else f"{r / 7:.4f}",  # numbers with gaps
        lambda r: f"word{r % 9}",
    ]
    kinds = complete_numbers * 2 + others  # 8 of every 14 columns: complete numbers
    columns = 14 * 12
    assert columns >= infer.BATCH_MIN_COLUMNS and profile.BATCH_MIN_COLUMNS <= 8 * 12
    header = ",".join(f"c{i}" for i in range(columns))
    body = "\n".join(",".join(kinds[i % 14](r) for i in range(columns)) for r in range(200))
    path = write(tmp_path, "mixed_wide.csv", f"{header}\n{body}\n")
    batched, batched_rows = imported(workspace, path, name="batched")
    monkeypatch.setattr(infer, "BATCH_MIN_COLUMNS", 10**9)
    monkeypatch.setattr(profile, "BATCH_MIN_COLUMNS", 10**9)
    single, single_rows = imported(workspace, path, name="single")
    assert batched["schema"] == single["schema"]
    assert set(batched["schema"].values()) == {"integer", "float", "string", "boolean"}
    assert batched["report"]["problems"] == single["report"]["problems"]
    assert batched["report"]["missing_tokens"] == single["report"]["missing_tokens"]
    pd.testing.assert_frame_equal(batched_rows, single_rows)
    profiles = [workspace.data.version(name).profile for name in ("batched", "single")]
    assert _rounded(profiles[0]) == _rounded(profiles[1])


def test_an_unchanged_file_returns_its_version(workspace: Workspace, tmp_path: Path) -> None:
    path = write(tmp_path, "same.csv", "a,b\n1,2\n3,4\n")
    first = workspace.data.import_file(path)
    again = workspace.data.import_file(path)
    assert (again.created, again.version.version) == (False, first.version.version)
    changed = workspace.data.import_file(path, ImportOptions(missing_tokens=()))
    assert changed.version.version == first.version.version  # same content: same version
