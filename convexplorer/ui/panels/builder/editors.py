"""One editor widget per layer parameter type (int, float, optional float, pair, quad, shape, choice, bool,
fine-tune layer; a Keras config is shown, not edited)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from convexplorer.core.spec import LayerSpec, ParamDef, normalize_pair, normalize_quad
from convexplorer.core.summary import tunable_layers

#: Called with a parameter's new value whenever its editor changes.
Emit = Callable[[Any], None]


def compact_combo(combo: QComboBox) -> QComboBox:
    """A combo box that does not widen its column to its longest item."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return combo


class PairEditor(QWidget):
    """Two spin boxes for a (height, width) pair, with an "auto" box when the pair may be None."""

    def __init__(self, p: ParamDef, value: Any, fallback: Any, emit: Emit) -> None:
        super().__init__()
        self._emit = emit
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.auto: QCheckBox | None = None
        if p.type == "pair_or_none":
            self.auto = QCheckBox("auto")
            self.auto.setToolTip(p.help or "automatic")
            self.auto.setChecked(value is None)
            h.addWidget(self.auto)
        pair = normalize_pair(value) or normalize_pair(fallback) or (1, 1)
        self.spins: tuple[QSpinBox, QSpinBox] = (QSpinBox(), QSpinBox())
        for spin, v in zip(self.spins, pair):
            spin.setRange(0, int(p.maximum or 1000))
            spin.setValue(int(v))
            h.addWidget(spin)
        for spin in self.spins:
            spin.valueChanged.connect(self._changed)
        if self.auto is not None:
            self._enable_spins()
            self.auto.toggled.connect(self._changed)

    def _enable_spins(self) -> None:
        for spin in self.spins:
            spin.setEnabled(not self.auto.isChecked())  # type: ignore[union-attr]

    def _changed(self, *_: Any) -> None:
        if self.auto is not None:
            self._enable_spins()
            if self.auto.isChecked():
                self._emit(None)
                return
        self._emit([self.spins[0].value(), self.spins[1].value()])


def _int_editor(p: ParamDef, value: Any, emit: Emit) -> QSpinBox:
    spin = QSpinBox()
    # 0 allowed so that the summary can explain it; axes go below 0 (-1: the last)
    spin.setRange(min(0, int(p.minimum)) if p.minimum is not None else 0, int(p.maximum or 1_000_000))
    spin.setValue(int(value) if isinstance(value, int) else 0)
    spin.valueChanged.connect(emit)
    return spin


def _float_editor(p: ParamDef, value: Any, emit: Emit) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(6 if p.name == "scale" else 4)
    spin.setRange(float(p.minimum if p.minimum is not None else -1e6), float(p.maximum or 1e6) + 1)
    spin.setSingleStep(0.05)
    spin.setValue(float(value))
    spin.valueChanged.connect(emit)
    return spin


def _choice_editor(choices: list[Any], value: Any, emit: Emit) -> QComboBox:
    combo = compact_combo(QComboBox())
    for c in choices:
        combo.addItem(str(c), c)
    combo.setCurrentIndex(max(combo.findData(value), 0))
    combo.currentIndexChanged.connect(lambda _i: emit(combo.currentData()))
    return combo


def _bool_editor(value: Any, emit: Emit) -> QCheckBox:
    box = QCheckBox()
    box.setChecked(bool(value))
    box.toggled.connect(emit)
    return box


def _text_editor(layer: LayerSpec, p: ParamDef, value: Any, emit: Emit) -> QComboBox:
    """The one str parameter: the layer of a pretrained base where fine-tuning starts."""
    combo = compact_combo(QComboBox())
    if p.name == "fine_tune_from" and layer.kind == "Pretrained":
        names = tunable_layers(layer.get("application"))
        combo.addItem("" if names else "(known once the base is measured)", "")
        for n in names:
            combo.addItem(n, n)
        combo.setCurrentIndex(max(combo.findData(value), 0))
        combo.setMaxVisibleItems(20)
    combo.currentIndexChanged.connect(lambda _i: emit(combo.currentData()))
    return combo


class OptionalFloatEditor(QWidget):
    """A number that may be left out ("none"): a check box and a spin box (ReLU's max value)."""

    def __init__(self, p: ParamDef, value: Any, emit: Emit) -> None:
        super().__init__()
        self._emit = emit
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.none = QCheckBox("none")
        self.none.setToolTip(p.help or "no value")
        self.none.setChecked(value is None)
        self.spin = _float_editor(p, 6.0 if value is None else value, lambda _v: self._changed())
        h.addWidget(self.none)
        h.addWidget(self.spin, 1)
        self.spin.setEnabled(value is not None)
        self.none.toggled.connect(lambda _on: self._changed())

    def _changed(self) -> None:
        self.spin.setEnabled(not self.none.isChecked())
        self._emit(None if self.none.isChecked() else float(self.spin.value()))


class QuadEditor(QWidget):
    """Four spin boxes: top, bottom, left, right (ZeroPadding2D, Cropping2D)."""

    SIDES = ("top", "bottom", "left", "right")

    def __init__(self, p: ParamDef, value: Any, emit: Emit) -> None:
        super().__init__()
        self._emit = emit
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        quad = normalize_quad(value) or (0, 0, 0, 0)
        self.spins: list[QSpinBox] = []
        for side, v in zip(self.SIDES, quad):
            spin = QSpinBox()
            spin.setRange(0, int(p.maximum or 10_000))
            spin.setValue(int(v))
            spin.setToolTip(side)
            spin.valueChanged.connect(lambda _v: self._emit([s.value() for s in self.spins]))
            self.spins.append(spin)
            h.addWidget(spin)


def _shape_editor(p: ParamDef, value: Any, emit: Emit) -> QLineEdit:
    """A shape typed as whole numbers separated by commas ("1, 1, -1"); a typo is shown by the summary."""
    edit = QLineEdit(", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else "")
    edit.setPlaceholderText("e.g. 1, 1, -1")
    edit.setToolTip(p.help or "whole numbers separated by commas")

    def parse() -> None:
        parts = [t.strip() for t in edit.text().replace(";", ",").split(",") if t.strip()]
        try:
            emit([int(t) for t in parts])
        except ValueError:
            emit(edit.text())  # not numbers: validation names the problem

    edit.editingFinished.connect(parse)
    return edit


def make_editor(layer: LayerSpec, p: ParamDef, emit: Emit) -> QWidget:
    """The editor of parameter ``p`` of ``layer``, showing its value; ``emit`` gets each new value."""
    value = layer.get(p.name)
    if p.type == "int":
        return _int_editor(p, value, emit)
    if p.type == "float":
        return _float_editor(p, value, emit)
    if p.type in ("pair", "pair_or_none"):
        return PairEditor(p, value, layer.params.get("pool_size", 2), emit)
    if p.type == "choice":
        return _choice_editor(list(p.choices), value, emit)
    if p.type == "bool":
        return _bool_editor(value, emit)
    if p.type == "float_or_none":
        return OptionalFloatEditor(p, value, emit)
    if p.type == "quad":
        return QuadEditor(p, value, emit)
    if p.type == "shape":
        return _shape_editor(p, value, emit)
    if p.type == "config" or not layer.editable:
        shown = QLabel("kept as Keras saved it (not editable here)" if p.type == "config" else str(value))
        shown.setWordWrap(True)
        return shown
    return _text_editor(layer, p, value, emit)
