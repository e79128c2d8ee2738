"""One editor widget per layer parameter type (int, float, pair, choice, bool, fine-tune layer)."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget

from convexplorer.core.spec import LayerSpec, ParamDef, normalize_pair
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
    spin.setRange(0, int(p.maximum or 1_000_000))  # 0 allowed so that the summary can explain it
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
    return _text_editor(layer, p, value, emit)
