"""Fixtures of the serving tests: real model directories and real waitress servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from core.serving.server import RunningServer, start_server
from core.serving.settings import ServingConfig
from tests.serving.helpers import Client, Exploding, NaNRegressor, export_model


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model directories: penguins v1 (forest) and v2 (logistic), a broken one, a NaN one."""
    root = tmp_path_factory.mktemp("models")
    return {
        "v1": export_model(root / "v1", RandomForestClassifier(n_estimators=15, random_state=0)),
        "v2": export_model(root / "v2", LogisticRegression(max_iter=500), version=2),
        "exploding": export_model(root / "exploding", Exploding(), name="broken", version=7),
        "nan": export_model(root / "nan", NaNRegressor(), name="mass", task="regression"),
    }


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """``serve(model_dir, **config)``: a server for one test, stopped afterwards."""
    running: list[RunningServer] = []

    def start(model: Path, threads: int = 4, **settings: object) -> RunningServer:
        server = start_server(model, config=ServingConfig(**settings), threads=threads)
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture(scope="session")
def shared_server(
    models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One server on penguins v1 with a prediction log, shared by the read-only tests."""
    log_dir = tmp_path_factory.mktemp("shared-log")
    server = start_server(models["v1"], config=ServingConfig(log_dir=str(log_dir)))
    yield server
    server.stop()


@pytest.fixture
def client(shared_server: RunningServer) -> Iterator[Client]:
    connection = Client(shared_server.port)
    yield connection
    connection.close()
