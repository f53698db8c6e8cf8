"""Noticing what others did: the audit trail after a cursor, polled in the background.

Teammates (other app windows, the CLI, a scheduled ``shipway drift --buckets``) write to the same
project. Every :data:`POLL_MS` the watcher reads ``ws.project.changes_since(cursor)`` on a pool
thread, moves the cursor past what it saw, and emits the page events the changes concern (once
per kind per look), so the pages read themselves again. Changes made by someone else are also
told in the status bar ("bob registered penguins@3").
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from core.entities import AuditEntry
from core.services import Workspace
from desktop.context import AppContext
from desktop.polling import Poller

POLL_MS = 3000

# audit action (its part before the first dot) → the page events it concerns
EVENTS_OF = {
    "dataset": ("datasets_changed",),
    "run": ("runs_changed",),
    "model": ("models_changed", "deployments_changed"),  # alias moves swap deployments
    "deploy": ("deployments_changed",),
    "undeploy": ("deployments_changed",),
    "deployment": ("deployments_changed",),
    "monitoring": ("alerts_changed", "models_changed", "runs_changed"),
}
VERBS = {
    "dataset.import": "imported",
    "dataset.create": "created data set",
    "run.create": "started run",
    "run.done": "finished run",
    "run.failed": "saw run fail:",
    "model.register": "registered",
    "model.promote": "promoted",
    "model.promote_forced": "forced the promotion of",
    "model.rollback": "rolled back to",
    "model.approve": "approved",
    "deploy": "deployed",
    "undeploy": "stopped deployment",
}


def events_for(entries: Iterable[AuditEntry]) -> list[str]:
    """The page events a batch of changes concerns, each once, in a stable order."""
    found: list[str] = []
    for entry in entries:
        for name in EVENTS_OF.get(entry.action.split(".", 1)[0], ()):
            if name not in found:
                found.append(name)
    return found


def describe_change(entry: AuditEntry) -> str:
    """A change in words: "bob registered penguins@3"."""
    verb = VERBS.get(entry.action, entry.action)
    return f"{entry.user} {verb} {entry.object_ref}"


class ChangeWatcher(QObject):
    """Polls the change feed of one workspace and refreshes the pages through the event bus."""

    noticed = Signal(list)  # the AuditEntry list of each look that found something

    def __init__(
        self, context: AppContext, workspace: Workspace, owner: QWidget, interval_ms: int = POLL_MS
    ) -> None:
        super().__init__(owner)
        self.context = context
        self.workspace = workspace
        self.cursor: int | None = None
        self.user = ""
        self.poller = Poller(owner, interval_ms, self._read, always=True)

    def start(self) -> None:
        """Take the newest audit entry as the cursor (in the background), then poll."""
        workspace = self.workspace

        def begin(answer: tuple[int, str]) -> None:
            self.cursor, self.user = answer
            self.poller.start(now=False)

        self.context.runner.fetch(
            lambda: (workspace.project.last_change(), workspace.project.user()),
            begin,
            owner=self.parent(),
            title="reading the change feed",
        )

    def stop(self) -> None:
        self.poller.stop()

    def _read(self):
        if self.cursor is None:
            return None
        workspace, cursor = self.workspace, self.cursor
        return self.context.runner.fetch(
            lambda: workspace.project.changes_since(cursor),
            self._arrived,
            owner=self.parent(),
            title="reading the change feed",
        )

    def _arrived(self, entries: list[AuditEntry]) -> None:
        if not entries or self.cursor is None:
            return
        self.cursor = max(self.cursor, max(entry.id for entry in entries))
        events = self.context.events
        for name in events_for(entries):
            getattr(events, name).emit()
        others = [entry for entry in entries if entry.user != self.user]
        if others:
            shown = "; ".join(describe_change(entry) for entry in others[-3:])
            events.status.emit(f"Changes by others: {shown}")
        self.noticed.emit(entries)
