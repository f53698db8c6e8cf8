"""What the app remembers between sessions (QSettings): recent projects, geometry, theme.

These are preferences of one person on one machine, so they live in the user's settings store
(an INI file under the user's configuration folder), never in a project's shipway.toml.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QWidget

MAX_RECENT = 10
ORGANISATION = "Shipway"
APPLICATION = "Shipway desktop"


class AppSettings:
    """A thin, typed layer over QSettings.

    Parameters
    ----------
    store
        The QSettings to use; by default the user's INI file for Shipway. Tests pass one
        pointing into a temporary folder.
    """

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store or QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
        )

    # -- recent projects -------------------------------------------------------------------

    def recent_projects(self) -> list[str]:
        value = self._store.value("recent/projects", [])
        if isinstance(value, str):  # QSettings hands back a lone string for one entry
            value = [value]
        return [str(item) for item in (value or []) if item]

    def add_recent(self, folder: Path | str) -> None:
        path = str(Path(folder).expanduser().resolve())
        items = [path, *(p for p in self.recent_projects() if p != path)]
        self._store.setValue("recent/projects", items[:MAX_RECENT])
        self._store.sync()

    def remove_recent(self, folder: str) -> None:
        items = [p for p in self.recent_projects() if p != folder]
        self._store.setValue("recent/projects", items)
        self._store.sync()

    # -- window and theme ------------------------------------------------------------------

    def save_geometry(self, window: QWidget) -> None:
        self._store.setValue("window/geometry", window.saveGeometry())
        self._store.sync()

    def restore_geometry(self, window: QWidget) -> bool:
        value = self._store.value("window/geometry")
        if isinstance(value, QByteArray | bytes) and value:
            return bool(window.restoreGeometry(QByteArray(value)))
        return False

    @property
    def theme(self) -> str:
        return str(self._store.value("window/theme", "light"))

    @theme.setter
    def theme(self, name: str) -> None:
        self._store.setValue("window/theme", name)
        self._store.sync()

    def value(self, key: str, default: object = None) -> object:
        return self._store.value(key, default)

    def set_value(self, key: str, value: object) -> None:
        self._store.setValue(key, value)
