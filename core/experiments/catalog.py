"""The estimator catalog: which scikit-learn models Shipway trains, and their tunable parameters.

Every estimator a team actually uses is described here *as data*: its key (``random_forest``),
the tasks it supports, and for each tunable parameter its kind, default, range, choices and the
values grid search tries. The desktop builds its parameter forms from it, the CLI validates
``--param name=value`` with :func:`parse_params`, training builds the model with
:func:`make_estimator`, and searches draw their candidates with :func:`grid_candidates` and
:func:`random_candidates`. ``shipway catalog --json`` prints :func:`estimators`, each as
``to_dict()``.

A parameter listed here is valid for every task of its estimator (task-specific arguments such as
``class_weight`` on forests or ``epsilon`` on SVR are left out). The catalog checks each value on
its own; it does not know which *combinations* scikit-learn refuses (``l1_ratio=0.5`` with
``solver=lbfgs`` passes :func:`parse_params` and fails at fit). :func:`incompatibility` knows the
common ones, and the two search functions use it to skip candidates that would only fail.

scikit-learn 1.9 notes: ``LogisticRegression(penalty=...)`` is deprecated (since 1.8), so the
penalty is chosen with ``l1_ratio`` (0 = L2, 1 = L1, between = elastic net); ``SVC(probability=
True)`` is deprecated (1.9), so the SVM classifier is ``CalibratedClassifierCV(SVC(),
ensemble=False)``, the documented replacement, which gives the same Platt-scaled probabilities.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

TASKS = ("classification", "regression")
KINDS = ("int", "float", "choice", "bool")
NONE_TEXT = "none"
GRID_PICK_PROBABILITY = 0.25  # random search takes one of the grid values this often


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ParamSpec:
    """One tunable parameter of an estimator.

    ``grid`` holds the values grid search tries; a parameter with an empty grid can be set but is
    not searched (by grid or random search) and keeps its default there. Params are listed in
    order of importance: grid search varies the first ones first.
    """

    name: str
    kind: str  # "int" | "float" | "choice" | "bool"
    default: Any  # the value Shipway uses when not given (differences from sklearn are in help)
    low: float | None = None
    high: float | None = None
    log: bool = False  # random search samples log-uniformly
    choices: tuple = ()  # for "choice"
    nullable: bool = False  # None is allowed (e.g. max_depth); written "none" on the CLI
    grid: tuple = ()  # values tried by grid search (3–4 values)
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, not {self.kind!r}")
        numeric = self.kind in ("int", "float")
        if numeric and (self.low is None or self.high is None or self.low > self.high):
            raise ValueError(f"{self.name}: a numeric parameter needs low <= high")
        if self.log and not (numeric and self.low > 0):
            raise ValueError(f"{self.name}: log scale needs a numeric range above 0")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a choice parameter needs choices")

    def to_dict(self) -> dict[str, Any]:
        """Every field, its tuples as lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class EstimatorSpec:
    """A model Shipway can train: its key, label, tasks and tunable parameters."""

    key: str
    label: str  # "Random forest"
    tasks: tuple[str, ...]  # subset of ("classification", "regression")
    params: tuple[ParamSpec, ...]
    seeded: bool  # accepts random_state (make_estimator passes the run's seed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``shipway catalog --json``."""
        return {
            "key": self.key,
            "label": self.label,
            "tasks": list(self.tasks),
            "seeded": self.seeded,
            "params": [param.to_dict() for param in self.params],
        }

    def param(self, name: str) -> ParamSpec:
        for param in self.params:
            if param.name == name:
                return param
        raise _unknown_param(self, name)


@dataclass(frozen=True)
class _Build:
    """How one task of an estimator becomes a scikit-learn object."""

    path: str  # "module:Class"
    fixed: Mapping[str, Any] = field(default_factory=dict)  # arguments the user cannot change
    calibrated: bool = False  # wrap in CalibratedClassifierCV(..., ensemble=False)


# --------------------------------------------------------------------------- the catalog


def _int(name: str, default: Any, low: int, high: int, **extra: Any) -> ParamSpec:
    return ParamSpec(name, "int", default, low, high, **extra)


