"""Batch scoring through ``ws.scoring``: a data set version, a CSV, a Parquet file and a SQL query
give the model's own predictions, stored as a new version with its lineage; chunks run in
worker processes with a bounded number in flight; bad input and a cancel store nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.errors import Cancelled, InvalidInput, UsageError
from core.progress import CancelToken
from core.registry.artifacts import load_pipeline
from core.scoring.runners import PoolRunner, run_chunks
from core.scoring.sources import chunks, open_source
from core.services import ScoreRequest, TrainRequest, Workspace
from core.serving.frames import model_frame

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
OUTPUTS = ["prediction", "proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A project with penguins@1 and two models: lr (logistic regression), rf (a forest)."""
    root = tmp_path_factory.mktemp("scoring") / "proj"
    workspace = Workspace.create(root, name="proj")
    workspace.data.import_file(PENGUINS)
    for name, estimator, params in (
        ("lr", "logistic_regression", {}),
        ("rf", "random_forest", {"n_estimators": 20}),
    ):
        run = workspace.runs.train(
            TrainRequest("penguins", "species", estimator=estimator, params=params)
        ).result()
        assert run.status == "done", run.error
        workspace.lifecycle.register(run.id, name)
    yield workspace
    workspace.close()


def _state(ws: Workspace) -> tuple:
    """The data sets with their versions, and every file under objects/ (tmp included)."""
    objects = ws.root / "objects"
    files = sorted(
        str(p.relative_to(objects))
        for p in objects.rglob("*")
        if p.is_file() and "pending" not in p.parts
    )
    return [(d.name, d.versions) for d in ws.data.datasets()], files


def _expected(ws: Workspace, ref: str, raw: pd.DataFrame) -> pd.DataFrame:
    """The registered pipeline's own predict and predict_proba on ``raw``."""
    version = ws.registry.version(ref)
    schema = {e["name"]: e["type"] for e in version.io_schema["inputs"]}
    frame = model_frame(raw, schema, version.features)
    pipeline = load_pipeline(ws._project, version)
    proba = pipeline.predict_proba(frame)
    out = pd.DataFrame(proba, columns=[f"proba_{c}" for c in pipeline.classes_])
    out.insert(0, "prediction", pipeline.predict(frame))
    return out


def test_a_data_set_version_is_scored_into_a_new_version_with_its_lineage(ws: Workspace):
    result = ws.scoring.score(ScoreRequest("lr@1", dataset="penguins@1", keep_columns=("species",)))
    version = result.version
    assert version.dataset == "penguins-scored-lr-v1" and result.created
    stored = ws.data.read(version.ref)
    features = ws.registry.version("lr@1").features
    assert list(stored.columns) == ["species", *features, *OUTPUTS]
    expected = _expected(ws, "lr@1", ws.data.read("penguins@1"))
    assert list(stored["prediction"]) == list(expected["prediction"])
    np.testing.assert_allclose(
        stored[OUTPUTS[1:]].to_numpy(), expected[OUTPUTS[1:]].to_numpy(), rtol=1e-12, atol=1e-15
    )
    lineage = version.options["lineage"]
    penguins = ws.data.version("penguins@1")
    assert lineage["input"] == {
        "kind": "dataset",
        "ref": "penguins@1",
        "sha256": penguins.sha256,
        "rows": 344,
    }
    assert lineage["model"] == "lr@1" and lineage["scored_by"] == "tester"
    assert lineage["model_sha256"] == ws.registry.version("lr@1").model_sha256
    assert lineage["scored_at"] and version.source_format == "scored"
    assert version.source == "scored by lr@1 from penguins@1"
    assert version.profile["prediction"]["distinct"] == 3 and version.rows == 344
    audit = ws.project.audit(action="dataset.score")[0]
    assert audit.object_ref == version.ref and audit.detail["model"] == "lr@1"
    assert result.drift is not None and result.drift.current_rows == 344
    assert result.drift.live is not None  # the target was kept: live metrics on it


