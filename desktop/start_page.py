"""The start page: recent projects, and the ways to begin (new, open, demo)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs_bar import JobRow
from desktop.settings import AppSettings
from desktop.tasks import Task
from desktop.theme import current_colors, icon, resource
from desktop.widgets.common import heading, icon_button, muted

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
MISSING_ROLE = Qt.ItemDataRole.UserRole + 2


class RecentDelegate(QStyledItemDelegate):
    """Draws a recent project as its name over its folder, the folder in the muted colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        super().paint(painter, option, QModelIndex())  # background and selection only
        option.widget and self._icon(painter, option, index)
        colors = current_colors()
        name, path = index.data(Qt.ItemDataRole.DisplayRole).split("\n", 1)
        text = option.rect.adjusted(40, 4, -8, -4)
        painter.save()
        font = QFont(option.font)
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(QColor(colors.muted if index.data(MISSING_ROLE) else colors.text))
        painter.drawText(text, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft, name)
        painter.setFont(option.font)
        painter.setPen(QColor(colors.muted))
        painter.drawText(text, Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft, path)
        painter.restore()

    @staticmethod
    def _icon(painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        picture = index.data(Qt.ItemDataRole.DecorationRole)
        if picture is not None:
            box = option.rect
            picture.paint(painter, box.x() + 10, box.y() + (box.height() - 20) // 2, 20, 20)


class StartPage(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    demo_requested = Signal()
    recent_chosen = Signal(str)

    def __init__(self, settings: AppSettings) -> None:
        super().__init__()
        self.setObjectName("StartPage")
        self.settings = settings
        layout = QHBoxLayout(self)
        layout.setContentsMargins(56, 40, 56, 40)
        layout.setSpacing(48)
        welcome = QWidget()
        welcome.setFixedWidth(420)
        welcome.setLayout(self._welcome())
        layout.addWidget(welcome, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._recent_card(), 1)
        self.reload()

    def _welcome(self) -> QVBoxLayout:
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(QIcon(str(resource("icons", "shipway.svg"))).pixmap(QSize(72, 72)))
        title = QLabel("Shipway")
        title.setProperty("role", "hero")
        tagline = muted(
            "Take a tabular machine-learning problem from a raw file to a gated, served and "
            "monitored model, every step versioned and audited, on your own workstation."
        )
        column.addWidget(logo)
        column.addWidget(title)
        column.addWidget(tagline)
        column.addSpacing(24)
        buttons = [
            ("New project…", "new", "Ctrl+N", self.new_requested, True),
            ("Open project…", "open", "Ctrl+O", self.open_requested, False),
            ("Open the demo (penguins)", "demo", "", self.demo_requested, False),
        ]
        for text, icon_name, keys, signal, primary in buttons:
            button = icon_button(text, icon_name, primary)
            button.setMinimumHeight(36)
            button.setToolTip(keys or "A ready project on the bundled penguins data set")
            button.clicked.connect(signal.emit)
            column.addWidget(button)
        column.addSpacing(12)
        self.demo_note = muted(
            "The demo takes the bundled penguins data set through the whole loop in a project "
            "of its own: three runs, a registered model with production and staging aliases, a "
            "local REST service and traffic that slowly drifts. Building it takes about a "
            "minute the first time; your own files are never touched."
        )
        column.addWidget(self.demo_note)
        self.progress_box = QVBoxLayout()
        column.addLayout(self.progress_box)
        self.progress_row: JobRow | None = None
        return column

    def show_task(self, task: Task) -> None:
        """Show a background job's progress here (the demo being built) until it ends."""
        if self.progress_row is not None:
            self.progress_row.setParent(None)
            self.progress_row.deleteLater()
        self.progress_row = JobRow(task, stacked=True)
        self.progress_box.addWidget(self.progress_row)
        task.ended.connect(lambda _task, row=self.progress_row: self._task_ended(row))

    def _task_ended(self, row: JobRow) -> None:
        if row is self.progress_row:
            row.setParent(None)
            row.deleteLater()
            self.progress_row = None

    def _recent_card(self) -> QFrame:
        card = QFrame()
        card.setObjectName("Card")
        column = QVBoxLayout(card)
        column.setContentsMargins(16, 14, 16, 16)
        column.addWidget(heading("Recent projects", "title"))
        self.recent = QListWidget()
        self.recent.setObjectName("RecentList")
        self.recent.setIconSize(QSize(20, 20))
        self.recent.setSpacing(2)
        self.recent.setItemDelegate(RecentDelegate(self.recent))
        self.recent.itemActivated.connect(self._activated)
        self.recent.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.recent.customContextMenuRequested.connect(self._menu)
        self.empty = muted(
            "No recent projects yet. Create one with New project…, open a folder that holds "
            "a shipway.toml with Open project…, or try the demo."
        )
        self.hint = muted("Double-click a project to open it; right-click to forget it.")
        column.addWidget(self.recent, 1)
        column.addWidget(self.empty)
        column.addWidget(self.hint)
        column.addStretch(0)
        self.filler = column
        return card

    def reload(self) -> None:
        self.recent.clear()
        for path in self.settings.recent_projects():
            folder = Path(path)
            present = (folder / "shipway.toml").is_file()
            item = QListWidgetItem(icon("open"), f"{folder.name}\n{path}")
            item.setData(PATH_ROLE, path)
            item.setSizeHint(QSize(0, 46))
            if not present:
                item.setText(f"{folder.name}  (missing)\n{path}")
                item.setData(MISSING_ROLE, True)
                item.setToolTip("This folder no longer holds a Shipway project.")
            self.recent.addItem(item)
        has_items = self.recent.count() > 0
        self.recent.setVisible(has_items)
        self.hint.setVisible(has_items)
        self.empty.setVisible(not has_items)
        self.filler.setStretch(self.filler.count() - 1, 0 if has_items else 1)

    def _activated(self, item: QListWidgetItem) -> None:
        self.recent_chosen.emit(item.data(PATH_ROLE))

    def _menu(self, position) -> None:
        item = self.recent.itemAt(position)
        if item is None:
            return
        menu = QMenu(self)
        forget = menu.addAction("Remove from this list")
        if menu.exec(self.recent.mapToGlobal(position)) is forget:
            self.settings.remove_recent(item.data(PATH_ROLE))
            self.reload()
