"""An editor per estimator parameter, chosen by the parameter's kind in the catalog.

The catalog (``core.services.catalog()``) describes each parameter as a frozen ``ParamSpec``
record: ``kind`` (int, float, choice, bool), ``default``, ``low``/``high``, ``log``,
``choices``, ``nullable`` and ``help``.
Only values that differ from the default are sent with a run, so a search is free to vary the
others.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QSpinBox,
    QWidget,
)

NONE_LABEL = "none"


def _decimals(spec: Any) -> int:
    low = spec.low or 0.0
    if spec.log and low > 0:
        return max(2, min(8, int(-math.floor(math.log10(low))) + 2))
    return 4


class ParamEditor(QWidget):
    """One parameter: a spin box, combo box or check box, plus "none" where allowed."""

    def __init__(self, spec: Any) -> None:
        """``spec``: the parameter's ``ParamSpec`` from the catalog."""
        super().__init__()
        self.spec = spec
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        kind = spec.kind
        self.none: QCheckBox | None = None
        if kind == "int":
            self.field: QWidget = QSpinBox()
            self.field.setRange(int(spec.low), int(min(spec.high, 2**31 - 1)))
        elif kind == "float":
            self.field = QDoubleSpinBox()
            self.field.setDecimals(_decimals(spec))
            self.field.setRange(float(spec.low), float(spec.high))
            self.field.setSingleStep(_step(spec))
        elif kind == "choice":
            self.field = QComboBox()
            choices = list(spec.choices)
            if spec.nullable:
                choices = [NONE_LABEL, *choices]
            self.field.addItems([str(c) for c in choices])
        else:
            self.field = QCheckBox()
        layout.addWidget(self.field, 1)
        if spec.nullable and kind in ("int", "float"):
            self.none = QCheckBox(NONE_LABEL)
            self.none.toggled.connect(lambda checked: self.field.setEnabled(not checked))
            layout.addWidget(self.none)
        help_text = spec.help
        self.setToolTip(help_text)
        self.field.setToolTip(help_text)
        self.reset()

    def reset(self) -> None:
        self.set_value(self.spec.default)

    def set_value(self, value: Any) -> None:
        kind = self.spec.kind
        if self.none is not None:
            self.none.setChecked(value is None)
            if value is None:
                return
        if kind in ("int", "float"):
            self.field.setValue(value if value is not None else self.spec.low)
        elif kind == "choice":
            self.field.setCurrentText(NONE_LABEL if value is None else str(value))
        else:
            self.field.setChecked(bool(value))

    def value(self) -> Any:
        kind = self.spec.kind
        if self.none is not None and self.none.isChecked():
            return None
        if kind == "int":
            return int(self.field.value())
        if kind == "float":
            return float(self.field.value())
        if kind == "choice":
            text = self.field.currentText()
            return None if text == NONE_LABEL and self.spec.nullable else text
        return bool(self.field.isChecked())

    def changed(self) -> bool:
        """Whether the value differs from the catalog default (floats within display precision)."""
        value, default = self.value(), self.spec.default
        if isinstance(value, float) and isinstance(default, int | float):
            return abs(value - float(default)) > 10 ** -(_decimals(self.spec) + 1)
        return value != default


def _step(spec: Any) -> float:
    low, high = float(spec.low), float(spec.high)
    if spec.log:
        return max(low, 10 ** math.floor(math.log10(max(low, 1e-12))))
    return max((high - low) / 100, 10 ** -_decimals(spec))
