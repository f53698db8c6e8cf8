"""What the Models page does with a version's data contract and segments: edit the contract
(a dialog that saves through ``ws.registry.edit_contract``), check it against a data set
version (``ws.registry.check_contract``), and read the metrics per segment
(``ws.registry.segments``) once the version's detail is shown.

Every engine call runs off the GUI thread (``context.runner``); the page reads the version's
detail again after an edit, so the table, the model card and the ``Edited`` note all agree.
"""

from __future__ import annotations

from typing import Any

from desktop.errors import describe
from desktop.pages.models.contract_edit import ContractEditDialog


class ContractActionsMixin:
    """Mixed into ModelsPage (which provides workspace, context, detail, status, fetch)."""

    def edit_contract(self) -> ContractEditDialog | None:
        """Open the contract editor for the shown version (non-modal)."""
        stored, workspace = self.detail.contract.stored, self.workspace
        if stored is None or workspace is None:
            return None
        dialog = ContractEditDialog(self.context, workspace, stored, self)
        dialog.saved.connect(self._contract_saved)
        dialog.open()
        self.contract_dialog = dialog
        return dialog

    def _contract_saved(self, stored: Any) -> None:
        self.status(f"Saved the data contract of {stored.ref}")
        if self.detail.version is not None and self.detail.version.ref == stored.ref:
            self.detail.contract.show_contract(
                stored, self.detail.detail.datasets, self.detail.contract.dataset.currentText()
            )
        self.reload_detail()  # the card shows the contract too

    def check_contract(self, dataset_ref: str | None = None):
        """Check the shown version's contract against a data set version, in the background."""
        view, workspace = self.detail.contract, self.workspace
        ref = view.stored.ref if view.stored is not None else None
        dataset_ref = dataset_ref or view.dataset.currentText()
        if ref is None or workspace is None or not dataset_ref:
            return None
        view.checking(dataset_ref)

        def done(check) -> None:
            view.checked()
            if view.stored is not None and view.stored.ref == ref:
                view.show_check(check)

        def failed(error: BaseException, trace: str) -> None:
            view.checked()
            explanation = describe(error)
            if view.stored is not None and view.stored.ref == ref:
                view.show_problem(explanation.text)
            if not explanation.expected:
                self.context.errors.report(error, f"Checking the contract of {ref}", trace)

        return self.context.runner.submit(
            f"Checking {dataset_ref} against the contract of {ref}",
            lambda _p, _c: workspace.registry.check_contract(ref, dataset_ref),
            on_success=done,
            on_failure=failed,
            owner=self,
        )

    def load_segments(self, ref: str):
        """Read the metrics per segment of ``ref`` (seconds: the model and test rows load)."""
        view = self.detail.segments
        view.reading(ref)
        self._segment_reads += 1
        asked = self._segment_reads

        def current() -> bool:  # the newest read, of the version shown
            shown = self.detail.version
            return asked == self._segment_reads and shown is not None and shown.ref == ref

        def show(found) -> None:
            if current():
                view.show_segments(found)

        def failed(error: BaseException, trace: str) -> None:
            explanation = describe(error)
            if current():
                view.show_problem(explanation.text)
            if not explanation.expected:
                self.context.errors.report(error, f"Reading the segments of {ref}", trace)

        return self.fetch(lambda ws: ws.registry.segments(ref), show, on_failure=failed)
