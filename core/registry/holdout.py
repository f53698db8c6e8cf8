"""The held-out test rows of a data version under a run spec, rebuilt exactly as training
split them (same target cleaning, same seeded, stratified split), for evaluating gates; and the
training rows, the same way, for drift's reference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.data import versions
from core.entities import DatasetVersion
from core.errors import InvalidInput
from core.experiments.spec import RunSpec
from core.project import Project


@dataclass(frozen=True)
class Holdout:
    """Test rows as raw columns (``frame``) and their target values (``y``)."""

    dataset: DatasetVersion
    frame: pd.DataFrame
    y: pd.Series

    @property
    def rows(self) -> int:
        return len(self.y)

    def model_input(self, io_schema: dict[str, Any]) -> pd.DataFrame:
        """The rows as a model with this input schema expects them (serving's coercion)."""
        from core.serving.frames import model_frame

        inputs = io_schema.get("inputs", [])
        missing = [entry["name"] for entry in inputs if entry["name"] not in self.frame]
        if missing:
            raise InvalidInput(
                f"{self.dataset.ref} lacks the model's input columns {', '.join(missing)}",
                where=self.dataset.ref,
                hint="compare on a data version that has every feature of both models",
            )
        schema = {entry["name"]: entry["type"] for entry in inputs}
        return model_frame(self.frame, schema, [entry["name"] for entry in inputs])


def test_rows(project: Project, dataset: DatasetVersion, spec: RunSpec) -> Holdout:
    """The test part of ``dataset`` as a run with ``spec`` would split it."""
    return _part(project, dataset, spec, "test")


def train_rows(project: Project, dataset: DatasetVersion, spec: RunSpec) -> Holdout:
    """The training part of ``dataset`` (the rows the pipeline was fitted on), split as a run
    with ``spec`` split it: the reference of drift monitoring."""
    return _part(project, dataset, spec, "train")


def _part(project: Project, dataset: DatasetVersion, spec: RunSpec, part: str) -> Holdout:
    from core.experiments.timesplit import in_time_order
    from core.experiments.training import _target, split

    frame = versions.load_table(project, dataset).to_pandas()
    if spec.target not in frame:
        raise InvalidInput(
            f"{dataset.ref} has no column {spec.target!r}",
            where=dataset.ref,
            hint="the models must predict a column of this data set",
        )
    y = _target(frame, spec)
    keep = y.notna().to_numpy()
    frame, y, times = frame.loc[keep], y.loc[keep], None
    if spec.split.kind == "time":  # the rows in time order, as the run saw them
        frame, y, times, _ = in_time_order(frame, y, spec.split.time_column)
    frame, y = frame.reset_index(drop=True), y.reset_index(drop=True)
    part_frame, part_y = split(frame, y, spec, times)[part]
    return Holdout(dataset, part_frame.reset_index(drop=True), part_y.reset_index(drop=True))
