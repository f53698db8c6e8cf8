"""Desktop notifications while the app runs: an alert, a finished retraining (with its gate
verdict), a kept deployment that cannot be kept up.

The change feed (:class:`~desktop.team_watch.ChangeWatcher`) already reads the audit trail in
the background every few seconds; :func:`notices_of` picks from each batch the entries worth a
notification, whoever recorded them (the always-on service, a teammate, ``shipway monitor
check``):

- ``monitoring.alert``: "drift alert on penguins@2", with the trigger's message;
- ``monitoring.retrain``: "penguins@3 retrained from penguins@2: its production gates pass"
  (or "do not all pass": it waits for a person there); ``job.failed`` / ``job.cancelled`` of a
  retraining job: the retraining and its error;
- ``service.deployment_gave_up``: the kept deployment that the service could not keep up.

:class:`Notifier` shows each with ``QSystemTrayIcon.showMessage`` where the desktop has a
system tray, else in the window's notice banner (the newest three, one a line). ``[notify]
desktop = false`` in shipway.toml turns them off (read when the project opens and when the
settings are saved).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from core.entities import AuditEntry
from core.services import Workspace
from desktop.context import AppContext
from desktop.theme import icon
from desktop.widgets.common import Banner

SHOWN_IN_BANNER = 3


@dataclass(frozen=True)
class DesktopNotice:
    kind: str  # "alert" | "retrained" | "deployment_down"
    title: str
    text: str


def notice_of(entry: AuditEntry) -> DesktopNotice | None:
    """The notification an audit entry is worth, or None."""
    detail, ref = entry.detail, entry.object_ref
    if entry.action == "monitoring.alert":
        kind = detail.get("kind", "monitoring")
        where = f" (deployment {detail['deployment']})" if detail.get("deployment") else ""
        return DesktopNotice(
            "alert", f"{kind} alert on {ref}", f"{detail.get('message', '')}{where}"
        )
    if entry.action == "monitoring.retrain":
        verdict = "pass" if detail.get("gates_passed") else "do not all pass: it waits there"
        source = detail.get("retrained_from", "its version")
        return DesktopNotice(
            "retrained",
            f"{ref} retrained",
            f"Retrained from {source}; its production gates {verdict}.",
        )
    if entry.action in ("job.failed", "job.cancelled") and detail.get("kind") == "retrain":
        ended = entry.action.split(".", 1)[1]
        why = f": {detail['error']}" if detail.get("error") else ""
        return DesktopNotice("retrained", f"retraining {ended}", f"{detail.get('title', ref)}{why}")
    if entry.action == "service.deployment_gave_up":
        return DesktopNotice(
            "deployment_down",
            f"deployment {ref} is down",
            f"{detail.get('message', '')} The always-on service tries again later.".strip(),
        )
    return None


def notices_of(entries: Iterable[AuditEntry]) -> list[DesktopNotice]:
    return [n for n in (notice_of(e) for e in entries) if n is not None]


def desktop_enabled(workspace: Workspace) -> bool:
    """``[notify] desktop`` (true unless set false); on a pool thread."""
    return workspace.project.tables("notify")["notify"].get("desktop", True) is not False


class Notifier(QObject):
    """Shows the notices of the change feed: in the system tray, else in ``banner``."""

    def __init__(
        self, context: AppContext, workspace: Workspace, banner: Banner, window: QWidget
    ) -> None:
        super().__init__(window)
        self.context = context
        self.workspace = workspace
        self.banner = banner
        self.enabled = True
        self.shown: list[DesktopNotice] = []  # every notice shown (the tests read it)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon("shipway"), self)
            self.tray.setToolTip("Shipway")
            self.tray.show()

    def read_setting(self) -> None:
        """Read ``[notify] desktop`` again (in the background)."""
        self.context.runner.fetch(
            lambda: desktop_enabled(self.workspace),
            self._set_enabled,
            owner=self.parent(),
            on_failure=lambda *_: None,  # a broken [notify] is said by Settings: keep showing
            title="reading [notify]",
        )

    def _set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    def take(self, entries: list[AuditEntry]) -> None:
        """A batch of the change feed (connected to ``ChangeWatcher.noticed``)."""
        if self.enabled:
            for notice in notices_of(entries):
                self.show_notice(notice)

    def show_notice(self, notice: DesktopNotice) -> None:
        self.shown.append(notice)
        if self.tray is not None:
            kind = QSystemTrayIcon.MessageIcon
            level = kind.Information if notice.kind == "retrained" else kind.Warning
            self.tray.showMessage(f"Shipway: {notice.title}", notice.text, level, 15000)
            return
        recent = self.shown[-SHOWN_IN_BANNER:]
        text = "\n".join(f"{n.title}: {n.text}" for n in recent)
        level = "info" if all(n.kind == "retrained" for n in recent) else "warning"
        self.banner.show_message(text, level)

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
