"""Questions and notes in message boxes that look like the rest of the app.

Qt's ``QMessageBox.question`` and ``information`` draw the platform's glossy "?" and "i" balls
beside the app's line icons, and answer Yes / No. These boxes use the app's own tinted icon (or
none) and buttons that say what they do ("Roll back", "Stop it"), so a person never has to map
Yes to an action.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QWidget

from desktop.theme import icon


def message_box(parent: QWidget | None, title: str, text: str, icon_name: str = "") -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setText(text)
    box.setIcon(QMessageBox.Icon.NoIcon)
    if icon_name:
        box.setIconPixmap(icon(icon_name).pixmap(32, 32))
    return box


def ask(
    parent: QWidget | None,
    title: str,
    text: str,
    yes: str,
    no: str = "Cancel",
    icon_name: str = "warning",
) -> bool:
    """A question whose buttons name the act (``yes``) and not doing it (``no``, the
    default); True when the act was chosen."""
    box = message_box(parent, title, text, icon_name)
    act = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is act


def inform(parent: QWidget | None, title: str, text: str, icon_name: str = "info") -> None:
    box = message_box(parent, title, text, icon_name)
    box.setEscapeButton(box.addButton("Close", QMessageBox.ButtonRole.AcceptRole))
    box.exec()


def plain_buttons(box: QDialogButtonBox) -> QDialogButtonBox:
    """A dialog's standard buttons without the platform's pictures (a floppy disk, a red
    cross) beside the app's line icons: the words say it."""
    for button in box.buttons():
        button.setIcon(QIcon())
    return box
