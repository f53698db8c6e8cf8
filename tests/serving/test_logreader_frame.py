"""The prediction log's inputs as one DataFrame: one row per predicted row, with request id,
time, version, row number, features, prediction and feedback, built once for the whole read
(a monitoring check reads the recent log every few minutes; one DataFrame per logged request
made a check of ten deployments take seconds)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.serving import logreader
from core.serving.predlog import FeedbackEntry, LoggedRequest, PredictionLog


class CountingPandas:
    """pandas, with the DataFrames the log reader makes counted."""

    def __init__(self) -> None:
        self.frames = 0

    def DataFrame(self, *args, **kwargs):  # stands in for pandas.DataFrame
        self.frames += 1
        return pd.DataFrame(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(pd, name)


def _write_log(folder: Path, requests: int) -> None:
    log = PredictionLog(folder)
    for index in range(requests):
        rows = 1 if index % 2 else 3
        inputs = [{"x": float(index + r), "kind": f"k{r}"} for r in range(rows)]
        if index == 4:
            inputs[0].pop("kind")  # a request without one column
        moment = f"2026-01-01T00:{index // 60:02d}:{index % 60:02d}.000000Z"
        log.put(LoggedRequest(f"r{index}", moment, "m", 1 + index % 2, 1.0, 200, rows,
                              inputs=inputs, outputs={"predictions": ["a"] * rows}))  # fmt: skip
    log.put(FeedbackEntry("r1", "2026-01-01T01:00:00.000000Z", "b"))
    log.put(FeedbackEntry("r0", "2026-01-01T01:00:00.000000Z", ["a", "b", "c"]))
    log.close()


def test_inputs_frame_has_a_row_per_predicted_row_and_is_built_once(
    tmp_path: Path, monkeypatch
) -> None:
    _write_log(tmp_path, 40)
    counting = CountingPandas()
    monkeypatch.setattr(logreader, "pd", counting)
    frame = logreader.inputs_frame(tmp_path)
    assert counting.frames <= 2  # not one per request
    assert len(frame) == 20 * 3 + 20
    assert list(frame.columns[:4]) == ["request_id", "time", "version", "row"]
    assert {"x", "kind", "prediction", "actual"} <= set(frame.columns)
    assert str(frame["time"].dtype).startswith("datetime64") and frame["time"].dt.tz is not None
    first = frame[frame["request_id"] == "r0"]
    assert first["row"].tolist() == [0, 1, 2] and first["actual"].tolist() == ["a", "b", "c"]
    one = frame[frame["request_id"] == "r1"]
    assert one["actual"].tolist() == ["b"] and one["version"].tolist() == [2]
    assert frame.loc[frame["request_id"] == "r4", "kind"].isna().tolist() == [True, False, False]
    assert frame["x"].dtype == float
    since = logreader.inputs_frame(tmp_path, since="2026-01-01T00:00:30Z")
    assert set(since["request_id"]) == {f"r{i}" for i in range(30, 40)}
