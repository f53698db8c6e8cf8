"""The challenger of one server process: which side answers, the shadow thread, the cut-off.

:mod:`core.serving.challenger` states the contract (the file, the modes, the hash). Each worker
process of a deployment holds its own :class:`Challenger`; nothing in a decision depends on
process state (a hash of the request id or of the sticky value), so every worker decides alike.

Shadow scoring runs on one thread (``shipway-shadow``) that takes what the queue holds within
:data:`SHADOW_WINDOW_S` (at most :data:`SHADOW_BATCH` requests) and predicts them in one call:
a batch costs little more than one request, which keeps the champion's latency where it was
(benchmarks/bench_serving.py ``--challenger``). The latency logged for a shadowed request is its
share of its batch's time (by rows). Split answers by the challenger run on a small thread pool
so that a time limit can be enforced: past it, the champion answers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.serving.challenger import (
    COUNTERS,
    POLL_S,
    SHADOW_BATCH,
    SHADOW_QUEUE,
    SHADOW_WINDOW_S,
    Breaker,
    ChallengerSpec,
    read_spec,
    sticky_key,
    to_challenger,
)
from core.serving.errors import ServingError
from core.serving.model import LoadedModel, load_model
from core.serving.predlog import ChallengerEntry, PredictionLog, now_iso
from core.serving.processes import name_os_thread
from core.serving.scoring import Scored, predict
from core.serving.settings import ServingConfig

log = logging.getLogger("shipway.serving")
Run = Callable[[LoadedModel, bytes, ServingConfig], Scored]


@dataclass(frozen=True)
class _Shadowed:
    request_id: str
    scored: Scored
    spec: ChallengerSpec
    model: LoadedModel


class Challenger:
    """The challenger a server process holds (re-read from its file about twice a second)."""

    def __init__(self, path: str | Path, config: ServingConfig, plog: PredictionLog | None):
        self.path = Path(path)
        self.config = config
        self.plog = plog
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.breaker = Breaker(self.counts)
        self._lock = threading.Lock()
        self._loaded: tuple[ChallengerSpec, LoadedModel] | None = None
        self._stamp: tuple | None = None
        self._busy: dict[int, tuple[float, float]] = {}  # thread → (start, limit in s)
        self._stop = threading.Event()
        self._queue: queue.Queue[_Shadowed] = queue.Queue(maxsize=SHADOW_QUEUE)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shipway-challenger")
        self.refresh()
        for target, name in ((self._watch, "shipway-chwatch"), (self._shadow, "shipway-shadow")):
            threading.Thread(target=target, name=name, daemon=True).start()

    # -- the file ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Load the challenger the file names now (a broken file or model is logged, and the
        challenger it replaced stays)."""
        try:
            info = self.path.stat()
            stamp: tuple | None = (info.st_ino, info.st_size, info.st_mtime_ns)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            spec = read_spec(self.path)
            if spec is None:
                self._loaded = None
                return
            current = self._loaded
            same = current is not None and current[1].directory == str(Path(spec.model_dir))
            model = current[1] if same and current else load_model(spec.model_dir)
            self._loaded = (spec, model)
            log.info("challenger %s in %s mode", model.label, spec.mode)
        except (OSError, ValueError, KeyError, ServingError) as exc:
            log.error("challenger file %s not applied: %s", self.path, exc)

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.refresh()
            now = time.monotonic()
            if any(now - start > limit for start, limit in list(self._busy.values())):
                self.breaker.cut_off()  # a prediction hangs: nothing more goes its way

    @property
    def spec(self) -> ChallengerSpec | None:
        loaded = self._loaded
        return None if loaded is None else loaded[0]

    def active(self, champion: LoadedModel) -> tuple[ChallengerSpec, LoadedModel] | None:
        """The challenger, unless there is none, it is the champion itself, or it is cut off."""
        loaded = self._loaded
        if loaded is None or loaded[1].sha256 == champion.sha256 or self.breaker.open:
            return None
        return loaded

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    # -- answering ---------------------------------------------------------------------------

    def answer(
        self, champion: LoadedModel, data: bytes, run: Run, request_id: str, content_type: str
    ) -> tuple[Scored, LoadedModel, str | None]:
        """The request answered by one side: ``(scored, model that answered, side)``; side
        None when there is no challenger at all (the answer then says nothing of sides)."""
        if self._loaded is None:
            return run(champion, data, self.config), champion, None
        loaded = self.active(champion)
        if loaded is None:
            return run(champion, data, self.config), champion, "champion"
        spec, model = loaded
        if spec.mode == "shadow":
            scored = run(champion, data, self.config)
            self.count("requests")
            self._submit(_Shadowed(request_id, scored, spec, model))
            return scored, champion, "champion"
        key = request_id
        if spec.sticky:
            key = sticky_key(data, content_type, spec.sticky, self.config)
        self.count("requests")
        if not to_challenger(spec.share, key):
            scored = run(champion, data, self.config)
            self._log(request_id, spec, model, "champion", None, "ok")
            return scored, champion, "champion"
        scored, status, ms = self._by_challenger(spec, model, data, run)
        if scored is None:
            self._log(request_id, spec, model, "champion", ms, status)
            return run(champion, data, self.config), champion, "champion"
        self.count("answered")
        self._log(request_id, spec, model, "challenger", ms, "ok")
        return scored, model, "challenger"

    def _by_challenger(
        self, spec: ChallengerSpec, model: LoadedModel, data: bytes, run: Run
    ) -> tuple[Scored | None, str, float]:
        limit = spec.timeout_ms / 1000
        started = time.perf_counter()
        future = self._pool.submit(self._timed, limit, run, model, data, self.config)
        try:
            scored = future.result(timeout=limit)
        except FutureTimeout:
            self.breaker.failed("timeouts")
            return None, "timeout", (time.perf_counter() - started) * 1000
        except ServingError as error:
            if error.status < 500:  # the request's fault: the champion answers it as it would
                return None, "refused", (time.perf_counter() - started) * 1000
            self.breaker.failed("failures")
            return None, "failed", (time.perf_counter() - started) * 1000
        except Exception:
            self.breaker.failed("failures")
            return None, "failed", (time.perf_counter() - started) * 1000
        self.breaker.ok()
        return scored, "ok", (time.perf_counter() - started) * 1000

    def _timed(self, limit: float, function: Callable, *args):
        ident = threading.get_ident()
        self._busy[ident] = (time.monotonic(), limit)
        try:
            return function(*args)
        finally:
            self._busy.pop(ident, None)

    def _log(self, request_id, spec, model, side, ms, status, outputs=None) -> None:
        if self.plog is None:
            return
        self.plog.put(
            ChallengerEntry(request_id, now_iso(), spec.mode, side, model.version,
                            None if ms is None else round(ms, 3), status, outputs)
        )  # fmt: skip

    # -- shadow ------------------------------------------------------------------------------

    def _submit(self, item: _Shadowed) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.count("dropped")
            self._log(item.request_id, item.spec, item.model, "champion", None, "dropped")

    def _shadow(self) -> None:
        name_os_thread("shipway-shadow")
        while not self._stop.is_set():
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            deadline = time.monotonic() + SHADOW_WINDOW_S
            while len(batch) < SHADOW_BATCH:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            for model_batch in _by_model(batch):
                self._score(model_batch)

    def _score(self, batch: list[_Shadowed]) -> None:
        first = batch[0]
        limit = first.spec.timeout_ms / 1000 * len(batch)
        frame = pd.concat([item.scored.model_input.frame for item in batch], ignore_index=True)
        started = time.perf_counter()
        try:
            model_input = replace(first.scored.model_input, frame=frame, rows=len(frame))
            predictions, probabilities = self._timed(limit, predict, first.model, model_input)
        except Exception as exc:
            log.error("challenger failed on %d shadowed requests: %s", len(batch), exc)
            self.breaker.failed("failures")
            for item in batch:
                self._log(item.request_id, item.spec, item.model, "champion", None, "failed")
            return
        seconds = time.perf_counter() - started
        status = "timeout" if seconds > limit else "ok"
        if status == "timeout":
            self.breaker.failed("timeouts")
        else:
            self.breaker.ok()
            self.count("shadow_scored", len(batch))
        self._log_batch(batch, predictions, probabilities, seconds * 1000, status)

    def _log_batch(self, batch, predictions, probabilities, ms: float, status: str) -> None:
        total, start = len(predictions), 0
        for item in batch:
            rows = item.scored.model_input.rows
            outputs = None
            if status == "ok":
                part = slice(start, start + rows)
                outputs = {"predictions": predictions[part],
                           "probabilities": None if probabilities is None
                           else probabilities[part]}  # fmt: skip
            self._log(item.request_id, item.spec, item.model, "champion",
                      ms * rows / max(total, 1), status, outputs)  # fmt: skip
            start += rows

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _by_model(batch: list[_Shadowed]) -> list[list[_Shadowed]]:
    groups: dict[str, list[_Shadowed]] = {}
    for item in batch:
        groups.setdefault(item.model.sha256, []).append(item)
    return list(groups.values())


def attach(state, path: str) -> Challenger:
    """A challenger for a server state, its counts in ``/metrics``."""
    challenger = Challenger(path, state.config, state.log)
    counters, gauges = state.metrics.counters, state.metrics.gauges
    for name in COUNTERS:
        counters[f"shipway_challenger_{name}_total"] = lambda n=name: challenger.counts[n]
    gauges["shipway_challenger_cut_off"] = lambda: float(challenger.breaker.open)
    gauges["shipway_challenger_shadow_queue_depth"] = lambda: challenger._queue.qsize()
    return challenger
