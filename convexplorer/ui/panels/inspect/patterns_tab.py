"""The "Filter patterns" tab: the input each filter of a layer answers most, found in a worker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.panels.inspect.combos import fill_combo
from convexplorer.ui.widgets.feature_grid import FeatureGrid
from convexplorer.ui.workers import Worker


@dataclass(frozen=True)
class PatternSettings:
    """What the gradient ascent is asked for."""

    layer: str
    count: int
    steps: int
    size: int
    step_size: float


class PatternsTab(QWidget):
    """Layer and ascent settings, compute and cancel buttons, a progress bar and the patterns grid."""

    #: The user pressed "Compute patterns".
    compute_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The pattern search in progress (or the last one).
        self.worker: Worker | None = None
        #: How many patterns are on screen.
        self.shown = 0
        self._tf_ready = False
        self.pattern_layer_combo = QComboBox()
        self.pattern_layer_combo.setMinimumWidth(220)
        self.pattern_count = QSpinBox()
        self.pattern_count.setRange(1, 512)
        self.pattern_count.setValue(16)
        self.pattern_steps = QSpinBox()
        self.pattern_steps.setRange(1, 1000)
        self.pattern_steps.setValue(40)
        self.pattern_step_size = QDoubleSpinBox()
        self.pattern_step_size.setRange(0.01, 100.0)
        self.pattern_step_size.setValue(10.0)
        self.pattern_size = QSpinBox()
        self.pattern_size.setRange(8, 512)
        self.pattern_size.setValue(64)
        self.patterns_button = QPushButton("Compute patterns")
        self.pattern_cancel_button = QPushButton("Cancel")
        self.pattern_cancel_button.setEnabled(False)
        self.pattern_progress = QProgressBar()
        self.pattern_progress.setFormat("%p%")
        self.pattern_grid = FeatureGrid()
        self.pattern_grid.caption.setText("The input that excites each filter most, found by gradient ascent from grey noise.")
        self._lay_out()
        self.patterns_button.clicked.connect(lambda: self.compute_requested.emit())
        self.pattern_cancel_button.clicked.connect(self.cancel)

    def _lay_out(self) -> None:
        pbar = QHBoxLayout()
        for text, w in (("Layer", self.pattern_layer_combo), ("Filters", self.pattern_count), ("Steps", self.pattern_steps),
                        ("Step size", self.pattern_step_size), ("Size", self.pattern_size)):
            pbar.addWidget(QLabel(text))
            pbar.addWidget(w)
        pbar.addStretch(1)
        pbar.addWidget(self.patterns_button)
        pbar.addWidget(self.pattern_cancel_button)
        pt = QVBoxLayout(self)
        pt.addLayout(pbar)
        pt.addWidget(self.pattern_progress)
        pt.addWidget(self.pattern_grid, 1)

    def set_tf_ready(self, ready: bool) -> None:
        """Enable the compute button once TensorFlow is in."""
        self._tf_ready = ready
        self.patterns_button.setEnabled(ready)

    def set_layers(self, convs: list[str]) -> None:
        """Offer these layers; keep the chosen one, else pick the last."""
        fill_combo(self.pattern_layer_combo, convs, self.pattern_layer_combo.currentText() or (convs[-1] if convs else None))

    def fit_size(self, side: int) -> None:
        """Search patterns as large as the model's input (``side`` pixels, within the allowed range)."""
        self.pattern_size.setValue(min(side, self.pattern_size.maximum()))

    def settings(self) -> PatternSettings:
        """The settings as the user left them."""
        return PatternSettings(self.pattern_layer_combo.currentText(), self.pattern_count.value(),
                               self.pattern_steps.value(), self.pattern_size.value(), self.pattern_step_size.value())

    # --- a search in a worker ----------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the running search (a no-op once it has ended)."""
        if self.worker is not None:
            self.worker.cancel()

    def begin(self) -> None:
        """A search starts: progress at zero, compute off, cancel on."""
        self.pattern_progress.setValue(0)
        self.patterns_button.setEnabled(False)
        self.pattern_cancel_button.setEnabled(True)

    def watch(self, worker: Worker) -> None:
        """Show ``worker``'s progress; say "Cancelled." if it is cancelled."""
        self.worker = worker
        worker.progress.connect(self.show_progress)
        worker.cancelled.connect(lambda: self.pattern_grid.caption.setText("Cancelled."))
        worker.finished.connect(self._finished)

    def show_progress(self, done: int, total: int, message: str) -> None:
        """Move the progress bar (``message`` beside the percentage)."""
        self.pattern_progress.setRange(0, max(1, total))
        self.pattern_progress.setValue(done)
        self.pattern_progress.setFormat(f"%p%  {message}")

    def show_patterns(self, layer: str, patterns: np.ndarray) -> None:
        """Draw N x H x W x 3 ``patterns`` of ``layer``'s filters 0..N-1."""
        self.shown = len(patterns)
        self.pattern_grid.set_maps(patterns, rgb=True,
                                   caption=f"{layer}: the input that excites each of filters 0–{len(patterns) - 1} most")

    def _finished(self) -> None:
        self.patterns_button.setEnabled(self._tf_ready)
        self.pattern_cancel_button.setEnabled(False)
