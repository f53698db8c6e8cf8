"""One error channel: every failure ends in a readable dialog, never in a silent death.

Unexpected exceptions from the GUI thread (``sys.excepthook``), from other threads
(``threading.excepthook``) and failed background tasks all go to :class:`ErrorChannel.report`,
which may be called from any thread; the dialog is shown on the GUI thread. A
:class:`~core.errors.ShipwayError` is told as sentences (what, where, what to do); anything else
as "something went wrong" with the traceback in the details, ready to copy into a bug report.
"""

from __future__ import annotations

import platform
import sys
import threading
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.errors import ShipwayError
from desktop.widgets.dialogs import plain_buttons

MAX_OPEN_DIALOGS = 3

_TITLES = {
    "import_failed": "The import was refused",
    "not_found": "Not found",
    "invalid_input": "This cannot be used as it is",
    "gate_blocked": "A validation gate blocked this",
    "gate_config": "The gates in shipway.toml need fixing",
    "cancelled": "Cancelled",
    "project": "There is a problem with the project",
    "store": "The project database failed",
    "schema_version": "The project database needs another Shipway",
    "corrupt_object": "A stored object is damaged",
    "conflict": "This collides with existing work",
    "usage": "This is not possible as asked",
}


@dataclass(frozen=True)
class Explanation:
    """An error told for people: a title, sentences, and details to copy."""

    title: str
    text: str
    details: str
    expected: bool  # a ShipwayError (the engine said no) rather than a bug


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def describe(error: BaseException, context: str = "", trace: str | None = None) -> Explanation:
    """Turn an exception into a title, readable sentences and copyable details."""
    if trace is None:
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, ShipwayError):
        lines = [_sentence(error.message)]
        if error.where:
            lines.append(f"Where: {error.where}")
        if error.hint:
            lines.append(f"What to do: {_sentence(error.hint)}")
        title = _TITLES.get(error.code, "Shipway could not do this")
        expected = True
    else:
        name = type(error).__name__
        lines = [
            "An unexpected error stopped this action. Your project is unchanged unless the "
            "action had already finished a step.",
            f"{name}: {error}",
            "The details below help to find the cause; copy them into a bug report.",
        ]
        title = "Something went wrong"
        expected = False
    if context:
        title = f"{context}: {title[0].lower()}{title[1:]}"
    details = "\n".join(
        [
            title,
            *lines,
            "",
            f"Error code: {getattr(error, 'code', type(error).__name__)}",
            f"Python {platform.python_version()} on {platform.platform()}",
            "",
            trace.rstrip(),
        ]
    )
    return Explanation(title, "\n\n".join(lines), details, expected)


class ErrorDialog(QDialog):
    """A readable error with its details behind a button, and a way to copy them."""

    def __init__(self, explanation: Explanation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explanation = explanation
        self.setWindowTitle(explanation.title)
        self.setObjectName("ErrorDialog")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        title = QLabel(explanation.title)
        title.setProperty("role", "title")
        title.setWordWrap(True)
        self.message = QLabel(explanation.text)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPlainTextEdit(explanation.details)
        self.details.setReadOnly(True)
        self.details.setProperty("mono", True)
        self.details.setVisible(not explanation.expected)
        self.details.setMinimumHeight(180)
        layout.addWidget(title)
        layout.addWidget(self.message)
        layout.addWidget(self.details, 1)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        toggle = QPushButton("Hide details" if self.details.isVisible() else "Show details")
        toggle.clicked.connect(lambda: self._toggle(toggle))
        copy = QPushButton("Copy details")
        copy.clicked.connect(self.copy_details)
        box = plain_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Close))
        box.rejected.connect(self.reject)
        row.addWidget(toggle)
        row.addWidget(copy)
        row.addStretch(1)
        row.addWidget(box)
        return row

    def _toggle(self, button: QPushButton) -> None:
        self.details.setVisible(not self.details.isVisible())
        button.setText("Hide details" if self.details.isVisible() else "Show details")
        self.adjustSize()

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.explanation.details)


class ErrorChannel(QObject):
    """Collects errors from every thread and shows them on the GUI thread.

    ``history`` keeps every explanation shown (the tests read it); at most
    :data:`MAX_OPEN_DIALOGS` dialogs are open at once, so a failure that repeats on every
    repaint cannot bury the window in dialogs.
    """

    _arrived = Signal(object, str, str)
    shown = Signal(object)  # Explanation

    def __init__(self, parent_window: QWidget | None = None) -> None:
        super().__init__()
        self.parent_window = parent_window
        self.history: list[Explanation] = []
        self.dialogs: list[ErrorDialog] = []
        self._previous_hooks: tuple | None = None
        self._arrived.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def report(self, error: BaseException, context: str = "", trace: str | None = None) -> None:
        """Show ``error``; safe to call from any thread."""
        if trace is None:
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._arrived.emit(error, context, trace)

    def _show(self, error: BaseException, context: str, trace: str) -> None:
        explanation = describe(error, context, trace)
        self.history.append(explanation)
        self.dialogs = [d for d in self.dialogs if d.isVisible()]
        if len(self.dialogs) < MAX_OPEN_DIALOGS and not any(
            d.explanation.text == explanation.text for d in self.dialogs
        ):
            dialog = ErrorDialog(explanation, self.parent_window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.finished.connect(lambda _=0, d=dialog: self._forget(d))
            self.dialogs.append(dialog)
            dialog.open()
        self.shown.emit(explanation)

    def _forget(self, dialog: ErrorDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)

    # -- process-wide hooks ----------------------------------------------------------------

    def install_hooks(self) -> None:
        """Route uncaught exceptions of every thread here (``uninstall_hooks`` undoes it)."""
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall_hooks(self) -> None:
        if self._previous_hooks is not None:
            sys.excepthook, threading.excepthook = self._previous_hooks
            self._previous_hooks = None

    def _excepthook(self, kind, error, trace) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        text = "".join(traceback.format_exception(kind, error, trace))
        print(text, file=sys.stderr)
        self.report(error, "", text)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        print(text, file=sys.stderr)
        name = args.thread.name if args.thread is not None else "a background thread"
        self.report(args.exc_value, f"In {name}", text)
