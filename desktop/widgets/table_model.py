"""A Qt table model over a plain Python list, sorted and filtered in the model itself.

As in napari's ``_base_item_model``, the list is the truth and the model only says how to show
it: each :class:`Column` gives a raw value (for sorting) and the text to display. Sorting and
filtering rearrange a list of row numbers instead of going through a QSortFilterProxyModel,
whose per-comparison calls into Python would make 10,000 rows take seconds to sort; here a sort
is one ``sorted`` call over precomputed keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
LONG_CELL = 20  # a cell text longer than this is its own tooltip (shown whole when elided)


@dataclass(frozen=True)
class Column:
    """How one column shows an item: ``value`` sorts it, ``text`` displays it."""

    title: str
    value: Callable[[Any], Any]
    text: Callable[[Any], str] | None = None
    numeric: bool = False  # right-aligned
    tooltip: str = ""
    cell_tip: Callable[[Any], str] | None = None  # a tooltip per cell (long texts cut in a row)

    def display(self, item: Any) -> str:
        if self.text is not None:
            return self.text(item)
        value = self.value(item)
        return "" if value is None else str(value)


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class ListTableModel(QAbstractTableModel):
    """Rows are the items of a list; columns are :class:`Column` specs."""

    def __init__(self, columns: Sequence[Column], items: Sequence[Any] = ()) -> None:
        super().__init__()
        self._columns = list(columns)
        self._items: list[Any] = list(items)
        self._order: list[int] = list(range(len(self._items)))
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = ""
        self._search: dict[int, str] = {}
        self._bold: Callable[[Any, int], bool] | None = None
        self._color: Callable[[Any, int], str | None] | None = None
        self._background: Callable[[Any, int], str | None] | None = None

    # -- content ---------------------------------------------------------------------------

    def set_items(self, items: Sequence[Any]) -> None:
        self.beginResetModel()
        self._items = list(items)
        self._search.clear()
        self._order = self._arranged()
        self.endResetModel()

    def update_items(self, items: Sequence[Any], key: Callable[[Any], Any]) -> None:
        """Show ``items``; when they are the same rows as now (by ``key``, in order), repaint
        the cells in place, so selection, current row and scrolling stay (live tables)."""
        items = list(items)
        if [key(i) for i in items] != [key(i) for i in self._items]:
            self.set_items(items)
            return
        self._items = items
        self._search.clear()
        if self._sort is not None or self._filter:
            self._rearrange()
        if self._order and self._columns:
            last = self.index(len(self._order) - 1, len(self._columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.beginResetModel()
        self._columns = list(columns)
        self._search.clear()
        self._sort = None
        self._order = self._arranged()
        self.endResetModel()

    def items(self) -> list[Any]:
        """The items in the order shown (filtered)."""
        return [self._items[i] for i in self._order]

    def all_items(self) -> list[Any]:
        """Every item, shown or filtered out, in the order given."""
        return list(self._items)

    def item(self, row: int) -> Any:
        return self._items[self._order[row]]

    def column(self, index: int) -> Column:
        return self._columns[index]

    def set_emphasis(
        self,
        bold: Callable[[Any, int], bool] | None = None,
        color: Callable[[Any, int], str | None] | None = None,
        background: Callable[[Any, int], str | None] | None = None,
    ) -> None:
        """``bold``, ``color`` and ``background`` of ``(item, column)`` pick out cells."""
        self._bold, self._color, self._background = bold, color, background

    # -- Qt model API ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[self._order[index.row()]]
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.display(item)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        if role == RAW_ROLE:
            return column.value(item)
        if role == Qt.ItemDataRole.FontRole and self._bold is not None:
            if self._bold(item, index.column()):
                font = QFont()
                font.setBold(True)
                return font
            return None
        if role == Qt.ItemDataRole.ForegroundRole and self._color is not None:
            color = self._color(item, index.column())
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.BackgroundRole and self._background is not None:
            color = self._background(item, index.column())
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.cell_tip is not None:
                return column.cell_tip(item) or None
            text = column.display(item)
            return text if len(text) > LONG_CELL else (column.tooltip or None)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or section >= len(self._columns):
            return None
        column = self._columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        self._sort = (column, order)
        self._rearrange()

    # -- filtering ---------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show only rows whose displayed text holds every word of ``text`` (any case)."""
        self._filter = text.casefold().strip()
        self._rearrange()

    def _matches(self, position: int) -> bool:
        text = self._search.get(position)
        if text is None:
            item = self._items[position]
            text = " ".join(c.display(item) for c in self._columns).casefold()
            self._search[position] = text
        return all(word in text for word in self._filter.split())

    def _arranged(self) -> list[int]:
        positions = range(len(self._items))
        if self._filter:
            positions = [p for p in positions if self._matches(p)]
        if self._sort is None:
            return list(positions)
        column, order = self._sort
        value = self._columns[column].value
        keyed = [(p, _sort_key(value(self._items[p]))) for p in positions]
        present = [pair for pair in keyed if pair[1] is not None]
        missing = [p for p, key in keyed if key is None]
        try:
            present.sort(key=lambda pair: pair[1], reverse=order == Qt.SortOrder.DescendingOrder)
        except TypeError:  # mixed kinds in one column: compare their text instead
            present.sort(
                key=lambda pair: str(pair[1]), reverse=order == Qt.SortOrder.DescendingOrder
            )
        return [p for p, _ in present] + missing  # rows without a value always last

    def _rearrange(self) -> None:
        """Re-sort/filter keeping selections and the current row on the same items."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        remembered = [(self._order[i.row()], i.column()) for i in persistent]
        self._order = self._arranged()
        where = {position: row for row, position in enumerate(self._order)}
        moved = [self.index(where[p], c) if p in where else QModelIndex() for p, c in remembered]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def row_of(self, predicate: Callable[[Any], bool]) -> int | None:
        """The shown row of the first item for which ``predicate`` holds."""
        for row, position in enumerate(self._order):
            if predicate(self._items[position]):
                return row
        return None
