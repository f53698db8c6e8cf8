"""``shipway data ...`` end to end: real processes, real files, exit codes and JSON documents.

Each process spends about a second importing, so independent commands run at the same time
(:func:`together`) and set-up that is not under test (a second version for diff) happens
in-process through the Workspace.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.services import ImportOptions, Workspace


def shipway(*args: object, project: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "core.cli"]
    if project is not None:
        command += ["--project", str(project)]
    return subprocess.run(
        command + [str(a) for a in args], capture_output=True, text=True, timeout=120
    )


def together(
    *commands: tuple[object, ...], project: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands on one project, run at the same time; results in order."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: shipway(*args, project=project), commands))


def document(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


SALES = "city,amount,code\nLyon,1.5,007\nOslo,2.25,012\nGraz,-3.0,100\nPorto,4.0,101\n"


def test_init_import_reimport_list_and_show(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    assert document(shipway("init", project, "--json"))["path"] == str(project.resolve())
    source = tmp_path / "sales.csv"
    source.write_text(SALES)

    imported = document(shipway("data", "import", source, "--json", project=project))
    assert {"dataset", "version", "rows", "columns", "sha256", "created", "report"} <= set(imported)
    assert (imported["dataset"], imported["version"], imported["created"]) == ("sales", 1, True)
    assert (imported["rows"], imported["columns"]) == (4, 3)
    assert imported["report"]["detected"]["delimiter"] == ","

    again, listed, shown = map(
        document,
        together(
            ("data", "import", source, "--json"),  # unchanged: creates nothing
            ("data", "list", "--json"),
            ("data", "show", "sales@1", "--json"),
            project=project,
        ),
    )
    assert (again["created"], again["version"], again["sha256"]) == (
        False, 1, imported["sha256"]
    )  # fmt: skip
    assert [(d["name"], d["versions"], d["latest_rows"]) for d in listed["datasets"]] == [
        ("sales", 1, 4)
    ]
    assert {"dataset", "version", "rows", "schema", "profile", "report"} <= set(shown)
    assert shown["schema"] == {"city": "string", "amount": "float", "code": "string"}
    assert shown["profile"]["amount"]["min"] == -3.0
    assert shown["integrity"]["ok"] is True


def test_diff_and_export(workspace: Workspace, tmp_path: Path) -> None:
    first, second = tmp_path / "v1.csv", tmp_path / "v2.csv"
    first.write_text("amount,label,gone\n" + "".join(f"{i},a{i % 3},1\n" for i in range(200)))
    second.write_text(
        "amount,label,new\n" + "".join(f"{i + 150},=a{i % 3},x\n" for i in range(200))
    )
    for path in (first, second):
        workspace.data.import_file(path, ImportOptions(name="sales"))
    target = tmp_path / "out.csv"
    diffed, done = together(
        ("data", "diff", "sales@1", "sales@2", "--json"),
        ("data", "export", "sales@2", "-o", target),
        project=workspace.root,
    )
    diff = document(diffed)
    assert diff["schema"]["added"] == {"new": "string"}
    assert diff["schema"]["removed"] == {"gone": "integer"}
    assert "amount" in diff["shifted"]
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout
    with open(target, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0] == {"amount": "150", "label": "'=a0", "new": "x"}


def test_a_refused_import_exits_1_with_one_line_and_stores_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    bad = tmp_path / "ragged.csv"
    bad.write_text("name,age\nAnn,31,x\nBob,42\n")
    done = shipway("data", "import", bad, "--json", project=workspace.root)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("shipway: error: 1 row does not have the header's 2 fields: line 2")
    assert f"[{bad}]" in line and "--bad-rows skip" in line
    error = json.loads(done.stdout)
    assert set(error) == {"error", "message", "where", "hint", "details"}
    assert (error["error"], error["where"]) == ("import_failed", str(bad))
    assert error["details"] == [{"line": 2, "fields": 3}]
    assert workspace.data.datasets() == []
    assert [p for p in (workspace.root / "objects").rglob("*") if p.is_file()] == []


def test_usage_errors_exit_2(project_dir: Path) -> None:
    no_file, bad_choice = together(
        ("data", "import"),  # refused by Shipway: a UsageError
        ("data", "import", "x.csv", "--bad-rows", "maybe"),  # refused by argparse
        project=project_dir,
    )
    assert no_file.returncode == 2
    assert no_file.stderr.splitlines() == [
        "shipway: error: give either FILE or --sql QUERY — see `shipway data import -h`"
    ]
    assert bad_choice.returncode == 2
    assert "invalid choice: 'maybe'" in bad_choice.stderr


def test_show_of_a_corrupt_version_prints_one_json_document(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = tmp_path / "sales.csv"
    source.write_text(SALES)
    version = workspace.data.import_file(source).version
    blob = workspace.root / "objects" / version.sha256[:2] / version.sha256[2:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    as_json, as_text = together(
        ("data", "show", "sales@1", "--json"), ("data", "show", "sales@1"), project=workspace.root
    )
    assert as_json.returncode == 1
    shown = json.loads(as_json.stdout)  # one document: json.loads refuses a second one
    assert (shown["dataset"], shown["version"], shown["rows"]) == ("sales", 1, 4)
    assert shown["integrity"]["ok"] is False and "corrupt" in shown["integrity"]["problem"]
    assert shown["error"] == "corrupt_object" and shown["where"] == "sales@1"
    assert "cannot be used" in shown["message"] and "backup" in shown["hint"]
    [line] = as_json.stderr.splitlines()
    assert line.startswith("shipway: error: sales@1 cannot be used")
    assert as_text.returncode == 1 and "integrity: CORRUPT" in as_text.stdout
    assert as_text.stderr.splitlines() == [line]


def test_dates_identifiers_and_the_date_order_flag(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    document(shipway("init", project, "--json"))
    weather = tmp_path / "weather.csv"
    weather.write_text(
        "date,rain,weather\n"
        + "".join(
            f"2012/01/{d:02d},{d * 0.7:.1f},{'rain' if d % 3 else 'sun'}\n" for d in range(1, 21)
        )
    )
    visits = tmp_path / "visits.csv"
    visits.write_text("visit,n\n01/02/2012,1\n03/04/2012,2\n05/06/2012,3\n")
    imported, auto, day_first, shown = together(
        ("data", "import", weather, "--json"),
        ("data", "import", visits, "--json"),
        ("data", "import", visits, "--name", "visits-dmy", "--date-order", "day-first", "--json"),
        ("data", "import", weather, "--name", "shown"),
        project=project,
    )
    imported = document(imported)
    assert imported["schema"] == {"date": "datetime", "rain": "float", "weather": "string"}
    assert imported["report"]["identifiers"] == {
        "date": "every value is distinct (one row per date: a date used as a key)"
    }
    auto = document(auto)
    assert auto["schema"]["visit"] == "string"
    [entry] = [p for p in auto["report"]["problems"] if p["kind"] == "date_order"]
    assert "--date-order day-first" in entry["message"] and entry["column"] == "visit"
    assert document(day_first)["schema"]["visit"] == "datetime"
    assert shown.returncode == 0, shown.stderr
    assert "identifier 'date': every value is distinct" in shown.stdout
