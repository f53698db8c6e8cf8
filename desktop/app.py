"""``shipway-desktop [PROJECT_DIR] [--demo]``: the application entry point."""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from core.services import find_project_root


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipway-desktop", description="Shipway desktop app")
    parser.add_argument("project", nargs="?", help="project folder to open")
    parser.add_argument(
        "--demo", action="store_true", help="open a ready project on the bundled demo data"
    )
    parser.add_argument(
        "--theme", choices=("light", "dark"), help="use this theme (and remember it)"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, walk every page, run import → train → register → deploy → "
        "predict → drift in a temporary project, print each check; exit 0 or 1",
    )
    return parser


def self_test() -> int:
    """Open the window offscreen, walk every page, run a tiny loop; see desktop/self_test.py."""
    from desktop.self_test import run_self_test

    return run_self_test()


def _project_from_environment() -> str | None:
    try:
        return str(find_project_root())
    except Exception:  # no project here: show the start page
        return None


class SignalStop:
    """SIGINT/SIGTERM close the window without asking (cancelling work), then quit.

    Installed first thing, before Qt and the window exist: a signal that comes while the app
    starts (a session ending, a test, a service manager) would otherwise find Python's default
    action and kill the app mid-start. Such a signal is remembered and the app quits as soon as
    its event loop runs. Python runs signal handlers only between bytecodes; a timer gives it
    that chance while Qt's event loop runs in C++.
    """

    def __init__(self) -> None:
        self.window = None
        self.asked = False
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def attach(self, app, window) -> None:
        """Tick the loop for the handler, and stop ``window`` from now on (at once if asked)."""
        from PySide6.QtCore import QTimer

        self.window = window
        ticker = QTimer(app)
        ticker.setInterval(200)
        ticker.timeout.connect(lambda: None)
        ticker.start()
        if self.asked:
            self.stop()

    def stop(self, *_: object) -> None:
        self.asked = True
        if self.window is None:
            return  # not started yet: attach() stops it
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        self.window.forced_quit = True
        self.window.close()
        app = QApplication.instance()
        if app is not None:
            QTimer.singleShot(0, app.quit)  # runs once the event loop does, if it does not yet


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:
        return self_test()
    stopper = SignalStop()
    from PySide6.QtWidgets import QApplication

    from desktop.context import make_context
    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Shipway")
    app.setApplicationName("Shipway desktop")
    app.setApplicationDisplayName("Shipway")
    app.setDesktopFileName("shipway")
    context = make_context()
    if args.theme:
        context.settings.theme = args.theme
        context.theme.name = args.theme
    context.theme.apply()
    context.errors.install_hooks()
    window = MainWindow(context)
    window.show()
    stopper.attach(app, window)
    folder = args.project or (None if args.demo else _project_from_environment())
    if stopper.asked:
        pass  # stopped while starting: open nothing, the loop quits at once
    elif args.demo:
        window.open_demo()
    elif folder:
        window.open_project(Path(folder))
    try:
        code = app.exec()
    finally:
        context.errors.uninstall_hooks()
    return _exit_even_if_stuck(context, code)


def _exit_even_if_stuck(context, code: int) -> int:
    """Return the exit code; if background work ignored Cancel, end the process anyway.

    The window already waited for every task and closed the project (its worker processes are
    stopped). A pool thread still running would make Qt's thread pool wait for it forever at
    interpreter exit, so the process ends here instead of hanging.
    """
    import os

    stuck = context.runner.tasks(include_quiet=True)
    if not stuck:
        return code
    names = ", ".join(task.title for task in stuck)
    print(f"shipway-desktop: exiting although {names} did not stop", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    multiprocessing.freeze_support()
    sys.exit(main())
