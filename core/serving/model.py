"""The model directory: reading (hash check before unpickling) and writing it.

A model directory holds ``model.joblib`` (the fitted scikit-learn Pipeline) and ``model.json``
(name, version, run, task, input/output schema, metrics, the sha256 of ``model.joblib``, the
creation time); the package docstring states the format. :func:`load_model` refuses a directory
whose model file does not hash to ``model_sha256`` *before* anything is unpickled, because
unpickling runs code.

A pickle-free model directory (``"model_format": "onnx"`` in ``model.json``) holds ``model.onnx``
instead: the same pipeline as an ONNX graph, run by onnxruntime (:mod:`core.serving.onnx_model`).
Nothing on that path imports joblib or unpickles anything, so such a directory cannot run code
however it was made; onnxruntime is imported only then, so a server of pickled models needs
none of it.

Either kind may carry ``reference.bin``, the drift reference of the version (its sha256 in
``reference_sha256``), from which the server scores drift over its latest requests
(:mod:`core.serving.drift_window`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.serving.errors import ModelDirError
from core.serving.frames import CATEGORICAL_TYPES, NUMERIC_TYPES

MODEL_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
METADATA_FILE = "model.json"
REFERENCE_FILE = "reference.bin"
#: The model file of each ``model_format`` (absent from model.json: joblib).
MODEL_FILES = {"joblib": MODEL_FILE, "onnx": ONNX_FILE}
FORMAT = 1
TASKS = ("classification", "regression")
TYPES = NUMERIC_TYPES + CATEGORICAL_TYPES


@dataclass(frozen=True)
class InputColumn:
    """One input column as training saw it."""

    name: str
    type: str
    nullable: bool
    categories: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A model directory after the hash check: its metadata and the unpickled pipeline."""

    name: str
    version: int
    run: int | None
    task: str
    inputs: tuple[InputColumn, ...]
    output: Mapping[str, Any]
    metrics: Mapping[str, Any]
    sha256: str
    created: str | None
    directory: str
    pipeline: Any = field(repr=False, compare=False)
    model_format: str = "joblib"
    reference_sha256: str | None = None

    @property
    def features(self) -> list[str]:
        return [column.name for column in self.inputs]

    @property
    def schema(self) -> dict[str, str]:
        """Column name → Shipway type, as :func:`core.serving.frames.model_frame` takes it."""
        return {column.name: column.type for column in self.inputs}

    @property
    def classes(self) -> list[Any] | None:
        classes = self.output.get("classes")
        return list(classes) if classes is not None else None

    @property
    def threshold(self) -> float | None:
        """The positive class's probability from which a binary classifier says positive
        (None: the class of the higher probability, the estimator's own label)."""
        value = self.output.get("threshold")
        return None if value is None else float(value)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def _input_column(entry: Any, position: int) -> InputColumn:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValueError(f"io_schema input {position} has no name")
    kind = entry.get("type")
    if kind not in TYPES:
        raise ValueError(f"input {entry['name']!r} has an unknown type {kind!r}")
    categories = entry.get("categories")
    return InputColumn(
        name=entry["name"],
        type=kind,
        nullable=bool(entry.get("nullable", False)),
        categories=tuple(str(c) for c in categories) if categories is not None else None,
        minimum=None if entry.get("min") is None else float(entry["min"]),
        maximum=None if entry.get("max") is None else float(entry["max"]),
    )


