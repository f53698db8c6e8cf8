"""The Challenger tab of a deployment: set one beside the served model, compare, promote.

A challenger is another version of the same model that answers the same question (same task,
input columns and classes; the engine refuses anything else and names the differences). In
**shadow** mode it scores every request unseen; in **split** mode it answers the chosen share
of requests, by a stable hash of the request or of a sticky column's value. Setting or removing
one takes effect in the running servers within a second, without a restart. The comparison is
read in the background while the tab is shown (:class:`ComparisonView`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from core.services import ChallengerConfig
from desktop.pages.common.challenger_view import ComparisonView
from desktop.widgets.common import heading, icon_button, muted


class ChallengerTab(QWidget):
    """The form that sets a challenger, and the comparison with it."""

    def __init__(self) -> None:
        super().__init__()
        self.version = QComboBox()
        self.version.setMinimumWidth(160)
        self.version.setToolTip("Another version of the served model (M@V or M@ALIAS)")
        self.mode = QComboBox()
        self.mode.addItem("shadow", "shadow")
        self.mode.addItem("split", "split")
        self.mode.setToolTip(
            "shadow: the challenger scores every request and never answers;\n"
            "split: it answers the share of the requests set beside"
        )
        self.share = QDoubleSpinBox()
        self.share.setRange(0.0, 100.0)
        self.share.setValue(10.0)
        self.share.setSuffix(" %")
        self.sticky = QLineEdit()
        self.sticky.setPlaceholderText("sticky column (optional)")
        self.sticky.setToolTip("Split by this column's value: one key always gets one side")
        self.set_button = icon_button("Set challenger", "compare", tip="Takes effect at once")
        self.remove_button = icon_button("Remove", "cancel", tip="The champion alone again")
        form = QHBoxLayout()
        for widget in (QLabel("Challenger"), self.version, self.mode, self.share, self.sticky):
            form.addWidget(widget)
        form.addWidget(self.set_button)
        form.addWidget(self.remove_button)
        form.addStretch(1)
        self.comparison = ComparisonView()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(muted(
            "The challenger never delays or breaks an answer: a slow or failing one is cut off "
            "and the champion answers (counted in /metrics, and an alert)."))  # fmt: skip
        layout.addWidget(heading("Champion against challenger, live"))
        layout.addWidget(self.comparison)
        layout.addStretch(1)
        self.mode.currentIndexChanged.connect(lambda _: self._mode_changed())
        self._mode_changed()

    def _mode_changed(self) -> None:
        split = self.mode.currentData() == "split"
        self.share.setEnabled(split)
        self.sticky.setEnabled(split)

    def set_choices(self, refs: list[str], current: str | None) -> None:
        """Versions and aliases of the served model to choose from."""
        self.version.clear()
        self.version.addItems(refs)
        if current in refs:
            self.version.setCurrentText(current)
        self.set_button.setEnabled(bool(refs))

    def config(self) -> ChallengerConfig:
        """What the form says (the engine checks it: a bad share or schema is refused)."""
        return ChallengerConfig(
            ref=self.version.currentText(),
            mode=self.mode.currentData(),
            share=self.share.value(),
            sticky=self.sticky.text().strip() or None,
        )

    def show_state(self, info: Any, found: dict[str, Any] | None) -> None:
        """The deployment's challenger (``ChallengerInfo`` or None) and its comparison."""
        self.remove_button.setEnabled(info is not None)
        if info is not None:
            self.version.setCurrentText(f"{info.model}@{info.version}")
            self.mode.setCurrentIndex(self.mode.findData(info.mode))
            self.share.setValue(info.share)
            self.sticky.setText(info.sticky or "")
        self.comparison.show_comparison(found)


def read_challenger(ws, deployment_id: str) -> tuple[Any, dict[str, Any] | None, list[str]]:
    """In the background: the challenger, its comparison, and the refs it could be."""
    deployment = ws.deployments.get(deployment_id)
    info = ws.deployments.challenger(deployment_id)
    found = None
    if info is not None and deployment.status == "running":
        found = ws.monitoring.compare_challenger(deployment_id).to_dict()
    model = next(m for m in ws.registry.models() if m.name == deployment.model)
    refs = [f"{model.name}@{alias}" for alias in sorted(model.aliases)]
    refs += [f"{model.name}@{v.version}" for v in ws.registry.versions(model.name)][::-1]
    served = {f"{deployment.model}@{deployment.version}", deployment.target}
    return info, found, [ref for ref in refs if ref not in served]
