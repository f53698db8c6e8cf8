"""Retention and erasure of a deployment's prediction log, through the Workspace, on real logs:
rows written by the log's own writer with controlled times, and a real deployment's server
writing while its log is pruned and erased. Drift over time still computes afterwards."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import NotFound, StoreError, UsageError
from core.monitoring import retention
from core.monitoring.buckets import stamp as bucket_stamp
from core.monitoring.retention import LogLockedError
from core.services import TrainRequest, Workspace
from core.serving import logmaint
from core.serving.frames import model_frame
from core.serving.logmaint import stamp
from core.serving.logreader import read_requests
from core.serving.predlog import LOG_FILE, FeedbackEntry, LoggedRequest, PredictionLog

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DATA = pd.read_csv(PENGUINS)
DAY = 86_400
NOW = (time.time() // DAY) * DAY + DAY / 2  # mid-day, so that day buckets are whole
SECRET = "Torgersen-Ann-Smith-1987"  # an input value a person asked to have erased


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """peng@1 registered, and one deployment of it recorded (stopped; its log folder stays)."""
    root = tmp_path_factory.mktemp("retention") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "peng")
        deployment = ws.deployments.deploy("peng@1")
        ws.deployments.undeploy(deployment.id)
    return root


@pytest.fixture
def ws(registered: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(registered, root)
    workspace = Workspace.open(root)
    yield workspace
    for deployment in workspace.deployments.list(include_stopped=False):
        workspace.deployments.undeploy(deployment.id)
    workspace.close()


def the_deployment(ws: Workspace) -> tuple[str, Path]:
    [deployment] = ws.deployments.list()
    return deployment.id, ws.deployments.folder(deployment)


def model_rows(ws: Workspace) -> pd.DataFrame:
    version = ws.registry.version("peng@1")
    schema = {c["name"]: c["type"] for c in version.io_schema["inputs"]}
    return model_frame(DATA, schema, version.features)


def requests_at(rows: pd.DataFrame, times: list[float], size: int = 5, seed: int = 0) -> list:
    """One logged request of ``size`` rows (with its feedback) at each time."""
    picks = np.random.default_rng(seed).integers(0, len(rows), (len(times), size))
    entries: list = []
    for moment, pick in zip(times, picks, strict=True):
        request_id = uuid.uuid4().hex
        batch = rows.iloc[pick].reset_index(drop=True)
        species = DATA["species"].iloc[pick].tolist()
        entries.append(LoggedRequest(request_id, stamp(moment), "peng", 1, 2.0, 200, size,
                                     inputs=batch, outputs={"predictions": species}))  # fmt: skip
        entries.append(FeedbackEntry(request_id, stamp(moment + 1), species))
    return entries


def write_log(folder: Path, entries: list) -> None:
    """Write entries with the log's own writer (in parts its queue holds), all of them."""
    for start in range(0, len(entries), 4_000):
        part = entries[start : start + 4_000]
        log = PredictionLog(folder)
        assert all(log.put(entry) for entry in part)
        log.close(timeout=300)
        assert log.written == len(part) and log.dropped == 0 and log.bad_entries == 0


def logged(folder: Path) -> dict[str, int]:
    """Request id → how many feedback rows it has, straight from the file."""
    with closing(sqlite3.connect(folder / LOG_FILE, timeout=30)) as connection:
        requests = [row[0] for row in connection.execute("SELECT request_id FROM requests")]
        feedback = dict(connection.execute(
            "SELECT request_id, COUNT(*) FROM feedback GROUP BY request_id"
        ).fetchall())  # fmt: skip
    return {request_id: feedback.get(request_id, 0) for request_id in requests}


def ids_of(entries: list) -> set[str]:
    return {e.request_id for e in entries if isinstance(e, LoggedRequest)}


def cache_files(folder: Path) -> dict[int, Path]:
    """Bucket start → cache file of the day buckets of peng@1."""
    [length] = (folder / "monitoring").glob("v1-*/86400s")
    return {int(p.stem): p for p in length.glob("*.json") if p.stem.isdigit()}


def bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


# -- prune ---------------------------------------------------------------------------------------


def test_prune_removes_the_old_rows_their_feedback_and_cache_files_and_shrinks_the_file(
    ws: Workspace,
) -> None:
    deployment, folder = the_deployment(ws)
    rows = model_rows(ws)
    old_times = [NOW - (100 - day) * DAY + i * 60 for day in range(5) for i in range(600)]
    new_times = [NOW - (3 - day) * DAY + i * 300 for day in range(3) for i in range(100)]
    old, new = requests_at(rows, old_times, seed=1), requests_at(rows, new_times, seed=2)
    write_log(folder, old + new)
    series = ws.monitoring.drift_series("peng@1", deployment, DAY, now=NOW)
    assert len(series.buckets) == 8
    cut = NOW - 30 * DAY
    before = cache_files(folder)
    assert sum(start < cut for start in before) == 5
    size = (folder / LOG_FILE).stat().st_size

    result = ws.monitoring.prune_log(deployment, 30 * DAY, now=NOW)

    assert (result.requests, result.feedback) == (3_000, 3_000)
    assert logged(folder) == dict.fromkeys(ids_of(new), 1)  # exactly the new rows, with feedback
    assert sorted(cache_files(folder)) == sorted(s for s in before if s >= cut)
    assert result.bucket_files == 5
    assert result.vacuum == "full" and result.bytes_after < result.bytes_before
    assert (folder / LOG_FILE).stat().st_size < size / 3  # the space went back to the disk
    assert (
        not (folder / f"{LOG_FILE}-wal").exists()
        or (folder / f"{LOG_FILE}-wal").stat().st_size == 0
    )
    [entry] = ws.project.audit(action="log.prune")
    assert entry.object_ref == deployment and entry.detail["requests"] == 3_000
    after = ws.monitoring.drift_series("peng@1", deployment, DAY, now=NOW)
    assert [b.rows for b in after.buckets] == [500] * 3  # the recent days, still cached
    assert all(b.cached for b in after.buckets)

    write_log(folder, requests_at(rows, [NOW - 50 * DAY + i for i in range(400)], seed=3))
    again = ws.monitoring.prune_log(deployment, 30 * DAY, now=NOW)
    assert again.requests == 400 and again.vacuum == "incremental"  # converted by the first
    assert again.bytes_after < again.bytes_before
    with closing(sqlite3.connect(folder / LOG_FILE)) as connection:
        assert connection.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert connection.execute("PRAGMA freelist_count").fetchone()[0] == 0
    nothing = ws.monitoring.prune_log(deployment, 30 * DAY, now=NOW)
    assert (nothing.requests, nothing.bucket_files) == (0, 0)
    assert len(ws.project.audit(action="log.prune")) == 2  # a prune that removed nothing: no row


# -- erase ---------------------------------------------------------------------------------------


def logged_with_buckets(ws: Workspace, seed: int, extra=lambda rows: []) -> tuple:
    """Four days of traffic (and ``extra(rows)``), their day buckets computed and cached."""
    deployment, folder = the_deployment(ws)
    rows = model_rows(ws)
    times = [NOW - (4 - day) * DAY + i * 600 for day in range(4) for i in range(60)]
    entries = requests_at(rows, times, seed=seed)
    write_log(folder, entries + extra(rows))
    assert len(ws.monitoring.drift_series("peng@1", deployment, DAY, now=NOW).buckets) == 4
    assert len(cache_files(folder)) == 4
    return deployment, folder, entries, rows


