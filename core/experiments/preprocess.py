"""The scikit-learn Pipeline of a run: a ColumnTransformer in front of the estimator.

Numbers are imputed (median by default) and scaled; text categories are imputed with the
constant "missing" and one-hot encoded with unknown categories ignored and rare ones (below
``rare_min_frequency`` of the training rows, or past ``max_categories``) grouped as
"infrequent". The transformer names ``num`` and ``cat`` are part of the contract with
:mod:`core.experiments.evaluation`, which maps importances back to input columns through them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.experiments.spec import Preprocessing
from core.serving.frames import categorical_columns, numeric_columns


def build_pipeline(
    features: list[str],
    schema: Mapping[str, str],
    options: Preprocessing,
    estimator: BaseEstimator,
) -> Pipeline:
    numeric = numeric_columns(schema, features)
    categorical = categorical_columns(schema, features)
    transformers = []
    if numeric:
        steps: list[tuple[str, object]] = [
            ("impute", SimpleImputer(strategy=options.numeric_impute, keep_empty_features=True))
        ]
        if options.scale:
            steps.append(("scale", StandardScaler()))
        transformers.append(("num", Pipeline(steps), numeric))
    if categorical and options.one_hot:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=options.rare_min_frequency or None,
            max_categories=options.max_categories,
            sparse_output=False,
        )
        impute = SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True)
        transformers.append(
            ("cat", Pipeline([("impute", impute), ("encode", encoder)]), categorical)
        )
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])
