"""Kept deployments: restarted when their server dies, brought back after a reboot.

Each look (every tick of the service) checks every deployment marked ``keep`` on this machine:
a server whose process is ours and answers is fine; one whose process is gone (a crash, a
``kill -9``, a reboot) is started again on its folder and port (:func:`core.deploy.manager.
restart`, which refuses when the old process still runs, so one deployment never gets two
servers). Failed starts back off (5 s, 10 s, 20 s, 40 s, 80 s); after :data:`MAX_ATTEMPTS`
failures within :data:`WINDOW_S` the keeper gives up, says so once (a notice and an audit row),
and tries again :data:`RETRY_AFTER_S` later. A server that is alive but does not answer is left
to its own supervisor (it restarts its workers) and only reported.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.deploy.service import DeploymentsService
from core.entities import Deployment
from core.errors import ShipwayError

log = logging.getLogger("shipway.service")
MAX_ATTEMPTS = 5
WINDOW_S = 900.0
FIRST_BACKOFF_S = 5.0
RETRY_AFTER_S = 3600.0


@dataclass
class _Attempts:
    times: list[float] = field(default_factory=list)  # monotonic times of failed starts
    next_at: float = 0.0
    gave_up_at: float | None = None


@dataclass(frozen=True)
class KeeperEvent:
    """What one look did to one deployment: "restarted", "failed" or "gave_up"."""

    deployment: str
    what: str
    message: str


class Keeper:
    """Keeps the kept deployments of one project up."""

    def __init__(
        self, deployments: DeploymentsService, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._deployments = deployments
        self._monotonic = monotonic
        self._attempts: dict[str, _Attempts] = {}

    def look(self) -> list[KeeperEvent]:
        """Check every kept deployment of this machine once; restart the dead ones."""
        events = []
        here = socket.gethostname()
        for deployment in self._deployments.kept():
            if deployment.machine != here:
                continue
            event = self._keep(deployment)
            if event is not None:
                events.append(event)
        return events

    def _keep(self, deployment: Deployment) -> KeeperEvent | None:
        state = self._deployments.state(deployment).state
        if state in ("running", "unhealthy"):
            if state == "running":
                self._attempts.pop(deployment.id, None)
            return None
        attempts = self._attempts.setdefault(deployment.id, _Attempts())
        now = self._monotonic()
        if now < attempts.next_at:
            return None
        try:
            self._deployments.restart(deployment.id)
        except ShipwayError as error:
            return self._failed(deployment, attempts, now, error.one_line())
        self._attempts.pop(deployment.id, None)
        log.info("kept deployment %s restarted", deployment.id)
        return KeeperEvent(deployment.id, "restarted", f"{deployment.id} was down; restarted")

    def _failed(
        self, deployment: Deployment, attempts: _Attempts, now: float, message: str
    ) -> KeeperEvent:
        attempts.times = [t for t in attempts.times if now - t < WINDOW_S] + [now]
        log.warning("kept deployment %s did not start: %s", deployment.id, message)
        if len(attempts.times) >= MAX_ATTEMPTS:
            attempts.times.clear()
            attempts.next_at = now + RETRY_AFTER_S
            attempts.gave_up_at = now
            return KeeperEvent(
                deployment.id,
                "gave_up",
                f"{deployment.id} ({deployment.target}) could not be started {MAX_ATTEMPTS} "
                f"times in {WINDOW_S / 60:.0f} minutes; trying again in an hour. Last error: "
                f"{message}",
            )
        attempts.next_at = now + FIRST_BACKOFF_S * 2 ** (len(attempts.times) - 1)
        return KeeperEvent(deployment.id, "failed", message)
