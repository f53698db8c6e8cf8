"""The main window: the project header and its data sets."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QMainWindow, QTableView, QVBoxLayout, QWidget

from core.services import Workspace

_Index = QModelIndex | QPersistentModelIndex


class DatasetTableModel(QAbstractTableModel):
    """A Qt table model over the plain list of data sets the engine returns."""

    HEADERS = ("Data set", "Latest version", "Versions", "Rows", "Columns", "Updated (UTC)")

    def __init__(self, datasets: list) -> None:
        super().__init__()
        self._rows = [
            (
                d.name,
                f"v{d.latest_version}",
                d.versions,
                f"{d.latest_rows:,}",
                d.latest_columns,
                d.updated_at.strftime("%Y-%m-%d %H:%M"),
            )
            for d in datasets
        ]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return str(self._rows[index.row()][index.column()])
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (2, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        info = workspace.info()
        self.setWindowTitle(f"{info.name} — Shipway")
        self.resize(900, 560)
        central = QWidget()
        layout = QVBoxLayout(central)
        title = QLabel(f"<h2>{_escape(info.name)}</h2><span>{_escape(info.path)}</span>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        self.datasets = QTableView()
        self.datasets.setModel(DatasetTableModel(workspace.datasets()))
        self.datasets.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.datasets.verticalHeader().setVisible(False)
        layout.addWidget(QLabel("<b>Data sets</b>"))
        layout.addWidget(self.datasets)
        self.setCentralWidget(central)
        count = self.datasets.model().rowCount()
        self.statusBar().showMessage(f"{count} data sets · schema {info.schema_revision}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
