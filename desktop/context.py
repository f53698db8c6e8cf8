"""What every page is handed: the task runner, the error channel, the theme, and a message bus.

Pages never talk to each other directly; they emit and listen on :class:`Events`, so a page can
be added, replaced or removed without touching the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from desktop.errors import ErrorChannel
from desktop.settings import AppSettings
from desktop.tasks import TaskRunner
from desktop.theme import ThemeManager


class Events(QObject):
    """Application-wide notifications between pages and the shell."""

    datasets_changed = Signal()
    runs_changed = Signal()
    models_changed = Signal()  # registrations, alias moves, approvals, gate evaluations
    deployments_changed = Signal()
    alerts_changed = Signal()  # monitoring alerts and retraining
    compare_requested = Signal(list)  # run ids
    model_requested = Signal(str)  # show this model version (M@V) on the Models page
    deployment_requested = Signal(str)  # show this deployment (id) on the Deployments page
    monitor_requested = Signal(str)  # show this deployment (id) on the Monitoring page
    navigate = Signal(str)  # page key
    status = Signal(str)  # a message for the status bar


@dataclass
class AppContext:
    runner: TaskRunner
    errors: ErrorChannel
    settings: AppSettings
    theme: ThemeManager
    events: Events
    warm_workers: bool = True  # start a training worker when a project opens
    started_deployments: set[str] = field(default_factory=set)  # ids this window deployed


def make_context(settings: AppSettings | None = None, warm_workers: bool = True) -> AppContext:
    """The context of one application window (used by the app and by the tests)."""
    errors = ErrorChannel()
    settings = settings or AppSettings()
    theme = ThemeManager(settings.theme)
    return AppContext(
        runner=TaskRunner(errors.report),
        errors=errors,
        settings=settings,
        theme=theme,
        events=Events(),
        warm_workers=warm_workers,
    )
