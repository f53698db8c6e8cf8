"""A retraining job of the service, and what is told when it ends.

The job trains the version's spec on the newest version of its data set, registers the run as
the model's next version and evaluates its production gates (``Lifecycle.retrain``). It stops
there unless ``[retrain] promote`` names an alias; then it promotes through that alias's gates
exactly as a person would, so a gate that needs an approval (or any gate that fails) stops it.
"""

from __future__ import annotations

from typing import Any

from core.entities import Job
from core.errors import GateBlocked


def retrain_work(
    ws: Any, ref: str, why: str, tags: dict[str, str], promote: str | None, progress, cancel
) -> dict[str, Any]:
    done = ws.lifecycle.retrain(ref, f"retrained by the service: {why}", tags,
                                progress=progress, cancel=cancel)  # fmt: skip
    detail = done.to_dict()
    if done.version is not None and promote:
        detail["promotion"] = _promote(ws, done.version.ref, promote, cancel)
    return detail


def _promote(ws: Any, ref: str, alias: str, cancel) -> str:
    try:
        ws.lifecycle.promote(ref, alias, cancel=cancel)
    except GateBlocked as blocked:
        return f"stopped at the gates of {alias}: {blocked.one_line()}"
    return f"promoted to {alias}"


def retraining_text(job: Job) -> str:
    """What a person hears of a retraining job that ended."""
    detail = job.detail
    if job.status != "done":
        return f"The retraining of {job.target} ended {job.status}: {job.error}"
    if detail.get("version") is None:
        return (
            f"The retraining run {detail.get('run')} ended {detail.get('status')}: "
            f"{detail.get('error')}"
        )
    verdict = "pass" if detail.get("gates_passed") else "do not all pass"
    promotion = detail.get("promotion") or "Nothing was promoted."
    return (
        f"{job.target} was retrained as version {detail['version']}; its production gates "
        f"{verdict}. {promotion}"
    )
