"""The packaging folder's modules, loaded from their files (``packaging`` is not a package:
its name belongs to the PyPI library of that name)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def load(name: str) -> ModuleType:
    """Import ``packaging/NAME.py`` under the name ``shipway_packaging_NAME``."""
    key = f"shipway_packaging_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, PACKAGING / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def entry() -> ModuleType:
    return load("entry")


@pytest.fixture(scope="session")
def deb_package() -> ModuleType:
    return load("deb_package")


@pytest.fixture(scope="session")
def app_icons() -> ModuleType:
    return load("app_icons")


@pytest.fixture(scope="session")
def build() -> ModuleType:
    return load("build")
