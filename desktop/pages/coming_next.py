"""A page that is planned but not built yet: it says what it will do, and what to use meanwhile."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from desktop.context import AppContext
from desktop.pages.base import Page
from desktop.widgets.common import EmptyState


def coming_next(key: str, title: str, icon_name: str, purpose: str, meanwhile: str) -> type[Page]:
    """A Page class for ``title`` that explains itself until the real page replaces it."""

    class ComingNextPage(Page):
        def __init__(self, context: AppContext) -> None:
            super().__init__(context)
            layout = QVBoxLayout(self)
            text = f"{purpose}\n\nThis page is coming next. Meanwhile: {meanwhile}"
            self.empty = EmptyState(icon_name, f"{title} — coming next", text)
            layout.addWidget(self.empty)

    ComingNextPage.key = key
    ComingNextPage.title = title
    ComingNextPage.icon_name = icon_name
    ComingNextPage.__name__ = ComingNextPage.__qualname__ = f"{title}ComingNextPage"
    return ComingNextPage
