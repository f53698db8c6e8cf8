"""The run form's "Decision threshold" field: a binary classifier's operating point rule.

The rule (``min_precision=0.9``, ``min_recall=0.8``, ``cost_fp=1,cost_fn=5``) is for a binary
classifier only: the field is enabled when the task is classification and the target column's
profile counts two classes, else disabled with a tooltip saying why. Its text is checked as it
is typed by the engine's own rule parser (``RunsService.threshold_rule``), whose message shows
under the field; a bad rule keeps Start run from starting anything, and a good one reaches the
request as a table (``{"min_precision": 0.9}``). Empty: the estimator's own labels, or
shipway.toml's ``[evaluation] threshold`` where the target is binary.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from core.entities import DatasetVersion
from core.errors import ShipwayError
from core.services import RunsService

WHERE = "Decision threshold"
TIP = (
    "Where a false alarm and a miss do not cost the same, pick the binary classifier's operating "
    "point: min_precision=P (the highest recall with precision ≥ P), min_recall=R (the highest "
    "precision with recall ≥ R) or cost_fp=A,cost_fn=B (the lowest cost). It is chosen on the "
    "test rows, marked on the precision/recall curve and used by the served model. Empty: the "
    "estimator's own labels (or shipway.toml's [evaluation] threshold)."
)


def refusal(version: DatasetVersion | None, target: str, task: str) -> str:
    """Why ``target`` can have no decision threshold ("" when it can)."""
    if version is None or not target:
        return "Choose a data version and a target first."
    if task != "classification":
        return f"Only a binary classifier has a decision threshold; this is a {task} task."
    classes = version.profile.get(target, {}).get("distinct")
    if classes != 2:
        counted = "an unknown number of" if classes is None else str(classes)
        return (
            f"Only a binary classifier has a decision threshold; {target!r} has {counted} classes."
        )
    return ""


def problem_text(error: ShipwayError) -> str:
    """The parser's message and what to do, as two sentences (the field says where). The
    message keeps its case: it may start with a rule's key (``min_precision 1.5 is …``)."""
    message, hint = error.message, error.hint or ""
    text = f"{message}."
    return f"{text} {hint[:1].upper()}{hint[1:]}." if hint else text


class ThresholdField(QWidget):
    """A line for the rule and, under it, what is wrong with it."""

    def __init__(self) -> None:
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("e.g. min_precision=0.9 (empty: none)")
        self.edit.setClearButtonEnabled(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setProperty("role", "error")
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        layout.addWidget(self.problem)
        self.edit.textChanged.connect(lambda _: self.check())
        self.allow("Choose a data version and a target first.")

    def allow(self, why_not: str) -> None:
        """Enable the field (``why_not`` empty) or disable it, saying why in its tooltip."""
        self.edit.setEnabled(not why_not)
        self.edit.setToolTip(why_not or TIP)
        self.check()

    def rule(self) -> dict[str, float] | None:
        """The rule typed (None when empty or disabled); raises ValueError saying what is wrong."""
        if not self.edit.isEnabled():
            return None
        try:
            return RunsService.threshold_rule(self.edit.text().strip(), WHERE)
        except ShipwayError as error:
            raise ValueError(f"{WHERE}: {problem_text(error)}") from error

    def check(self) -> None:
        """Show under the field what is wrong with the rule typed (nothing when it is fine)."""
        try:
            self.rule()
            text = ""
        except ValueError as error:
            text = str(error).removeprefix(f"{WHERE}: ")
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
