"""``shipway notify test``: send one test notice to each channel of ``[notify]`` and say how
each fared (exit 0 when every channel delivered it, 1 when any failed)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from core.cli.output import emit_json
from core.cli.parsing import Commands
from core.config import load_settings
from core.operations.config import load_operations_config
from core.operations.notify import NotifyError, send, test_notices
from core.services import find_project_root


def register(commands: Commands) -> None:
    notify = commands.action_group("notify", "the notices of the always-on service")
    notify.add("test", cmd_notify_test, help="send a test notice to each channel of [notify]")


def cmd_notify_test(args: argparse.Namespace) -> int:
    """Send one test notice to each channel of [notify] in shipway.toml (e-mail, webhook) and
    print how each fared. The desktop channel is the app's own: it shows the notices the service
    records, and is not sent from here. Exit 0 when every channel delivered the notice, 1 when
    any failed."""
    root = Path(args.project) if args.project else find_project_root()
    settings = load_settings(root)
    notify = load_operations_config(root, settings.raw).notify
    if notify.email is None and notify.webhook is None:
        raise NotifyError(
            "[notify] has no channel to test",
            where=str(root / "shipway.toml"),
            hint='add email = { to = [...], host = "..." } or webhook = { url = "..." } '
            "under [notify]",
        )
    deliveries = send(test_notices(settings.name), dataclasses.replace(notify, desktop=False))
    failed = [d.channel for d in deliveries if not d.ok]
    if args.json:
        emit_json({"ok": not failed, "deliveries": [d.to_dict() for d in deliveries]})
    else:
        for delivery in deliveries:
            tries = f" (after {delivery.attempts} attempts)" if delivery.attempts > 1 else ""
            print(f"{delivery.channel}: {f'ok{tries}' if delivery.ok else delivery.error}")
    if failed:
        sys.stderr.write(f"shipway: error: the test notice failed by {', '.join(failed)}\n")
        return 1
    return 0
