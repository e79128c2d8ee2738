"""The Convolution box: padding (valid, same or per side), stride, dilation, bias and ReLU."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QWidget

from .compute import ConvSettings
from .fields import combo, pair, pick, spin


class ConvControls(QGroupBox):
    """The Convolution box; :meth:`settings` reads it as a :class:`ConvSettings`."""

    #: Any setting changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Convolution", parent)
        form = QFormLayout(self)
        self.padding_combo = combo()
        self.padding_combo.addItem("valid (no padding)", "valid")
        self.padding_combo.addItem("same (output = input / stride)", "same")
        self.padding_combo.addItem("custom (per side)", "custom")
        form.addRow("Padding", self.padding_combo)
        self.custom_pad_box = QWidget()
        row = QHBoxLayout(self.custom_pad_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.pad_top = spin(0, 20, 1, "rows of zeros above")
        self.pad_bottom = spin(0, 20, 1, "rows of zeros below")
        self.pad_left = spin(0, 20, 1, "columns of zeros on the left")
        self.pad_right = spin(0, 20, 1, "columns of zeros on the right")
        for text, box in (("T", self.pad_top), ("B", self.pad_bottom), ("L", self.pad_left), ("R", self.pad_right)):
            row.addWidget(QLabel(text))
            row.addWidget(box)
        form.addRow("", self.custom_pad_box)
        self.stride_y = spin(1, 16, 1, "vertical stride (rows the window moves each step)")
        self.stride_x = spin(1, 16, 1, "horizontal stride (columns the window moves each step)")
        form.addRow("Stride (y, x)", pair(self.stride_y, self.stride_x))
        self.dilation_y = spin(1, 8, 1, "vertical dilation (gap between kernel rows)")
        self.dilation_x = spin(1, 8, 1, "horizontal dilation (gap between kernel columns)")
        form.addRow("Dilation (y, x)", pair(self.dilation_y, self.dilation_x))
        bias_row = QHBoxLayout()
        self.bias_spin = QDoubleSpinBox()
        self.bias_spin.setRange(-10.0, 10.0)
        self.bias_spin.setSingleStep(0.1)
        self.bias_spin.setDecimals(2)
        self.bias_spin.setToolTip("added to every output value")
        self.relu_check = QCheckBox("ReLU")
        self.relu_check.setToolTip("keep max(value, 0)")
        bias_row.addWidget(self.bias_spin)
        bias_row.addWidget(self.relu_check)
        bias_row.addStretch(1)
        form.addRow("Bias", bias_row)
        self.custom_pad_box.setVisible(False)

        self.padding_combo.currentIndexChanged.connect(self._on_padding_mode)
        for box in (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right,
                    self.stride_y, self.stride_x, self.dilation_y, self.dilation_x):
            box.valueChanged.connect(self._emit_changed)
        self.bias_spin.valueChanged.connect(self._emit_changed)
        self.relu_check.toggled.connect(self._emit_changed)

    def padding_spec(self) -> str | tuple[tuple[int, int], tuple[int, int]]:
        """'valid', 'same', or ((top, bottom), (left, right)) for custom padding."""
        mode = self.padding_combo.currentData()
        if mode == "custom":
            return ((self.pad_top.value(), self.pad_bottom.value()), (self.pad_left.value(), self.pad_right.value()))
        return mode

    def bias(self) -> float:
        """The bias added to every output value."""
        return float(self.bias_spin.value())

    def settings(self, mode: str) -> ConvSettings:
        """The box's settings for the channel ``mode`` in use."""
        return ConvSettings(
            mode=mode,
            stride=(self.stride_y.value(), self.stride_x.value()),
            dilation=(self.dilation_y.value(), self.dilation_x.value()),
            padding=self.padding_spec(),
            bias=self.bias(),
            relu=self.relu_check.isChecked(),
        )

    def state(self) -> dict:
        """Padding, stride, dilation, bias and ReLU as plain JSON data."""
        return {
            "padding": self.padding_combo.currentData(),
            "custom_padding": [self.pad_top.value(), self.pad_bottom.value(), self.pad_left.value(), self.pad_right.value()],
            "stride": [self.stride_y.value(), self.stride_x.value()],
            "dilation": [self.dilation_y.value(), self.dilation_x.value()],
            "bias": self.bias_spin.value(),
            "relu": self.relu_check.isChecked(),
        }

    def restore(self, data: dict) -> None:
        """Apply what :meth:`state` saved; missing entries keep their values."""
        pick(self.padding_combo, data.get("padding"))
        spins = (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right)
        for box, v in zip(spins, data.get("custom_padding") or []):
            box.setValue(int(v))
        for box, v in zip((self.stride_y, self.stride_x), data.get("stride") or []):
            box.setValue(int(v))
        for box, v in zip((self.dilation_y, self.dilation_x), data.get("dilation") or []):
            box.setValue(int(v))
        if isinstance(data.get("bias"), (int, float)):
            self.bias_spin.setValue(float(data["bias"]))
        if "relu" in data:
            self.relu_check.setChecked(bool(data["relu"]))

    def _on_padding_mode(self, _index: int) -> None:
        self.custom_pad_box.setVisible(self.padding_combo.currentData() == "custom")
        self.changed.emit()

    def _emit_changed(self, *_args: object) -> None:
        self.changed.emit()
