"""A version's pipeline as one ONNX graph, refused unless it answers as scikit-learn does.

The graph follows the contract of :mod:`core.serving.onnx_model` (one input per feature, outputs
``label``/``probabilities`` or ``prediction``). It is built in two parts:

- **The preprocessing** (the ColumnTransformer :func:`core.experiments.preprocess.
  build_pipeline` makes) is written here with plain ONNX operators, because skl2onnx cannot
  convert a numeric SimpleImputer: numbers are imputed with ``Where(IsNaN(x), statistics, x)``
  and scaled with ``(x - mean) / scale``, in float64, the same operations scikit-learn runs;
  each text feature is looked up in a table: a ``LabelEncoder`` gives the row of the category
  (missing and unseen values included) and ``Gather`` takes that row of the encoded output,
  which scikit-learn itself computed for every category when the graph was made. So imputation,
  rare categories pooled as "infrequent" and unseen categories come out exactly as in
  scikit-learn. A pipeline of any other shape is refused.
- **The estimator** is converted by skl2onnx from float64 features where onnxruntime can run it
  in float64, else from float32 ones (tree ensembles, SVR and the ridge classifier run in float32
  there; scikit-learn's trees compare float32 values too).

Then both pipelines predict the same rows through the serving code, and the conversion is
refused, naming the largest difference, unless they agree (:mod:`core.bundles.onnx_check`). An
estimator skl2onnx cannot convert is refused with skl2onnx's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.bundles.onnx_check import (
    Mismatch,
    OnnxRefused,
    difference,
    disagrees,
    refused,
)
from core.serving.frames import NUMERIC_TYPES
from core.serving.onnx_model import (
    ESCAPED_TEXT,
    LABEL,
    MISSING_TEXT,
    PREDICTION,
    PROBABILITIES,
    input_name,
)
from core.serving.scoring import ARGMAX_OF_PROBA

#: How the estimator computes: in float64; in float64 on inputs rounded to float32 (what
#: scikit-learn's trees compare); in float32 (where onnxruntime runs it in float32 only).
PRECISIONS = ("float64", "float64 of float32 inputs", "float32")
#: Probabilities this close to the highest count as a tie (see :func:`_argmax_label`).
TIE = {"float64": 1e-9, "float64 of float32 inputs": 1e-9, "float32": 1e-6}
OPSET = 18
ML_OPSET = 3


@dataclass(frozen=True)
class Converted:
    """An ONNX graph of a pipeline that answers as the pipeline does on the rows compared."""

    data: bytes
    precision: str  # how the estimator computes: one of PRECISIONS
    largest_difference: float
    rows: int


def convert(pipeline: Any, expected: Any, frame: pd.DataFrame, label: str) -> Converted:
    """The ONNX graph of ``pipeline``, the one served as ``expected`` (its LoadedModel), checked
    against it on ``frame`` (model input rows). Tries the estimator in float64, then float32;
    raises :class:`OnnxRefused` naming skl2onnx's reason, or the largest difference found."""
    from dataclasses import replace

    from core.serving.onnx_model import load_onnx

    require_tools(label)
    preprocess, final = _parts(pipeline, label)
    failures, mismatches = [], []
    for precision in PRECISIONS:
        try:
            data = _graph(preprocess, final, expected, precision, label)
            served = load_onnx(data, expected.inputs, expected.task, expected.classes, label)
        except OnnxRefused:
            raise
        except Exception as exc:  # skl2onnx, onnx and onnxruntime raise many types
            failures.append(f"{precision}: {_first_line(exc)}")
            continue
        converted = replace(expected, pipeline=served, model_format="onnx")
        try:
            largest = difference(expected, converted, frame)
        except Mismatch as mismatch:
            mismatches.append(f"in {precision}, {mismatch}")
            continue
        return Converted(data, precision, largest, len(frame))
    if mismatches:
        raise disagrees(label, "; ".join(mismatches))
    raise refused(
        label,
        f"skl2onnx cannot convert its {type(final).__name__} so that onnxruntime runs it "
        f"({'; '.join(failures)})",
    )


