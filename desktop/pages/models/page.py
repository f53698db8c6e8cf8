"""The Models page: registered models, their versions with alias badges, and a version's detail.

Reads go through ``Page.fetch`` (models, then the chosen model's versions, then the chosen
version's detail with its card). Which model and version are selected is remembered by name
and number, so a refresh (a teammate's registration, an alias move) keeps the selection.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core import metrics
from core.entities import ModelVersion, RegisteredModel
from desktop.context import AppContext
from desktop.pages.base import Page
from desktop.pages.models.actions import ModelActionsMixin
from desktop.pages.models.contract_actions import ContractActionsMixin
from desktop.pages.models.detail import ModelDetail
from desktop.pages.models.version_detail import VersionDetail
from desktop.widgets.badges import BadgeDelegate
from desktop.widgets.common import (
    EmptyState,
    format_metric,
    heading,
    icon_button,
    make_table,
    muted,
    set_widths,
)
from desktop.widgets.table_model import Column, ListTableModel

MODEL_COLUMNS = [
    Column("Model", lambda m: m.name),
    Column("Versions", lambda m: m.versions, numeric=True),
    Column("Aliases", lambda m: tuple(sorted(m.aliases)), text=lambda m: " ".join(m.aliases)),
]


def version_columns(metric: str) -> list[Column]:
    better = "higher" if metrics.GREATER_IS_BETTER.get(metric, True) else "lower"
    return [
        Column("Version", lambda v: v.version, text=lambda v: f"v{v.version}", numeric=True),
        Column("Aliases", lambda v: v.aliases, text=lambda v: " ".join(v.aliases)),
        Column(
            "Estimator",
            lambda v: v.estimator,
            cell_tip=lambda v: f"run #{v.run_id} on {v.dataset_ref}",
        ),
        Column(
            f"{metric} ★",
            lambda v: metrics.finite(v.metrics.get(metric)),
            text=lambda v: format_metric(metrics.finite(v.metrics.get(metric))),
            numeric=True,
            tooltip=f"{metric} on the test split ({better} is better)",
        ),
        Column(
            "Registered (UTC)",
            lambda v: v.created_at,
            text=lambda v: f"{v.created_at:%d %b %H:%M}",
        ),
        Column("By", lambda v: v.created_by),
    ]


class ModelsPage(ModelActionsMixin, ContractActionsMixin, Page):
    key = "models"
    title = "Models"
    icon_name = "models"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.models = ListTableModel(MODEL_COLUMNS)
        self.ranking_metric = "f1"
        self.versions = ListTableModel(version_columns(self.ranking_metric))
        self.detail = ModelDetail()
        self.promote_dialog = None
        self.score_dialog = None
        self.contract_dialog = None
        self._model: str | None = None
        self._version: int | None = None
        self._requested: tuple[str, int | None] | None = None  # show_version's, not yet read
        self._reads = 0  # reads of versions and details started (see _select)
        # Reads of a version's detail and segments started; only the newest is shown, as two in
        # flight on the thread pool may answer out of order (the older one would show stale data).
        self._detail_reads = 0
        self._segment_reads = 0
        self.empty = EmptyState(
            "models",
            "No registered models yet",
            "Register a finished run on the Experiments page (Register…): it becomes version 1 "
            "of a model. Versions get aliases such as staging and production, guarded by the "
            "gates of shipway.toml, and can be deployed from here with one click.",
            ("Go to Experiments", lambda: context.events.navigate.emit("experiments")),
        )
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._body())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._toolbar())
        layout.addWidget(self.stack, 1)
        self._connect()

    @property
    def primary_button(self):
        return self.detail.buttons["promote"]

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Models", "title"))
        row.addStretch(1)
        row.addWidget(self.detail.deploy)
        row.addWidget(self.detail.buttons["score"])
        row.addWidget(self.detail.buttons["export"])
        refresh = icon_button("Refresh", "refresh", tip="Read the registry again (F5)")
        refresh.clicked.connect(self.refresh)
        row.addWidget(refresh)
        return row

    def _body(self) -> QSplitter:
        self.models_table = make_table(self.models)
        self.models_table.setItemDelegateForColumn(2, BadgeDelegate(self.models_table))
        set_widths(self.models_table, (86, 80))
        self.versions_table = make_table(self.versions)
        self.versions_table.setItemDelegateForColumn(1, BadgeDelegate(self.versions_table))
        set_widths(self.versions_table, (70, 160, 160, 80, 136))
        left = QWidget()
        left.setMinimumWidth(340)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.models_table, 1)
        column.addWidget(muted("Badges are aliases: production, staging or any name."))
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.versions_table)
        right.addWidget(self.detail)
        right.setSizes([190, 520])
        right.setChildrenCollapsible(False)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setSizes([340, 900])
        body.setStretchFactor(0, 0)
        body.setStretchFactor(1, 1)
        body.setChildrenCollapsible(False)
        return body

    def _connect(self) -> None:
        self.models_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._model_chosen()
        )
        self.versions_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._version_chosen()
        )
        d = self.detail
        d.buttons["gates"].clicked.connect(lambda: self.evaluate_gates())
        d.buttons["promote"].clicked.connect(lambda: self.promote())
        d.buttons["approve"].clicked.connect(self.show_approvals)
        d.buttons["export"].clicked.connect(self.choose_bundle_file)
        d.buttons["score"].clicked.connect(lambda: self.score_data())
        d.approve_button.clicked.connect(lambda: self.approve())
        d.comment.returnPressed.connect(lambda: self.approve())
        d.save_card.clicked.connect(self.choose_card_file)
        d.save_description.clicked.connect(lambda: self.save_description())
        d.description.returnPressed.connect(lambda: self.save_description())
        d.deploy.clicked.connect(lambda: self.deploy())
        d.deploy.menu().triggered.connect(lambda action: self.deploy(action.data()))
        d.rollback.menu().triggered.connect(lambda action: self.rollback(action.data()))
        d.contract.edit_button.clicked.connect(lambda: self.edit_contract())
        d.contract.check_button.clicked.connect(lambda: self.check_contract())
        events = self.context.events
        events.models_changed.connect(self.refresh)
        events.model_requested.connect(self.show_version)

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        if self.workspace is None:
            self.models.set_items([])
            self.versions.set_items([])
            self.detail.show_detail(None)
            return
        self.fetch(lambda ws: ws.registry.models(), self._show_models)

    def _show_models(self, models: list[RegisteredModel]) -> None:
        self.models.set_items(models)
        self.stack.setCurrentIndex(1 if models else 0)
        if not models:
            self.versions.set_items([])
            self.detail.show_detail(None)
            return
        names = [m.name for m in models]
        if self._requested is not None and self._requested[0] in names:
            (self._model, self._version), self._requested = self._requested, None
        elif self._model not in names:  # with a request kept for a read that holds its model
            self._model, self._version = names[0], None
        row = self.models.row_of(lambda m: m.name == self._model)
        self._select(self.models_table, row, self._model_chosen)

    def _model_chosen(self) -> None:
        index = self.models_table.currentIndex()
        if index.isValid():
            name = self.models.item(index.row()).name
            if name != self._model:
                self._model, self._version = name, None
            self._load_versions(name)

    def _load_versions(self, name: str) -> None:
        self._reads += 1

        def read(ws):
            versions = ws.registry.versions(name)
            task = versions[0].task if versions else "classification"
            return versions, ws.runs.primary_metric(task)

        self.fetch(read, lambda answer: self._show_versions(name, *answer))

    def _show_versions(self, name: str, versions: list[ModelVersion], metric: str) -> None:
        if name != self._model:
            return
        if metric != self.ranking_metric:
            self.ranking_metric = metric
            self.versions.set_columns(version_columns(metric))
        ordered = sorted(versions, key=lambda v: -v.version)
        self.versions.set_items(ordered)
        if not ordered:
            return
        wanted = self._version or next(
            (v.version for v in ordered if "production" in v.aliases), ordered[0].version
        )
        row = self.versions.row_of(lambda v: v.version == wanted)
        if row is None and self._version is not None:  # a read older than the version asked
            row, keep = 0, self._version  # for: show the newest now, keep the wish for the next
            self._select(self.versions_table, row, self._version_chosen)
            self._version = keep
            return
        self._select(self.versions_table, 0 if row is None else row, self._version_chosen)

    def _select(self, table, row: int, chosen) -> None:
        """Select ``row``; when that changed nothing (the same current row), act on it anyway."""
        before = self._reads
        table.selectRow(row)
        if self._reads == before:
            chosen()

    def _version_chosen(self) -> None:
        index = self.versions_table.currentIndex()
        if index.isValid():
            version = self.versions.item(index.row())
            if (version.model, version.version) != self.detail.shown_ref:
                self.detail.forget_deploy()  # never deploy what was selected before
            self._version = version.version
            self._load_detail(version.ref)

    def reload_detail(self) -> None:
        if self._model and self._version:
            self._load_detail(f"{self._model}@{self._version}")

    def _load_detail(self, ref: str) -> None:
        self._reads += 1
        self._detail_reads += 1
        asked, metric = self._detail_reads, self.ranking_metric

        def read(ws) -> VersionDetail:
            version = ws.registry.version(ref)
            holders = next((m.aliases for m in ws.registry.models() if m.name == version.model), {})
            return VersionDetail(
                version=version,
                evaluations=ws.registry.gate_evaluations(ref),
                approvals=ws.registry.approvals(ref),
                history=ws.registry.history(version.model),
                card_html=ws.registry.card(ref, "html"),
                user=ws.project.user(),
                primary_metric=metric,
                holders=dict(holders),
                contract=ws.registry.contract(ref),
                datasets=_dataset_refs(ws),
                threshold=_threshold(ws, version),
            )

        def show(detail: VersionDetail) -> None:
            version = detail.version
            if asked != self._detail_reads:  # a newer read of the detail is on its way
                return
            if (version.model, version.version) == (self._model, self._version):
                self.detail.show_detail(detail)
                self.load_segments(version.ref)

        self.fetch(read, show)

    def show_version(self, ref: str) -> None:
        """Select ``M@V`` (sent by another page), reading the registry first."""
        name, _, number = ref.partition("@")
        self._model = name
        self._version = int(number) if number.isdigit() else None
        self._requested = (self._model, self._version)  # until a read of the models holds it
        self.context.events.navigate.emit(self.key)
        self.refresh()


def _dataset_refs(ws) -> tuple[str, ...]:
    """Every data set version, newest first within each data set (the contract check's list)."""
    return tuple(
        v.ref
        for dataset in ws.data.datasets()
        for v in sorted(ws.data.versions(dataset.name), key=lambda v: -v.version)
    )


def _threshold(ws, version: ModelVersion) -> dict | None:
    """The decision threshold the version's run chose (binary classifiers with a rule)."""
    if "threshold" not in version.io_schema.get("output", {}):
        return None
    return ws.runs.get(version.run_id).curves.get("threshold")
