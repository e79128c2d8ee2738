"""The "Preparation" box: image size, colour mode and the train/validation/test split."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from convexplorer.core.datasets import AugmentationSpec, Dataset
from convexplorer.ui.style import set_role


class PreparationBox(QGroupBox):
    """Size, colour and split controls; they turn a loaded source into the data set models get."""

    #: A size, colour or split control changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Preparation", parent)
        form = QFormLayout(self)
        self.native_size_check = QCheckBox("Keep the stored size")
        self.native_size_check.setChecked(True)
        form.addRow("Image size", self.native_size_check)
        row = QHBoxLayout()
        self.height_spin = QSpinBox(minimum=8, maximum=1024, value=150, suffix=" px")
        self.width_spin = QSpinBox(minimum=8, maximum=1024, value=150, suffix=" px")
        row.addWidget(self.height_spin)
        row.addWidget(QLabel("×"))
        row.addWidget(self.width_spin)
        form.addRow("Height × width", row)
        self.color_combo = QComboBox()
        self.color_combo.addItem("As stored", None)
        self.color_combo.addItem("Colour (RGB)", "rgb")
        self.color_combo.addItem("Grayscale", "grayscale")
        form.addRow("Colour", self.color_combo)
        self.val_spin = QSpinBox(minimum=0, maximum=90, value=20, suffix=" %")
        self.test_spin = QSpinBox(minimum=0, maximum=90, value=10, suffix=" %")
        self.seed_spin = QSpinBox(minimum=0, maximum=999_999, value=0)
        form.addRow("Validation", self.val_spin)
        form.addRow("Test", self.test_spin)
        form.addRow("Split seed", self.seed_spin)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        form.addRow(self.split_label)

        self.native_size_check.toggled.connect(self._on_changed)
        for spin in (self.height_spin, self.width_spin, self.val_spin, self.test_spin, self.seed_spin):
            spin.valueChanged.connect(self._on_changed)
        self.color_combo.currentIndexChanged.connect(self._on_changed)
        self._sync_size_enabled()

    def image_size(self) -> tuple[int, int] | None:
        """``(height, width)`` chosen, or None to keep the stored size."""
        if self.native_size_check.isChecked():
            return None
        return self.height_spin.value(), self.width_spin.value()

    def configure(self, source: Dataset, augmentation: AugmentationSpec) -> Dataset:
        """``source`` with this size, colour and split and ``augmentation`` (raises on impossible settings)."""
        ds = source.with_options(image_size=self.image_size(), color_mode=self.color_combo.currentData())
        ds = ds.with_split(self.val_spin.value() / 100, self.test_spin.value() / 100, self.seed_spin.value())
        return ds.with_augmentation(augmentation)

    def adopt_source(self, source: Dataset, is_folder: bool) -> None:
        """Fit the size controls to a new source: folders are resized, to their first image's size."""
        if is_folder:
            self.native_size_check.setChecked(False)
            h, w = source.native_shape[:2]
            for spin, v in ((self.height_spin, h), (self.width_spin, w)):
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
        self.native_size_check.setEnabled(not is_folder)
        self._sync_size_enabled()

    def show_split(self, ds: Dataset, counts: dict[str, int]) -> None:
        """Describe the split and what models get."""
        h, w, c = ds.image_shape
        fixed = [s for s in ("validation", "test") if ds.has_fixed(s)]
        note = f" ({' and '.join(fixed)} from the source)" if fixed else ""
        set_role(self.split_label, "")
        self.split_label.setText(
            f"train {counts['train']} · validation {counts['validation']} · test {counts['test']}{note}\n"
            f"models get {h}x{w}x{c} float images in [0, 1]"
        )

    def show_error(self, message: str) -> None:
        """Say (in red) why these settings cannot be applied."""
        self.split_label.setText(message)
        set_role(self.split_label, "error")

    def _sync_size_enabled(self) -> None:
        custom = not self.native_size_check.isChecked()
        self.height_spin.setEnabled(custom)
        self.width_spin.setEnabled(custom)

    def _on_changed(self, *_args: Any) -> None:
        self._sync_size_enabled()
        self.changed.emit()
