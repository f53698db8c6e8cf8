"""The menu bar of the main window, and the Help menu's dialogs (shortcuts, About)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.widgets.dialogs import inform

SHORTCUTS = [
    ("Ctrl+N", "New project"),
    ("Ctrl+O", "Open project"),
    ("Ctrl+I", "Import data"),
    ("Ctrl+R", "Start a run (the New run form's settings)"),
    ("Ctrl+1 … Ctrl+6", "Data, Experiments, Compare, Models, Deployments, Monitoring"),
    ("F5", "Refresh the page"),
    ("Ctrl+,", "Project settings (monitoring rules)"),
    ("Ctrl+Shift+T", "Light or dark theme"),
    ("Ctrl+W / Ctrl+Q", "Close project / quit"),
]


def show_shortcuts(parent: QWidget) -> None:
    text = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    inform(parent, "Keyboard shortcuts", f"<table>{text}</table>", icon_name="")


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


def fill_menus(window) -> None:
    """File, Project, View and Help, from the window's actions."""
    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    for item in (window.new_action, window.open_action, window.demo_action, None):
        file_menu.addAction(item) if item else file_menu.addSeparator()
    for item in (window.close_action, window.quit_action):
        file_menu.addAction(item)
    project = menus.addMenu("&Project")
    for item in (window.import_action, window.run_action, window.refresh_action, None):
        project.addAction(item) if item else project.addSeparator()
    project.addAction(window.settings_action)
    view = menus.addMenu("&View")
    for item in window.page_actions:
        view.addAction(item)
    view.addSeparator()
    view.addAction(window.theme_action)
    help_menu = menus.addMenu("&Help")
    help_menu.addAction("Keyboard shortcuts", lambda: show_shortcuts(window))
    help_menu.addAction("About Shipway", lambda: show_about(window))
