"""The "Attributions" tab: seven ways to say which pixels made the score, and their randomization sanity check."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget

from convexplorer.ui.panels.inspect.job_bar import JobBar
from convexplorer.ui.panels.inspect.method_options import ABOUT, METHODS, MethodOptions
from convexplorer.ui.panels.inspect.sanity_row import SanityRow
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.overlay_view import HEAT_COLORMAPS, OverlayView
from convexplorer.ui.widgets.topk_chart import bar_text


def completeness_text(total: float, delta: float) -> str:
    """IG's completeness line: the attributions' sum against f(x) − f(baseline), and their difference in %."""
    diff = abs(total - delta) / abs(delta) * 100 if delta else float("inf") if total else 0.0
    return (f"Attributions sum to {total:.4g}; f(x) − f(baseline) = {delta:.4g} (difference {diff:.2g} %). "
            "More steps bring the two closer.")


class AttributionsTab(QWidget):
    """Method and class pickers with the method's options, the map over the image, and the sanity-check row."""

    #: The user pressed Compute.
    compute_requested = Signal()
    #: The user pressed Sanity check.
    sanity_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Classes offered in the class picker (0: nothing yet); "classes" or "boxes".
        self.class_count = 0
        self.kind = "classes"
        #: The last map drawn (``jobs.attribution_map``'s result) and the last sanity check.
        self.result: dict | None = None
        self.sanity: dict | None = None
        self._base: np.ndarray | None = None
        self.method_combo = QComboBox()
        for name, words in METHODS:
            self.method_combo.addItem(words, name)
        self.class_label = QLabel("Class")
        self.class_combo = QComboBox()
        self.class_combo.setMinimumWidth(160)
        self.class_combo.addItem("Top class")
        self.options = MethodOptions()
        self.job = JobBar("Compute map")
        self.attr_button = self.job.compute_button
        self.attr_cancel_button = self.job.cancel_button
        self.attr_progress = self.job.progress
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setFixedWidth(110)
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(HEAT_COLORMAPS)
        self.view = OverlayView("Attribution")
        self.about = QLabel(ABOUT["saliency"])
        self.about.setWordWrap(True)
        set_role(self.about, "hint")
        self.ig_line = QLabel("")
        self.ig_line.setWordWrap(True)
        self.ig_line.setVisible(False)
        self.sanity_layers = QSpinBox()
        self.sanity_layers.setRange(1, 200)
        self.sanity_layers.setValue(4)
        self.sanity_layers.setToolTip("How many layers to re-initialise, one after another from the top")
        self.sanity_job = JobBar("Sanity check")
        self.sanity_button = self.sanity_job.compute_button
        self.sanity_button.setToolTip("Re-run the method on a copy of the model whose top layers get random weights, "
                                      "layer by layer from the output down")
        self.sanity_cancel_button = self.sanity_job.cancel_button
        self.sanity_progress = self.sanity_job.progress
        self.sanity_row = SanityRow()
        self.sanity_info = QLabel("Sanity check: does the map change when the model forgets what it learned? "
                                  "A method whose map stays the same (ρ near 1) shows the image, not the model.")
        self.sanity_info.setWordWrap(True)
        set_role(self.sanity_info, "hint")
        self._lay_out()
        self.method_combo.currentIndexChanged.connect(self._on_method)
        self.job.compute_requested.connect(self.compute_requested.emit)
        self.job.cancelled.connect(lambda: self.view.set_subtitle("Cancelled."))
        self.sanity_job.compute_requested.connect(self.sanity_requested.emit)
        self.sanity_job.cancelled.connect(lambda: self.sanity_info.setText("Sanity check cancelled."))
        self.opacity.valueChanged.connect(lambda v: self.view.set_opacity(v / 100.0))
        self.cmap_combo.currentTextChanged.connect(self.view.set_heat_colormap)
        self.view.set_opacity(0.6)

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Method"))
        top.addWidget(self.method_combo)
        top.addWidget(self.class_label)
        top.addWidget(self.class_combo)
        top.addWidget(QLabel("Opacity"))
        top.addWidget(self.opacity)
        top.addWidget(QLabel("Colours"))
        top.addWidget(self.cmap_combo)
        top.addStretch(1)
        sanity = QHBoxLayout()
        sanity.addWidget(QLabel("Layers to randomize"))
        sanity.addWidget(self.sanity_layers)
        sanity.addWidget(self.sanity_job, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.options)
        lay.addWidget(self.job)
        lay.addWidget(self.about)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.ig_line)
        lay.addLayout(sanity)
        lay.addWidget(self.sanity_row)
        lay.addWidget(self.sanity_info)

    # --- pickers --------------------------------------------------------------------------------
    def set_tf_ready(self, ready: bool) -> None:
        """Enable the buttons once TensorFlow is in."""
        self.job.set_tf_ready(ready)
        self.sanity_job.set_tf_ready(ready)

    def method(self) -> str:
        """The method picked, as ``inspect.attribution`` names it."""
        return self.method_combo.currentData()

    def method_options(self) -> dict[str, Any]:
        """The picked method's options."""
        return self.options.options(self.method())

    def set_method(self, method: str) -> None:
        """Pick ``method`` (its name in ``inspect.attribution``)."""
        i = self.method_combo.findData(method)
        if i >= 0:
            self.method_combo.setCurrentIndex(i)

    def set_layers(self, names: list[str], current: str | None) -> None:
        """Offer these conv layers to the CAM methods."""
        self.options.set_layers(names, current)

    def set_classes(self, count: int, label: Callable[[int], str | None]) -> None:
        """Offer "Top class" and ``count`` classes named by ``label`` (if the count changed)."""
        if count == self.class_count and self.kind == "classes":
            return
        self.kind, self.class_count = "classes", count
        self.class_label.setText("Class")
        self.class_combo.clear()
        self.class_combo.addItem("Top class")
        for i in range(count):
            self.class_combo.addItem(bar_text(i, label(i)))

    def set_box_targets(self) -> None:
        """Offer a box head's targets: the sum of its four coordinates, or one of them."""
        from convexplorer.core.inspect import BOX_COORDINATES

        if self.kind == "boxes":
            return
        self.kind, self.class_count = "boxes", len(BOX_COORDINATES)
        self.class_label.setText("Box coordinate")
        self.class_combo.clear()
        self.class_combo.addItem("All four (sum)")
        self.class_combo.addItems(list(BOX_COORDINATES))

    def chosen_class(self) -> int | None:
        """The class (or box coordinate) picked; None: the top class (a box head: the sum)."""
        i = self.class_combo.currentIndex()
        return None if i <= 0 else i - 1

    def set_base(self, image: np.ndarray | None) -> None:
        """The fitted image under the maps; the maps shown belong to the old image."""
        self._base = image
        self.view.set_base(image)
        self.view.set_subtitle("")
        self.ig_line.setVisible(False)
        self.result = None

    # --- results --------------------------------------------------------------------------------
    def show_map(self, result: dict, label: Callable[[int], str | None]) -> None:
        """Draw ``jobs.attribution_map``'s result over the image; for IG, the completeness line."""
        self.result = result
        self.view.set_opacity(self.opacity.value() / 100.0)
        self.view.set_heat_colormap(self.cmap_combo.currentText())
        self.view.set_heat(result["heatmap"])
        words = dict(METHODS)[result["method"]]
        self.view.set_subtitle(f"{words} · {self._target_words(result['class_index'], label)}")
        ig = result.get("ig")
        self.ig_line.setVisible(ig is not None)
        if ig is not None:
            self.ig_line.setText(completeness_text(ig["total"], ig["delta"]))

    def show_sanity(self, result: dict, original: np.ndarray | None = None) -> None:
        """Draw the randomization check: the original map, then one per randomized layer with its rank correlation."""
        self.sanity = result
        steps = result["steps"]
        first = original if original is not None else steps[0].heatmap
        words = dict(METHODS)[result["method"]]
        self.sanity_row.show_steps(self._base, first, steps, self.cmap_combo.currentText(), self.opacity.value() / 100.0,
                                   words)
        rho = ", ".join(f"{c:.2f}" for c in self.sanity_row.correlations)
        self.sanity_info.setText(
            f"{words} on copies of the model with random weights, cascading from the top layer down. ρ: the rank "
            f"correlation with the original map ({rho}). Near 1: the map hardly depends on what the model learned; "
            "near 0: it does.")

    def shown(self) -> int:
        """How many sanity-check maps of randomized layers are on screen."""
        return len(self.sanity_row.maps)

    def _target_words(self, index: int | None, label: Callable[[int], str | None]) -> str:
        if self.kind == "boxes":
            from convexplorer.core.inspect import BOX_COORDINATES

            return "sum of the box's coordinates" if index is None else list(BOX_COORDINATES)[index]
        return "" if index is None else bar_text(index, label(index))

    def _on_method(self, _i: int) -> None:
        m = self.method()
        self.options.set_method(m)
        self.about.setText(ABOUT.get(m, ""))
