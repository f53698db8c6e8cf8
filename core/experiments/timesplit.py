"""Time-aware validation: the ``time`` split and walk-forward backtests over a date column.

A model that will predict later rows must be tested on rows later than those it learned from;
a random split lets it learn from the future and flatters its metrics. With ``--split time
--time-column C`` the rows are ordered by ``C`` (stably: rows of the same time keep the data's
order), the earliest ``1 - test_size`` share trains and the latest share tests. Cross-validation
then uses forward folds (:class:`sklearn.model_selection.TimeSeriesSplit`) on the training part.

``--backtest K`` adds K walk-forward windows over all the rows: the rows are cut into K + 1
equal slices of time order; window i trains on everything before slice i + 1 and tests on that
slice. Each window's metrics and their mean and standard deviation are recorded with the run
(``cv["backtest"]``); the run's own model and metrics are those of the time split.

Decisions on awkward columns:

- **Ties**: rows sharing the time at a cut all go to the later side, so that no time is both
  learned from and tested on; the run's notes say how many rows moved.
- **Gaps** (steps much longer than the usual one) are fine: cuts count rows, not days. The notes
  name the longest gap.
- **Missing times**: those rows are left out of a time split (said in the notes).
- **Mixed time zones** (some values with an offset, some without) are refused, naming the column
  and one value of each kind: no order between them is right. Such a column is stored as text by
  the import, so the check reads its values.
- **Not a date** (numbers, text, booleans) is refused, naming the column and its type.

The caller's side (:func:`check_time_options`, :func:`random_split_notes`) needs no pandas; the
worker's side (:func:`time_order`, :func:`time_cut`, :func:`backtest_windows`) does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from core.entities import DatasetVersion
from core.errors import InvalidInput
from core.experiments.spec import RunSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_BACKTEST = 20
_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# -- the caller's side: checks against the schema (and the column's text when it is text) ----


def check_time_options(spec: RunSpec, version: DatasetVersion, data_path: str) -> None:
    """Refuse a time split or a backtest that cannot be made, naming what and where."""
    column = spec.split.time_column
    if spec.split.kind != "time":
        if column:
            raise InvalidInput(
                f"--time-column {column} is given but the split is {spec.split.kind}",
                where=version.ref,
                hint=f"add --split time to train on the past and test on the latest {column!r}",
            )
        if spec.backtest:
            raise InvalidInput(
                "--backtest needs a time split",
                where=version.ref,
                hint="add --split time --time-column C, C being the data's date column",
            )
        return
    if not column:
        raise InvalidInput(
            "the time split needs the column that orders the rows",
            where=version.ref,
            hint=_date_hint(version),
        )
    if spec.backtest and not 2 <= spec.backtest <= MAX_BACKTEST:
        raise InvalidInput(
            f"--backtest {spec.backtest} is not usable",
            hint=f"use 2–{MAX_BACKTEST} windows (0: none)",
        )
    _check_time_column(spec, version, column, data_path)


def _date_hint(version: DatasetVersion) -> str:
    dates = date_columns(version)
    if dates:
        return f"add --time-column {dates[0]} (date columns: {', '.join(dates)})"
    return "add --time-column C; this data set has no date column (`shipway data show` lists types)"


def _check_time_column(spec: RunSpec, version: DatasetVersion, column: str, path: str) -> None:
    where = f"{version.ref} column {column!r}"
    if column not in version.schema:
        raise InvalidInput(
            f"no column named {column!r} to order the rows by",
            where=version.ref,
            hint=_date_hint(version),
        )
    if column == spec.target:
        raise InvalidInput(
            f"the time column {column!r} is the target", where=where, hint=_date_hint(version)
        )
    kind = version.schema[column]
    if kind == "datetime":
        return
    if kind == "string":
        _refuse_mixed_zones(column, where, path)
    raise InvalidInput(
        f"column {column!r} holds {kind} values, not dates, so it cannot order the rows in time",
        where=where,
        hint=_date_hint(version),
    )


def _refuse_mixed_zones(column: str, where: str, path: str) -> None:
    """A text column of ISO dates, some with a time zone and some without, is refused."""
    import pyarrow.parquet as pq

    values = pq.read_table(path, columns=[column]).column(column).drop_null().to_pylist()
    dated = [v for v in values if isinstance(v, str) and _DATE_LIKE.match(v.strip())]
    zoned = next((v for v in dated if _ZONED.search(v.strip()[10:])), None)
    naive = next((v for v in dated if not _ZONED.search(v.strip()[10:])), None)
    if zoned is not None and naive is not None:
        raise InvalidInput(
            f"column {column!r} mixes times with and without a time zone (e.g. {naive!r} and "
            f"{zoned!r}), so their order is unknown",
            where=where,
            hint="write every value with its offset (or every value without), then import again",
        )


def date_columns(version: DatasetVersion) -> list[str]:
    return [name for name, kind in version.schema.items() if kind == "datetime"]


def random_split_notes(spec: RunSpec, version: DatasetVersion) -> list[str]:
    """The warning a random split on data with a date column gets (in the run's notes)."""
    dates = date_columns(version)
    if spec.split.kind == "time" or not dates:
        return []
    return [
        f"warning: the data has a date column ({', '.join(map(repr, dates))}) and the split is "
        "random: the model learned from rows later than some it was tested on, which can flatter "
        f"its metrics; if it will predict later rows, use --split time --time-column {dates[0]}"
    ]


# -- the worker's side ------------------------------------------------------------------------


def time_values(column: pd.Series) -> pd.Series:
    """The column as nanoseconds since 1970 UTC (float, NaN where missing)."""
    import pandas as pd

    stamps = pd.to_datetime(column, utc=True)
    return pd.Series(
        stamps.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]").astype("int64"),
        index=column.index,
    ).where(stamps.notna())


