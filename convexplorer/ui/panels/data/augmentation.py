"""The "Augmentation" box: the random changes training applies, as an :class:`AugmentationSpec`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from convexplorer.core.datasets import AugmentationSpec


def _fraction_spin() -> QDoubleSpinBox:
    return QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)


class AugmentationControls(QGroupBox):
    """Rotation, shifts, shear, zoom, brightness, flips and fill mode, with two presets."""

    #: The augmentation set in the controls changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Augmentation (training only)", parent)
        form = QFormLayout(self)
        self.rotation_spin = QDoubleSpinBox(minimum=0, maximum=180, singleStep=5, decimals=0, suffix=" °")
        self.width_shift_spin = _fraction_spin()
        self.height_shift_spin = _fraction_spin()
        self.shear_spin = _fraction_spin()
        self.zoom_spin = _fraction_spin()
        self.brightness_spin = _fraction_spin()
        form.addRow("Rotation ±", self.rotation_spin)
        form.addRow("Width shift", self.width_shift_spin)
        form.addRow("Height shift", self.height_shift_spin)
        form.addRow("Shear", self.shear_spin)
        form.addRow("Zoom ±", self.zoom_spin)
        form.addRow("Brightness ±", self.brightness_spin)
        row = QHBoxLayout()
        self.hflip_check = QCheckBox("Horizontal flip")
        self.vflip_check = QCheckBox("Vertical flip")
        row.addWidget(self.hflip_check)
        row.addWidget(self.vflip_check)
        form.addRow(row)
        self.fill_combo = QComboBox()
        for mode in ("nearest", "reflect", "constant", "wrap"):
            self.fill_combo.addItem(mode, mode)
        form.addRow("Fill mode", self.fill_combo)
        row = QHBoxLayout()
        self.textbook_button = QPushButton("Textbook defaults")
        self.textbook_button.setToolTip("rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest")
        self.no_aug_button = QPushButton("None")
        row.addWidget(self.textbook_button)
        row.addWidget(self.no_aug_button)
        form.addRow(row)

        for spin in self._spins():
            spin.valueChanged.connect(self._on_changed)
        for check in (self.hflip_check, self.vflip_check):
            check.toggled.connect(self._on_changed)
        self.fill_combo.currentIndexChanged.connect(self._on_changed)
        self.textbook_button.clicked.connect(lambda: self.set_spec(AugmentationSpec.textbook()))
        self.no_aug_button.clicked.connect(lambda: self.set_spec(AugmentationSpec()))

    def _spins(self) -> tuple[QDoubleSpinBox, ...]:
        return (self.rotation_spin, self.width_shift_spin, self.height_shift_spin, self.shear_spin,
                self.zoom_spin, self.brightness_spin)

    def spec(self) -> AugmentationSpec:
        """The augmentation set in the controls."""
        return AugmentationSpec(
            rotation=self.rotation_spin.value(),
            width_shift=self.width_shift_spin.value(),
            height_shift=self.height_shift_spin.value(),
            shear=self.shear_spin.value(),
            zoom=self.zoom_spin.value(),
            horizontal_flip=self.hflip_check.isChecked(),
            vertical_flip=self.vflip_check.isChecked(),
            brightness=self.brightness_spin.value(),
            fill_mode=self.fill_combo.currentData(),
        )

    def set_spec(self, spec: AugmentationSpec) -> None:
        """Put ``spec`` into the controls, then say once that they changed."""
        widgets = (*self._spins(), self.hflip_check, self.vflip_check, self.fill_combo)
        for w in widgets:
            w.blockSignals(True)
        self.rotation_spin.setValue(spec.rotation)
        self.width_shift_spin.setValue(spec.width_shift)
        self.height_shift_spin.setValue(spec.height_shift)
        self.shear_spin.setValue(spec.shear)
        self.zoom_spin.setValue(spec.zoom)
        self.brightness_spin.setValue(spec.brightness)
        self.hflip_check.setChecked(spec.horizontal_flip)
        self.vflip_check.setChecked(spec.vertical_flip)
        self.fill_combo.setCurrentIndex(max(0, self.fill_combo.findData(spec.fill_mode)))
        for w in widgets:
            w.blockSignals(False)
        self.changed.emit()

    def _on_changed(self, *_args: Any) -> None:
        self.changed.emit()
