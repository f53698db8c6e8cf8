"""Sources that unpack to far more than their size are refused before they are read, against
shipway.toml's ``[data]`` limits: Parquet files by the rows and bytes their footer declares,
workbooks by every part's size and compression ratio. Refusals leave the project unchanged (the
``refused`` fixture) and name the figure, the limit and the setting to raise."""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import SETTINGS_FILE, load_settings
from core.errors import ImportFailed, ProjectError
from core.services import Workspace


def set_data_limits(workspace: Workspace, **limits: object) -> None:
    """Set keys of [data] in the project's shipway.toml, as a person would, and reload it."""
    for key, value in limits.items():
        set_line(workspace.root, key, str(value))
    workspace.project.reload_settings()


def set_line(root: Path, key: str, value: str) -> int:
    """Rewrite the ``key = ...`` line of shipway.toml; returns its line number."""
    path = root / SETTINGS_FILE
    lines = path.read_text().splitlines()
    [number] = [i for i, line in enumerate(lines) if line.startswith(f"{key} = ")]
    lines[number] = f"{key} = {value}"
    path.write_text("\n".join(lines) + "\n")
    return number + 1


def constant_parquet(path: Path, groups: int, rows_per_group: int) -> Path:
    """One constant int8 column: run-length encoded, a few hundred bytes per million rows."""
    chunk = pa.table({"x": pa.array(np.full(rows_per_group, 7, np.int8))})
    with pq.ParquetWriter(path, chunk.schema, compression="zstd") as writer:
        for _ in range(groups):
            writer.write_table(chunk, row_group_size=rows_per_group)
    return path


# -- Parquet --------------------------------------------------------------------------------------


def test_a_parquet_file_of_100_million_rows_is_refused_by_default_before_it_is_read(
    project_dir: Path, tmp_path: Path
) -> None:
    """Under 1 MB on disk; reading it took 6.7 GB. The child may use 2 GB of address space."""
    path = constant_parquet(tmp_path / "bomb.parquet", groups=10, rows_per_group=10_000_000)
    assert path.stat().st_size < 1_000_000
    limit = 2 * 1024**3

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "core.cli", "--project", str(project_dir), "--json",
               "data", "import", str(path)]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, preexec_fn=limit_memory
    )
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)
    assert (error["error"], error["where"]) == ("import_failed", str(path))
    assert "100,000,000 rows" in error["message"] and "50,000,000 allowed" in error["message"]
    assert "max_parquet_rows" in error["message"] and "max_parquet_rows" in error["hint"]
    assert len(done.stderr.splitlines()) == 1
    with Workspace.open(project_dir) as ws:
        assert ws.data.datasets() == []