def _float(name: str, default: Any, low: float, high: float, **extra: Any) -> ParamSpec:
    return ParamSpec(name, "float", default, low, high, **extra)


def _choice(name: str, default: Any, choices: tuple[str, ...], **extra: Any) -> ParamSpec:
    return ParamSpec(name, "choice", default, choices=choices, **extra)


def _bool(name: str, default: bool, **extra: Any) -> ParamSpec:
    return ParamSpec(name, "bool", default, **extra)


def _fit_intercept(grid: tuple = ()) -> ParamSpec:
    return _bool("fit_intercept", True, grid=grid, help="Fit an intercept (bias) term.")


def _alpha(high: float, grid: tuple) -> ParamSpec:
    help_text = "Regularisation strength; larger means simpler models."
    return _float("alpha", 1.0, 1e-4, high, log=True, grid=grid, help=help_text)


def _max_iter_cd() -> ParamSpec:
    help_text = "Maximum coordinate-descent iterations."
    return _int("max_iter", 1000, 100, 100_000, log=True, help=help_text)


def _tree_params(*, max_features: str | None, depth_grid: tuple, leaf_grid: tuple) -> tuple:
    features_help = "Features considered per split: sqrt, log2 of their count, or none = all."
    if max_features == "sqrt":
        features_help += (
            " Shipway uses sqrt for both tasks (scikit-learn's regressors default to all)."
        )
    return (
        _int("max_depth", None, 1, 50, nullable=True, grid=depth_grid,
             help="Maximum tree depth; none grows until leaves are pure."),
        _int("min_samples_leaf", 1, 1, 100, log=True, grid=leaf_grid,
             help="Minimum number of samples in a leaf; larger smooths the model."),
        _choice("max_features", max_features, ("sqrt", "log2"), nullable=True,
                grid=(max_features, "log2", None) if max_features else (), help=features_help),
    )  # fmt: skip


def _forest_params(*, bootstrap: bool) -> tuple[ParamSpec, ...]:
    n_estimators = _int("n_estimators", 100, 10, 1000, log=True, grid=(50, 100, 200, 400),
                        help="Number of trees; more is steadier and slower.")  # fmt: skip
    sample_help = "Train each tree on a bootstrap sample of the rows."
    trees = _tree_params(max_features="sqrt", depth_grid=(None, 5, 10, 20), leaf_grid=(1, 2, 5))
    return (n_estimators, *trees, _bool("bootstrap", bootstrap, help=sample_help))


_LOGISTIC = (
    _float("C", 1.0, 1e-4, 1e4, log=True, grid=(0.01, 0.1, 1.0, 10.0),
           help="Inverse regularisation strength; smaller means stronger regularisation."),
    _float("l1_ratio", 0.0, 0.0, 1.0, grid=(0.0, 0.5, 1.0),
           help="Penalty: 0 = L2, 1 = L1, in between = elastic net (replaces the deprecated "
                "`penalty`). L1 needs solver liblinear or saga; elastic net needs saga."),
    _choice("solver", "lbfgs", ("lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag",
                                "saga"), grid=("lbfgs", "saga"),
            help="Optimiser. lbfgs is a good default; liblinear handles two classes only."),
    _int("max_iter", 1000, 10, 10_000, log=True,
         help="Maximum solver iterations. Shipway uses 1000 (scikit-learn: 100, which often "
              "stops before converging)."),
    _choice("class_weight", None, ("balanced",), nullable=True,
            help="balanced weights classes inversely to their frequency; none = equal weights."),
)  # fmt: skip

_LINEAR = (
    _fit_intercept(grid=(True, False)),
    _bool("positive", False, help="Force all coefficients to be positive."),
)

_KNN = (
    _int("n_neighbors", 5, 1, 200, log=True, grid=(3, 5, 11, 21),
         help="Number of neighbours that vote (or are averaged)."),
    _choice("weights", "uniform", ("uniform", "distance"), grid=("uniform", "distance"),
            help="uniform: every neighbour counts the same; distance: closer ones count more."),
    _int("p", 2, 1, 2, grid=(1, 2), help="Distance: 1 = Manhattan, 2 = Euclidean."),
)  # fmt: skip

