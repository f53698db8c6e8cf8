"""The Help menu's dialogs: keyboard shortcuts and About."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

SHORTCUTS = [
    ("Ctrl+N", "New project"),
    ("Ctrl+O", "Open project"),
    ("Ctrl+I", "Import data"),
    ("Ctrl+R", "New run"),
    ("Ctrl+1 … Ctrl+6", "Data, Experiments, Compare, Models, Deployments, Monitoring"),
    ("F5", "Refresh the page"),
    ("Ctrl+Shift+T", "Light or dark theme"),
    ("Ctrl+W / Ctrl+Q", "Close project / quit"),
]


def show_shortcuts(parent: QWidget) -> None:
    text = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{text}</table>")


def show_about(parent: QWidget) -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("shipway")
    except PackageNotFoundError:
        number = "development"
    QMessageBox.about(
        parent,
        "About Shipway",
        f"<b>Shipway {number}</b><br>A desktop MLOps studio for small teams: versioned "
        "data, tracked experiments, gated promotion, local serving and drift monitoring.",
    )
