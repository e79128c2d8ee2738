"""The Kernel box: a preset list, the Gabor sliders and the editable weight grid; it keeps the kernel in use."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from convexplorer.core import kernels as K
from convexplorer.ui.widgets.kernel_grid import KernelGrid

from .fields import combo, hint_label, spin

#: The preset list's entry for a kernel typed into the grid.
CUSTOM = "Custom (edit the grid)"


@dataclass(frozen=True)
class GaborEnvelope:
    """The Gabor settings the bank shares with the preset: kernel size, sigma and phase."""

    size: int
    sigma: float
    phase: float
    phase_name: str


def _slider(lo: float, hi: float, decimals: int, value: float, tip: str) -> QLabeledDoubleSlider:
    s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setValue(value)
    s.setToolTip(tip)
    return s


class KernelControls(QGroupBox):
    """The Kernel box; :attr:`kernel2d` is the 2-D kernel in use (the last valid one)."""

    #: A preset replaced the kernel (earlier grid errors no longer apply).
    preset_applied = Signal()
    #: The user changed a weight in the grid.
    edited = Signal()
    #: A Gabor slider moved (the Gabor bank is out of date).
    gabor_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Kernel", parent)
        self.kernel2d: np.ndarray = K.preset("Sobel x")
        col = QVBoxLayout(self)
        self.preset_combo = combo()
        for name in K.PRESETS:
            self.preset_combo.addItem(name)
        self.preset_combo.addItem(CUSTOM)
        self.preset_combo.setMaxVisibleItems(25)
        col.addWidget(self.preset_combo)
        self.preset_note = hint_label()
        col.addWidget(self.preset_note)

        self.gabor_box = QWidget()
        form = QFormLayout(self.gabor_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.gabor_freq = _slider(0.02, 0.5, 3, 0.2, "stripes per pixel")
        self.gabor_theta = _slider(0.0, 180.0, 0, 0.0, "orientation in degrees (0: vertical stripes)")
        self.gabor_sigma = _slider(0.5, 6.0, 2, 2.5, "width of the Gaussian envelope in pixels")
        self.gabor_size = spin(3, K.MAX_KERNEL_SIZE, 11, "kernel size (odd sizes keep it centred)")
        self.gabor_size.setSingleStep(2)
        self.gabor_phase = combo()
        self.gabor_phase.addItem("even (line detector)", 0.0)
        self.gabor_phase.addItem("odd (edge detector)", math.pi / 2)
        form.addRow("Frequency", self.gabor_freq)
        form.addRow("Theta (°)", self.gabor_theta)
        form.addRow("Sigma", self.gabor_sigma)
        form.addRow("Size", self.gabor_size)
        form.addRow("Phase", self.gabor_phase)
        col.addWidget(self.gabor_box)
        self.kernel_grid = KernelGrid()
        col.addWidget(self.kernel_grid)

        self.preset_combo.currentTextChanged.connect(self.apply_preset)
        for s in (self.gabor_freq, self.gabor_theta, self.gabor_sigma):
            s.valueChanged.connect(self._on_gabor_changed)
        self.gabor_size.valueChanged.connect(self._on_gabor_changed)
        self.gabor_phase.currentIndexChanged.connect(self._on_gabor_changed)
        self.kernel_grid.kernel_changed.connect(self._on_grid_kernel)
        self.preset_combo.setCurrentText("Sobel x")
        self.apply_preset(self.preset_combo.currentText())

    def apply_preset(self, name: str) -> None:
        """Put the preset ``name`` into the grid and use it (``CUSTOM`` keeps the grid as it is)."""
        self._show_preset_controls(name)
        if name == CUSTOM:
            return
        k = self.gabor_kernel() if name == "Gabor" else K.preset(name)
        self.kernel_grid.blockSignals(True)
        self.kernel_grid.set_kernel(k, emit=False)
        self.kernel_grid.blockSignals(False)
        self.kernel2d = k
        self.preset_applied.emit()

    def set_kernel(self, kernel: np.ndarray) -> None:
        """Use a 2-D kernel, shown in the grid as "Custom"."""
        self._select_custom()
        self.kernel_grid.set_kernel(kernel)  # emits kernel_changed -> edited

    def gabor_kernel(self) -> np.ndarray:
        """The Gabor preset, scaled so its largest weight is ±1 (readable numbers; same shape of response)."""
        g = K.gabor(
            self.gabor_size.value(),
            frequency=self.gabor_freq.value(),
            theta=math.radians(self.gabor_theta.value()),
            sigma=self.gabor_sigma.value(),
            phase=self.gabor_phase.currentData(),
        )
        peak = float(np.max(np.abs(g)))
        return g / peak if peak > 0 else g

    def gabor_envelope(self) -> GaborEnvelope:
        """Size, sigma and phase of the Gabor controls (the bank uses them too)."""
        return GaborEnvelope(
            self.gabor_size.value(), self.gabor_sigma.value(), self.gabor_phase.currentData(), self.gabor_phase.currentText()
        )

    def state(self) -> dict:
        """Preset, kernel and Gabor settings as plain JSON data."""
        return {
            "preset": self.preset_combo.currentText(),
            "kernel": self.kernel2d.astype(float).tolist(),
            "gabor": {
                "frequency": self.gabor_freq.value(),
                "theta_deg": self.gabor_theta.value(),
                "sigma": self.gabor_sigma.value(),
                "size": self.gabor_size.value(),
                "odd": self.gabor_phase.currentIndex() == 1,
            },
        }

    def restore_gabor(self, g: dict) -> None:
        """Apply the Gabor part of :meth:`state`; missing entries keep their values."""
        for slider, key in ((self.gabor_freq, "frequency"), (self.gabor_theta, "theta_deg"), (self.gabor_sigma, "sigma")):
            if isinstance(g.get(key), (int, float)):
                slider.setValue(float(g[key]))
        if isinstance(g.get("size"), int):
            self.gabor_size.setValue(g["size"])
        if "odd" in g:
            self.gabor_phase.setCurrentIndex(1 if g["odd"] else 0)

    def restore_kernel(self, data: dict) -> None:
        """Apply the saved preset, or else the saved weights."""
        preset = data.get("preset")
        if preset in K.PRESETS:
            self.preset_combo.setCurrentText(preset)
        elif data.get("kernel") is not None:
            self.set_kernel(np.asarray(data["kernel"], dtype=np.float32))

    def _show_preset_controls(self, name: str) -> None:
        self.gabor_box.setVisible(name == "Gabor")
        note = K.PRESET_NOTES.get(name, "Type your own weights in the grid (e.g. 2, -0.5, 1/9); sizes 1×1 to 11×11.")
        if name == "Gabor":
            note += " Scaled so the largest weight is 1."
        self.preset_note.setText(note)

    def _select_custom(self) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentText(CUSTOM)
        self.preset_combo.blockSignals(False)
        self._show_preset_controls(CUSTOM)

    def _on_gabor_changed(self, *_args: object) -> None:
        self.gabor_changed.emit()
        if self.preset_combo.currentText() == "Gabor":
            self.apply_preset("Gabor")

    def _on_grid_kernel(self, kernel: np.ndarray) -> None:
        if self.preset_combo.currentText() != CUSTOM:
            self._select_custom()
        self.kernel2d = np.asarray(kernel, np.float32)
        self.edited.emit()
