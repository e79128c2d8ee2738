"""The sanity check's row: one map per randomized layer, each captioned with the layer and its rank correlation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from convexplorer.ui.widgets.overlay_view import blend
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: Side of each map in the row (pixels).
SIDE = 128


def correlation_text(value: float) -> str:
    """``ρ = 0.83``, or words when the correlation is undefined (a constant map)."""
    return "ρ undefined (flat map)" if value is None or math.isnan(value) else f"ρ = {value:.2f}"


class SanityRow(QScrollArea):
    """Maps side by side: the original first, then one per randomized layer (cascading from the top)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._inner = QWidget()
        self._row = QHBoxLayout(self._inner)
        self._row.setContentsMargins(4, 4, 4, 4)
        self._row.setAlignment(Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._inner)
        #: The maps of the randomized layers, their layers and correlations (the original not included).
        self.maps: list[np.ndarray] = []
        self.layers: list[str] = []
        self.correlations: list[float] = []
        self.captions: list[str] = []
        self._tiles: list[QWidget] = []
        self.setFixedHeight(SIDE + 4 * self.fontMetrics().lineSpacing() + 24)

    def clear(self) -> None:
        """No maps."""
        for t in self._tiles:
            self._row.removeWidget(t)
            t.hide()
            t.deleteLater()
        self._tiles = []
        self.maps, self.layers, self.correlations, self.captions = [], [], [], []

    def show_steps(self, image: np.ndarray | None, original: np.ndarray, steps: list[Any], colormap: str = "inferno",
                   opacity: float = 0.6, method: str = "") -> None:
        """The ``original`` map (of ``method``), then each ``RandomizationStep`` after the first (the untouched copy)."""
        self.clear()
        self._add(image, original, f"original model\n{method}".strip(), colormap, opacity)
        for s in steps[1:]:
            short = s.layer.rsplit("/", 1)[-1]
            self._add(image, s.heatmap, f"random up to\n{short}\n{correlation_text(s.correlation)}", colormap, opacity,
                      tip=f"re-initialised: {', '.join(s.randomized)}")
            self.maps.append(np.asarray(s.heatmap))
            self.layers.append(s.layer)
            self.correlations.append(float(s.correlation))

    def _add(self, image: np.ndarray | None, heat: np.ndarray, caption: str, colormap: str, opacity: float,
             tip: str = "") -> None:
        tile = QWidget()
        lay = QVBoxLayout(tile)
        lay.setContentsMargins(2, 2, 2, 2)
        pic = QLabel()
        pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        heat = np.asarray(heat, np.float32)
        shown = blend(image, heat, opacity, colormap) if image is not None and image.shape[:2] == heat.shape else heat
        pic.setPixmap(array_to_pixmap(shown, SIDE, smooth=True))
        text = QLabel(caption)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setToolTip(tip or caption)
        lay.addWidget(pic)
        lay.addWidget(text)
        self._row.addWidget(tile)
        self._tiles.append(tile)
        self.captions.append(caption)
