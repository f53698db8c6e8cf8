"""Themes and icons: the light and dark style sheets, the palette under them, tinted SVG icons.

Style sheets live in ``resources/styles/{light,dark}.qss`` and icons in ``resources/icons/``.
Icons are drawn with ``stroke="currentColor"``; :func:`icon` replaces that colour with the
theme's text colour (and the selection's for selected items) before rendering, so one set of
SVG files serves both themes.

The style sheet is never set on the application. Qt re-polishes a changed *application*
style sheet by walking every styled widget and, from each, all of its descendants again (a
widget at depth *d* is polished *d* + 1 times), and pyqtgraph's hidden plot-option menus (about
forty widgets per plot, never shown) are polished with them: a second, or three while a
training worker shares the two cores. Instead the parts of the main window hold the sheet
(:meth:`ThemeManager.adopt`: menu bar, status bar, header, sidebar, each page), and a theme
change re-polishes the parts in sight at once; a hidden page gets the new sheet when it is next
shown. Dialogs made with the main window as parent are adopted as they are made
(:meth:`ThemeManager.adopt_dialogs`); a dialog made by a page inherits the page's sheet, and a
tooltip takes the sheet of the widget it describes.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

THEMES = ("light", "dark")


@dataclass(frozen=True)
class Colors:
    """The colours a theme uses outside its style sheet (palette, plots, tinted icons)."""

    window: str
    surface: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    selection: str
    good: str
    bad: str
    warning: str
    grid: str
    series: tuple[str, ...]


# Series colours: Okabe–Ito, readable for the common colour-vision deficiencies.
_LIGHT_SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#3d3d3d")
_DARK_SERIES = ("#56B4E9", "#E69F00", "#4cc9a0", "#e495c4", "#F0E442", "#ff8a5c", "#d0d0d0")

COLORS = {
    "light": Colors(
        window="#f4f5f7",
        surface="#ffffff",
        text="#1f2328",
        muted="#5c6673",
        border="#d5d9df",
        accent="#2458d3",
        accent_text="#ffffff",
        selection="#dce6fb",
        good="#1a7f37",
        bad="#c62828",
        warning="#9a6700",
        grid="#e3e6ea",
        series=_LIGHT_SERIES,
    ),
    "dark": Colors(
        window="#1c1f24",
        surface="#24282f",
        text="#e4e7eb",
        muted="#9aa3ae",
        border="#3a4049",
        accent="#5b8def",
        accent_text="#ffffff",
        selection="#2f4468",
        good="#4ac26b",
        bad="#ff6b6b",
        warning="#e3b341",
        grid="#343a42",
        series=_DARK_SERIES,
    ),
}


def resources_dir() -> Path:
    """The ``resources`` folder: inside a frozen (PyInstaller) app, beside the packages (a
    source checkout or an editable install), or where a wheel installs its data files
    (``<prefix>/share/shipway/resources``, see pyproject.toml)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    beside = Path(__file__).resolve().parents[1] / "resources"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "shipway" / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


class ThemeManager(QObject):
    """Applies a theme to the application and tells plots and icons when it changes."""

    changed = Signal(str)

    def __init__(self, name: str = "light") -> None:
        super().__init__()
        self.name = name if name in THEMES else "light"
        self._widgets: list[weakref.ref[QWidget]] = []  # what holds the style sheet
        self._parents: list[weakref.ref[QWidget]] = []  # whose new dialogs are adopted

    @property
    def colors(self) -> Colors:
        return COLORS[self.name]

    def adopt(self, widget: QWidget) -> None:
        """Style ``widget`` and everything in it with the theme, now if it is in sight (or
        has never been styled), else when it is next shown; and at every change."""
        if all(ref() is not widget for ref in self._widgets):
            self._widgets.append(weakref.ref(widget))
            widget.installEventFilter(self)
        if QApplication.instance() is not None and (widget.isVisible() or not widget.styleSheet()):
            _set_sheet(widget, _style_sheet(self.name))

    def adopt_dialogs(self, window: QWidget) -> None:
        """Adopt every dialog (or other window) made with ``window`` as its parent."""
        self._parents.append(weakref.ref(window))
        window.installEventFilter(self)

    def widgets(self) -> list[QWidget]:
        """The adopted widgets that still exist."""
        import shiboken6

        alive = [ref() for ref in self._widgets]
        alive = [w for w in alive if w is not None and shiboken6.isValid(w)]
        self._widgets = [weakref.ref(w) for w in alive]
        return alive

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Show and isinstance(watched, QWidget):
            if any(ref() is watched for ref in self._widgets):
                _set_sheet(watched, _style_sheet(self.name))  # hidden at the last change
        elif kind == QEvent.Type.ChildAdded and any(ref() is watched for ref in self._parents):
            child = event.child()
            if isinstance(child, QWidget) and child.isWindow():
                self.adopt(child)
        return False

    def apply(self, name: str | None = None) -> None:
        """Set the palette on the running QApplication and the style sheet on the adopted
        widgets in sight (the others get it when shown)."""
        if name is not None and name in THEMES:
            self.name = name
        app = QApplication.instance()
        if app is None:
            return
        sheet = _style_sheet(self.name)
        shown = [w for w in self.widgets() if w.isVisible()]
        if app.property("shipway_theme") == self.name and all(
            w.styleSheet() == sheet for w in shown
        ):
            return  # already in force: re-polishing every widget would only cost time
        app.setProperty("shipway_theme", self.name)
        if not app.property("shipway_fusion"):  # once: replacing a style in use can crash
            app.setStyle("Fusion")
            app.setProperty("shipway_fusion", True)
        app.setPalette(_palette(self.colors))
        for widget in shown:
            _set_sheet(widget, sheet)
        theme_changes().changed.emit(self.name)  # plots and tinted icons redraw themselves
        self.changed.emit(self.name)

    def toggle(self) -> None:
        self.apply("dark" if self.name == "light" else "light")


