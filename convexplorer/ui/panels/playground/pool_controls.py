"""The Pooling box: max or average pooling after the convolution, its window, stride and padding."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QWidget

from .compute import PoolSettings
from .fields import combo, pair, pick, spin


class PoolControls(QGroupBox):
    """The Pooling box; :meth:`settings` reads it as a :class:`PoolSettings` (None when pooling is off)."""

    #: Any setting changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Pooling after the convolution", parent)
        form = QFormLayout(self)
        self.pool_check = QCheckBox("on")
        self.pool_check.setChecked(True)
        self.pool_mode = combo()
        self.pool_mode.addItem("max", "max")
        self.pool_mode.addItem("average", "avg")
        row = QHBoxLayout()
        row.addWidget(self.pool_check)
        row.addWidget(self.pool_mode, 1)
        form.addRow("Pooling", row)
        self.pool_size = spin(1, 8, 2, "pool window size")
        self.pool_stride = spin(0, 8, 0, "pool stride (\"= size\" like Keras's default)")
        self.pool_stride.setSpecialValueText("= size")
        form.addRow("Size, stride", pair(self.pool_size, self.pool_stride))
        self.pool_padding = combo()
        self.pool_padding.addItem("valid", "valid")
        self.pool_padding.addItem("same", "same")
        form.addRow("Padding", self.pool_padding)

        for box in (self.pool_size, self.pool_stride):
            box.valueChanged.connect(self._emit_changed)
        self.pool_check.toggled.connect(self._emit_changed)
        self.pool_mode.currentIndexChanged.connect(self._emit_changed)
        self.pool_padding.currentIndexChanged.connect(self._emit_changed)

    def is_on(self) -> bool:
        """Whether pooling follows the convolution."""
        return self.pool_check.isChecked()

    def settings(self) -> PoolSettings | None:
        """Window size, stride (None: = size), padding and mode; None when pooling is off."""
        if not self.pool_check.isChecked():
            return None
        return PoolSettings(
            size=self.pool_size.value(),
            stride=self.pool_stride.value() or None,
            padding=self.pool_padding.currentData(),
            mode=self.pool_mode.currentData(),
        )

    def state(self) -> dict:
        """The box as plain JSON data."""
        return {
            "on": self.pool_check.isChecked(),
            "mode": self.pool_mode.currentData(),
            "size": self.pool_size.value(),
            "stride": self.pool_stride.value(),
            "padding": self.pool_padding.currentData(),
        }

    def restore(self, pool: dict) -> None:
        """Apply what :meth:`state` saved; missing entries keep their values."""
        if "on" in pool:
            self.pool_check.setChecked(bool(pool["on"]))
        pick(self.pool_mode, pool.get("mode"))
        if isinstance(pool.get("size"), int):
            self.pool_size.setValue(pool["size"])
        if isinstance(pool.get("stride"), int):
            self.pool_stride.setValue(pool["stride"])
        pick(self.pool_padding, pool.get("padding"))

    def _emit_changed(self, *_args: object) -> None:
        self.changed.emit()
