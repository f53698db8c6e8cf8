"""Alias badges in table cells: ``production`` and ``staging`` as small coloured labels.

The cell's value (:data:`~desktop.widgets.table_model.RAW_ROLE`) is a sequence of names; its
display text (used by filters and tooltips) is the same names joined, and is not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from desktop.theme import Colors, current_colors
from desktop.widgets.table_model import RAW_ROLE

BADGE_HEIGHT = 18
BADGE_GAP = 4


def badge_color(name: str, colors: Colors) -> str:
    """``production`` green, ``staging`` the accent, any other alias a series colour."""
    if name == "production":
        return colors.good
    if name == "staging":
        return colors.accent
    return colors.series[3 + sum(map(ord, name)) % 3]


def badge_text_color(colors: Colors) -> str:
    """White on the light theme's saturated colours, the window colour on the dark one's."""
    return colors.window if QColor(colors.window).lightness() < 128 else "#ffffff"


def paint_badges(painter: QPainter, rect, names: Sequence[str], font: QFont) -> None:
    """Draw ``names`` as rounded labels from the left of ``rect``, vertically centred."""
    colors = current_colors()
    bold = QFont(font)
    bold.setWeight(QFont.Weight.DemiBold)
    bold.setPointSizeF(max(7.0, font.pointSizeF() * 0.88))
    metrics = QFontMetrics(bold)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setFont(bold)
    x = rect.x() + 6
    top = rect.y() + (rect.height() - BADGE_HEIGHT) / 2
    for shown, name in enumerate(names):
        width = metrics.horizontalAdvance(name) + 12
        if x + width > rect.right():  # no room: say how many more there are
            painter.setPen(QColor(colors.muted))
            more = QRectF(x, top, rect.right() - x, BADGE_HEIGHT)
            painter.drawText(more, Qt.AlignmentFlag.AlignVCenter, f"+{len(names) - shown}")
            break
        box = QRectF(x, top, width, BADGE_HEIGHT)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(badge_color(name, colors)))
        painter.drawRoundedRect(box, BADGE_HEIGHT / 2, BADGE_HEIGHT / 2)
        painter.setPen(QColor(badge_text_color(colors)))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, name)
        x += width + BADGE_GAP
    painter.restore()


class BadgeDelegate(QStyledItemDelegate):
    """Paints a cell's names (its raw value) as badges over the row's background."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, QModelIndex())  # background and selection, no text
        names = index.data(RAW_ROLE) or ()
        if names:
            paint_badges(painter, option.rect, list(names), option.font)
