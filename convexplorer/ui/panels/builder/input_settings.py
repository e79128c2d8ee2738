"""Input shape and classes: taken from the current data set, or typed in."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from convexplorer.ui.style import set_role

NO_DATASET = "No data set chosen: type the shape in."


class InputSettings(QGroupBox):
    """The "Input and classes" box: follow the data set, or height × width × channels and classes."""

    #: The user changed the shape or the classes.
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Input and classes", parent)
        f = QFormLayout(self)
        self.follow_dataset_check = QCheckBox("Take them from the current data set")
        self.follow_dataset_check.setChecked(True)
        self.dataset_label = QLabel(NO_DATASET)
        self.dataset_label.setWordWrap(True)
        set_role(self.dataset_label, "hint")
        shape_row = QHBoxLayout()
        self.height_spin, self.width_spin, self.channels_spin = QSpinBox(), QSpinBox(), QSpinBox()
        for spin, tip, hi in ((self.height_spin, "height", 4096), (self.width_spin, "width", 4096),
                              (self.channels_spin, "channels (1 grey, 3 colour)", 64)):
            spin.setRange(1, hi)
            spin.setToolTip(f"input {tip}")
            spin.setMinimumWidth(56)
            shape_row.addWidget(spin)
        self.classes_spin = QSpinBox()
        self.classes_spin.setRange(1, 100_000)
        self.classes_spin.setToolTip("number of classes: the output layer's units when 'Units = classes' is on")
        f.addRow(self.follow_dataset_check)
        f.addRow(self.dataset_label)
        f.addRow("Input (H × W × C)", shape_row)
        f.addRow("Classes", self.classes_spin)
        for spin in self.spins():
            spin.valueChanged.connect(self.edited)

    def follows_dataset(self) -> bool:
        """Whether the shape and classes are to be taken from the current data set."""
        return self.follow_dataset_check.isChecked()

    def spins(self) -> tuple[QSpinBox, QSpinBox, QSpinBox, QSpinBox]:
        """Height, width, channels and classes."""
        return self.height_spin, self.width_spin, self.channels_spin, self.classes_spin

    def input_shape(self) -> tuple[int, int, int]:
        """The shape typed in: (height, width, channels)."""
        return self.height_spin.value(), self.width_spin.value(), self.channels_spin.value()

    def classes(self) -> int:
        """The number of classes typed in."""
        return self.classes_spin.value()

    def show_input(self, shape: tuple[int, int, int], classes: int) -> None:
        """Show a design's input shape and number of classes."""
        h, w, c = shape
        self.height_spin.setValue(h)
        self.width_spin.setValue(w)
        self.channels_spin.setValue(c)
        self.classes_spin.setValue(classes)

    def show_dataset(self, dataset: Any) -> None:
        """Say which data set the shape and classes would come from."""
        if dataset is None:
            self.dataset_label.setText(NO_DATASET)
            return
        shape = "×".join(str(v) for v in getattr(dataset, "image_shape", ()))
        n = len(getattr(dataset, "class_names", []) or [])
        self.dataset_label.setText(f"Data set “{getattr(dataset, 'name', 'current')}”: {shape}, {n} classes")

    def set_following(self, following: bool) -> None:
        """Lock the spin boxes while the shape follows the data set."""
        for spin in self.spins():
            spin.setEnabled(not following)
