"""The main window: the start page, or an open project's shell; menus, shortcuts, status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.services import Workspace
from desktop import demo, help_dialogs
from desktop.context import AppContext
from desktop.jobs_bar import JobsBar
from desktop.notices import Notifier
from desktop.pages import PAGES
from desktop.service_watch import ServiceIndicator
from desktop.session import ProjectSession
from desktop.shell import ProjectShell
from desktop.start_page import StartPage
from desktop.theme import keep_icon, resource
from desktop.traffic import TrafficGenerator
from desktop.widgets.common import Banner, plural
from desktop.widgets.dialogs import ask

STOP_WAIT_S = 20.0


class MainWindow(QMainWindow):
    """One window; it holds at most one open project (a :class:`Workspace`) at a time."""

    def __init__(
        self, context: AppContext, workspace: Workspace | None = None, own_workspace: bool = True
    ) -> None:
        """``own_workspace=False`` leaves a given workspace open when the window closes."""
        super().__init__()
        self.context = context
        self.workspace: Workspace | None = None
        self.session: ProjectSession | None = None
        self._owned = own_workspace
        self.forced_quit = False  # SIGTERM/SIGINT: stop work without asking
        context.errors.parent_window = self
        self.setWindowTitle("Shipway")
        self.setWindowIcon(QIcon(str(resource("icons", "shipway.svg"))))
        self.resize(1280, 800)
        context.settings.restore_geometry(self)
        self.start = StartPage(context.settings)
        self.shell = ProjectShell(context)
        self.central = QStackedWidget()
        self.central.addWidget(self.start)
        self.central.addWidget(self.shell)
        self.banner = Banner()  # what the project's workspace warns about (a network share…)
        self.notice_banner = Banner()  # the always-on service's notices, where no tray is
        self.notifier: Notifier | None = None
        frame = QWidget()
        column = QVBoxLayout(frame)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.notice_banner)
        column.addWidget(self.central, 1)
        self.setCentralWidget(frame)
        self.jobs = JobsBar(context.runner)
        self.service = ServiceIndicator(context, self.jobs)
        self.traffic_label = QLabel()
        self.traffic_label.setProperty("muted", True)
        self.traffic_label.hide()
        self.statusBar().addPermanentWidget(self.traffic_label)
        self.statusBar().addPermanentWidget(self.jobs)
        self.statusBar().addPermanentWidget(self.service)
        self._build_actions()
        self._connect()
        self._adopt_theme()
        if workspace is not None:
            self.show_workspace(workspace, own_workspace)
        else:
            self._show_start()

    def _adopt_theme(self) -> None:
        """The parts that hold the style sheet (see :mod:`desktop.theme`): a theme change
        re-polishes those in sight; a hidden page is restyled when next shown."""
        theme = self.context.theme
        parts = (self.menuBar(), self.statusBar(), self.banner, self.notice_banner, self.start)
        for part in (*parts, self.shell.header, self.shell.sidebar, *self.shell.pages):
            theme.adopt(part)
        theme.adopt_dialogs(self)

    # -- actions and menus -------------------------------------------------------------------

    def _action(self, text: str, slot, keys: str | None = None, icon_name: str | None = None):
        action = QAction(text, self)
        if keys:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        if icon_name:
            keep_icon(action, icon_name)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.new_action = a("&New project…", self.new_project, "Ctrl+N", "new")
        self.open_action = a("&Open project…", self.choose_project, "Ctrl+O", "open")
        self.demo_action = a("Open the &demo", self.open_demo, None, "demo")
        self.close_action = a("&Close project", self.close_project, "Ctrl+W", "close")
        self.quit_action = a("&Quit", self.close, "Ctrl+Q")
        self.import_action = a("&Import data…", self.import_data, "Ctrl+I", "import")
        self.run_action = a("Start &run", self.start_run, "Ctrl+R", "run")
        self.refresh_action = a("&Refresh", self.refresh, "F5", "refresh")
        self.settings_action = a("Project &settings…", self.project_settings, "Ctrl+,")
        self.theme_action = a("Dark &theme", self.toggle_theme, "Ctrl+Shift+T", "theme")
        self.theme_action.setCheckable(True)
        self.theme_action.setChecked(self.context.theme.name == "dark")
        self.page_actions = [
            a(f"{page.title}", lambda _=False, k=page.key: self.show_page(k), f"Ctrl+{n}")
            for n, page in enumerate(PAGES, start=1)
        ]
        help_dialogs.fill_menus(self)

    def _connect(self) -> None:
        start = self.start
        start.new_requested.connect(self.new_project)
        start.open_requested.connect(self.choose_project)
        start.demo_requested.connect(self.open_demo)
        start.recent_chosen.connect(self.open_project)
        events = self.context.events
        events.navigate.connect(self.show_page)
        events.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.context.theme.changed.connect(self._theme_changed)

    def _project_actions_enabled(self, enabled: bool) -> None:
        actions = (self.close_action, self.import_action, self.run_action, self.settings_action)
        for action in (*actions, *self.page_actions):
            action.setEnabled(enabled)

    # -- opening and closing projects ----------------------------------------------------------

    def _show_start(self) -> None:
        self.banner.hide()
        self.start.reload()
        self.central.setCurrentWidget(self.start)
        self.setWindowTitle("Shipway")
        self._project_actions_enabled(False)

    def show_workspace(self, workspace: Workspace, owned: bool | None = None) -> None:
        """Show an open workspace (the window takes it over and closes it later)."""
        self.workspace = workspace
        self._owned = True if owned is None else owned
        info = workspace.project.info()
        self.context.settings.add_recent(info.path)
        self.shell.header.show_info(info)
        self.setWindowTitle(f"{info.name} — Shipway")
        for page in self.shell.pages:
            page.set_workspace(workspace)
        self.central.setCurrentWidget(self.shell)
        self._project_actions_enabled(True)
        self.session = ProjectSession(self.context, workspace, self, self.banner)
        self.session.start()
        self.notifier = Notifier(self.context, workspace, self.notice_banner, self)
        self.notifier.read_setting()
        self.session.watcher.noticed.connect(self.notifier.take)
        self.service.set_workspace(workspace)
        self.statusBar().showMessage(f"Opened {info.name}", 5000)
        if self.context.warm_workers:
            self._warm(workspace)

    def _warm(self, workspace: Workspace) -> None:
        """Start a training worker now: its imports take seconds the first run should not wait."""

        def warm(_progress, _cancel) -> None:
            executor = workspace.runs.executor()
            if hasattr(executor, "warm"):
                executor.warm(1)

        self.context.runner.submit("Starting a training worker", warm, quiet=True)

    def open_project(self, folder: str | Path) -> None:
        if not self.close_project():
            return
        self.statusBar().showMessage(f"Opening {folder}…")
        self.context.runner.submit(
            f"Opening {Path(folder).name}",
            lambda _p, _c: Workspace.open(Path(folder)),
            on_success=self.show_workspace,
            on_failure=lambda error, trace: self._open_failed(error, trace, folder),
        )

    def _open_failed(self, error: BaseException, trace: str, folder: str | Path) -> None:
        self.statusBar().clearMessage()
        self.context.errors.report(error, f"Opening {folder}", trace)
        self.start.reload()

    def choose_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a Shipway project")
        if folder:
            self.open_project(folder)

    def new_project(self) -> None:
        from desktop.wizard.wizard import NewProjectWizard

        wizard = NewProjectWizard(self.context, self)
        wizard.project_created.connect(self.open_project)
        wizard.open()
        self.wizard = wizard

    def open_demo(self):
        """Build (or reopen) the demo in the background, then open it with traffic flowing."""
        if not self.close_project():
            return None
        folder = demo.demo_folder()
        self.statusBar().showMessage("Preparing the demo project…")
        task = self.context.runner.submit(
            "Preparing the demo",
            lambda progress, cancel: demo.open_demo(folder, progress, cancel),
            on_success=self._demo_ready,
            on_failure=self._demo_failed,
        )
        self.start.show_task(task)
        return task

    def _demo_ready(self, answer) -> None:
        workspace, project = answer
        self.show_workspace(workspace)
        if project.deployment is not None and self.session is not None:
            self.context.started_deployments.add(project.deployment.id)
            traffic = TrafficGenerator.from_csv(
                project.deployment.url, demo.demo_data(), demo.DEMO_TARGET
            )
            self.session.start_traffic(traffic, self.traffic_label)
        self.show_page("monitoring")

    def _demo_failed(self, error: BaseException, trace: str) -> None:
        self.statusBar().clearMessage()
        self.context.errors.report(error, "Preparing the demo", trace)
        self.start.reload()

    def close_project(self) -> bool:
        """Close the open project (asking first if work runs); False when the user declines."""
        if self.workspace is None:
            return True
        session = self.session
        if not self._confirm_jobs():
            return False
        deployments = session.ask_about_deployments(self.forced_quit) if session else "keep"
        if deployments is None:
            return False
        if session is not None:
            session.stop_background()
        self.service.set_workspace(None)
        if self.notifier is not None:
            self.notifier.close()
            self.notifier = None
        self.notice_banner.hide()
        self._stop_jobs()
        if session is not None:
            session.stop_deployments(deployments)
        workspace, self.workspace, self.session = self.workspace, None, None
        for page in self.shell.pages:
            page.set_workspace(None)
        if self._owned:
            workspace.close()
        self._show_start()
        return True

    def _confirm_jobs(self) -> bool:
        jobs = self.context.runner.tasks()
        return not jobs or self.forced_quit or self.confirm_stop([t.title for t in jobs])

    def _stop_jobs(self) -> None:
        runner = self.context.runner
        runner.cancel_all()
        if runner.tasks(include_quiet=True):
            self.statusBar().showMessage("Stopping background work…")
            runner.wait(STOP_WAIT_S)

    def confirm_stop(self, titles: list[str]) -> bool:
        """Ask whether running jobs may be cancelled (tests replace this method)."""
        listed = "\n".join(f"• {title}" for title in titles[:8])
        return ask(
            self,
            "Work is still running",
            f"{plural(len(titles), 'background job')} "
            f"{'is' if len(titles) == 1 else 'are'} still running:\n\n{listed}\n\n"
            "Cancel them and close? A cancelled import stores nothing; a cancelled run is "
            "recorded as cancelled.",
            yes="Cancel them and close",
            no="Keep working",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_project():
            event.ignore()
            return
        self.context.runner.shutdown(STOP_WAIT_S)
        self.context.settings.save_geometry(self)
        event.accept()

    # -- commands ------------------------------------------------------------------------------

    def show_page(self, key: str):
        if self.workspace is None:
            return None
        return self.shell.show_page(key)

    def import_data(self) -> None:
        page = self.show_page("data")
        if page is not None:
            page.choose_files()

    def start_run(self) -> None:
        """Ctrl+R: start the run the Experiments page's New run form describes."""
        page = self.show_page("experiments")
        if page is not None:
            page.start_from_form()

    def project_settings(self):
        """Project → Settings…: monitoring rules, the service, notifications (settings_dialog)."""
        from desktop.settings_dialog import ProjectSettingsDialog

        if self.workspace is None:
            return None
        dialog = ProjectSettingsDialog(self.context, self.workspace, self)
        if self.session is not None:
            dialog.saved.connect(self.session.show_warnings)
        if self.notifier is not None:
            dialog.saved.connect(self.notifier.read_setting)
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def refresh(self) -> None:
        if self.workspace is not None:
            self.shell.current_page.refresh()
        else:
            self.start.reload()

    def toggle_theme(self) -> None:
        self.context.theme.apply("dark" if self.theme_action.isChecked() else "light")
        self.context.settings.theme = self.context.theme.name

    def _theme_changed(self, name: str) -> None:
        self.theme_action.setChecked(name == "dark")
