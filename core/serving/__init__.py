"""Serving a fitted pipeline over REST.

Imports only flask, waitress, numpy, pandas, scikit-learn, joblib, the standard library and its
own modules, so the package can be copied into an exported bundle and run there. Importing it
loads nothing heavy: the names below are imported on first use (training imports
:mod:`core.serving.frames` and must not pay for flask).

The model directory
-------------------
A folder with two files:

``model.joblib``
    The fitted scikit-learn Pipeline, written with ``joblib.dump``. Its input is
    ``frames.model_frame(frame, schema, features)``, where ``schema`` maps each input name to
    its type and ``features`` is the order of ``io_schema.inputs``: serving coerces exactly as
    training did.
``model.json``
    UTF-8 JSON::

        {"format": 1, "name": str, "version": int, "run": int | null,
         "task": "classification" | "regression",
         "io_schema": {
             "inputs": [{"name": str,
                         "type": "integer" | "float" | "boolean" | "datetime" | "string",
                         "nullable": bool,          # training saw missing values
                         "categories": [str, ...],  # string inputs: seen in training (<= 1000)
                         "min": float, "max": float}, ...],   # numeric inputs
             "output": {"name": str, "task": str, "classes": [...],  # classes: classifiers
                        "threshold": float}},  # optional, two classes: positive from this
                                               # probability of the second class on
         "metrics": {name: number | null, ...},
         "model_sha256": "<sha256 hex of model.joblib>",
         "created": "<ISO 8601 time>"}

:func:`load_model` hashes ``model.joblib`` and refuses the directory (``ModelDirError``) when
the hash differs from ``model_sha256``, before anything is unpickled. :func:`write_model_dir`
writes such a directory from a fitted pipeline or from a run's stored joblib bytes.

Public API
----------
``load_model``, ``write_model_dir``, ``LoadedModel``, ``InputColumn`` (:mod:`.model`);
``ModelSlot`` (:mod:`.slot`); ``ServingConfig`` (:mod:`.settings`); ``create_app``,
``state_of`` (:mod:`.app`); ``score`` (:mod:`.scoring`); ``start_server``, ``serve``,
``RunningServer`` (:mod:`.server`); ``PointerWatcher``, ``read_pointer``, ``write_pointer``
(:mod:`.watch`); ``PredictionLog`` (:mod:`.predlog`); ``read_requests``, ``requests_frame``,
``inputs_frame`` (:mod:`.logreader`); ``ServingError`` and its subclasses (:mod:`.errors`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_model": "model",
    "write_model_dir": "model",
    "LoadedModel": "model",
    "InputColumn": "model",
    "ModelSlot": "slot",
    "ServingConfig": "settings",
    "create_app": "app",
    "state_of": "app",
    "score": "scoring",
    "start_server": "server",
    "serve": "server",
    "RunningServer": "server",
    "PointerWatcher": "watch",
    "read_pointer": "watch",
    "write_pointer": "watch",
    "PredictionLog": "predlog",
    "read_requests": "logreader",
    "requests_frame": "logreader",
    "inputs_frame": "logreader",
    "ServingError": "errors",
    "ModelDirError": "errors",
    "ServerStartError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.serving' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.serving.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