_SVM = (
    _float("C", 1.0, 1e-4, 1e4, log=True, grid=(0.1, 1.0, 10.0, 100.0),
           help="Inverse regularisation strength; larger fits the training data more closely."),
    _choice("kernel", "rbf", ("rbf", "linear", "poly", "sigmoid"), grid=("rbf", "linear"),
            help="Kernel function."),
    _choice("gamma", "scale", ("scale", "auto"),
            help="Kernel coefficient for rbf, poly and sigmoid: scale = 1 / (features × "
                 "variance), auto = 1 / features."),
    _int("degree", 3, 1, 6, help="Degree of the poly kernel (ignored by the others)."),
)  # fmt: skip

_GRADIENT_BOOSTING = (
    _int("n_estimators", 100, 10, 1000, log=True, grid=(50, 100, 200),
         help="Number of boosting stages."),
    _float("learning_rate", 0.1, 1e-3, 1.0, log=True, grid=(0.03, 0.1, 0.3),
           help="Shrinks each stage's contribution; lower needs more stages."),
    _int("max_depth", 3, 1, 20, grid=(2, 3, 5), help="Depth of each tree."),
    _float("subsample", 1.0, 0.1, 1.0,
           help="Share of rows each stage is fitted on; below 1 gives stochastic boosting."),
    _int("min_samples_leaf", 1, 1, 100, log=True, help="Minimum number of samples in a leaf."),
)  # fmt: skip

_HIST_GRADIENT_BOOSTING = (
    _float("learning_rate", 0.1, 1e-3, 1.0, log=True, grid=(0.03, 0.1, 0.3),
           help="Shrinks each iteration's contribution; lower needs more iterations."),
    _int("max_iter", 100, 10, 1000, log=True, grid=(50, 100, 200),
         help="Number of boosting iterations (trees per class)."),
    _int("max_leaf_nodes", 31, 2, 256, log=True, nullable=True, grid=(15, 31, 63),
         help="Maximum leaves per tree; none = unlimited."),
    _int("max_depth", None, 1, 50, nullable=True, help="Maximum tree depth; none = unlimited."),
    _int("min_samples_leaf", 20, 1, 200, log=True, help="Minimum number of samples in a leaf."),
    _float("l2_regularization", 0.0, 0.0, 10.0, help="L2 penalty on leaf values."),
)  # fmt: skip

_NAIVE_BAYES = (
    _float("var_smoothing", 1e-9, 1e-12, 1.0, log=True, grid=(1e-11, 1e-9, 1e-7, 1e-5),
           help="Share of the largest feature variance added to all variances, for stability."),
)  # fmt: skip

