"""The "Grad-CAM and saliency" tab: where the network looked for a class, and which pixels move its score."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from convexplorer.ui.panels.inspect.combos import Filling, fill_combo
from convexplorer.ui.widgets.array_view import ArrayView
from convexplorer.ui.widgets.overlay_view import HEAT_COLORMAPS, OverlayView
from convexplorer.ui.widgets.topk_chart import bar_text


class CamTab(QWidget):
    """Class and layer pickers, opacity and colours, the Grad-CAM overlay, the saliency map and a caption."""

    #: The user chose another class or layer.
    settings_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Number of classes (or box coordinates) offered in the class picker (0: nothing to map yet).
        self.class_count = 0
        #: What the picker offers: "classes" or, for a box head, "boxes" (its four coordinates).
        self.kind = "classes"
        #: Whether captions name the head (a model with several outputs).
        self.head_named = False
        #: The class last asked for (None: the top class).
        self.cam_class: int | None = None
        self.filling = Filling()
        self.cam_class_label = QLabel("Class")
        self.cam_class_combo = QComboBox()
        self.cam_class_combo.setMinimumWidth(200)
        self.cam_layer_combo = QComboBox()
        self.cam_layer_combo.setMinimumWidth(200)
        self.cam_opacity = QSlider(Qt.Orientation.Horizontal)
        self.cam_opacity.setRange(0, 100)
        self.cam_opacity.setValue(50)
        self.cam_opacity.setFixedWidth(120)
        self.cam_cmap_combo = QComboBox()
        self.cam_cmap_combo.addItems(HEAT_COLORMAPS)
        self.cam_view = OverlayView("Grad-CAM")
        self.saliency_view = ArrayView("Gradient saliency", colormap="inferno")
        self.saliency_view.set_values_visible(False)
        self.cam_info = QLabel("")
        self.cam_info.setWordWrap(True)
        self._lay_out()
        self.cam_class_combo.currentIndexChanged.connect(self._on_settings)
        self.cam_layer_combo.currentTextChanged.connect(self._on_settings)
        self.cam_opacity.valueChanged.connect(lambda v: self.cam_view.set_opacity(v / 100.0))
        self.cam_cmap_combo.currentTextChanged.connect(self.cam_view.set_heat_colormap)

    def _lay_out(self) -> None:
        cbar = QHBoxLayout()
        for text, w in ((self.cam_class_label, self.cam_class_combo), ("Conv layer", self.cam_layer_combo),
                        ("Opacity", self.cam_opacity), ("Colours", self.cam_cmap_combo)):
            cbar.addWidget(text if isinstance(text, QLabel) else QLabel(text))
            cbar.addWidget(w)
        cbar.addStretch(1)
        views = QHBoxLayout()
        views.addWidget(self.cam_view, 1)
        views.addWidget(self.saliency_view, 1)
        ct = QVBoxLayout(self)
        ct.addLayout(cbar)
        ct.addLayout(views, 1)
        ct.addWidget(self.cam_info)

    def set_layers(self, names: list[str], current: str | None) -> None:
        """Offer these layers, ``current`` selected, without asking for a new Grad-CAM."""
        with self.filling():
            fill_combo(self.cam_layer_combo, names, current)

    def set_classes(self, count: int, label: Callable[[int], str | None]) -> None:
        """Offer "Top class" and ``count`` classes named by ``label`` (if the count changed)."""
        if count == self.class_count and self.kind == "classes":
            return
        with self.filling():
            self.kind = "classes"
            self.cam_class_label.setText("Class")
            self.class_count = count
            self.cam_class_combo.clear()
            self.cam_class_combo.addItem("Top class")
            for i in range(count):
                self.cam_class_combo.addItem(bar_text(i, label(i)))
            self.cam_class = None

    def set_box_targets(self) -> None:
        """Offer a box head's targets: the sum of the four coordinates, or one of them."""
        from convexplorer.core.inspect import BOX_COORDINATES

        if self.kind == "boxes":
            return
        with self.filling():
            self.kind = "boxes"
            self.class_count = len(BOX_COORDINATES)
            self.cam_class_label.setText("Box coordinate")
            self.cam_class_combo.clear()
            self.cam_class_combo.addItem("All four (sum)")
            self.cam_class_combo.addItems(list(BOX_COORDINATES))
            self.cam_class = None

    def chosen_layer(self) -> str | None:
        """The layer picked (None: let Grad-CAM choose)."""
        return self.cam_layer_combo.currentText() or None

    def take_class(self) -> int | None:
        """Remember and return the class picked (None: the top class)."""
        i = self.cam_class_combo.currentIndex()
        self.cam_class = None if i <= 0 else i - 1
        return self.cam_class

    def set_base(self, image: np.ndarray) -> None:
        """The fitted image under the heat map."""
        self.cam_view.set_base(image)

    def show_cam(self, cam: Any, saliency: np.ndarray | None, label: str | None) -> None:
        """Draw Grad-CAM details ``cam`` (class named ``label``) and the saliency, or say why there are none."""
        if cam is None:
            self.cam_view.set_heat(None)
            self.saliency_view.set_array(None)
            self.cam_info.setText("Grad-CAM needs a classifier with a convolution layer.")
            return
        self.cam_view.set_opacity(self.cam_opacity.value() / 100.0)
        self.cam_view.set_heat_colormap(self.cam_cmap_combo.currentText())
        self.cam_view.set_heat(cam.heatmap)
        self.saliency_view.set_array(saliency, levels=(0.0, 1.0))
        h, w = cam.coarse.shape
        if getattr(cam, "kind", "classes") != "classes":
            value = float(np.sum(cam.probabilities)) if cam.class_index < 0 else float(cam.probabilities[cam.class_index])
            self.cam_view.set_subtitle(f"head “{cam.head}”: {cam.target} = {value:.3f}")
            self.saliency_view.set_subtitle(f"|d {cam.target} / d pixel|, largest over colour channels")
            self.cam_info.setText(
                f"Grad-CAM of the box head “{cam.head}”, following {cam.target} (the box is in fractions of the image), "
                f"from layer {cam.layer_name} ({h}x{w}, upsampled): where the features that move this number lie. "
                "Pick one coordinate above to see what moves one edge of the box."
            )
            return
        p = float(cam.probabilities[cam.class_index])
        self.cam_view.set_subtitle(f"{bar_text(cam.class_index, label)} · {100 * p:.1f} %")
        self.saliency_view.set_subtitle("|d score / d pixel|, largest over colour channels")
        of_head = f" (head “{cam.head}”)" if getattr(cam, "head", "") and self.head_named else ""
        self.cam_info.setText(
            f"Grad-CAM of {bar_text(cam.class_index, label)}{of_head} from layer {cam.layer_name} ({h}x{w}, upsampled): "
            "gradients of the class score, averaged per channel, weight the channels; ReLU keeps what speaks for the class."
        )

    def _on_settings(self, *_args: Any) -> None:
        if not self.filling:
            self.settings_changed.emit()
