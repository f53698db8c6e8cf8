"""The Deployments page's table: one row per deployment, the engine's ``LiveState`` of it.

A row is the engine's own record of a deployment and what it is doing now
(``ws.deployments.states``: the deployment, its state, the version answering, uptime, requests
and errors, a note when it is stale or stopped). Read on a pool thread (:func:`read_rows`,
:func:`read_info`); frozen records to the GUI thread.
"""

from __future__ import annotations

from typing import Any

from core.errors import ShipwayError
from desktop.pages.deployments.detail import DeploymentInfo
from desktop.pages.deployments.endpoint_examples import sample_record
from desktop.widgets.table_model import Column

STATE_COLORS = {
    "running": "good",
    "unhealthy": "bad",
    "stopped": "muted",
    "elsewhere": "warning",
    "stale": "warning",
}


def uptime_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def rate_text(row: Any) -> str:
    """The error rate of a ``LiveState``, in words."""
    return "—" if row.error_rate is None else f"{row.error_rate * 100:.1f} %"


COLUMNS = [
    Column("State", lambda r: r.state, text=lambda r: f"● {r.state}", cell_tip=lambda r: r.note),
    Column("ID", lambda r: r.deployment.id),
    Column("Serves", lambda r: r.deployment.target),
    Column(
        "Version",
        lambda r: r.version or r.deployment.version,
        text=lambda r: f"v{r.version or r.deployment.version}",
        numeric=True,
        tooltip="The version answering now (a deployment of an alias follows it)",
    ),
    Column("Port", lambda r: r.deployment.port, numeric=True),
    Column("URL", lambda r: r.deployment.url),
    Column("Uptime", lambda r: r.uptime_s, text=lambda r: uptime_text(r.uptime_s), numeric=True),
    Column(
        "Requests",
        lambda r: r.requests,
        text=lambda r: "—" if r.requests is None else f"{r.requests:,}",
        numeric=True,
        tooltip="POST /predict requests answered since the server started",
    ),
    Column("Errors", lambda r: r.error_rate, text=rate_text, numeric=True, tooltip="4xx and 5xx"),
    Column("Started by", lambda r: r.deployment.started_by),
    Column(
        "Kept",
        lambda r: r.deployment.keep,
        text=lambda r: "kept" if r.deployment.keep else "",
        tooltip="Kept up by the always-on service: started again when its server dies",
    ),
]


def read_rows(workspace, include_stopped: bool) -> list[Any]:
    """Every deployment's ``LiveState`` (short probes of the ones that should run)."""
    return workspace.deployments.states(include_stopped)


def read_info(workspace, deployment_id: str) -> DeploymentInfo:
    deployment = workspace.deployments.get(deployment_id)
    try:
        version = workspace.registry.version(f"{deployment.model}@{deployment.version}")
        schema = version.io_schema
    except ShipwayError:  # the version is gone from the registry: no schema to show
        schema = {}
    return DeploymentInfo(deployment, schema, sample_record(schema))
