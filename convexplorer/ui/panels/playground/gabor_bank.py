"""The Gabor bank tab: a grid of orientations x frequencies applied to the image, computed off the GUI thread."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from convexplorer.core import kernels as K
from convexplorer.core.images import resize
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.array_view import ArrayView
from convexplorer.ui.workers import StartWork, Worker

from .fields import spin
from .kernel_controls import GaborEnvelope

#: Longest side of the image the Gabor bank is applied to.
BANK_SIDE = 160

#: Gives the bank its inputs when it computes: the Playground's image and the Gabor controls' envelope.
BankInputs = Callable[[], tuple[np.ndarray, GaborEnvelope]]


class GaborBank(QWidget):
    """The Gabor bank tab; it recomputes only while it is the tab shown (see :meth:`set_current`)."""

    #: The bank's kernels and responses have been drawn.
    updated = Signal()

    def __init__(self, inputs: BankInputs, start: StartWork, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._inputs = inputs
        self._start = start
        self._generation = 0
        self._dirty = True
        self._current = False
        self._worker: Worker | None = None

        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.bank_orientations = spin(1, 8, 4, "number of orientations (columns)")
        self.bank_frequencies = spin(1, 4, 3, "number of frequencies (rows)")
        row.addWidget(QLabel("Orientations"))
        row.addWidget(self.bank_orientations)
        row.addWidget(QLabel("Frequencies"))
        row.addWidget(self.bank_frequencies)
        row.addWidget(QLabel("(size, sigma and phase from the Gabor controls)"))
        row.addStretch(1)
        col.addLayout(row)
        self.bank_caption = QLabel("")
        self.bank_caption.setWordWrap(True)
        col.addWidget(self.bank_caption)
        views = QHBoxLayout()
        self.bank_kernels_view = ArrayView("Gabor kernels", colormap="CET-D1", symmetric=True)
        self.bank_maps_view = ArrayView("Responses on the image", colormap="CET-D1", symmetric=True)
        self.bank_kernels_view.set_values_visible(False)
        views.addWidget(self.bank_kernels_view, 2)
        views.addWidget(self.bank_maps_view, 3)
        col.addLayout(views, 1)
        self.bank_status = QLabel("")
        set_role(self.bank_status, "hint")
        col.addWidget(self.bank_status)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(30)

        self.timer.timeout.connect(self.start)
        self.bank_orientations.valueChanged.connect(self.mark_dirty)
        self.bank_frequencies.valueChanged.connect(self.mark_dirty)

    def set_current(self, current: bool) -> None:
        """Tell the bank whether its tab is shown; shown and out of date, it recomputes."""
        self._current = current
        if current and self._dirty:
            self.timer.start()

    def mark_dirty(self, *_args: object) -> None:
        """The image or the Gabor settings changed: recompute now if shown, else when next shown."""
        self._dirty = True
        if self._current:
            self.timer.start()

    def refresh(self, wait: bool = True) -> None:
        """Compute the bank now, on this thread when ``wait``, else on a worker (a pending timer is dropped)."""
        self.timer.stop()
        if wait:
            img, bank, freqs, thetas, envelope = self._bank_inputs()
            self._generation += 1
            self._show_kernels(bank, freqs, thetas, envelope)
            self._on_result(self._generation, K.apply_bank(img, bank))
        else:
            self.start()

    def start(self) -> None:
        """Compute the bank on a worker thread (a newer request cancels the older one)."""
        img, bank, freqs, thetas, envelope = self._bank_inputs()
        self._generation += 1
        gen = self._generation
        if self._worker is not None and self._worker.is_running():
            self._worker.cancel()
        self._show_kernels(bank, freqs, thetas, envelope)
        self.bank_status.setText("computing the responses…")
        worker = self._start(K.apply_bank, img, bank)
        if worker is None:
            return
        worker.result.connect(lambda maps, gen=gen: self._on_result(gen, maps))
        worker.error.connect(lambda msg, _det: self.bank_status.setText(f"Gabor bank failed: {msg}"))
        self._worker = worker

    def _bank_inputs(self) -> tuple[np.ndarray, np.ndarray, list[float], list[float], GaborEnvelope]:
        source, envelope = self._inputs()
        img = K.to_grayscale(source)
        h, w = img.shape
        if max(h, w) > BANK_SIDE:
            s = BANK_SIDE / max(h, w)
            img = resize(img[..., None], (max(1, round(h * s)), max(1, round(w * s))))[..., 0]
        nf = self.bank_frequencies.value()
        freqs = [round(0.08 * 2 ** (i * 2 / max(1, nf - 1)), 3) if nf > 1 else 0.16 for i in range(nf)]
        thetas = K.orientations(self.bank_orientations.value())
        bank = K.gabor_bank(envelope.size, freqs, thetas, sigma=envelope.sigma, phase=envelope.phase, zero_mean=True)
        return img, bank, freqs, thetas, envelope

    def _show_kernels(self, bank: np.ndarray, freqs: list[float], thetas: list[float], envelope: GaborEnvelope) -> None:
        self.bank_kernels_view.set_array(K.mosaic(bank, gap=1))
        k = bank.shape[2]
        self.bank_kernels_view.set_subtitle(f"{bank.shape[0]} frequencies × {bank.shape[1]} orientations, {k}×{k} each")
        degs = ", ".join(f"{math.degrees(t):.0f}°" for t in thetas)
        fr = ", ".join(f"{f:g}" for f in freqs)
        self.bank_caption.setText(
            f"Columns: orientation θ = {degs}.   Rows: frequency = {fr} cycles/pixel (top to bottom).   "
            f"Sigma {envelope.sigma:.2f} px, {envelope.phase_name}, mean removed (flat areas give 0). "
            "Each response is the grayscale image correlated with the kernel in the same place on the left "
            "(same padding); strong colours show where the image has stripes or edges of that orientation and scale."
        )

    def _on_result(self, gen: int, maps: np.ndarray) -> None:
        if gen != self._generation:
            return
        self._dirty = False
        gap = max(1, maps.shape[-1] // 24)
        # display only: each map scaled to its own largest |value| so weak and strong responses both show
        peak = np.max(np.abs(maps), axis=(2, 3), keepdims=True)
        shown = maps / np.where(peak > 0, peak, 1.0)
        self.bank_maps_view.set_array(K.mosaic(shown, gap=gap), levels=(-1.0, 1.0))
        self.bank_maps_view.set_subtitle(
            f"{maps.shape[0]}×{maps.shape[1]} maps of {maps.shape[2]}×{maps.shape[3]}, each scaled to its own maximum (±1)"
        )
        self.bank_status.setText("")
        self.updated.emit()
