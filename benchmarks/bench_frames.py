"""What a request's model frame costs, for a model of numbers and text (penguins).

Every request of a model with text inputs has its columns put together as a model frame
(:func:`core.serving.frames.columns_frame`, as training and batch scoring do). It is timed
against the floor (pandas' own ``DataFrame`` constructor from the same columns, which infers
pandas' string type for the texts, not what the pipeline takes) and against the way it was
built before (a frame of numbers joined to a frame of texts and put in order). CPU time a
call, median of rounds, for 1, 100 and 100,000 rows.

    .venv/bin/python benchmarks/bench_frames.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.serving.frames import NUMERIC_TYPES, _numeric, _text, columns_frame  # noqa: E402

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island",
            "sex"]  # fmt: skip
SCHEMA = {name: "string" if name in ("island", "sex") else "float" for name in FEATURES}


def columns(rows: int) -> dict[str, object]:
    rng = np.random.default_rng(7)
    out: dict[str, object] = {name: rng.normal(100, 20, rows) for name in FEATURES[:4]}
    out["island"] = np.array(rng.choice(["Biscoe", "Dream", "Torgersen"], rows), dtype=object)
    out["sex"] = np.array(rng.choice(["male", "female", None], rows), dtype=object)
    return out


def joined_and_ordered(cols: dict, index: pd.Index) -> pd.DataFrame:
    """The frame as it was built before: numbers and texts apart, joined, put in order."""
    numeric = [name for name in FEATURES if SCHEMA[name] in NUMERIC_TYPES]
    block = np.empty((len(index), len(numeric)))
    for position, name in enumerate(numeric):
        block[:, position] = _numeric(cols[name], SCHEMA[name])
    out = pd.DataFrame(block, columns=numeric, index=index)
    text = {name: pd.Series(_text(pd.Series(cols[name])), index=index, dtype=object)
            for name in FEATURES if name not in numeric}  # fmt: skip
    return pd.concat([out, pd.DataFrame(text, index=index)], axis=1)[FEATURES]


def cpu_per_call(call, seconds: float) -> float:
    """Median CPU seconds a call over five rounds of about ``seconds`` / 5 each."""
    rounds = []
    for _ in range(5):
        calls, started = 0, time.process_time()
        while time.process_time() - started < seconds / 5:
            call()
            calls += 1
        rounds.append((time.process_time() - started) / calls)
    return statistics.median(rounds)


def measure(rows: int, seconds: float) -> str:
    cols, index = columns(rows), pd.RangeIndex(rows)
    assert columns_frame(cols, index, SCHEMA, FEATURES).equals(joined_and_ordered(cols, index))
    ours = cpu_per_call(lambda: columns_frame(cols, index, SCHEMA, FEATURES), seconds)
    lines = []
    for what, other in (
        ("vs pandas' own constructor", lambda: pd.DataFrame(cols, index=index)),
        ("vs joined and put in order", lambda: joined_and_ordered(cols, index)),
    ):
        theirs = cpu_per_call(other, seconds)
        lines.append(f"{rows:>7,} {what:28} {ours * 1e3:8.3f}ms {theirs * 1e3:8.3f}ms "
                     f"{theirs / ours:6.2f}x")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds a measurement")
    args = parser.parse_args()
    print(f"pandas {pd.__version__}, numpy {np.__version__}; CPU time a call, median of 5")
    print(f"{'rows':>7} {'model frame':28} {'shipway':>10} {'other':>10} {'ratio':>7}")
    for rows in (1, 100, 100_000):
        print(measure(rows, args.seconds * (3 if rows > 1000 else 1)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
