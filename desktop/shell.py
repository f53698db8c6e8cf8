"""The open project's frame: a header (name, path, the problem), the sidebar and the pages."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.entities import ProjectInfo
from desktop.context import AppContext
from desktop.pages import PAGES, Page
from desktop.theme import icon, theme_changes


class ProjectHeader(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 10, 18, 10)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.name = QLabel()
        self.name.setObjectName("ProjectName")
        self.path = QLabel()
        self.path.setObjectName("ProjectPath")
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        names.addWidget(self.name)
        names.addWidget(self.path)
        layout.addLayout(names, 1)
        self.chips: list[QLabel] = []
        for _ in range(3):
            chip = QLabel()
            chip.setObjectName("Chip")
            self.chips.append(chip)
            layout.addWidget(chip, 0, Qt.AlignmentFlag.AlignVCenter)

    def show_info(self, info: ProjectInfo) -> None:
        self.name.setText(info.name)
        self.path.setText(info.path)
        self.path.setToolTip(f"Project folder: {info.path}\nDatabase: {info.db_url}")
        texts = [
            info.task or "task: not chosen",
            f"target: {info.target}" if info.target else "target: not chosen",
            f"ranks by {info.primary_metric}" if info.primary_metric else "metric: default",
        ]
        tips = [
            "The kind of problem (shipway.toml [project] task)",
            "The column to predict (shipway.toml [project] target)",
            "The metric that ranks runs and guards promotion (shipway.toml primary_metric)",
        ]
        for chip, text, tip in zip(self.chips, texts, tips, strict=True):
            chip.setText(text)
            chip.setToolTip(tip)


class ProjectShell(QWidget):
    """Header over sidebar + page stack. Pages are built once, from :data:`PAGES`."""

    page_changed = Signal(str)

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.header = ProjectHeader()
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setFixedWidth(176)
        self.sidebar.setIconSize(QSize(20, 20))
        self.stack = QStackedWidget()
        self.pages: list[Page] = []
        for number, page_class in enumerate(PAGES, start=1):
            page = page_class(context)
            self.pages.append(page)
            self.stack.addWidget(page)
            item = QListWidgetItem(icon(page.icon_name), page.title)
            item.setToolTip(f"{page.title} (Ctrl+{number})")
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._show_row)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.sidebar)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addLayout(body, 1)
        self.sidebar.setCurrentRow(0)
        theme_changes().changed.connect(self.apply_theme)

    def apply_theme(self, _name: str = "") -> None:
        for row, page in enumerate(self.pages):
            self.sidebar.item(row).setIcon(icon(page.icon_name))

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            self.stack.setCurrentIndex(row)
            page = self.pages[row]
            page.activated()
            self.page_changed.emit(page.key)

    def show_page(self, key: str) -> Page | None:
        for row, page in enumerate(self.pages):
            if page.key == key:
                self.sidebar.setCurrentRow(row)
                return page
        return None

    def page(self, key: str) -> Page | None:
        return next((p for p in self.pages if p.key == key), None)

    @property
    def current_page(self) -> Page:
        return self.pages[self.stack.currentIndex()]