def read_metadata(directory: Path) -> dict[str, Any]:
    """``model.json`` of ``directory``, checked for the keys and types the server relies on."""
    path = directory / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelDirError(f"{path} does not exist: not a model directory") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelDirError(f"{path} cannot be read: {exc}") from None
    problems = []
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelDirError(f"{path}: unknown format (expected {{'format': {FORMAT}}})")
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        problems.append("name")
    if not isinstance(meta.get("version"), int):
        problems.append("version")
    if meta.get("task") not in TASKS:
        problems.append("task")
    if not isinstance(meta.get("model_sha256"), str):
        problems.append("model_sha256")
    if meta.get("model_format", "joblib") not in MODEL_FILES:
        problems.append("model_format")
    if not isinstance(meta.get("reference_sha256", ""), str):
        problems.append("reference_sha256")
    schema = meta.get("io_schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("inputs"), list):
        problems.append("io_schema")
    if problems:
        raise ModelDirError(f"{path}: missing or invalid {', '.join(problems)}")
    return meta


def load_model(directory: str | os.PathLike[str]) -> LoadedModel:
    """Read a model directory: check the model file's sha256, then load it.

    Raises
    ------
    ModelDirError
        When a file is missing, ``model.json`` is malformed, or the hash does not match (the
        model file is then never unpickled, nor handed to onnxruntime).
    """
    folder = Path(directory).resolve()
    meta = read_metadata(folder)
    model_format = meta.get("model_format", "joblib")
    model_path = folder / MODEL_FILES[model_format]
    if not model_path.is_file():
        raise ModelDirError(f"{model_path} does not exist")
    data = model_path.read_bytes()  # hashed and loaded from the same bytes: no swap between
    actual = hashlib.sha256(data).hexdigest()
    if actual != meta["model_sha256"].lower():
        raise ModelDirError(
            f"{model_path} does not match model_sha256 in {METADATA_FILE}: the file was changed "
            "or damaged, so it was not loaded"
        )
    try:
        inputs = tuple(_input_column(e, i) for i, e in enumerate(meta["io_schema"]["inputs"]))
    except ValueError as exc:
        raise ModelDirError(f"{folder / METADATA_FILE}: {exc}") from None
    output = dict(meta["io_schema"].get("output") or {})
    output.setdefault("task", meta["task"])
    _check_threshold(folder / METADATA_FILE, output)
    if model_format == "onnx":
        from core.serving.onnx_model import load_onnx

        pipeline = load_onnx(data, inputs, meta["task"], output.get("classes"), model_path)
    else:
        pipeline = _unpickle(data, model_path)
    return LoadedModel(
        name=meta["name"],
        version=meta["version"],
        run=meta.get("run"),
        task=meta["task"],
        inputs=inputs,
        output=output,
        metrics=dict(meta.get("metrics") or {}),
        sha256=actual,
        created=meta.get("created"),
        directory=str(folder),
        pipeline=pipeline,
        model_format=model_format,
        reference_sha256=meta.get("reference_sha256"),
    )


def _check_threshold(path: Path, output: Mapping[str, Any]) -> None:
    """A decision threshold is a probability, and only a two-class model has one."""
    value = output.get("threshold")
    if value is None:
        return
    classes = output.get("classes")
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not 0 <= number <= 1:
        raise ModelDirError(f"{path}: io_schema output threshold {value!r} is not in [0, 1]")
    if not isinstance(classes, list) or len(classes) != 2:
        raise ModelDirError(f"{path}: a threshold needs exactly two output classes")


def _unpickle(data: bytes, model_path: Path) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling can raise anything; the message is what matters
        raise ModelDirError(f"{model_path} cannot be loaded: {type(exc).__name__}: {exc}") from None


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_model_dir(
    directory: str | os.PathLike[str],
    model: Any,
    *,
    name: str,
    version: int,
    task: str,
    io_schema: Mapping[str, Any],
    run: int | None = None,
    metrics: Mapping[str, Any] | None = None,
    created: str | None = None,
    model_format: str = "joblib",
    reference: bytes | None = None,
) -> Path:
    """Write a model directory that :func:`load_model` reads.

    ``model`` is either the fitted pipeline or its stored bytes: a run's joblib bytes (then the
    recorded sha256 stays the run's ``model_sha256``), or with ``model_format="onnx"`` the bytes
    of ``model.onnx``. ``reference`` (the version's drift reference blob) is written as
    ``reference.bin``. ``model.json`` is written last, so a reader never sees metadata naming a
    model file that is not complete.
    """
    if model_format not in MODEL_FILES:
        raise ValueError(f"model_format must be one of {sorted(MODEL_FILES)}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(model, bytes | bytearray):
        data = bytes(model)
    elif model_format == "onnx":
        raise TypeError("an ONNX model directory is written from the bytes of model.onnx")
    else:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=("zlib", 1))
        data = buffer.getvalue()
    _atomic_write(folder / MODEL_FILES[model_format], data)
    meta = {
        "format": FORMAT,
        "name": name,
        "version": int(version),
        "run": run,
        "task": task,
        "io_schema": dict(io_schema),
        "metrics": dict(metrics or {}),
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "created": created or datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if model_format != "joblib":
        meta["model_format"] = model_format
    if reference is not None:
        _atomic_write(folder / REFERENCE_FILE, reference)
        meta["reference_sha256"] = hashlib.sha256(reference).hexdigest()
    text = json.dumps(meta, indent=2, allow_nan=False, default=str)
    _atomic_write(folder / METADATA_FILE, text.encode("utf-8"))
    return folder