def test_erase_by_request_id_removes_those_requests_their_feedback_and_their_buckets(
    ws: Workspace,
) -> None:
    deployment, folder, entries, _ = logged_with_buckets(ws, seed=4)
    requests = [e for e in entries if isinstance(e, LoggedRequest)]
    chosen = [requests[70], requests[75]]  # both in the second day
    unknown = uuid.uuid4().hex
    cached = cache_files(folder)
    day = int((NOW - 3 * DAY) // DAY * DAY)

    result = ws.monitoring.erase_from_log(deployment, [r.request_id for r in chosen] + [unknown])

    assert set(result.request_ids) == {r.request_id for r in chosen} and result.feedback == 2
    assert logged(folder) == dict.fromkeys(ids_of(entries) - set(result.request_ids), 1)
    assert result.bucket_files == 1 and sorted(cache_files(folder)) == sorted(set(cached) - {day})
    series = ws.monitoring.drift_series("peng@1", deployment, DAY, now=NOW)
    by_start = {b.start: b for b in series.buckets}
    recomputed = by_start[bucket_stamp(day)]
    assert recomputed.rows == 58 * 5 and not recomputed.cached
    assert by_start[bucket_stamp(day - DAY)].cached  # the day before was not touched
    [entry] = ws.project.audit(action="log.erase")
    assert entry.object_ref == deployment and entry.detail["requests"] == 2
    joined = "\n".join(sorted([r.request_id for r in chosen] + [unknown]))
    assert (
        entry.detail["criterion"]["request_ids_sha256"]
        == hashlib.sha256(joined.encode()).hexdigest()
    )
    assert not any(r.request_id in json.dumps(entry.detail) for r in chosen)


def test_erase_by_an_input_value_leaves_no_trace_of_it_in_the_log_caches_or_audit(
    ws: Workspace,
) -> None:
    theirs: list[LoggedRequest] = []

    def marked_requests(rows: pd.DataFrame) -> list:
        marked = rows.iloc[:3].copy()
        marked.loc[1, "island"] = SECRET  # never seen in training: in its bucket's "unseen"
        for moment in (NOW - 2 * DAY + 7, NOW - 2 * DAY + 3_600, NOW - DAY + 11):
            theirs.append(
                LoggedRequest(
                    uuid.uuid4().hex,
                    stamp(moment),
                    "peng",
                    1,
                    2.0,
                    200,
                    3,
                    inputs=marked,
                    outputs={"predictions": ["Adelie"] * 3},
                )
            )
        return [*theirs, FeedbackEntry(theirs[0].request_id, stamp(NOW - DAY), ["Adelie"] * 3)]

    deployment, folder, _, rows = logged_with_buckets(ws, seed=5, extra=marked_requests)
    assert SECRET.encode() in bytes_under(folder / "monitoring")  # the cache holds raw values
    kept = logged(folder)

    result = ws.monitoring.erase_from_log(deployment, where=f"island={SECRET}")

    assert set(result.request_ids) == ids_of(theirs) and result.feedback == 1
    assert logged(folder) == {k: v for k, v in kept.items() if k not in ids_of(theirs)}
    assert result.bucket_files == 2
    assert SECRET.encode() not in bytes_under(folder)  # the log (secure_delete), WAL and caches
    [entry] = ws.project.audit(action="log.erase")
    assert SECRET not in json.dumps(entry.detail)
    assert entry.detail["criterion"] == {
        "column": "island", "value_sha256": hashlib.sha256(SECRET.encode()).hexdigest()
    }  # fmt: skip
    series = ws.monitoring.drift_series("peng@1", deployment, DAY, now=NOW)
    assert sum(b.rows for b in series.buckets) == 240 * 5  # drift still computes, without them
    assert all(f.unseen_categories == 0 for b in series.buckets for f in b.report.features)
    assert SECRET.encode() not in bytes_under(folder)  # and its new cache files lack it too

    value = float(rows["bill_length_mm"].dropna().iloc[0])
    holding = {r.request_id for r in read_requests(folder)
               if any(row["bill_length_mm"] == value for row in r.inputs)}  # fmt: skip
    assert holding
    numeric = ws.monitoring.erase_from_log(deployment, where=("bill_length_mm", f"{value}00"))
    assert set(numeric.request_ids) == holding  # compared as a number: 39.1 == 39.100
    none = ws.monitoring.erase_from_log(deployment, where="island=Atlantis")
    assert none.requests == 0 and none.notes == ()
    assert [e.detail["requests"] for e in ws.project.audit(action="log.erase")] == [0, len(
        holding), 3]  # fmt: skip


def test_a_row_logged_while_the_erasure_searched_is_erased_too(ws: Workspace) -> None:
    """The search runs outside the lock; the deleting transaction looks again at what was
    logged since, so a matching row that arrives meanwhile is not missed."""
    deployment, folder, _, rows = logged_with_buckets(ws, seed=9)
    marked = rows.iloc[:2].copy()
    marked.loc[0, "island"] = SECRET
    early = LoggedRequest(uuid.uuid4().hex, stamp(NOW - DAY + 5), "peng", 1, 2.0, 200, 2,
                          inputs=marked, outputs={"predictions": ["Adelie"] * 2})  # fmt: skip
    write_log(folder, [early])
    late = uuid.uuid4().hex
    holder = sqlite3.connect(folder / LOG_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a writer in the middle of its transaction
    holder.execute(
        "INSERT INTO requests VALUES (?, ?, 'peng', 1, 2.0, 200, 2, ?, ?, NULL)",
        (late, stamp(NOW - DAY + 9), marked.to_json(orient="records"), '{"predictions": []}'),
    )
    outcome: list = []
    eraser = threading.Thread(target=lambda: outcome.append(ws.monitoring.erase_from_log(
        deployment, where=f"island={SECRET}", busy_timeout=300)))  # fmt: skip
    eraser.start()
    try:
        wait_for(lambda: waiting_for_the_lock(eraser) or not eraser.is_alive())
    finally:
        holder.execute("COMMIT")  # the late row lands after the erasure's search
        holder.close()
    eraser.join(300)
    [result] = outcome
    assert set(result.request_ids) == {early.request_id, late}
    assert SECRET.encode() not in bytes_under(folder)


def waiting_for_the_lock(thread: threading.Thread) -> bool:
    """Whether ``thread`` is inside the log maintenance's wait for the write lock."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "_begin" and frame.f_code.co_filename.endswith("logmaint.py"):
            return True
        frame = frame.f_back
    return False


def test_an_audit_row_that_cannot_be_written_erases_nothing(ws: Workspace) -> None:
    deployment, folder, entries, _ = logged_with_buckets(ws, seed=8)
    before, files = logged(folder), cache_files(folder)
    some = [e.request_id for e in entries if isinstance(e, LoggedRequest)][:5]

    def audit(detail: dict) -> None:
        raise StoreError("the project database is read-only")

    with pytest.raises(StoreError):
        retention.erase(folder, deployment, retention.criterion(some), {}, audit)
    assert logged(folder) == before and cache_files(folder) == files


def test_a_value_is_compared_as_the_model_saw_it() -> None:
    """Text as text, and as a number where it reads as one; booleans as 1/0; a time as the
    seconds since 1970 the log holds."""
    columns = {"name": {"string"}, "x": {"float"}, "ok": {"boolean"}, "at": {"datetime"}}

    def match(column: str, value: str):
        return retention.match_of(retention.criterion(where=(column, value)), columns, "d")

    assert match("name", "Ann") == logmaint.Match(column="name", text="Ann")
    assert match("x", " 39.10 ").number == 39.1 and match("x", "nan").number is None
    assert (match("ok", "True").number, match("ok", "True").boolean) == (1.0, 1)
    assert match("at", "2024-05-01T00:00:00Z").number == 1_714_521_600.0
    assert match("at", "2024-05-01 02:00+02:00").number == 1_714_521_600.0
    with pytest.raises(UsageError, match="neither a time nor a number"):
        match("at", "soon")
    assert retention.criterion("abc").request_ids == ("abc",)


# -- bad input -------------------------------------------------------------------------------------


def test_bad_requests_are_refused_plainly_and_a_locked_log_loses_nothing(ws: Workspace) -> None:
    deployment, folder, entries, _ = logged_with_buckets(ws, seed=6)
    some = [e.request_id for e in entries if isinstance(e, LoggedRequest)][:3]
    with pytest.raises(NotFound, match="no deployment 'nope'"):
        ws.monitoring.erase_from_log("nope", some)
    with pytest.raises(UsageError, match="holds no '='") as caught:
        ws.monitoring.erase_from_log(deployment, where="island Biscoe")
    assert "Biscoe" not in caught.value.one_line()  # the value is never repeated
    with pytest.raises(UsageError, match="not an input column") as caught:
        ws.monitoring.erase_from_log(deployment, where="email=a@b.org")
    assert "bill_length_mm" in caught.value.one_line() and "island" in caught.value.one_line()
    for wrong in ({}, {"request_ids": some, "where": "island=Dream"}):
        with pytest.raises(UsageError, match="not both or neither"):
            ws.monitoring.erase_from_log(deployment, **wrong)
    with pytest.raises(UsageError, match="positive"):
        ws.monitoring.prune_log(deployment, 0)
    before = logged(folder)

    holder = sqlite3.connect(folder / LOG_FILE, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the log
    try:
        with pytest.raises(LogLockedError, match="locked") as caught:
            ws.monitoring.erase_from_log(deployment, some, busy_timeout=0.5)
        assert "nothing half-done" in caught.value.one_line()
        with pytest.raises(LogLockedError):
            ws.monitoring.erase_from_log(deployment, where="island=Dream", busy_timeout=0.5)
        with pytest.raises(LogLockedError):
            ws.monitoring.prune_log(deployment, DAY, now=NOW, busy_timeout=0.5)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert logged(folder) == before  # nothing half-deleted
    assert ws.project.audit(action="log.erase") == []  # and nothing claimed
    assert ws.monitoring.erase_from_log(deployment, some).requests == 3  # once it is free


# -- a live server -------------------------------------------------------------------------------


def test_erasing_and_pruning_while_a_real_server_writes_loses_no_new_row(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("peng@1")
    folder = ws.deployments.folder(deployment)
    rows = model_rows(ws)
    old = requests_at(rows, [NOW - 200 * DAY + i for i in range(2_000)], seed=7)
    marked = rows.iloc[:2].copy()
    marked.loc[0, "island"] = SECRET
    theirs = [LoggedRequest(uuid.uuid4().hex, stamp(time.time() - 60 - i), "peng", 1, 2.0, 200, 2,
                            inputs=marked, outputs={"predictions": ["Adelie"] * 2})
              for i in range(20)]  # fmt: skip
    write_log(folder, old + theirs)
    answered: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    body = json.dumps({"records": json.loads(DATA.drop(columns="species").head(2).to_json(
        orient="records"))}).encode()  # fmt: skip

    def traffic() -> None:
        try:
            while not stop.is_set():
                request = urllib.request.Request(
                    f"{deployment.url}/predict",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=60) as answer:
                    answered.append(answer.headers["X-Request-Id"])
        except BaseException as exc:  # shown by the test, not lost in the thread
            failures.append(exc)
            raise

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        wait_for(lambda: len(answered) >= 20 and set(answered[:20]) <= set(logged(folder)))
        erased = ws.monitoring.erase_from_log(deployment.id, where=f"island={SECRET}")
        pruned = ws.monitoring.prune_log(deployment.id, 100 * DAY, vacuum=True)
        mark = len(answered)
        wait_for(lambda: len(answered) >= mark + 20 or failures)
    finally:
        stop.set()
        sender.join(120)
    assert not failures
    assert set(erased.request_ids) == ids_of(theirs)
    assert pruned.requests == 2_000 and pruned.vacuum == "full"
    wait_for(lambda: set(answered) <= set(logged(folder)))  # every answer reached the log
    assert not ids_of(theirs + old) & set(logged(folder))


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
