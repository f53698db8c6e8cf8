"""Whether a deployment's recorded process id still names its server.

A process id is reused after its process ends, and the deployments table is shared by everyone
who opens the project (and can be edited by any of them), so ``pid`` alone must never decide
what gets signalled. When a deployment is recorded, the server's identity is recorded with it
(:class:`core.serving.processes.ProcessIdentity`: its start time in this boot and its command
line). Before a signal, and before a probe reports a deployment as running, :func:`check`
compares the process that now holds the id with that identity:

- ``ours``: the same start time and command line: it is the server.
- ``gone``: no process holds the id any more.
- ``stale``: another process holds it. It is left alone, and the deployment is recorded as
  stopped with a stop note that begins with :attr:`core.entities.Deployment.STALE`.

A deployment recorded before identities were (no start time) is the server only while the
command line still runs ``-m core.serving`` (a background deployment, the frozen app too) or the
CLI's ``serve`` (a foreground one). Where the system does not tell processes apart (no /proc:
anything but Linux) the id is all there is, and a live process with it counts as the server.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from core.entities import Deployment
from core.serving.processes import (
    ProcessIdentity,
    identity_supported,
    process_alive,
    process_identity,
)

SERVER_MODULE = "core.serving"
CLI_MODULE = "core.cli"
CLI_NAMES = ("shipway", "shipway.exe")
SHOWN_CHARS = 120


@dataclass(frozen=True)
class Verdict:
    """``state`` is "ours", "gone" or "stale"; ``note`` says why, for the stop note."""

    state: str
    note: str = ""


def of(pid: int) -> tuple[str | None, list[str] | None]:
    """What to record for the server ``pid``: (started, command), or Nones where not told."""
    found = process_identity(pid)
    return (found.started, list(found.command)) if found else (None, None)


def check(deployment: Deployment) -> Verdict:
    """Does the process holding ``deployment.pid`` now (on this machine) serve it?"""
    pid = deployment.pid
    if not process_alive(pid):
        return Verdict("gone", "its process had already ended (crashed or killed)")
    if not identity_supported():
        return Verdict("ours")
    now = process_identity(pid)
    if now is not None and _matches(deployment, now):
        return Verdict("ours")
    return Verdict("stale", stale_note(pid, now))


def _matches(deployment: Deployment, now: ProcessIdentity) -> bool:
    if deployment.process_started is None:  # recorded before identities: judge the command
        return looks_like_server(now.command)
    return now.started == deployment.process_started and now.command == tuple(
        deployment.process_command or ()
    )


def looks_like_server(command: Sequence[str]) -> bool:
    """A Shipway server's command line: ``... -m core.serving ...`` or ``shipway serve``."""
    pairs = list(pairwise(command))
    if ("-m", SERVER_MODULE) in pairs:
        return True
    cli = ("-m", CLI_MODULE) in pairs or (
        bool(command) and os.path.basename(command[0]).lower() in CLI_NAMES
    )
    return cli and "serve" in command


def stale_note(pid: int, now: ProcessIdentity | None) -> str:
    """The stop note of a deployment whose id another process holds."""
    shown = " ".join(now.command)[:SHOWN_CHARS] if now and now.command else "unknown"
    return (
        f"{Deployment.STALE}process {pid} is no longer this deployment's server (it now runs: "
        f"{shown}); that process was left alone and the deployment recorded as stopped"
    )
