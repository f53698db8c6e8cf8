"""The model a server answers with, swappable while requests are in flight.

A request takes :meth:`ModelSlot.current` once when it starts and uses that model to the end, so
a swap never changes the model under a running request and never drops one: the new model is
loaded and checked completely before the reference moves, and the old one stays alive for as
long as requests still hold it.
"""

from __future__ import annotations

import logging
import os
import threading

from core.serving.model import LoadedModel, load_model

log = logging.getLogger("shipway.serving")


class ModelSlot:
    """Holds one :class:`LoadedModel`; :meth:`swap` replaces it atomically (thread-safe)."""

    def __init__(self, model: LoadedModel) -> None:
        self._model = model
        self._lock = threading.Lock()

    @classmethod
    def from_dir(cls, directory: str | os.PathLike[str]) -> ModelSlot:
        return cls(load_model(directory))

    def current(self) -> LoadedModel:
        """The model new requests use (a plain attribute read: no lock on the request path)."""
        return self._model

    def swap(self, new: LoadedModel | str | os.PathLike[str]) -> LoadedModel:
        """Serve ``new`` (a model or a model directory) from now on; returns the old model.

        Loading happens before the lock is taken, so a slow or failing load leaves the current
        model serving; a :class:`~core.serving.errors.ModelDirError` propagates.
        """
        model = new if isinstance(new, LoadedModel) else load_model(new)
        with self._lock:
            old, self._model = self._model, model
        log.info("now serving %s (was %s)", model.label, old.label)
        return old
