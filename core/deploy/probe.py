"""The live state of a deployment: is its process alive, does it answer, what does it serve.

Probes are short (half a second per request) and never raise for an unreachable server: a
deployment whose process died shows as stopped, one that is alive but silent as unhealthy, and
one whose pid now names another process (:mod:`core.deploy.identity`) as stale, with a note;
that process is never contacted.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from typing import Any

from core.deploy import identity
from core.entities import Deployment

TIMEOUT_S = 0.5
_SAMPLE = re.compile(r"^shipway_http_requests_total\{([^}]*)\}\s+([0-9.eE+]+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _get(url: str, token: str | None) -> tuple[int, bytes] | None:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, ValueError):
        return None


def health(url: str, token: str | None = None) -> dict[str, Any] | None:
    """The /health document, or None when the server does not answer it with 200."""
    answer = _get(f"{url}/health", token)
    if answer is None or answer[0] != 200:
        return None
    try:
        return json.loads(answer[1])
    except ValueError:
        return None


def request_counts(url: str, token: str | None = None) -> tuple[int, int] | None:
    """(/predict requests answered, of which errors 4xx/5xx) from /metrics, or None."""
    answer = _get(f"{url}/metrics", token)
    if answer is None or answer[0] != 200:
        return None
    total = errors = 0
    for line in answer[1].decode("utf-8", "replace").splitlines():
        match = _SAMPLE.match(line)
        labels = dict(_LABEL.findall(match.group(1))) if match else {}
        if labels.get("route") == "/predict":
            count = int(float(match.group(2)))
            total += count
            errors += count if int(labels.get("status", 0)) >= 400 else 0
    return total, errors


@dataclass(frozen=True)
class LiveState:
    """A deployment and what it is doing now, as the CLI and the app show it.

    ``state``: "running", "unhealthy" (alive, silent), "stopped", "elsewhere" (on another
    host) or "stale" (its pid names another process now).
    """

    deployment: Deployment
    state: str
    version: int | None
    uptime_s: float | None
    requests: int | None
    errors: int | None
    note: str = ""  # why it is stale or stopped, when known

    @property
    def id(self) -> str:
        return self.deployment.id

    @property
    def error_rate(self) -> float | None:
        if not self.requests:
            return None
        return (self.errors or 0) / self.requests

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "deployment"}
        return {"id": self.id, **data, "error_rate": self.error_rate}


def probe(deployment: Deployment, token: str | None = None) -> LiveState:
    """The live state; a deployment recorded as stopped is not contacted."""
    if deployment.status == "stopped":
        state = "stale" if deployment.stale else "stopped"
        return LiveState(deployment, state, None, None, None, None, deployment.stop_note)
    local = deployment.machine == socket.gethostname()
    verdict = identity.check(deployment) if local else None
    if verdict is not None and verdict.state != "ours":
        state = "stale" if verdict.state == "stale" else "stopped"
        return LiveState(deployment, state, None, None, None, None, verdict.note)
    if not local and deployment.host in ("127.0.0.1", "localhost", "::1"):
        return LiveState(deployment, "elsewhere", None, _uptime(deployment), None, None)
    found = health(deployment.url)
    if found is None:
        return LiveState(deployment, "unhealthy", None, _uptime(deployment), None, None)
    counts = request_counts(deployment.url, token) if not deployment.token or token else None
    return LiveState(
        deployment,
        "running",
        found.get("version"),
        _uptime(deployment),
        counts[0] if counts else None,
        counts[1] if counts else None,
    )


def _uptime(deployment: Deployment) -> float:
    return max(0.0, time.time() - deployment.started_at.timestamp())