def _set_sheet(widget: QWidget, sheet: str) -> None:
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)


class _ThemeChanges(QObject):
    changed = Signal(str)


_changes: _ThemeChanges | None = None


def theme_changes() -> _ThemeChanges:
    """The application-wide "theme changed" signal; widgets connect their ``apply_theme``.

    Qt drops a connection when its receiving widget is destroyed, so a closed plot is never
    asked to redraw.
    """
    global _changes
    if _changes is None:
        _changes = _ThemeChanges()
    return _changes


def _palette(c: Colors) -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window,
        QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.surface,
        QPalette.ColorRole.AlternateBase: c.window,
        QPalette.ColorRole.Text: c.text,
        QPalette.ColorRole.Button: c.surface,
        QPalette.ColorRole.ButtonText: c.text,
        QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.accent_text,
        QPalette.ColorRole.ToolTipBase: c.surface,
        QPalette.ColorRole.ToolTipText: c.text,
        QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.Mid: c.border,
    }
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(c.muted))
    return palette


@cache
def _style_sheet(name: str) -> str:
    """The theme's style sheet, its ``@ICONS@`` placeholders pointing at resources/icons."""
    path = resource("styles", f"{name}.qss")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return text.replace("@ICONS@", resource("icons").as_posix())


def set_style_property(widget, name: str, value: object) -> None:
    """Change a property the style sheet selects on, and have the widget drawn anew.

    The usual ``widget.style().unpolish(widget)`` makes PySide wrap the style object, and a
    later style change leaves that wrapper dangling (a crash); re-setting the widget's own
    (empty) style sheet repolishes it without touching the style object.
    """
    widget.setProperty(name, value)
    widget.setStyleSheet(f"/* {name}={value} */")


def current_colors() -> Colors:
    """The colours of the theme in force (light when no theme was applied)."""
    app = QApplication.instance()
    name = app.property("shipway_theme") if app is not None else None
    return COLORS.get(name or "light", COLORS["light"])


def icon(name: str, on_accent: bool = False) -> QIcon:
    """The icon ``resources/icons/NAME.svg`` tinted for the current theme.

    ``on_accent`` tints it for an accent-coloured background (a primary button).
    """
    colors = current_colors()
    normal = colors.accent_text if on_accent else colors.text
    return _icon_cache(name, normal, colors.accent_text)


class _IconKeeper(QObject):
    """Re-tints its parent's icon when the theme changes; dies (and disconnects) with it."""

    def __init__(self, target: QObject, name: str, on_accent: bool) -> None:
        super().__init__(target)
        self._name, self._on_accent = name, on_accent
        theme_changes().changed.connect(self.refresh)
        self.refresh()

    def refresh(self, _theme: str = "") -> None:
        self.parent().setIcon(icon(self._name, self._on_accent))


def keep_icon(widget: QObject, name: str, on_accent: bool = False) -> None:
    """Give ``widget`` (a button or action) an icon that follows the theme."""
    _IconKeeper(widget, name, on_accent)


@cache
def _icon_cache(name: str, color: str, selected_color: str) -> QIcon:
    path = resource("icons", f"{name}.svg")
    if not path.is_file():
        return QIcon()
    svg = path.read_text(encoding="utf-8")
    result = QIcon()
    for size in (16, 20, 24, 32, 48):
        result.addPixmap(_render(svg, color, size), QIcon.Mode.Normal)
        result.addPixmap(_render(svg, selected_color, size), QIcon.Mode.Selected)
        result.addPixmap(_render(svg, "#8a929c", size), QIcon.Mode.Disabled)
    return result


def _render(svg: str, color: str, size: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color).encode("utf-8")))
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap
