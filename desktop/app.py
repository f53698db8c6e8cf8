"""``shipway-desktop [PROJECT_DIR]``: the application entry point.

This first release shows a project and its data sets; the full shell (sidebar, background jobs,
wizard, experiments, models, deployments, monitoring) builds on it.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from core.services import Workspace, find_project_root


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipway-desktop", description="Shipway desktop app")
    parser.add_argument("project", nargs="?", help="project folder to open")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, check Qt, fonts and the engine, then exit",
    )
    return parser


def self_test() -> int:
    """Check that Qt starts, fonts exist and a project can be created; print and exit."""
    import os
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QFontDatabase
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    families = QFontDatabase.families()
    with tempfile.TemporaryDirectory() as folder, Workspace.create(Path(folder) / "t") as ws:
        window = MainWindow(ws)
        window.show()
        app.processEvents()
        window.close()
    ok = bool(families)
    print(f"qt ok; fonts {len(families)}; engine ok; {'PASS' if ok else 'FAIL: no fonts'}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:
        return self_test()
    from PySide6.QtWidgets import QApplication, QFileDialog

    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Shipway")
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    folder = args.project
    if folder is None:
        try:
            folder = str(find_project_root())
        except Exception:
            folder = QFileDialog.getExistingDirectory(None, "Open a Shipway project")
    if not folder:
        return 0
    with Workspace.open(Path(folder)) as workspace:
        window = MainWindow(workspace)
        window.show()
        return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