def test_a_csv_in_worker_processes_gives_the_data_set_s_predictions(ws: Workspace):
    by_dataset = ws.data.read(
        ws.scoring.score(ScoreRequest("rf@1", dataset="penguins")).version.ref
    )
    result = ws.scoring.score(
        ScoreRequest("rf@1", file=PENGUINS, chunk_rows=50, workers=2, name="from-csv")
    )
    assert result.executor == "local" and result.chunks == 7 and result.rows == 344
    assert 1 < result.max_in_flight <= 4
    from_csv = ws.data.read(result.version.ref)
    assert from_csv[OUTPUTS].equals(by_dataset[OUTPUTS])  # bit for bit
    assert (
        result.version.options["lineage"]["input"]["sha256"]
        == ws.data.version("penguins@1").source_sha256
    )  # the file's own hash, taken while reading it
    assert result.version.schema["year"] == "float" and result.version.schema["sex"] == "string"


def test_parquet_and_sql_inputs_give_the_same_predictions(ws: Workspace, tmp_path: Path):
    raw = pd.read_csv(PENGUINS)
    expected = _expected(ws, "rf@1", raw)
    parquet = tmp_path / "penguins.parquet"
    raw.to_parquet(parquet)
    database = tmp_path / "other.db"
    with sqlite3.connect(database) as connection:
        raw.to_sql("penguins", connection, index=False)
    for request in (
        ScoreRequest("rf@1", file=parquet, chunk_rows=100, workers=1),
        ScoreRequest(
            "rf@1",
            sql="select * from penguins",
            chunk_rows=100,
            url=f"sqlite:///{database}",
            name="from-sql",
        ),
    ):
        result = ws.scoring.score(request)
        stored = ws.data.read(result.version.ref)
        assert list(stored["prediction"]) == list(expected["prediction"]), request
        np.testing.assert_allclose(
            stored[OUTPUTS[1:]].to_numpy(), expected[OUTPUTS[1:]].to_numpy(), rtol=1e-12
        )
        assert result.chunks == 4
    assert result.version.options["lineage"]["input"]["kind"] == "sql"
    assert result.version.options["lineage"]["input"]["query"] == "select * from penguins"


def test_chunks_in_flight_never_exceed_the_bound(ws: Workspace):
    """Counted from outside: chunks handed out by the reader minus chunks written."""
    spec = ws.scoring.spec(ws.registry.version("rf@1"))
    source = open_source(ws._project, ScoreRequest("rf@1", file=PENGUINS))
    counts = {"read": 0, "written": 0, "peak": 0}

    def counted() -> Iterator:
        for chunk in chunks(source, spec.read_columns, 10):
            counts["read"] += 1
            counts["peak"] = max(counts["peak"], counts["read"] - counts["written"])
            yield chunk

    def write(result) -> None:
        assert result.index == counts["written"]  # in input order
        counts["written"] += 1

    runner = PoolRunner(spec, 2)
    try:
        stats = run_chunks(counted(), runner, 3, write, CancelToken())
    finally:
        runner.close()
    assert counts["written"] == counts["read"] == stats.chunks == 35
    assert counts["peak"] == 3 and stats.max_in_flight == 3


def test_a_file_lacking_model_columns_is_refused_before_any_row_is_read(
    ws: Workspace, tmp_path: Path
):
    bad = tmp_path / "bad.csv"
    # The rows are ragged: reading any of them would fail with another error.
    bad.write_text("island,bill_depth_mm,flipper_length_mm,body_mass_g,year,extra\n1,2\n3\n")
    before = _state(ws)
    with pytest.raises(InvalidInput) as caught:
        ws.scoring.score(ScoreRequest("lr@1", file=bad))
    error = caught.value
    assert "lacks 2 column(s) that lr@1 reads: 'bill_length_mm', 'sex'" in error.message
    assert error.where == str(bad) and "matched by name" in error.hint
    assert [d["column"] for d in error.details] == ["bill_length_mm", "sex"]
    assert _state(ws) == before


def test_values_that_do_not_fit_stop_the_job_or_become_missing(ws: Workspace, tmp_path: Path):
    text = PENGUINS.read_text().splitlines()
    text[3] = text[3].replace("40.3", "forty")
    text[5] = text[5].replace("36.7", "1e999")  # reads as infinity
    odd = tmp_path / "odd.csv"
    odd.write_text("\n".join(text) + "\n")
    before = _state(ws)
    with pytest.raises(InvalidInput) as caught:
        ws.scoring.score(ScoreRequest("lr@1", file=odd))
    assert "column 'bill_length_mm', row 2" in caught.value.message
    assert {(d["problem"], tuple(d["rows"])) for d in caught.value.details} == {
        ("not_a_number", (2,)),
        ("not_finite", (4,)),
    }
    assert "--invalid missing" in caught.value.hint and _state(ws) == before
    result = ws.scoring.score(ScoreRequest("lr@1", file=odd, invalid="missing"))
    stored = ws.data.read(result.version.ref)
    assert stored["bill_length_mm"].isna().tolist()[:6] == [False, False, True, True, True, False]
    assert stored["prediction"].notna().all()
    assert result.invalid == {"bill_length_mm: not_a_number": 1, "bill_length_mm: not_finite": 1}
    problems = result.version.report["problems"]
    assert [(p["kind"], p["column"], p["count"], p["rows"]) for p in problems] == [
        ("invalid_value", "bill_length_mm", 1, [2]),
        ("invalid_value", "bill_length_mm", 1, [4]),
    ]