def test_the_row_limit_comes_from_shipway_toml(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    set_data_limits(workspace, max_parquet_rows=1000)
    under = constant_parquet(tmp_path / "under.parquet", groups=2, rows_per_group=500)
    assert workspace.data.import_file(under).version.rows == 1000
    over = constant_parquet(tmp_path / "over.parquet", groups=3, rows_per_group=334)
    error = refused(lambda: workspace.data.import_file(over))
    assert (
        "1,002 rows" in error.message and "1,000 allowed ([data] max_parquet_rows)" in error.message
    )
    assert error.where == str(over)


def test_a_run_length_encoded_file_is_measured_by_its_decoded_size(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    """The footer declares a few hundred bytes; as int64 the column takes 8 bytes a row."""
    set_data_limits(workspace, max_parquet_bytes=100_000)
    small = constant_parquet(tmp_path / "small.parquet", groups=1, rows_per_group=12_000)
    assert workspace.data.import_file(small).version.rows == 12_000  # 96 KB decoded
    big = constant_parquet(tmp_path / "big.parquet", groups=1, rows_per_group=13_000)
    metadata = pq.ParquetFile(big).metadata
    assert metadata.row_group(0).column(0).total_uncompressed_size < 1000
    error = refused(lambda: workspace.data.import_file(big))
    assert "104.0 KB once decoded (13,000 rows × 1 columns" in error.message
    assert "100.0 KB allowed ([data] max_parquet_bytes)" in error.message


def test_a_text_column_is_measured_by_the_size_its_footer_declares(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    set_data_limits(workspace, max_parquet_bytes=100_000)
    rng = random.Random(3)
    words = ["".join(rng.choices("abcdefgh", k=100)) for _ in range(2000)]
    path = tmp_path / "words.parquet"
    pq.write_table(pa.table({"w": words}), path, use_dictionary=False)
    declared = pq.ParquetFile(path).metadata.row_group(0).column(0).total_uncompressed_size
    assert declared > 200_000 and 2000 * 4 < 100_000  # only the declared size is over
    error = refused(lambda: workspace.data.import_file(path))
    assert "max_parquet_bytes" in error.message


# -- workbooks ------------------------------------------------------------------------------------


def diluted_workbook(tmp_path: Path, padding: int, picture: int) -> Path:
    """A real workbook whose sheet XML carries ``padding`` bytes of blank space (valid XML that
    compresses a thousandfold) beside a ``picture`` of random, incompressible bytes."""
    base = tmp_path / "base.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["city", "amount"])
    book.active.append(["Lyon", 1.5])
    book.save(base)
    with zipfile.ZipFile(base) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"</worksheet>", b" " * padding + b"</worksheet>")
    parts["xl/media/image1.png"] = random.Random(0).randbytes(picture)
    path = tmp_path / f"diluted-{padding}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return path


def test_one_part_that_unpacks_a_thousandfold_is_refused_beside_an_incompressible_one(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = diluted_workbook(tmp_path, padding=30_000_000, picture=1_000_000)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    whole = sum(i.file_size for i in infos) / sum(i.compress_size for i in infos)
    assert whole < 50  # the archive as a whole passes a ratio of 200 easily
    error = refused(lambda: workspace.data.import_file(path))
    assert "part 'xl/worksheets/sheet1.xml' would unpack to 30.0 MB" in error.message
    assert "a ratio of 200 allowed ([data] max_xlsx_ratio)" in error.message
    assert "compression bomb" in error.message and "max_xlsx_ratio" in error.hint


def test_a_workbook_with_a_picture_and_no_padding_imports(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The control: the same construction without the padding."""
    path = diluted_workbook(tmp_path, padding=0, picture=1_000_000)
    outcome = workspace.data.import_file(path)
    assert outcome.version.schema == {"city": "string", "amount": "float"}


def test_the_workbook_limits_come_from_shipway_toml(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = diluted_workbook(tmp_path, padding=3_000_000, picture=1000)
    set_data_limits(workspace, max_xlsx_ratio=1e9, max_xlsx_bytes=1_000_000)
    error = refused(lambda: workspace.data.import_file(path))
    assert "1.0 MB allowed ([data] max_xlsx_bytes)" in error.message
    set_data_limits(workspace, max_xlsx_bytes=100_000_000)
    assert workspace.data.import_file(path).version.rows == 1


# -- the settings themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-5", "0", '"lots"', "1.5", "true", "nan"])
def test_a_limit_that_is_not_a_positive_whole_number_names_its_line(
    project_dir: Path, value: str
) -> None:
    line = set_line(project_dir, "max_parquet_rows", value)
    with pytest.raises(ProjectError) as caught:
        load_settings(project_dir)
    assert "[data] max_parquet_rows must be a positive whole number" in caught.value.message
    assert caught.value.where == f"shipway.toml line {line}"
    assert "max_parquet_rows = 50_000_000" in caught.value.hint


def test_new_projects_spell_out_the_default_limits(project_dir: Path) -> None:
    settings = load_settings(project_dir).data
    text = (project_dir / SETTINGS_FILE).read_text()
    assert "max_parquet_rows = 50_000_000" in text and settings.max_parquet_rows == 50_000_000
    assert (settings.max_parquet_bytes, settings.max_xlsx_bytes) == (4 * 1024**3, 2 * 1024**3)
    assert settings.max_xlsx_ratio == 200


def test_a_refusal_is_an_import_failure(workspace: Workspace, tmp_path: Path) -> None:
    set_data_limits(workspace, max_parquet_rows=1)
    path = constant_parquet(tmp_path / "two.parquet", groups=1, rows_per_group=2)
    with pytest.raises(ImportFailed):
        workspace.data.import_file(path)
