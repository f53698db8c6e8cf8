"""Time, in one place: the engine's clock and the forms its timestamps take.

Every timestamp the engine stores or compares is UTC. The database hands some back without a
zone (SQLite keeps none), so :func:`aware` puts UTC back; alerts and drift buckets name whole
seconds as ``2026-01-01T12:00:00Z`` (:func:`iso_seconds`, :func:`from_iso_seconds`).
:class:`Laps` times the stages of one piece of work (an import, a scoring) for its answer.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def utcnow() -> datetime:
    """Now, in UTC (the one clock the engine reads for what it records)."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """``value`` with its zone: a naive datetime from the database was stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_seconds(value: datetime) -> str:
    """``2026-01-01T12:00:00Z``: a UTC instant to the second."""
    return aware(value).astimezone(UTC).strftime(ISO_SECONDS)


def from_iso_seconds(text: str) -> datetime:
    """The UTC instant that :func:`iso_seconds` wrote."""
    return datetime.strptime(text, ISO_SECONDS).replace(tzinfo=UTC)


def epoch_iso_seconds(epoch: float) -> str:
    """Seconds since 1970 as ``2026-01-01T12:00:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime(ISO_SECONDS)


class Clock:
    """The engine's time source for schedules: the system's clock. Tests pass one that they
    move by hand, to run schedules of days in a second."""

    def now(self) -> datetime:
        return utcnow()

    def sleep(self, seconds: float, stop: object | None = None) -> bool:
        """Wait ``seconds`` (or until ``stop``, a threading.Event, is set); True when stopped."""
        if stop is not None:
            return bool(stop.wait(seconds))  # type: ignore[attr-defined]
        time.sleep(seconds)
        return False


class Laps:
    """The seconds each stage of one piece of work took, in the order they ended."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Record the stage ``name`` as ending now."""
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 4)
        self._last = now