_CATALOG: tuple[tuple[EstimatorSpec, dict[str, _Build]], ...] = (
    (
        EstimatorSpec("logistic_regression", "Logistic regression", ("classification",),
                      _LOGISTIC, seeded=True),
        {"classification": _Build("sklearn.linear_model:LogisticRegression")},
    ),
    (
        EstimatorSpec("linear_regression", "Linear regression", ("regression",), _LINEAR,
                      seeded=False),
        {"regression": _Build("sklearn.linear_model:LinearRegression")},
    ),
    (
        EstimatorSpec("ridge", "Ridge", TASKS,
                      (_alpha(1e4, (0.1, 1.0, 10.0, 100.0)), _fit_intercept()), seeded=True),
        {"classification": _Build("sklearn.linear_model:RidgeClassifier"),
         "regression": _Build("sklearn.linear_model:Ridge")},
    ),
    (
        EstimatorSpec("lasso", "Lasso", ("regression",),
                      (_alpha(1e2, (0.01, 0.1, 1.0, 10.0)), _max_iter_cd(), _fit_intercept()),
                      seeded=True),
        {"regression": _Build("sklearn.linear_model:Lasso")},
    ),
    (
        EstimatorSpec("elastic_net", "Elastic net", ("regression",),
                      (_alpha(1e2, (0.01, 0.1, 1.0, 10.0)),
                       _float("l1_ratio", 0.5, 0.0, 1.0, grid=(0.2, 0.5, 0.8),
                              help="Penalty mix: 0 = L2 (ridge), 1 = L1 (lasso)."),
                       _max_iter_cd(), _fit_intercept()),
                      seeded=True),
        {"regression": _Build("sklearn.linear_model:ElasticNet")},
    ),
    (
        EstimatorSpec("knn", "k-nearest neighbours", TASKS, _KNN, seeded=False),
        {"classification": _Build("sklearn.neighbors:KNeighborsClassifier"),
         "regression": _Build("sklearn.neighbors:KNeighborsRegressor")},
    ),
    (
        # SVC's random_state only matters with the deprecated probability=True, so not seeded.
        EstimatorSpec("svm", "Support vector machine", TASKS, _SVM, seeded=False),
        {"classification": _Build("sklearn.svm:SVC", calibrated=True),
         "regression": _Build("sklearn.svm:SVR")},
    ),
    (
        EstimatorSpec("decision_tree", "Decision tree", TASKS,
                      _tree_params(max_features=None, depth_grid=(None, 3, 6, 12),
                                   leaf_grid=(1, 5, 20)),
                      seeded=True),
        {"classification": _Build("sklearn.tree:DecisionTreeClassifier"),
         "regression": _Build("sklearn.tree:DecisionTreeRegressor")},
    ),
    (
        EstimatorSpec("random_forest", "Random forest", TASKS, _forest_params(bootstrap=True),
                      seeded=True),
        {"classification": _Build("sklearn.ensemble:RandomForestClassifier"),
         "regression": _Build("sklearn.ensemble:RandomForestRegressor")},
    ),
    (
        EstimatorSpec("extra_trees", "Extra trees", TASKS, _forest_params(bootstrap=False),
                      seeded=True),
        {"classification": _Build("sklearn.ensemble:ExtraTreesClassifier"),
         "regression": _Build("sklearn.ensemble:ExtraTreesRegressor")},
    ),
    (
        EstimatorSpec("gradient_boosting", "Gradient boosting", TASKS, _GRADIENT_BOOSTING,
                      seeded=True),
        {"classification": _Build("sklearn.ensemble:GradientBoostingClassifier"),
         "regression": _Build("sklearn.ensemble:GradientBoostingRegressor")},
    ),
    (
        EstimatorSpec("hist_gradient_boosting", "Histogram gradient boosting", TASKS,
                      _HIST_GRADIENT_BOOSTING, seeded=True),
        {"classification": _Build("sklearn.ensemble:HistGradientBoostingClassifier"),
         "regression": _Build("sklearn.ensemble:HistGradientBoostingRegressor")},
    ),
    (
        EstimatorSpec("naive_bayes", "Gaussian naive Bayes", ("classification",), _NAIVE_BAYES,
                      seeded=False),
        {"classification": _Build("sklearn.naive_bayes:GaussianNB")},
    ),
    (
        EstimatorSpec("dummy", "Baseline (dummy)", TASKS, (), seeded=False),
        {"classification": _Build("sklearn.dummy:DummyClassifier", {"strategy": "prior"}),
         "regression": _Build("sklearn.dummy:DummyRegressor", {"strategy": "mean"})},
    ),
)  # fmt: skip

ESTIMATORS: tuple[EstimatorSpec, ...] = tuple(spec for spec, _ in _CATALOG)
_BUILDS: dict[str, dict[str, _Build]] = {spec.key: builds for spec, builds in _CATALOG}
_BY_KEY: dict[str, EstimatorSpec] = {spec.key: spec for spec in ESTIMATORS}


# --------------------------------------------------------------------------- lookup


def get_estimator(key: str, task: str | None = None) -> EstimatorSpec:
    """The estimator called ``key``; with ``task``, also check that it supports that task."""
    spec = _BY_KEY.get(key)
    if spec is None:
        raise InvalidInput(
            f"Unknown estimator {key!r}; known estimators: {', '.join(_BY_KEY)}.",
            where="estimator",
            hint="Use one of the keys listed by `shipway catalog`.",
        )
    if task is not None:
        _check_task(spec, task)
    return spec


def estimators(task: str | None = None) -> tuple[EstimatorSpec, ...]:
    """Every estimator (or those supporting ``task``)."""
    if task is not None:
        _check_task_name(task)
    return tuple(spec for spec in ESTIMATORS if task is None or task in spec.tasks)


