"""What the Experiments page does with chosen runs: reproduce, register, compare, export."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog

MAX_COMPARE = 10


class RunActionsMixin:
    """Mixed into ExperimentsPage (which provides workspace, context, status, selected_ids)."""

    def reproduce_run(self, run_id: int) -> None:
        workspace = self.workspace
        if workspace is None:
            return

        def done(answer) -> None:  # a Reproduction
            verdict = "identical metrics" if answer.identical else "different metrics"
            self.status(f"Run #{answer.run} reproduces #{run_id}: {verdict}")
            self.context.events.runs_changed.emit()

        self.context.runner.submit(
            f"Reproducing run #{run_id}",
            lambda progress, cancel: workspace.runs.reproduce(run_id, progress, cancel),
            on_success=done,
            owner=self,
        )
        self._refresh_soon.start()

    def register_run(self, run_id: int) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        default = workspace.project.info().name.lower().replace(" ", "-")
        question = f"Register run #{run_id} as a version of the model named:"
        name, ok = QInputDialog.getText(self, "Register a model version", question, text=default)
        if not ok or not name.strip():
            return

        def registered(version) -> None:
            self.status(f"Registered run #{run_id} as {version.ref} (see the Models page)")
            self.context.events.models_changed.emit()

        return self.context.runner.submit(
            f"Registering run #{run_id}",
            lambda _p, _c: workspace.lifecycle.register(run_id, name.strip()),
            on_success=registered,
            owner=self,
        )

    def compare_selected(self) -> None:
        ids = self.selected_ids()
        if not 2 <= len(ids) <= MAX_COMPARE:
            self.status("Select 2 to 10 runs (Ctrl+click or Shift+click) to compare them.")
            return
        self.context.events.compare_requested.emit(ids)
        self.context.events.navigate.emit("compare")

    def export_runs(self) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Export runs", "runs.csv", "CSV (*.csv)")
        if target:
            self.context.runner.submit(
                "Exporting runs",
                lambda _p, _c: workspace.runs.export(target),
                on_success=lambda path: self.status(f"Exported the runs to {path}"),
                owner=self,
            )
