"""The Operation box: convolution, transposed convolution or upsampling, and the settings of the last two."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from .fields import combo, hint_label, pair, pick, spin
from .operations import OPERATIONS, TransposeSettings, UpsampleSettings

_HINTS = {
    "conv": "",
    "transposed": (
        "Zeros go between the input's pixels (stride − 1 of them), zeros around, and the kernel, "
        "rotated by 180°, slides over that grid: the output grows instead of shrinking."
    ),
    "upsample": "Each pixel becomes size × size pixels: copies (nearest) or a blend of the nearest four (bilinear).",
}


class OperationControls(QGroupBox):
    """The Operation box; :meth:`operation` is the chosen one, :meth:`transpose_settings` / :meth:`upsample_settings` its settings."""

    #: A setting of the transposed convolution or the upsampling changed.
    changed = Signal()
    #: Another operation was chosen.
    operation_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Operation", parent)
        col = QVBoxLayout(self)
        self.operation_combo = combo()
        for key, text in OPERATIONS.items():
            self.operation_combo.addItem(text, key)
        self.operation_combo.setToolTip("what the Playground computes from the input")
        col.addWidget(self.operation_combo)
        self.operation_hint = hint_label()
        col.addWidget(self.operation_hint)

        self.transposed_box = QWidget()
        form = QFormLayout(self.transposed_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.t_stride_y = spin(1, 8, 2, "vertical stride: rows of zeros + 1 between input rows")
        self.t_stride_x = spin(1, 8, 2, "horizontal stride: columns of zeros + 1 between input columns")
        form.addRow("Stride (y, x)", pair(self.t_stride_y, self.t_stride_x))
        self.t_padding = combo()
        self.t_padding.addItem("valid (pad 0)", "valid")
        self.t_padding.addItem("same (pad kernel // 2)", "same")
        self.t_padding.setToolTip("the pad of the size formula: 'same' gives output = input × stride")
        form.addRow("Padding", self.t_padding)
        self.t_out_pad_default = QCheckBox("Keras default")
        self.t_out_pad_default.setChecked(True)
        self.t_out_pad_default.setToolTip("let Keras pick it: output = input × stride ('same') or (input − 1)·stride + max(kernel, stride) ('valid')")
        self.t_out_pad_y = spin(0, 7, 0, "extra rows at the bottom (smaller than the stride)")
        self.t_out_pad_x = spin(0, 7, 0, "extra columns on the right (smaller than the stride)")
        row = QHBoxLayout()
        row.addWidget(self.t_out_pad_default)
        row.addWidget(self.t_out_pad_y)
        row.addWidget(self.t_out_pad_x)
        row.addStretch(1)
        form.addRow("Output padding", row)
        col.addWidget(self.transposed_box)

        self.upsample_box = QWidget()
        form = QFormLayout(self.upsample_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.u_size_y = spin(1, 8, 2, "output rows per input row")
        self.u_size_x = spin(1, 8, 2, "output columns per input column")
        form.addRow("Size (y, x)", pair(self.u_size_y, self.u_size_x))
        self.u_interpolation = combo()
        self.u_interpolation.addItem("nearest (copies)", "nearest")
        self.u_interpolation.addItem("bilinear (blends)", "bilinear")
        self.u_interpolation.setToolTip("the result the step-through explains; both are shown")
        form.addRow("Step through", self.u_interpolation)
        col.addWidget(self.upsample_box)

        self._limit_output_padding()
        self._on_default_output_padding(True)
        self._show_settings()
        self.operation_combo.currentIndexChanged.connect(self._on_operation)
        for box in (self.t_stride_y, self.t_stride_x):
            box.valueChanged.connect(self._limit_output_padding)
        for box in (self.t_stride_y, self.t_stride_x, self.t_out_pad_y, self.t_out_pad_x, self.u_size_y, self.u_size_x):
            box.valueChanged.connect(self._emit_changed)
        for box in (self.t_padding, self.u_interpolation):
            box.currentIndexChanged.connect(self._emit_changed)
        self.t_out_pad_default.toggled.connect(self._on_default_output_padding)

    def operation(self) -> str:
        """The chosen operation's key ("conv", "transposed" or "upsample")."""
        return self.operation_combo.currentData()

    def set_operation(self, key: str) -> None:
        """Choose the operation ``key`` (unknown keys are ignored)."""
        pick(self.operation_combo, key)

    def transpose_settings(self) -> TransposeSettings:
        """The transposed convolution's stride, padding and output padding (None: Keras's default)."""
        output_padding = None if self.t_out_pad_default.isChecked() else (self.t_out_pad_y.value(), self.t_out_pad_x.value())
        return TransposeSettings((self.t_stride_y.value(), self.t_stride_x.value()), self.t_padding.currentData(), output_padding)

    def upsample_settings(self) -> UpsampleSettings:
        """The upsampling factor and the interpolation the step-through follows."""
        return UpsampleSettings((self.u_size_y.value(), self.u_size_x.value()), self.u_interpolation.currentData())

    def state(self) -> dict:
        """The box as plain JSON data."""
        return {
            "operation": self.operation(),
            "transposed": {
                "stride": [self.t_stride_y.value(), self.t_stride_x.value()],
                "padding": self.t_padding.currentData(),
                "output_padding": None if self.t_out_pad_default.isChecked() else [self.t_out_pad_y.value(), self.t_out_pad_x.value()],
            },
            "upsample": {"size": [self.u_size_y.value(), self.u_size_x.value()], "interpolation": self.u_interpolation.currentData()},
        }

    def restore(self, data: dict) -> None:
        """Apply what :meth:`state` saved; missing or odd entries keep their values."""
        t = data.get("transposed") if isinstance(data.get("transposed"), dict) else {}
        for box, v in zip((self.t_stride_y, self.t_stride_x), t.get("stride") or []):
            box.setValue(int(v))
        pick(self.t_padding, t.get("padding"))
        if "output_padding" in t:
            pads = t["output_padding"]
            self.t_out_pad_default.setChecked(not pads)
            for box, v in zip((self.t_out_pad_y, self.t_out_pad_x), pads or []):
                box.setValue(int(v))
        u = data.get("upsample") if isinstance(data.get("upsample"), dict) else {}
        for box, v in zip((self.u_size_y, self.u_size_x), u.get("size") or []):
            box.setValue(int(v))
        pick(self.u_interpolation, u.get("interpolation"))
        self.set_operation(data.get("operation"))

    def _limit_output_padding(self, *_args: object) -> None:
        """Output padding stays smaller than the stride (Keras's rule): the spin boxes cannot go higher."""
        self.t_out_pad_y.setMaximum(self.t_stride_y.value() - 1)
        self.t_out_pad_x.setMaximum(self.t_stride_x.value() - 1)

    def _on_default_output_padding(self, on: bool) -> None:
        self.t_out_pad_y.setEnabled(not on)
        self.t_out_pad_x.setEnabled(not on)
        self.changed.emit()

    def _show_settings(self) -> None:
        op = self.operation()
        self.transposed_box.setVisible(op == "transposed")
        self.upsample_box.setVisible(op == "upsample")
        self.operation_hint.setText(_HINTS[op])
        self.operation_hint.setVisible(bool(_HINTS[op]))

    def _on_operation(self, _index: int) -> None:
        self._show_settings()
        self.operation_changed.emit(self.operation())

    def _emit_changed(self, *_args: object) -> None:
        self.changed.emit()
