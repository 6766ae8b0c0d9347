"""Qt controls built from a parameters dataclass's declarations (:mod:`workstation.core.params`).

A number becomes a spin box with the declared range, step and unit; an optional number
gets one step below its minimum that reads "unknown" (or the field's ``none_text``);
choices (``choices=`` or a ``Literal``) become a combo box, a bool a check box (an
optional bool a combo box of "unknown", "no" and "yes"), text a line edit.  Panels lay the form out and read back a checked parameters object::

    self.controls = ParamControls(CalciumParams, ("threshold_hu", "min_area_mm2"))
    layout.addLayout(self.controls.form)
    params = self.controls.params(artery_overrides=...)
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable, Generic, Optional, Sequence, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLineEdit, QTableWidget, QWidget

from workstation.core.params import ParamSpec, specs

P = TypeVar("P")
_BIG = 1e9


def _decimals(step: float) -> int:
    """Decimals that show ``step`` exactly (0.25 -> 2, 5 -> 0)."""
    for d in range(0, 7):
        if abs(round(step, d) - step) < 1e-9:
            return d
    return 6


def _spin(spec: ParamSpec) -> QDoubleSpinBox:
    info = spec.info
    lo = -_BIG if info.lo is None else info.lo
    hi = _BIG if info.hi is None else info.hi
    step = info.step or (1.0 if spec.base is int else 0.1)
    spin = QDoubleSpinBox()
    spin.setDecimals(0 if spec.base is int else _decimals(step))
    spin.setSingleStep(step)
    if spec.optional:
        lo -= step
        spin.setSpecialValueText(info.none_text or "unknown")
    spin.setRange(lo, hi)
    if info.unit:
        spin.setSuffix(f" {info.unit}")
    if spec.info.doc:
        spin.setToolTip(spec.info.doc)
    return spin


def _widget(spec: ParamSpec) -> QWidget:
    choices = spec.choices
    if spec.base is bool and spec.optional:
        combo = QComboBox()
        for text, data in ((spec.info.none_text or "unknown", None), ("no", False), ("yes", True)):
            combo.addItem(text, data)
        return combo
    if spec.base is bool:
        return QCheckBox(spec.label)
    if choices:
        combo = QComboBox()
        if spec.optional:
            combo.addItem(spec.info.none_text or "unknown", None)
        for c in choices:
            combo.addItem(str(c), c)
        return combo
    if spec.base in (int, float):
        return _spin(spec)
    if spec.base is str:
        return QLineEdit()
    raise TypeError(f"parameter {spec.name} of type {spec.type} has no panel control; declare it panel=False")


class ParamControls(Generic[P]):
    """One control per declared parameter (``names``: which, default every ``panel`` field)."""

    def __init__(self, params_type: type[P], names: Optional[Sequence[str]] = None,
                 defaults: Optional[P] = None) -> None:
        self.params_type = params_type
        by_name = {s.name: s for s in specs(params_type)}
        chosen = list(names) if names is not None else [s.name for s in by_name.values() if s.info.panel]
        self.specs = {n: by_name[n] for n in chosen}
        self.widgets: dict[str, QWidget] = {}
        self.form = QFormLayout()
        for name, spec in self.specs.items():
            widget = _widget(spec)
            self.widgets[name] = widget
            self.form.addRow("" if isinstance(widget, QCheckBox) else spec.label, widget)
        start = defaults if defaults is not None else params_type()
        for name in self.specs:
            self.set_value(name, getattr(start, name))

    def __getitem__(self, name: str) -> Any:
        return self.widgets[name]

    def on_change(self, callback: Callable[..., object]) -> None:
        """Call ``callback`` whenever the user changes any of the controls."""
        for widget in self.widgets.values():
            if isinstance(widget, QCheckBox):
                widget.toggled.connect(callback)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(callback)
            elif isinstance(widget, QDoubleSpinBox):
                widget.valueChanged.connect(callback)
            elif isinstance(widget, QLineEdit):
                widget.editingFinished.connect(callback)

    def value(self, name: str) -> Any:
        """The value shown by the control of ``name`` (``None`` for "unknown")."""
        spec, widget = self.specs[name], self.widgets[name]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QDoubleSpinBox):
            if spec.optional and math.isclose(widget.value(), widget.minimum()):
                return None
            return int(round(widget.value())) if spec.base is int else float(widget.value())
        assert isinstance(widget, QLineEdit)
        return widget.text()

    def set_value(self, name: str, value: Any) -> None:
        """Show ``value`` (``None``: "unknown") without emitting change signals."""
        widget = self.widgets[name]
        widget.blockSignals(True)
        try:
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                found = [i for i in range(widget.count()) if widget.itemData(i) is value or (
                    value is not None and not isinstance(value, bool) and widget.itemData(i) == value)]
                widget.setCurrentIndex(found[0] if found else 0)
            elif isinstance(widget, QDoubleSpinBox):
                widget.setValue(widget.minimum() if value is None else float(value))
            elif isinstance(widget, QLineEdit):
                widget.setText("" if value is None else str(value))
        finally:
            widget.blockSignals(False)

    def params(self, base: Optional[P] = None, **extra: Any) -> P:
        """A checked parameters object: ``base`` (or the defaults) with the shown values and ``extra``."""
        values = {name: self.value(name) for name in self.specs}
        values.update(extra)
        return replace(base if base is not None else self.params_type(), **values)  # type: ignore[type-var]


def editable_combo(items: Sequence[str], name: str) -> QComboBox:
    """A combo box the user may also type into, its typing field announced as ``name`` too."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(list(items))
    combo.setAccessibleName(name)
    line = combo.lineEdit()
    if line is not None:  # screen readers announce the typing field, not the box
        line.setAccessibleName(name)
    return combo


def checked_keys(table: QTableWidget, column: int = 0) -> frozenset[int]:
    """The integer keys (``UserRole`` data) of the rows whose check box in ``column`` is ticked."""
    out = set()
    for row in range(table.rowCount()):
        item = table.item(row, column)
        if item is not None and item.checkState() == Qt.CheckState.Checked:
            out.add(int(item.data(Qt.ItemDataRole.UserRole)))
    return frozenset(out)