def require_tools(label: str) -> None:
    """Refuse, naming the extra to install, when the converter or the runtime is missing (they
    are an optional extra: the app and its installer do without them)."""
    import importlib.util

    missing = [
        m for m in ("onnx", "skl2onnx", "onnxruntime") if importlib.util.find_spec(m) is None
    ]
    if missing:
        raise OnnxRefused(
            f"{label} cannot be exported as ONNX here: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed",
            where=label,
            hint="pip install 'shipway[onnx]' (or onnx, skl2onnx and onnxruntime), then export "
            "again; a joblib bundle needs none of them",
        )


def _graph(preprocess: Any, final: Any, expected: Any, precision: str, label: str) -> bytes:
    import onnx

    inputs = [{"name": c.name, "type": c.type} for c in expected.inputs]
    pre = _Preprocessing(inputs, label)
    width = pre.build(preprocess)
    estimator = _skl2onnx(final, width, expected.task, precision)
    model = _merge(pre, estimator, precision, expected.task, final, label)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _parts(pipeline: Any, label: str) -> tuple[Any, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    steps = getattr(pipeline, "steps", None)
    if not isinstance(pipeline, Pipeline) or len(steps) != 2:
        raise refused(label, "the model is not a preprocessing step and an estimator")
    preprocess, final = steps[0][1], steps[1][1]
    if not isinstance(preprocess, ColumnTransformer):
        raise refused(label, f"its first step is a {type(preprocess).__name__}")
    if getattr(preprocess, "sparse_output_", False):
        raise refused(label, "its preprocessing gives a sparse matrix")
    return preprocess, final


class _Preprocessing:
    """ONNX nodes turning the feature inputs into the estimator's float64 feature matrix."""

    def __init__(self, inputs: list[dict[str, Any]], label: str) -> None:
        self.inputs = inputs
        self.label = label
        self.position = {entry["name"]: index for index, entry in enumerate(inputs)}
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.blocks: list[str] = []

    def graph_inputs(self) -> list[Any]:
        from onnx import TensorProto, helper

        return [
            helper.make_tensor_value_info(
                input_name(i),
                TensorProto.DOUBLE if entry["type"] in NUMERIC_TYPES else TensorProto.STRING,
                [None, 1],
            )
            for i, entry in enumerate(self.inputs)
        ]

    def constant(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        name = f"shipway_{len(self.nodes)}_{kind}"
        self.nodes.append(helper.make_node(kind, inputs, [output], name=name, **attributes))
        return output

    def build(self, preprocess: Any) -> int:
        """Add the nodes of every transformer; returns the width of the feature matrix."""
        width = 0
        for index, (name, transformer, columns) in enumerate(preprocess.transformers_):
            if isinstance(transformer, str):
                if transformer == "drop" or not len(columns):
                    continue
                raise refused(self.label, f"its transformer {name!r} is {transformer!r}")
            columns = list(columns)
            if all(self.inputs[self.position[c]]["type"] in NUMERIC_TYPES for c in columns):
                width += self._numeric(index, transformer, columns)
            else:
                width += self._categorical(index, transformer, columns)
        if not self.blocks:
            raise refused(self.label, "its preprocessing keeps no column")
        self.node("Concat", self.blocks, "shipway_features", axis=1)
        return width

    def _numeric(self, index: int, transformer: Any, columns: list[str]) -> int:
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import StandardScaler

        steps = _steps(transformer)
        names = [input_name(self.position[c]) for c in columns]
        current = self.node("Concat", names, f"shipway_num{index}", axis=1)
        for step in steps:
            if isinstance(step, SimpleImputer) and _plain_imputer(step, len(columns)):
                mask = self.node("IsNaN", [current], f"{current}_nan")
                fill = self.constant(f"{current}_fill", step.statistics_.astype(np.float64)[None])
                current = self.node("Where", [mask, fill, current], f"{current}_imputed")
            elif isinstance(step, StandardScaler):
                if step.mean_ is not None and step.with_mean:
                    mean = self.constant(f"{current}_mean", step.mean_.astype(np.float64)[None])
                    current = self.node("Sub", [current, mean], f"{current}_centred")
                if step.scale_ is not None and step.with_std:
                    scale = self.constant(f"{current}_scale", step.scale_.astype(np.float64)[None])
                    current = self.node("Div", [current, scale], f"{current}_scaled")
            else:
                raise refused(
                    self.label,
                    f"its numeric step {type(step).__name__} is not one "
                    "the exporter knows (SimpleImputer, StandardScaler)",
                )
        self.blocks.append(current)
        return len(columns)

    def _categorical(self, index: int, transformer: Any, columns: list[str]) -> int:
        tables = _category_tables(transformer, columns, self.label)
        width = 0
        for position, (column, (keys, table)) in enumerate(zip(columns, tables, strict=True)):
            prefix = f"shipway_cat{index}_{position}"
            source = input_name(self.position[column])
            row = self.node(
                "LabelEncoder",
                [source],
                f"{prefix}_row",
                domain="ai.onnx.ml",
                keys_strings=keys,
                values_int64s=list(range(len(keys))),
                default_int64=len(keys),
            )
            shape = self.constant(f"{prefix}_shape", np.array([-1], dtype=np.int64))
            flat = self.node("Reshape", [row, shape], f"{prefix}_flat")
            encoded = self.constant(f"{prefix}_table", table.astype(np.float64))
            self.blocks.append(self.node("Gather", [encoded, flat], f"{prefix}_out", axis=0))
            width += table.shape[1]
        return width


def _steps(transformer: Any) -> list[Any]:
    return (
        [step for _, step in transformer.steps] if hasattr(transformer, "steps") else [transformer]
    )


def _plain_imputer(imputer: Any, columns: int) -> bool:
    missing = imputer.missing_values
    nan = isinstance(missing, float) and missing != missing
    return (
        nan
        and not getattr(imputer, "add_indicator", False)
        and np.asarray(imputer.statistics_).shape == (columns,)
        and np.all(np.isfinite(np.asarray(imputer.statistics_, dtype=np.float64)))
    )


def _category_tables(
    transformer: Any, columns: list[str], label: str
) -> list[tuple[list[str], np.ndarray]]:
    """Per text column: the keys (categories; None as MISSING_TEXT) and the encoded row of each
    key plus a last row for unseen values, as scikit-learn's own transform gives them."""
    steps = _steps(transformer)
    encoder = steps[-1]
    widths = getattr(encoder, "_n_features_outs", None)
    categories = getattr(encoder, "categories_", None)
    if widths is None or categories is None or len(categories) != len(columns):
        raise refused(label, f"its text step {type(encoder).__name__} is not a OneHotEncoder")
    keys = []
    for values in categories:
        found = [None if v is None else v for v in values.tolist()]
        if any(
            v is not None and (not isinstance(v, str) or v in (MISSING_TEXT, ESCAPED_TEXT))
            for v in found
        ):
            raise refused(label, "a category of its text features is not plain text")
        keys.append([*found, *([None] if None not in found else [])])
    length = max(len(k) for k in keys) + 1
    frame = pd.DataFrame(
        {
            c: [*k, *([ESCAPED_TEXT] * (length - len(k)))]
            for c, k in zip(columns, keys, strict=True)
        },
        dtype=object,
    )
    encoded = np.asarray(transformer.transform(frame), dtype=np.float64)
    edges = np.cumsum([0, *widths])
    tables = []
    for j, column_keys in enumerate(keys):
        block = encoded[:, edges[j] : edges[j + 1]]
        rows = [*range(len(column_keys)), len(column_keys)]  # the last: an unseen value
        texts = [MISSING_TEXT if k is None else k for k in column_keys]
        tables.append((texts, block[rows]))
    return tables


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"


def _skl2onnx(final: Any, width: int, task: str, precision: str) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = FloatTensorType if precision == "float32" else DoubleTensorType
    initial = [("features", kind([None, width]))]
    opsets = {"": OPSET, "ai.onnx.ml": ML_OPSET}
    if task == "classification":
        try:
            options = {id(final): {"zipmap": False}}
            return convert_sklearn(
                final, initial_types=initial, options=options, target_opset=opsets
            )
        except (NameError, RuntimeError, ValueError) as exc:
            if "zipmap" not in str(exc):
                raise
    return convert_sklearn(final, initial_types=initial, target_opset=opsets)


def _merge(
    pre: _Preprocessing, estimator: Any, precision: str, task: str, final: Any, label: str
) -> Any:
    """One model: the preprocessing nodes feeding the (prefixed) estimator graph."""
    from onnx import TensorProto, compose, helper

    est = compose.add_prefix(estimator, "est_")
    source = "shipway_features"
    if precision != "float64":
        source = pre.node("Cast", [source], "shipway_features_float", to=TensorProto.FLOAT)
    if precision == "float64 of float32 inputs":
        source = pre.node("Cast", [source], "shipway_features_rounded", to=TensorProto.DOUBLE)
    pre.node("Identity", [source], est.graph.input[0].name)
    before = len(pre.nodes)
    produced = list(est.graph.output)
    wanted = [PREDICTION] if task == "regression" else [LABEL]
    if task == "classification" and hasattr(final, "predict_proba") and len(produced) > 1:
        wanted.append(PROBABILITIES)
    outputs = []
    for name, output in zip(wanted, produced, strict=False):
        if name == LABEL and len(wanted) > 1 and type(final).__name__ in ARGMAX_OF_PROBA:
            _argmax_label(pre, final, produced, precision)
        else:
            pre.node("Identity", [output.name], name)
        info = helper.ValueInfoProto()
        info.CopyFrom(output)
        info.name = name
        outputs.append(info)
    graph = helper.make_graph(
        [*pre.nodes[:before], *est.graph.node, *pre.nodes[before:]],
        "shipway",
        pre.graph_inputs(),
        outputs,
        initializer=[*pre.initializers, *est.graph.initializer],
    )
    opsets = {item.domain or "": item.version for item in est.opset_import}
    opsets[""] = max(opsets.get("", OPSET), 13)
    opsets["ai.onnx.ml"] = max(opsets.get("ai.onnx.ml", ML_OPSET), 2)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(domain, v) for domain, v in sorted(opsets.items())],
        producer_name="shipway",
        doc_string=f"{label}, converted by Shipway (estimator in {precision})",
    )
    model.ir_version = est.ir_version
    helper.set_model_props(model, {"shipway.model": label, "shipway.precision": precision})
    return model


