"""The Deployments page's rows: a recorded deployment with its live state, and the columns.

Read on a pool thread (:func:`read_rows`, :func:`read_info`); plain records to the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.entities import Deployment
from core.errors import ShipwayError
from desktop.pages.deployment_detail import DeploymentInfo
from desktop.pages.endpoint_examples import sample_record
from desktop.widgets.table_model import Column

STATE_COLORS = {
    "running": "good",
    "unhealthy": "bad",
    "stopped": "muted",
    "elsewhere": "warning",
    "stale": "warning",
}


@dataclass(frozen=True)
class DeploymentRow:
    deployment: Deployment
    state: str
    version: int | None
    uptime_s: float | None
    requests: int | None
    errors: int | None

    @property
    def error_rate(self) -> float | None:
        return None if not self.requests else (self.errors or 0) / self.requests


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


def rate_text(row: DeploymentRow) -> str:
    return "—" if row.error_rate is None else f"{row.error_rate * 100:.1f} %"


COLUMNS = [
    Column("State", lambda r: r.state, text=lambda r: f"● {r.state}"),
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
]


def read_rows(workspace, include_stopped: bool) -> list[DeploymentRow]:
    rows = []
    for d in workspace.deployments(include_stopped):
        live = workspace.deployment_state(d)
        rows.append(
            DeploymentRow(d, live.state, live.version, live.uptime_s, live.requests, live.errors)
        )
    return rows


def read_info(workspace, deployment_id: str) -> DeploymentInfo:
    deployment = workspace.deployment(deployment_id)
    try:
        version = workspace.model_version(f"{deployment.model}@{deployment.version}")
        schema = version.io_schema
    except ShipwayError:  # the version is gone from the registry: no schema to show
        schema = {}
    return DeploymentInfo(deployment, schema, sample_record(schema))