def in_time_order(
    frame: pd.DataFrame, y: pd.Series, column: str
) -> tuple[pd.DataFrame, pd.Series, np.ndarray, int]:
    """The rows with a time, in time order (rows of one time keep the data's order), their
    times in nanoseconds since 1970 UTC, and how many rows had no time."""
    import numpy as np

    stamps = time_values(frame[column])
    timed = stamps.notna().to_numpy()
    order = np.argsort(stamps.to_numpy()[timed], kind="stable")
    times = stamps.to_numpy()[timed][order].astype("int64")
    return frame.loc[timed].iloc[order], y.loc[timed].iloc[order], times, int((~timed).sum())


def tie_cut(sorted_times: np.ndarray, cut: int) -> int:
    """``cut`` moved back to the first row of its time: ties all go to the later side."""
    import numpy as np

    moved = int(np.searchsorted(sorted_times, sorted_times[cut], side="left"))
    return moved if moved > 0 else int(np.searchsorted(sorted_times, sorted_times[cut], "right"))


def time_cut(sorted_times: np.ndarray, test_size: float) -> tuple[int, list[str]]:
    """Where the training part ends in time-ordered rows, and the notes on the cut."""
    total = len(sorted_times)
    wanted = min(max(round(total * (1 - test_size)), 1), total - 1)
    cut = tie_cut(sorted_times, wanted)
    notes = []
    if cut != wanted:
        notes.append(
            f"{wanted - cut} rows share the time at the cut ({_stamp(sorted_times[cut])}): all "
            "rows of that time were kept in the test part"
        )
    if not 0 < cut < total:
        raise InvalidInput(
            f"every row has the same time ({_stamp(sorted_times[0])}), so there is no past to "
            "train on",
            hint="choose a time column whose values differ, or a random split",
        )
    return cut, notes + gap_notes(sorted_times)


def gap_notes(sorted_times: np.ndarray) -> list[str]:
    """A note on the longest step when it is far longer than the usual one."""
    import numpy as np

    distinct = np.unique(sorted_times)
    if len(distinct) < 3:
        return []
    steps = np.diff(distinct)
    usual, longest = float(np.median(steps)), int(np.argmax(steps))
    if usual <= 0 or steps[longest] <= 3 * usual:
        return []
    count = int((steps > 3 * usual).sum())
    return [
        f"the times have {count} gap(s) longer than 3 × the usual step; the longest is from "
        f"{_stamp(distinct[longest])} to {_stamp(distinct[longest + 1])} (fine: the cuts count "
        "rows, not time)"
    ]


def backtest_windows(sorted_times: np.ndarray, k: int) -> list[tuple[int, int]]:
    """``(train_end, test_end)`` of K walk-forward windows over time-ordered rows."""
    total = len(sorted_times)
    size = total // (k + 1)
    if size < 1:
        raise InvalidInput(
            f"{total} rows are too few for {k} backtest windows",
            hint="use fewer --backtest windows, or import more rows",
        )
    windows = []
    for i in range(1, k + 1):
        start = tie_cut(sorted_times, size * i)
        end = total if i == k else tie_cut(sorted_times, size * (i + 1))
        if end > start:
            windows.append((start, end))
    return windows


def window_record(sorted_times: np.ndarray, start: int, end: int) -> dict[str, Any]:
    return {
        "train_rows": start,
        "test_rows": end - start,
        "test_from": _stamp(sorted_times[start]),
        "test_to": _stamp(sorted_times[end - 1]),
    }


def _stamp(nanoseconds: Any) -> str:
    import pandas as pd

    stamp = pd.Timestamp(int(nanoseconds))
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