def test_a_cancel_mid_way_stores_nothing(ws: Workspace):
    cancel = CancelToken()
    seen: list[str] = []

    def progress(fraction, message) -> None:
        seen.append(message)
        if "rows scored" in message:
            cancel.cancel()  # after the first chunk was written

    before = _state(ws)
    with pytest.raises(Cancelled):
        ws.scoring.score(
            ScoreRequest("rf@1", dataset="penguins", chunk_rows=20, workers=2),
            progress=progress,
            cancel=cancel,
        )
    assert any("rows scored" in message for message in seen)
    assert _state(ws) == before


def test_bad_requests_are_usage_errors(ws: Workspace, tmp_path: Path):
    with pytest.raises(UsageError, match="exactly one input"):
        ScoreRequest("lr@1", dataset="penguins", file=PENGUINS)
    with pytest.raises(UsageError, match="--scheduler"):
        ScoreRequest("lr@1", dataset="penguins", executor="dask")
    clash = tmp_path / "clash.csv"
    pd.read_csv(PENGUINS).assign(prediction="x").to_csv(clash, index=False)
    with pytest.raises(UsageError, match="collide"):
        ws.scoring.score(ScoreRequest("lr@1", file=clash, keep_columns=("prediction",)))


def test_the_drift_check_sees_a_shift_and_drift_reads_the_scored_version(
    ws: Workspace, tmp_path: Path
):
    raw = pd.read_csv(PENGUINS)
    raw["bill_length_mm"] += 3 * raw["bill_length_mm"].std()
    shifted = tmp_path / "shifted.parquet"
    raw.to_parquet(shifted)
    result = ws.scoring.score(ScoreRequest("lr@1", file=shifted))
    assert "bill_length_mm" in result.drift.drifted
    report = ws.monitoring.drift("lr@1", dataset=result.version.ref)
    assert "bill_length_mm" in report.drifted and report.current_rows == 344
    assert pq.ParquetFile(ws._project.blobs.path_of(result.version.sha256)).metadata.num_rows == 344


def test_a_failing_query_is_an_import_error_naming_the_database(ws: Workspace, tmp_path: Path):
    from core.errors import ImportFailed

    database = tmp_path / "empty.db"
    sqlite3.connect(database).close()
    before = _state(ws)
    with pytest.raises(ImportFailed) as caught:
        ws.scoring.score(
            ScoreRequest("lr@1", sql="select * from nowhere", url=f"sqlite:///{database}")
        )
    assert "no such table: nowhere" in caught.value.message
    assert caught.value.where == f"sqlite:///{database}"
    assert _state(ws) == before


def test_the_profile_is_exact_up_to_its_limit_then_a_stride_with_exact_counts(tmp_path: Path):
    import pyarrow as pa

    from core.data.profile import profile_column
    from core.progress import no_progress
    from core.scoring.profile import profile_file

    rng = np.random.default_rng(0)
    values = rng.normal(size=1000)
    values[rng.random(1000) < 0.1] = np.nan
    table = pa.table(
        {
            "x": pa.array(values, from_pandas=True),
            "c": pa.array(rng.choice(["a", "b", None], 1000).tolist()),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=70)  # groups that do not divide the stride
    exact = profile_file(path, no_progress, CancelToken())
    assert exact == {name: profile_column(table.column(name)) for name in ("x", "c")}
    strided = profile_file(path, no_progress, CancelToken(), limit=300)  # every 4th row
    for name in ("x", "c"):
        expected = profile_column(table.column(name).take(pa.array(np.arange(0, 1000, 4))))
        missing = table.column(name).null_count
        expected.update(count=1000 - missing, missing=missing, missing_share=missing / 1000)
        assert strided[name] == expected | {"sampled_rows": 250}
