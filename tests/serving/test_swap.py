"""Hot swap: the slot changes model under load without a failed request."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from core.serving.slot import ModelSlot
from core.serving.watch import PointerWatcher, read_pointer, write_pointer
from tests.serving.helpers import ROW, Client


def _load(port: int, stop: threading.Event, seen: list, failures: list) -> None:
    client = Client(port)
    try:
        while not stop.is_set():
            reply = client.predict({"records": [ROW, ROW]})
            if reply.status != 200:
                failures.append((reply.status, reply.body[:200]))
                continue
            body = reply.json
            if body["version"] != int(reply.headers["x-model-version"]):
                failures.append(("header and body disagree", body["version"]))
            seen.append(body["version"])
    except Exception as exc:  # a dropped connection is a failure too
        failures.append(repr(exc))
    finally:
        client.close()


def test_swapping_under_load_fails_no_request_and_switches_versions(serve, models) -> None:
    server = serve(models["v1"], threads=4)
    stop = threading.Event()
    seen: list[int] = []
    failures: list = []
    workers = [
        threading.Thread(target=_load, args=(server.port, stop, seen, failures)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    swaps = 0
    started = time.monotonic()
    # at least 3 s and 100 answers (a busy machine answers fewer a second), at most 30 s
    while time.monotonic() - started < 3.0 or (
        len(seen) <= 100 and time.monotonic() - started < 30
    ):
        server.slot.swap(models["v2"] if server.slot.current().version == 1 else models["v1"])
        swaps += 1
        time.sleep(0.15)
    stop.set()
    for worker in workers:
        worker.join(10)
    assert failures == []
    assert swaps >= 10 and len(seen) > 100
    changes = sum(1 for a, b in itertools.pairwise(seen) if a != b)
    assert set(seen) == {1, 2} and changes >= 5


def test_a_request_keeps_the_model_it_started_with(models) -> None:
    slot = ModelSlot.from_dir(models["v1"])
    held = slot.current()
    slot.swap(models["v2"])
    assert held.version == 1 and slot.current().version == 2
    assert held.pipeline.predict is not None  # the old model is still usable by its request


def test_the_pointer_watcher_follows_an_alias(serve, models, tmp_path: Path) -> None:
    pointer = tmp_path / "current.json"
    write_pointer(pointer, models["v1"])
    assert read_pointer(pointer) == models["v1"].resolve()
    server = serve(read_pointer(pointer))
    watcher = PointerWatcher(pointer, server.slot, interval=0.05).start()
    client = Client(server.port)
    try:
        write_pointer(pointer, models["v2"])
        deadline = time.monotonic() + 5
        while client.call("GET", "/health").json["version"] != 2:
            assert time.monotonic() < deadline, "the swap did not happen"
            time.sleep(0.05)
        pointer.write_text("{not json")  # a broken pointer: logged, the model keeps serving
        time.sleep(0.3)
        assert client.call("GET", "/health").json["version"] == 2
        write_pointer(pointer, tmp_path / "missing")  # a missing model: the same
        time.sleep(0.3)
        assert client.predict({"records": [ROW]}).json["version"] == 2
    finally:
        watcher.stop()
        client.close()


def test_the_watchers_first_look_applies_the_pointer(models, tmp_path: Path) -> None:
    pointer = tmp_path / "current.json"
    write_pointer(pointer, models["v2"])  # moved while the server was starting on v1
    slot = ModelSlot.from_dir(models["v1"])
    watcher = PointerWatcher(pointer, slot)
    assert watcher.check() and slot.current().version == 2
    assert not watcher.check()  # unchanged since: nothing to do
