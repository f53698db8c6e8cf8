"""The Data page: data sets and versions, import (dialog or drop), profile, report, diff, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.entities import Dataset, DatasetVersion
from core.services import ImportOptions, ImportOutcome
from desktop.context import AppContext
from desktop.pages.base import Page
from desktop.pages.data.diff_view import DiffView
from desktop.pages.data.import_dialog import ImportDialog
from desktop.pages.data.views import ProfileView, ReportView, version_details
from desktop.widgets import import_panel
from desktop.widgets.common import (
    Banner,
    EmptyState,
    heading,
    icon_button,
    key_value_model,
    make_table,
    muted,
    plural,
    set_widths,
)
from desktop.widgets.import_panel import FILE_FILTER, local_files
from desktop.widgets.table_model import Column, ListTableModel


def _minute(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


DATASET_COLUMNS = [
    Column("Data set", lambda d: d.name),
    Column("Latest", lambda d: d.latest_version, text=lambda d: f"v{d.latest_version}"),
    Column("Rows", lambda d: d.latest_rows, text=lambda d: f"{d.latest_rows:,}", numeric=True),
    Column("Columns", lambda d: d.latest_columns, numeric=True),
]
VERSION_COLUMNS = [
    Column("Version", lambda v: v.version, text=lambda v: f"v{v.version}"),
    Column("Rows", lambda v: v.rows, text=lambda v: f"{v.rows:,}", numeric=True),
    Column("Created (UTC)", lambda v: v.created_at, text=lambda v: _minute(v.created_at)),
    Column("Source", lambda v: Path(v.source).name),
]


class DataPage(Page):
    key = "data"
    title = "Data"
    icon_name = "data"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.setAcceptDrops(True)
        self.datasets = ListTableModel(DATASET_COLUMNS)
        self.versions = ListTableModel(VERSION_COLUMNS)
        self.banner = Banner()
        self.profile = ProfileView()
        self.report = ReportView()
        self.diff = DiffView(self._compare_versions)
        self.details_model = key_value_model([], ("Property", "Value"))
        self.empty = EmptyState(
            "data",
            "No data sets yet",
            "Import a CSV, TSV, Parquet, Excel or JSON-lines file with Import… (Ctrl+I), or drop "
            "files anywhere on this page. Each import becomes an immutable, versioned data set.",
            ("Import a file…", self.choose_files),
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._content())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._toolbar())
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self._select_after: str | None = None
        context.events.datasets_changed.connect(self.refresh)

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Data", "title"))
        row.addStretch(1)
        self.import_button = icon_button("Import…", "import", primary=True)
        self.import_button.setToolTip("Import a file as a new data set or version (Ctrl+I)")
        self.import_button.clicked.connect(self.choose_files)
        self.export_button = icon_button("Export…", "export")
        self.export_button.setToolTip("Write the selected version as CSV or Parquet")
        self.export_button.clicked.connect(self.export_version)
        self.export_button.setEnabled(False)  # until a read finds a version to export
        refresh = icon_button("Refresh", "refresh")
        refresh.setToolTip("Read the data sets again (F5)")
        refresh.clicked.connect(self.refresh)
        for button in (self.import_button, self.export_button, refresh):
            row.addWidget(button)
        return row

    @property
    def primary_button(self):
        return self.import_button

    def _content(self) -> QWidget:
        self.dataset_table = make_table(self.datasets)
        set_widths(self.dataset_table, [150, 60, 76])
        self.version_table = make_table(self.versions)
        set_widths(self.version_table, [72, 72, 140])
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(heading("Data sets"))
        left_layout.addWidget(self.dataset_table, 2)
        left_layout.addWidget(heading("Versions"))
        left_layout.addWidget(self.version_table, 2)
        left_layout.addWidget(muted("Drop files here to import them."))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.profile, "Profile")
        self.tabs.addTab(self.report, "Import report")
        self.tabs.addTab(self.diff, "Compare versions")
        self.details_table = make_table(self.details_model, sortable=False)
        self.details_table.setColumnWidth(0, 200)
        self.tabs.addTab(self.details_table, "Details")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setSizes([412, 660])
        splitter.setChildrenCollapsible(False)
        self.dataset_table.selectionModel().currentRowChanged.connect(lambda *_: self._dataset())
        self.version_table.selectionModel().currentRowChanged.connect(lambda *_: self._version())
        return splitter

    # -- reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.workspace is None:
            self.datasets.set_items([])
            self.versions.set_items([])
            return
        self.fetch(lambda ws: ws.data.datasets(), self._show_datasets)

    def _show_datasets(self, datasets: list[Dataset]) -> None:
        current = self.selected_dataset()
        wanted = self._select_after or (current.name if current else None)
        self._select_after = None
        self.datasets.set_items(datasets)
        self.stack.setCurrentIndex(1 if datasets else 0)
        self.export_button.setEnabled(bool(datasets))
        row = self.datasets.row_of(lambda d: d.name == wanted) if wanted else None
        if datasets:
            self.dataset_table.selectRow(row if row is not None else 0)

    def selected_dataset(self) -> Dataset | None:
        index = self.dataset_table.currentIndex()
        return self.datasets.item(index.row()) if index.isValid() else None

    def selected_version(self) -> DatasetVersion | None:
        index = self.version_table.currentIndex()
        return self.versions.item(index.row()) if index.isValid() else None

    def _dataset(self) -> None:
        dataset = self.selected_dataset()
        if dataset is None:
            return
        self.fetch(lambda ws: ws.data.versions(dataset.name), self._show_versions)

    def _show_versions(self, versions: list[DatasetVersion]) -> None:
        self.versions.set_items(sorted(versions, key=lambda v: -v.version))
        self.diff.set_versions([v.ref for v in sorted(versions, key=lambda v: v.version)])
        if versions:
            self.version_table.selectRow(0)

    def _version(self) -> None:
        version = self.selected_version()
        self.profile.show_version(version)
        self.report.show_version(version)
        if version is not None:
            self.details_model.set_items(version_details(version))

    def _compare_versions(self, a: str, b: str) -> None:
        if self.workspace is None:
            return
        self.context.runner.submit(
            f"Comparing {a} and {b}",
            lambda _p, _c, ws=self.workspace: ws.data.diff(a, b),
            on_success=self.diff.show_diff,
            owner=self,
        )

    # -- importing ---------------------------------------------------------------------------

    def choose_files(self) -> None:
        """Import… (Ctrl+I): choose the file first (the file dialog over the main window), then
        the Import dialog previews it with the detected options. Cancelling the file dialog
        opens nothing; the Import dialog's own Browse… picks another file over itself."""
        if self.workspace is None:
            return
        path = import_panel.choose_data_file(self.window())
        if path:
            self.open_import_dialog(path)

    def open_import_dialog(self, path: str | Path) -> ImportDialog:
        dialog = ImportDialog(self.context, self)
        dialog.accepted.connect(lambda: self.import_files([dialog.path], dialog.options()))
        dialog.panel.set_path(path)
        dialog.open()
        self.import_dialog = dialog
        return dialog

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.workspace is not None and local_files(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [f for f in local_files(event) if f.is_file()]
        if files:
            event.acceptProposedAction()
            self.import_files(files)

    def import_files(self, paths: list[Path], options: ImportOptions = ImportOptions()) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        self.banner.hide()
        for path in paths:

            def work(progress, cancel, p=path):
                return workspace.data.import_file(p, options, progress, cancel)

            self.context.runner.submit(
                f"Importing {path.name}",
                work,
                on_success=self._imported,
                on_failure=lambda error, trace, p=path: self._import_failed(p, error, trace),
                on_cancel=lambda p=path: self.status(f"Import of {p.name} cancelled; nothing kept"),
                owner=self,
            )

    def _imported(self, outcome: ImportOutcome) -> None:
        version = outcome.version
        if outcome.created:
            warnings = version.report.get("warnings", 0)
            note = f", {plural(warnings, 'warning')} in the import report" if warnings else ""
            self.status(f"Imported {version.ref}: {plural(version.rows, 'row')}{note}")
        else:
            self.status(f"Unchanged: this file is already {version.ref}")
        self._select_after = version.dataset
        self.context.events.datasets_changed.emit()
        if version.report.get("warnings"):
            self.tabs.setCurrentWidget(self.report)

    def _import_failed(self, path: Path, error: BaseException, trace: str) -> None:
        from desktop.errors import describe

        explanation = describe(error)
        self.banner.show_message(
            f"Nothing was imported from {path.name}. {explanation.text}", "error"
        )
        self.context.errors.report(error, f"Importing {path.name}", trace)

    # -- exporting ---------------------------------------------------------------------------

    def export_version(self) -> None:
        version = self.selected_version()
        if self.workspace is None or version is None:
            return
        target, _ = QFileDialog.getSaveFileName(
            self,
            f"Export {version.ref}",
            f"{version.dataset}-v{version.version}.csv",
            "CSV (*.csv);;Parquet (*.parquet)",
        )
        if not target:
            return
        workspace = self.workspace
        self.context.runner.submit(
            f"Exporting {version.ref}",
            lambda _p, _c: workspace.data.export(version.ref, target),
            on_success=lambda path: self.status(f"Exported {version.ref} to {path}"),
            owner=self,
        )


__all__ = ["FILE_FILTER", "DataPage"]
