"""Small building blocks the pages share: tables, empty states, banners, headings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.theme import icon, keep_icon, set_style_property
from desktop.widgets.table_model import Column, ListTableModel

ROW_HEIGHT = 26


def icon_button(text: str, icon_name: str, primary: bool = False, tip: str = "") -> QPushButton:
    """A push button whose icon follows the theme (white on the accent when ``primary``)."""
    button = QPushButton(text)
    button.setProperty("primary", primary)
    keep_icon(button, icon_name, on_accent=primary)
    if tip:
        button.setToolTip(tip)
    return button


def make_table(model: QAbstractItemModel, sortable: bool = True, stretch_last: bool = True):
    """A read-only, row-selecting table with fixed row heights (cheap at 10,000 rows)."""
    view = QTableView()
    view.setModel(model)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # keep given order
    view.setSortingEnabled(sortable)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(ROW_HEIGHT)
    header = view.horizontalHeader()
    header.setStretchLastSection(stretch_last)
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setSortIndicatorShown(sortable)
    if model is not None:
        fit_columns(view)
    return view


MOST_COLUMN_PX = 360  # a column grows to its content up to this; longer text is cut with …


class _ColumnFitter(QObject):
    """Widens a table's columns to their header and the rows in sight whenever its rows are
    replaced; never narrows one (a width the person dragged stays), at most
    :data:`MOST_COLUMN_PX`. A cell still too long is elided, and its tooltip shows it whole."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self.view = view
        view.horizontalHeader().setResizeContentsPrecision(0)  # the rows in sight: cheap
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self.fit)
        model = view.model()
        for signal in (model.modelReset, model.layoutChanged, model.rowsInserted):
            signal.connect(self._soon.start)
        self._soon.start()

    def fit(self) -> None:
        view, model = self.view, self.view.model()
        if model is None:
            return
        header = view.horizontalHeader()
        last = model.columnCount() - (1 if header.stretchLastSection() else 0)
        for column in range(last):
            if view.isColumnHidden(column):
                continue
            title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            titled = max(
                (header.fontMetrics().horizontalAdvance(line) for line in title.splitlines()),
                default=0,
            )
            wanted = min(max(view.sizeHintForColumn(column), titled + 24) + 4, MOST_COLUMN_PX)
            if wanted > view.columnWidth(column):
                view.setColumnWidth(column, wanted)


def fit_columns(view: QTableView) -> None:
    """Keep ``view``'s columns as wide as their content (see :class:`_ColumnFitter`)."""
    _ColumnFitter(view)


def set_widths(view: QTableView, widths: Sequence[int]) -> None:
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)


def key_value_model(pairs: Sequence[tuple[str, Any]], titles=("Name", "Value")) -> ListTableModel:
    """A two-column model of (name, value) pairs."""
    return ListTableModel(
        [
            Column(titles[0], lambda p: p[0]),
            Column(titles[1], lambda p: p[1], text=lambda p: format_value(p[1])),
        ],
        list(pairs),
    )


def format_value(value: Any, digits: int = 4) -> str:
    """A number with sensible digits, text as it is, missing as an em dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if abs(value) >= 1e7 or (value != 0 and abs(value) < 1e-4):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits + 2}g}" if value % 1 else f"{value:.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 warning``, ``3 warnings``, ``1,204 rows`` (``plural_form`` for irregular words)."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def format_metric(value: Any) -> str:
    """Metric values with four decimals, so a column of them lines up."""
    return "—" if value is None else f"{value:.4f}"


def format_size(size: int | None) -> str:
    if size is None:
        return "—"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return "—"


def heading(text: str, role: str = "heading") -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    return label


def muted(text: str, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setProperty("muted", True)
    label.setWordWrap(wrap)
    return label


class EmptyState(QWidget):
    """What a page shows instead of an empty table: what is missing and how to add it."""

    def __init__(
        self,
        icon_name: str,
        title: str,
        text: str,
        action: tuple[str, Callable[[], None]] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("EmptyState")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        picture = QLabel()
        picture.setPixmap(icon(icon_name).pixmap(48, 48))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = heading(title, "title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = muted(text)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setMinimumWidth(220)
        self.text.setMaximumWidth(540)
        for widget in (picture, self.title):
            layout.addWidget(widget)
        centred = QHBoxLayout()  # no alignment flag: word wrap then gets its true height
        centred.addStretch(1)
        centred.addWidget(self.text, 10)
        centred.addStretch(1)
        layout.addLayout(centred)
        if action is not None:
            button = QPushButton(action[0])
            button.setProperty("primary", True)
            button.clicked.connect(action[1])
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
            self.button = button
        layout.addStretch(2)


class Banner(QWidget):
    """An inline message above a page's content (error, warning or info), with a close box."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("Banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # its colour shows
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = icon_button("", "close")
        close.setFlat(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        set_style_property(self, "kind", kind)
        self.label.setText(text)
        self.show()
