"""The "Filter patterns" tab: the input each filter of a layer (or a class) answers most, found in a worker.

Two regularizations: "none" is the textbook gradient ascent in raw pixels
(``inspect.filter_patterns``), "Distill" the feature visualization of Olah et
al. (``core.featvis``: Fourier and decorrelated-colour parameterization,
jitter/scale/rotation, diversity). Each has its own grid, so the two results
of a layer sit side by side.
"""

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


#: Regularization choices: (words shown, ``featvis`` preset).
REGULARIZATIONS: tuple[tuple[str, str], ...] = (("none (textbook)", "none"), ("Distill", "distill"))
#: Objectives: (words shown, ``jobs.feature_vis`` objective).
OBJECTIVES: tuple[tuple[str, str], ...] = (
    ("Channel (a filter's whole map)", "channel"),
    ("Filter (the centre neuron)", "filter"),
    ("Class logit", "logit"),
)
#: Steps and step size (learning rate) each regularization starts with.
DEFAULTS = {"none": (40, 10.0), "distill": (128, 0.05)}


@dataclass(frozen=True)
class PatternSettings:
    """What the gradient ascent is asked for."""

    layer: str
    count: int
    steps: int
    size: int
    step_size: float
    #: "none" (the textbook ascent) or "distill".
    preset: str = "none"
    #: "channel", "filter" (the centre neuron) or "logit".
    objective: str = "channel"
    #: The first filter (or class) shown.
    start: int = 0
    #: Diversity weight and images per filter (Distill).
    diversity: float = 0.0
    per_objective: int = 1

    def plain(self) -> bool:
        """Whether this is today's textbook ascent of whole channels (``inspect.filter_patterns``)."""
        return self.preset == "none" and self.objective == "channel" and self.start == 0 and self.per_objective == 1


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
        self.regularization_combo = QComboBox()
        for words, name in REGULARIZATIONS:
            self.regularization_combo.addItem(words, name)
        self.regularization_combo.setToolTip(
            "none: plain gradient ascent on the pixels (the textbook recipe). Distill: the image lives in a "
            "decorrelated Fourier space and is jittered, scaled and rotated at every step (Olah et al., 2017)")
        self.objective_combo = QComboBox()
        for words, name in OBJECTIVES:
            self.objective_combo.addItem(words, name)
        self.pattern_start = QSpinBox()
        self.pattern_start.setRange(0, 4095)
        self.pattern_start.setToolTip("The first filter (or class) shown")
        self.diversity_spin = QDoubleSpinBox()
        self.diversity_spin.setRange(0.0, 10.0)
        self.diversity_spin.setSingleStep(0.25)
        self.diversity_spin.setToolTip("Push several images of one filter apart (0: off); 0.5 is a good start")
        self.per_spin = QSpinBox()
        self.per_spin.setRange(1, 8)
        self.per_spin.setValue(1)
        self.per_spin.setToolTip("Images of each filter (diversity makes them differ)")
        self.step_size_label = QLabel("Step size")
        self.per_label = QLabel("Images each")
        self.diversity_label = QLabel("Diversity")
        self._memory = dict(DEFAULTS)
        self._preset = "none"
        self.patterns_button = QPushButton("Compute patterns")
        self.pattern_cancel_button = QPushButton("Cancel")
        self.pattern_cancel_button.setEnabled(False)
        self.pattern_progress = QProgressBar()
        self.pattern_progress.setFormat("%p%")
        self.pattern_grid = FeatureGrid()
        self.pattern_grid.caption.setText("The input that excites each filter most, found by gradient ascent from grey noise.")
        #: The Distill grid, beside the textbook one once both have been computed.
        self.distill_grid = FeatureGrid()
        self.distill_grid.caption.setText("Distill: regularized feature visualization.")
        self.distill_grid.setVisible(False)
        self.grid_titles = {g: QLabel(t) for g, t in ((self.pattern_grid, "No regularization (textbook)"),
                                                      (self.distill_grid, "Distill (regularized)"))}
        for label in self.grid_titles.values():
            label.setVisible(False)
        #: Patterns on screen per regularization.
        self.shown_by = {"none": 0, "distill": 0}
        self._running_preset = "none"
        self._lay_out()
        self.patterns_button.clicked.connect(lambda: self.compute_requested.emit())
        self.pattern_cancel_button.clicked.connect(self.cancel)
        self.regularization_combo.currentIndexChanged.connect(self._on_regularization)
        self.objective_combo.currentIndexChanged.connect(self._on_objective)
        self.diversity_spin.valueChanged.connect(self._on_objective)
        self._on_objective()

    def _lay_out(self) -> None:
        # Three short rows rather than two long ones: the tab must fit beside the model column
        # on a 1400-pixel-wide window (two rows asked for 1,100 pixels).
        self.count_label = QLabel("Filters")
        rows = (
            (("Regularization", self.regularization_combo), ("Objective", self.objective_combo),
             ("Layer", self.pattern_layer_combo)),
            (("From", self.pattern_start), (self.count_label, self.pattern_count),
             (self.diversity_label, self.diversity_spin), (self.per_label, self.per_spin)),
            (("Steps", self.pattern_steps), (self.step_size_label, self.pattern_step_size),
             ("Size", self.pattern_size)),
        )
        bars = []
        for row in rows:
            bar = QHBoxLayout()
            for text, w in row:
                bar.addWidget(text if isinstance(text, QLabel) else QLabel(text))
                bar.addWidget(w)
            bar.addStretch(1)
            bars.append(bar)
        bars[-1].addWidget(self.patterns_button)
        bars[-1].addWidget(self.pattern_cancel_button)
        grids = QHBoxLayout()
        for g in (self.pattern_grid, self.distill_grid):
            col = QVBoxLayout()
            col.addWidget(self.grid_titles[g])
            col.addWidget(g, 1)
            grids.addLayout(col, 1)
        pt = QVBoxLayout(self)
        for bar in bars:
            pt.addLayout(bar)
        pt.addWidget(self.pattern_progress)
        pt.addLayout(grids, 1)

    def set_tf_ready(self, ready: bool) -> None:
        """Enable the compute button once TensorFlow is in."""
        self._tf_ready = ready
        self.patterns_button.setEnabled(ready)

    def set_layers(self, convs: list[str]) -> None:
        """Offer these layers; keep the chosen one, else pick the last."""
        old = self.pattern_layer_combo.currentText()
        fill_combo(self.pattern_layer_combo, convs, old if old in convs else (convs[-1] if convs else None))

    def fit_size(self, side: int) -> None:
        """Search patterns as large as the model's input (``side`` pixels, within the allowed range)."""
        self.pattern_size.setValue(min(side, self.pattern_size.maximum()))

    def settings(self) -> PatternSettings:
        """The settings as the user left them."""
        diversity = self.diversity_spin.value()
        return PatternSettings(self.pattern_layer_combo.currentText(), self.pattern_count.value(),
                               self.pattern_steps.value(), self.pattern_size.value(), self.pattern_step_size.value(),
                               self.preset(), self.objective(), self.pattern_start.value(), diversity,
                               self.per_spin.value() if self.preset() == "distill" else 1)

    def preset(self) -> str:
        """The regularization picked: "none" or "distill"."""
        return self.regularization_combo.currentData()

    def objective(self) -> str:
        """The objective picked: "channel", "filter" or "logit"."""
        return self.objective_combo.currentData()

    def set_regularization(self, preset: str) -> None:
        """Pick "none" or "distill" (its steps and step size come back as last used)."""
        i = self.regularization_combo.findData(preset)
        if i >= 0:
            self.regularization_combo.setCurrentIndex(i)

    def _on_regularization(self, _i: int = 0) -> None:
        new = self.preset()
        if new == self._preset:
            return
        self._memory[self._preset] = (self.pattern_steps.value(), self.pattern_step_size.value())
        steps, size = self._memory[new]
        self._preset = new
        self.pattern_step_size.setDecimals(3 if new == "distill" else 2)
        self.pattern_steps.setValue(steps)
        self.pattern_step_size.setValue(size)
        self.step_size_label.setText("Learning rate" if new == "distill" else "Step size")
        self._on_objective()
        self._show_grids()

    def _on_objective(self, *_args: object) -> None:
        logit = self.objective() == "logit"
        self.count_label.setText("Classes" if logit else "Filters")
        self.pattern_layer_combo.setEnabled(not logit)
        distill = self.preset() == "distill"
        for w in (self.diversity_label, self.diversity_spin, self.per_label, self.per_spin):
            w.setVisible(distill)
        self.per_spin.setEnabled(distill)

    def _grid(self, preset: str) -> FeatureGrid:
        return self.distill_grid if preset == "distill" else self.pattern_grid

    def _show_grids(self) -> None:
        """The current regularization's grid, and the other one too when it has patterns to compare."""
        both = all(self.shown_by.values())
        for preset in ("none", "distill"):
            g = self._grid(preset)
            g.setVisible(both or preset == self.preset())
            self.grid_titles[g].setVisible(both)

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
        self._running_preset = self.preset()
        worker.cancelled.connect(lambda g=self._grid(self._running_preset): g.caption.setText("Cancelled."))
        worker.finished.connect(self._finished)

    def show_progress(self, done: int, total: int, message: str) -> None:
        """Move the progress bar (``message`` beside the percentage)."""
        self.pattern_progress.setRange(0, max(1, total))
        self.pattern_progress.setValue(done)
        self.pattern_progress.setFormat(f"%p%  {message}")

    def show_patterns(self, layer: str, patterns: np.ndarray) -> None:
        """Draw N x H x W x 3 ``patterns`` of ``layer``'s filters 0..N-1 (the textbook ascent)."""
        self.shown = self.shown_by["none"] = len(patterns)
        self.pattern_grid.set_maps(patterns, rgb=True,
                                   caption=f"{layer}: the input that excites each of filters 0–{len(patterns) - 1} most")
        self._show_grids()

    def show_visualization(self, result: dict) -> None:
        """Draw ``jobs.feature_vis``'s images in the grid of their regularization."""
        images, preset = result["images"], result["preset"]
        self.shown = self.shown_by[preset] = len(images)
        idx = result["indices"]
        logit = result["objective"] == "logit"
        what = {"channel": "whole channel", "filter": "centre neuron", "logit": "class score"}[result["objective"]]
        unit = "class" if logit else "filter"
        span = f"{unit} {idx[0]}" if len(set(idx)) == 1 else f"{unit}s {idx[0]}–{idx[-1]}"
        where = "" if logit else f"{result['layer']}, "
        how = "Distill" if preset == "distill" else "no regularization"
        each = f", {len(images) // len(set(idx))} images each" if len(images) > len(set(idx)) else ""
        self._grid(preset).set_maps(images, rgb=True, caption=f"{where}{span} ({what}{each}) · {how}")
        self._show_grids()

    def _finished(self) -> None:
        self.patterns_button.setEnabled(self._tf_ready)
        self.pattern_cancel_button.setEnabled(False)
