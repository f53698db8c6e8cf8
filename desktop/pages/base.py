"""What a page of the main window is: a widget that shows one part of an open project.

A page gets the :class:`~desktop.context.AppContext` once and a workspace (or None) each time a
project is opened or closed. It reads through ``self.fetch`` (a quiet background read) so that
the GUI thread never waits for the database, and it starts long work with ``self.run_job``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from core.services import Workspace
from desktop.context import AppContext
from desktop.tasks import Task


class Page(QWidget):
    """Base class of the sidebar pages; subclasses set ``key``, ``title`` and ``icon_name``."""

    key = ""
    title = ""
    icon_name = ""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.workspace: Workspace | None = None

    def set_workspace(self, workspace: Workspace | None) -> None:
        """Called when a project opens (a workspace) or closes (None)."""
        self.workspace = workspace
        self.refresh()

    def refresh(self) -> None:
        """Read the page's content again (F5)."""

    def activated(self) -> None:
        """The page has just been shown."""

    @property
    def primary_button(self) -> QWidget | None:
        """The page's main action: kept in sight at 1280 × 800 (a test checks it)."""
        return None

    # -- helpers ---------------------------------------------------------------------------

    def fetch(
        self,
        read: Callable[[Workspace], Any],
        show: Callable[[Any], None],
        on_failure: Callable[[BaseException, str], None] | None = None,
    ) -> Task | None:
        """Run ``read(workspace)`` in the background, then ``show(result)`` if still current.

        A failure goes to the error channel unless ``on_failure`` takes it (live views that
        poll say it inline instead of opening a dialog every few seconds)."""
        workspace = self.workspace
        if workspace is None:
            return None

        def shown(result: Any) -> None:
            if self.workspace is workspace:
                show(result)

        return self.context.runner.fetch(
            lambda: read(workspace), shown, owner=self, on_failure=on_failure
        )

    def quietly_failed(self, what: str) -> Callable[[BaseException, str], None]:
        """An ``on_failure`` for polled reads: the status bar says it, no dialog."""
        from desktop.errors import describe

        def failed(error: BaseException, _trace: str) -> None:
            self.status(f"{what} could not be read: {describe(error).text}")

        return failed

    def status(self, text: str) -> None:
        self.context.events.status.emit(text)
