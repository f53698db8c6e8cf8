"""The demo's traffic: a thread that sends penguins to a deployment, more and more of them odd.

A new user should see every screen alive within a minute: requests, latency, a prediction mix,
live metrics and, as a growing share of the rows comes from "another population", drift. Rows
are drawn from the bundled data set; a shifted row is heavier (body mass +30%), has longer
flippers (+8%) and bills (+10%) and comes mostly from Torgersen. The share of shifted rows grows
linearly to :data:`MAX_SHIFTED` over :data:`RAMP_S` seconds. The true species of most answered
requests is sent to /feedback, so live metrics appear (and fall as the shift grows).

Every answer other than 2xx is a fault of the demo or the server, never something to hide: it is
counted in ``refused``, its status, route and message are kept in ``last_error`` (the status
bar shows them) and logged as an error.

Plain Python (urllib on a daemon thread), no Qt: the window starts it with the demo and stops
it when the project closes.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

RATE_PER_S = 4.0
RAMP_S = 90.0
MAX_SHIFTED = 0.85
FEEDBACK_SHARE = 0.6
TIMEOUT_S = 5.0
SHIFTED_ISLANDS = (("Torgersen", 0.7), ("Dream", 0.2), ("Biscoe", 0.1))
log = logging.getLogger("shipway.demo")


class Refused(Exception):
    """The server answered with a status other than 2xx."""

    def __init__(self, route: str, status: int, message: str) -> None:
        super().__init__(f"POST {route} answered {status}: {message}")
        self.route, self.status = route, status


def read_rows(path: Path, target: str) -> list[tuple[dict[str, Any], Any]]:
    """(features, true value) pairs from a CSV; "NA" and empty cells are missing."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            values = {key: _value(text) for key, text in record.items()}
            actual = values.pop(target, None)
            if actual is not None:
                rows.append((values, actual))
    return rows


def _value(text: str | None) -> Any:
    if text is None or text.strip() in ("", "NA"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def shifted(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same penguin from "another population"."""
    out = dict(row)
    scale = {"body_mass_g": 1.30, "flipper_length_mm": 1.08, "bill_length_mm": 1.10}
    for column, factor in scale.items():
        value = out.get(column)
        if isinstance(value, int | float):
            moved = value * factor
            out[column] = round(moved) if isinstance(value, int) else round(moved, 1)
    if "island" in out:
        names, weights = zip(*SHIFTED_ISLANDS, strict=True)
        out["island"] = rng.choices(names, weights)[0]
    return out


def shifted_share(elapsed_s: float) -> float:
    return min(MAX_SHIFTED, max(0.0, elapsed_s / RAMP_S) * MAX_SHIFTED)


class TrafficGenerator:
    """Sends :data:`RATE_PER_S` requests a second of 1–3 rows to ``url``/predict."""

    def __init__(self, url: str, rows: list[tuple[dict[str, Any], Any]], seed: int = 7) -> None:
        self.url = url.rstrip("/")
        self.rows = rows
        self.rng = random.Random(seed)
        self.sent = self.answered = self.failed = self.feedback = self.refused = 0
        self.last_error: str | None = None
        self.started_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_csv(cls, url: str, path: Path, target: str) -> TrafficGenerator:
        return cls(url, read_rows(path, target))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running or not self.rows:
            return
        self._stop.clear()
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="demo traffic", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = TIMEOUT_S + 1) -> bool:
        """Stop sending; True once the thread has ended."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def share_now(self) -> float:
        return 0.0 if self.started_at is None else shifted_share(time.monotonic() - self.started_at)

    def _loop(self) -> None:
        pause = 1.0 / RATE_PER_S
        while not self._stop.wait(pause * self.rng.uniform(0.5, 1.5)):
            try:
                self.send_one()
                pause = 1.0 / RATE_PER_S
            except Refused as error:
                self.refused += 1
                self.last_error = str(error)
                log.error("demo traffic: %s", error)
            except (OSError, ValueError) as error:  # the server is gone or restarting
                self.failed += 1
                self.last_error = f"no answer: {error}"
                pause = 1.0

    def send_one(self) -> dict[str, Any]:
        """One request (and, for most, its feedback).

        Raises :class:`Refused` on an answer other than 2xx, OSError when nobody answers.
        """
        share = self.share_now()
        picked = [self.rng.choice(self.rows) for _ in range(self.rng.randint(1, 3))]
        records = [shifted(r, self.rng) if self.rng.random() < share else r for r, _ in picked]
        self.sent += 1
        answer = self._post("/predict", {"records": records})
        self.answered += 1
        if self.rng.random() < FEEDBACK_SHARE and "request_id" in answer:
            actual = [value for _, value in picked]
            self._post("/feedback", {"request_id": answer["request_id"], "actual": actual})
            self.feedback += 1
        return answer

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + route,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            text = error.read()[:2000]
            try:
                message = json.loads(text).get("message", "")
            except (ValueError, AttributeError):
                message = text.decode("utf-8", "replace")
            raise Refused(route, error.code, str(message)[:300]) from None