def _argmax_label(pre: _Preprocessing, final: Any, produced: list[Any], precision: str) -> None:
    """``label`` as the class of the highest probability, the first of equal ones: what the
    serving code answers for these estimators (:data:`core.serving.scoring.ARGMAX_OF_PROBA`).

    Probabilities within :data:`TIE` of the highest count as equal: scikit-learn's forests tie
    exactly (0.5 and 0.5), while their sums in another order, or in float32, may come out as
    0.49999994 and 0.50000006 and flip the class.
    """
    from onnx import TensorProto

    text = produced[0].type.tensor_type.elem_type == TensorProto.STRING
    classes = np.asarray(final.classes_)
    classes = classes.astype(str).astype(object) if text else classes.astype(np.int64)
    single = produced[1].type.tensor_type.elem_type == TensorProto.FLOAT
    dtype = np.float32 if single else np.float64
    proba = produced[1].name
    top = pre.node("ArgMax", [proba], "shipway_top", axis=1, keepdims=1)
    highest = pre.node("GatherElements", [proba, top], "shipway_highest", axis=1)
    tie = pre.constant(
        "shipway_tie", np.array(TIE["float32" if single else precision], dtype=dtype)
    )
    floor = pre.node("Sub", [highest, tie], "shipway_floor")
    near = pre.node("GreaterOrEqual", [proba, floor], "shipway_near")
    flags = pre.node("Cast", [near], "shipway_near_int", to=TensorProto.INT32)
    index = pre.node("ArgMax", [flags], "shipway_first", axis=1, keepdims=0)
    table = pre.constant("shipway_classes", classes)
    pre.node("Gather", [table, index], LABEL, axis=0)