def _check_task_name(task: str) -> None:
    if task not in TASKS:
        raise InvalidInput(
            f"Unknown task {task!r}; known tasks: {', '.join(TASKS)}.",
            where="task",
            hint="Use classification (predict a category) or regression (predict a number).",
        )


def _check_task(spec: EstimatorSpec, task: str) -> None:
    _check_task_name(task)
    if task not in spec.tasks:
        others = [other.key for other in ESTIMATORS if task in other.tasks]
        raise InvalidInput(
            f"{spec.label} ({spec.key}) does not support {task}; "
            f"it supports: {', '.join(spec.tasks)}.",
            where=f"estimator {spec.key}",
            hint=f"For {task} use one of: {', '.join(others)}.",
        )


# --------------------------------------------------------------------------- parsing


def parse_params(spec: EstimatorSpec, values: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """Check and type the given parameter values; return only those, in the order given.

    ``values`` is either CLI text (``["n_estimators=200", "max_depth=none"]``) or a mapping of
    already-typed or text values. Bools are ``true``/``false``; ints must be whole numbers;
    ``none`` (or None) only where the parameter is nullable. Unknown names, wrong types,
    out-of-range values and bad choices raise :class:`InvalidInput` naming the parameter, the
    value and what is allowed.
    """
    pairs = values.items() if isinstance(values, Mapping) else _split_cli(spec, values)
    parsed: dict[str, Any] = {}
    for name, raw in pairs:
        parsed[name] = _convert(spec, spec.param(name), raw)
    return parsed


def resolved_params(spec: EstimatorSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter's default, overlaid with the (checked) given values."""
    resolved = {param.name: param.default for param in spec.params}
    resolved.update(parse_params(spec, given))
    return resolved


def _split_cli(spec: EstimatorSpec, items: Sequence[str] | str) -> Iterator[tuple[str, str]]:
    if isinstance(items, str):
        items = [items]
    seen: set[str] = set()
    for item in items:
        name, sep, text = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInput(
                f"Cannot read parameter {item!r}: expected name=value.",
                where=f"estimator {spec.key}",
                hint="Write parameters as name=value, e.g. --param max_depth=5.",
            )
        if name in seen:
            raise InvalidInput(
                f"Parameter {name!r} is given twice.",
                where=f"estimator {spec.key}, parameter {name}",
                hint="Give each parameter once.",
            )
        seen.add(name)
        yield name, text.strip()


def _convert(spec: EstimatorSpec, param: ParamSpec, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip().lower() == NONE_TEXT):
        if param.nullable:
            return None
        raise _bad_value(spec, param, raw, "is not allowed: the parameter cannot be none")
    converter = _CONVERTERS[param.kind]
    value = converter(spec, param, raw)
    if param.kind in ("int", "float") and not param.low <= value <= param.high:
        raise _bad_value(spec, param, raw, "is out of range")
    return value


def _to_bool(spec: EstimatorSpec, param: ParamSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = raw.strip().lower() if isinstance(raw, str) else None
    if text in ("true", "false"):
        return text == "true"
    raise _bad_value(spec, param, raw, "is not true or false")


def _to_int(spec: EstimatorSpec, param: ParamSpec, raw: Any) -> int:
    if isinstance(raw, bool):
        raise _bad_value(spec, param, raw, "is not an integer")
    if isinstance(raw, Integral):
        return int(raw)
    number = _to_float(spec, param, raw, problem="is not an integer")
    if not number.is_integer():
        raise _bad_value(spec, param, raw, "is not a whole number")
    return int(number)


def _to_float(spec: EstimatorSpec, param: ParamSpec, raw: Any, problem: str = "") -> float:
    problem = problem or "is not a number"
    if isinstance(raw, bool) or not isinstance(raw, Real | str):
        raise _bad_value(spec, param, raw, problem)
    try:
        number = float(raw)
    except ValueError:
        raise _bad_value(spec, param, raw, problem) from None
    if not math.isfinite(number):
        raise _bad_value(spec, param, raw, "is not a finite number")
    return number


def _to_choice(spec: EstimatorSpec, param: ParamSpec, raw: Any) -> str:
    value = raw.strip() if isinstance(raw, str) else raw
    if value in param.choices:
        return value
    raise _bad_value(spec, param, raw, "is not one of the choices")


_CONVERTERS = {"bool": _to_bool, "int": _to_int, "float": _to_float, "choice": _to_choice}


def allowed_text(param: ParamSpec) -> str:
    """What ``param`` accepts, in words ("an integer from 10 to 1000, or none")."""
    if param.kind == "bool":
        text = "true or false"
    elif param.kind == "choice":
        text = "one of " + ", ".join(param.choices)
    else:
        noun = "an integer" if param.kind == "int" else "a number"
        text = f"{noun} from {param.low:g} to {param.high:g}"
    return text + (", or none" if param.nullable else "")


def _bad_value(spec: EstimatorSpec, param: ParamSpec, raw: Any, problem: str) -> InvalidInput:
    default = NONE_TEXT if param.default is None else _cli_text(param.default)
    return InvalidInput(
        f"{spec.label}: {param.name}={raw!r} {problem}; allowed: {allowed_text(param)}.",
        where=f"estimator {spec.key}, parameter {param.name}",
        hint=f"Pick a value as allowed, e.g. {param.name}={default} (the default).",
    )


def _unknown_param(spec: EstimatorSpec, name: str) -> InvalidInput:
    known = ", ".join(param.name for param in spec.params)
    return InvalidInput(
        f"{spec.label} has no parameter {name!r}; "
        + (f"known parameters: {known}." if known else "it has no tunable parameters."),
        where=f"estimator {spec.key}, parameter {name}",
        hint="See `shipway catalog` for each estimator's parameters.",
    )


def _cli_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- building


def incompatibility(spec: EstimatorSpec, params: Mapping[str, Any]) -> str | None:
    """Why scikit-learn would refuse this combination at fit time, or None if it is fine.

    Advisory: :func:`parse_params` does not call it (fit raises the real error); the searches
    use it to skip candidates that could only fail. Data-dependent failures (liblinear with more
    than two classes, more neighbours than rows) are not detected.
    """
    check = _COMBINATION_CHECKS.get(spec.key)
    return check(resolved_params(spec, params)) if check else None


def _logistic_combination(params: Mapping[str, Any]) -> str | None:
    l1_ratio, solver = params["l1_ratio"], params["solver"]
    if 0 < l1_ratio < 1 and solver != "saga":
        return f"l1_ratio={l1_ratio:g} (elastic net) needs solver saga, not {solver}"
    if l1_ratio == 1 and solver not in ("liblinear", "saga"):
        return f"l1_ratio=1 (L1) needs solver liblinear or saga, not {solver}"
    return None


_COMBINATION_CHECKS = {"logistic_regression": _logistic_combination}


def make_estimator(
    spec: EstimatorSpec, task: str, params: Mapping[str, Any], seed: int
) -> BaseEstimator:
    """The unfitted scikit-learn estimator for ``task`` with the resolved ``params``.

    Adds ``random_state=seed`` when the estimator is seeded and the fixed arguments of the
    catalog (DummyClassifier strategy=prior, DummyRegressor strategy=mean). The SVM classifier
    is ``CalibratedClassifierCV(SVC(...), ensemble=False)`` so that it predicts probabilities.
    """
    _check_task(spec, task)
    _check_seed(seed)
    build = _BUILDS[spec.key][task]
    module_name, _, class_name = build.path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    kwargs = {**resolved_params(spec, params), **build.fixed}
    if spec.seeded and "random_state" in inspect.signature(cls).parameters:
        kwargs["random_state"] = seed
    estimator = cls(**kwargs)
    if build.calibrated:
        from sklearn.calibration import CalibratedClassifierCV

        estimator = CalibratedClassifierCV(estimator, ensemble=False)
    return estimator


def _check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**32:
        raise InvalidInput(
            f"Seed {seed!r} is not an integer from 0 to 4294967295.",
            where="seed",
            hint="Give a whole number such as 42.",
        )


# --------------------------------------------------------------------------- search


def grid_candidates(
    spec: EstimatorSpec, fixed: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Grid-search candidates: the product of the grids of the params not in ``fixed``.

    Order rule (deterministic): candidates are enumerated like an odometer whose fastest wheel
    is the *first* (most important) searched parameter, and each grid starts with the default.
    So when the product is bigger than ``limit``, the truncated list still covers every
    combination of the first few parameters while the later ones stay at their defaults.
    Combinations :func:`incompatibility` rejects are skipped (unless ``fixed`` itself already
    conflicts). Each candidate includes the ``fixed`` values.
    """
    _check_count("limit", limit)
    fixed = parse_params(spec, fixed)
    searched = _searched(spec, fixed)
    keep_conflicts = incompatibility(spec, fixed) is not None  # the user's own choice
    grids = [_default_first(param) for param in searched]
    candidates: list[dict[str, Any]] = []
    for values in itertools.product(*reversed(grids)):
        drawn = dict(zip((param.name for param in searched), reversed(values), strict=True))
        candidate = _merged(spec, drawn, fixed)
        if keep_conflicts or incompatibility(spec, candidate) is None:
            candidates.append(candidate)
        if len(candidates) >= limit:
            break
    return candidates


def random_candidates(
    spec: EstimatorSpec, fixed: Mapping[str, Any], trials: int, seed: int
) -> list[dict[str, Any]]:
    """Random-search candidates: ``trials`` draws for the params not in ``fixed``, reproducible.

    Each searched parameter (one with a grid) is drawn from its range — log-uniformly where
    ``log`` is set, uniform integers, a random choice — except that with probability
    ``GRID_PICK_PROBABILITY`` it takes one of its grid values (which is how ``none`` and exact
    values such as ``l1_ratio=0`` get drawn). Floats are rounded to 4 significant digits.
    Duplicates and incompatible combinations are redrawn; when the space is too small for
    ``trials`` distinct candidates, fewer are returned. Each candidate includes ``fixed``.
    """
    _check_count("trials", trials)
    _check_seed(seed)
    fixed = parse_params(spec, fixed)
    searched = _searched(spec, fixed)
    keep_conflicts = incompatibility(spec, fixed) is not None  # the user's own choice
    rng = random.Random(seed)
    candidates: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for _ in range(20 * trials + 100):
        drawn = {param.name: _draw(param, rng) for param in searched}
        candidate = _merged(spec, drawn, fixed)
        key = tuple(candidate.items())
        if key in seen or not (keep_conflicts or incompatibility(spec, candidate) is None):
            continue
        seen.add(key)
        candidates.append(candidate)
        if len(candidates) == trials:
            break
    return candidates


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise InvalidInput(
            f"{name} must be a positive integer, not {value!r}.",
            where=name,
            hint=f"Give {name} as a whole number of at least 1.",
        )


def _searched(spec: EstimatorSpec, fixed: Mapping[str, Any]) -> list[ParamSpec]:
    return [param for param in spec.params if param.grid and param.name not in fixed]


def _default_first(param: ParamSpec) -> list[Any]:
    rest = [value for value in param.grid if value != param.default]
    return [param.default, *rest] if len(rest) < len(param.grid) else rest


def _merged(spec: EstimatorSpec, drawn: dict[str, Any], fixed: dict[str, Any]) -> dict[str, Any]:
    values = {**drawn, **fixed}
    return {param.name: values[param.name] for param in spec.params if param.name in values}


def _draw(param: ParamSpec, rng: random.Random) -> Any:
    if rng.random() < GRID_PICK_PROBABILITY:
        return rng.choice(param.grid)
    if param.kind == "choice":
        return rng.choice(param.choices)
    if param.kind == "bool":
        return rng.random() < 0.5
    low, high = param.low, param.high
    if param.log:
        number = math.exp(rng.uniform(math.log(low), math.log(high)))
    elif param.kind == "int":
        return rng.randint(int(low), int(high))
    else:
        number = rng.uniform(low, high)
    if param.kind == "int":
        return min(max(round(number), int(low)), int(high))
    return min(max(float(f"{number:.4g}"), low), high)


__all__ = [
    "ESTIMATORS",
    "EstimatorSpec",
    "ParamSpec",
    "allowed_text",
    "estimators",
    "get_estimator",
    "grid_candidates",
    "incompatibility",
    "make_estimator",
    "parse_params",
    "random_candidates",
    "resolved_params",
]
