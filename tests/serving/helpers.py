"""Shared pieces of the serving tests: the penguin model, odd estimators, a raw HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing
from core.experiments.training import io_schema
from core.serving.frames import model_frame
from core.serving.model import write_model_dir

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
SCHEMA = {
    "island": "string",
    "bill_length_mm": "float",
    "bill_depth_mm": "float",
    "flipper_length_mm": "float",
    "body_mass_g": "float",
    "sex": "string",
    "year": "integer",
}
FEATURES = list(SCHEMA)
ROW = {
    "island": "Biscoe",
    "bill_length_mm": 45.1,
    "bill_depth_mm": 14.5,
    "flipper_length_mm": 215,
    "body_mass_g": 5000,
    "sex": "female",
    "year": 2008,
}


def penguins() -> pd.DataFrame:
    frame = pd.read_csv(PENGUINS)
    return frame[frame["species"].notna()].reset_index(drop=True)


def training_data(features: list[str] = FEATURES) -> tuple[pd.DataFrame, pd.Series]:
    frame = penguins()
    return model_frame(frame, SCHEMA, features), frame["species"].astype(str)


def export_model(
    folder: Path,
    estimator: BaseEstimator,
    *,
    version: int = 1,
    name: str = "penguins",
    task: str = "classification",
) -> Path:
    """Fit the engine's pipeline on the demo data and write a model directory, as a run would."""
    if task == "regression":  # body mass from the other measurements
        features = [f for f in FEATURES if f != "body_mass_g"]
        frame = penguins().dropna(subset=["body_mass_g"]).reset_index(drop=True)
        X, y = model_frame(frame, SCHEMA, features), frame["body_mass_g"].astype(float)
    else:
        features = FEATURES
        X, y = training_data()
    pipeline = build_pipeline(features, SCHEMA, Preprocessing(), estimator).fit(X, y)
    target = "body_mass_g" if task == "regression" else "species"
    spec = SimpleNamespace(features=features, target=target, task=task)
    schema = io_schema(SimpleNamespace(spec=spec, schema=SCHEMA), pipeline, X, y)
    return write_model_dir(
        folder,
        pipeline,
        name=name,
        version=version,
        run=version,
        task=task,
        io_schema=schema,
        metrics={"f1": 0.9} if task == "classification" else {"rmse": 300.0},
    )


class Exploding(ClassifierMixin, BaseEstimator):
    """Fits like a classifier, raises on predict."""

    def fit(self, X: Any, y: Any) -> Exploding:
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: Any) -> Any:
        raise RuntimeError("the model is broken")


class NaNRegressor(RegressorMixin, BaseEstimator):
    """Predicts NaN and Infinity, which must never reach the JSON answer as tokens."""

    def fit(self, X: Any, y: Any) -> NaNRegressor:
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> Any:
        return np.array([np.nan, np.inf, 1.5] * len(X))[: len(X)]


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body, parse_constant=_no_constants)


def _no_constants(token: str) -> Any:
    raise AssertionError(f"non-standard JSON token {token} in an answer")


class Client:
    """A keep-alive HTTP client that sends exactly the headers it is given."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> Reply:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            return self._send(method, path, body, headers)
        except (http.client.HTTPException, ConnectionError):
            self.connection.close()  # the server closed a keep-alive connection: once more
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return self._send(method, path, body, headers)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Reply:
        skip_host = any(k.lower() == "host" for k in headers)
        self.connection.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        for key, value in headers.items():
            self.connection.putheader(key, value)
        if body is not None:
            self.connection.putheader("Content-Length", str(len(body)))
        self.connection.endheaders(body)
        response = self.connection.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return self.call("POST", "/predict", json_body=payload, headers=headers)

    def close(self) -> None:
        self.connection.close()


def chunked_post(port: int, path: str, chunks: list[bytes], content_type: str) -> Reply:
    """POST with Transfer-Encoding: chunked and no Content-Length."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=iter(chunks),
            headers={"Content-Type": content_type},
            encode_chunked=True,
        )
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, headers, response.read())
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
