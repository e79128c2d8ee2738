"""The "Feature maps" tab: one layer's channels, a channel enlarged, and the input region a cell sees."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.ui.panels.inspect.combos import Filling, fill_combo
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.array_view import ArrayView
from convexplorer.ui.widgets.feature_grid import FeatureGrid


class FeatureMapsTab(QWidget):
    """A layer picker, the layer's maps as a grid, the clicked channel and its receptive field."""

    #: The user chose another layer: its name.
    layer_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The model and the fitted image receptive fields are traced through.
        self.model: Any = None
        self.image: np.ndarray | None = None
        #: The maps shown (H x W x C) and their layer.
        self.maps: np.ndarray | None = None
        self.maps_name = ""
        #: The input region (top, left, bottom, right) the clicked cell sees.
        self.rf: tuple[int, int, int, int] | None = None
        self.filling = Filling()
        self.prev_layer_button = QPushButton("◀")
        self.prev_layer_button.setToolTip("Previous layer")
        self.next_layer_button = QPushButton("▶")
        self.next_layer_button.setToolTip("Next layer")
        for b in (self.prev_layer_button, self.next_layer_button):
            b.setFixedWidth(32)
        self.layer_combo = QComboBox()
        self.layer_combo.setMinimumWidth(260)
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(["Colour scale per map", "Shared colour scale"])
        self.maps_grid = FeatureGrid("viridis")
        self.enlarged_view = ArrayView("Channel", colormap="viridis")
        self.rf_view = ArrayView("Input: receptive field", show_colorbar=False)
        self.rf_view.set_values_visible(False)
        self.maps_hint = QLabel("Click a map to enlarge it; the cell you click is traced back to the input region that feeds it.")
        set_role(self.maps_hint, "hint")
        self._lay_out()
        self.layer_combo.currentTextChanged.connect(self._on_layer_text)
        self.prev_layer_button.clicked.connect(lambda: self.step_layer(-1))
        self.next_layer_button.clicked.connect(lambda: self.step_layer(1))
        self.scale_combo.currentIndexChanged.connect(lambda i: self.maps_grid.set_shared_scale(i == 1))
        self.maps_grid.tile_clicked.connect(self.show_cell)

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Layer"))
        bar.addWidget(self.prev_layer_button)
        bar.addWidget(self.layer_combo, 1)
        bar.addWidget(self.next_layer_button)
        bar.addWidget(self.scale_combo)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.enlarged_view, 1)
        rl.addWidget(self.rf_view, 1)
        msplit = QSplitter(Qt.Orientation.Horizontal)
        msplit.addWidget(self.maps_grid)
        msplit.addWidget(right)
        msplit.setStretchFactor(0, 3)
        msplit.setStretchFactor(1, 2)
        mt = QVBoxLayout(self)
        mt.addLayout(bar)
        mt.addWidget(msplit, 1)
        mt.addWidget(self.maps_hint)

    def set_model(self, model: Any) -> None:
        """Trace receptive fields through ``model`` from now on; the maps shown are stale."""
        self.model = model
        self.maps = None

    def set_input(self, image: np.ndarray | None) -> None:
        """The fitted image (None: it could not be fitted); drawn under the receptive field."""
        self.image = image
        if image is not None:
            self.rf_view.set_array(image)

    def set_layers(self, names: list[str], current: str | None) -> None:
        """Offer these layers, ``current`` selected, without asking for its maps."""
        with self.filling():
            fill_combo(self.layer_combo, names, current)

    def step_layer(self, delta: int) -> None:
        """Select the layer ``delta`` places down the list (if there is one)."""
        i = self.layer_combo.currentIndex() + delta
        if 0 <= i < self.layer_combo.count():
            self.layer_combo.setCurrentIndex(i)

    def show_maps(self, name: str, maps: np.ndarray) -> None:
        """Draw ``maps`` (H x W x C) of layer ``name``; enlarge channel 0 at its centre."""
        self.maps_name, self.maps = name, maps
        h, w, c = maps.shape
        self.maps_grid.set_maps(maps, caption=f"{name}: {c} channels of {h}x{w}")
        self.maps_grid.set_shared_scale(self.scale_combo.currentIndex() == 1)
        self.show_cell(0, h // 2, w // 2)

    def show_cell(self, index: int, row: int, col: int) -> None:
        """Enlarge channel ``index``, mark cell (row, col) and the input region it sees."""
        from convexplorer.core import inspect as ins

        if self.maps is None or self.image is None:
            return
        self.maps_grid.select(index)
        m = self.maps[..., index]
        self.enlarged_view.set_title(f"{self.maps_name}, channel {index}")
        self.enlarged_view.set_array(m)
        self.enlarged_view.set_highlight((row, col, 1, 1))
        try:
            top, left, bottom, right = ins.receptive_field(self.model, self.maps_name, row, col, self.image.shape)
        except ConvExplorerError as exc:
            self.rf_view.set_subtitle(str(exc))
            return
        self.rf_view.set_highlight((top, left, bottom - top, right - left))
        self.rf_view.set_subtitle(f"cell ({row}, {col}) sees rows {top}–{bottom - 1}, columns {left}–{right - 1}")
        self.rf = (top, left, bottom, right)

    def _on_layer_text(self, name: str) -> None:
        if not self.filling and name:
            self.layer_chosen.emit(name)
