"""Heat-map overlays (Grad-CAM, saliency) blended on an image, for display.

:func:`blend` mixes an ``H x W`` map in [0, 1] through a pyqtgraph colour map
onto an RGB image; :class:`OverlayView` is an ArrayView showing the result,
with opacity and colour map settable.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from convexplorer.ui.widgets.array_view import ArrayView

#: Colour maps offered for heat maps.
HEAT_COLORMAPS = ("inferno", "viridis", "magma", "plasma", "turbo", "CET-L17")


def colorize(values: np.ndarray, colormap: str = "inferno") -> np.ndarray:
    """``H x W`` values in [0, 1] to ``H x W x 3`` colours in [0, 1]."""
    cmap = pg.colormap.get(colormap)
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    rgba = cmap.map(v.ravel(), mode="float")
    return np.asarray(rgba, np.float32)[:, :3].reshape(*v.shape, 3)


def blend(image: np.ndarray, heat: np.ndarray | None, opacity: float = 0.5, colormap: str = "inferno") -> np.ndarray:
    """``(1 - opacity) * image + opacity * colour(heat)``; a grey image is shown in colour."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    img = np.clip(img[..., :3], 0.0, 1.0)
    if heat is None:
        return img
    if heat.shape != img.shape[:2]:
        raise ValueError(f"the heat map is {heat.shape[0]}x{heat.shape[1]} but the image is {img.shape[0]}x{img.shape[1]}")
    a = float(np.clip(opacity, 0.0, 1.0))
    return (1.0 - a) * img + a * colorize(heat, colormap)


class OverlayView(ArrayView):
    """An image with a heat map blended over it."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, show_colorbar=False, show_axes=False, parent=parent)
        self._base: np.ndarray | None = None
        self._heat: np.ndarray | None = None
        self._opacity = 0.5
        self._heat_cmap = "inferno"
        self.set_values_visible(False)

    def set_base(self, image: np.ndarray | None) -> None:
        """The image under the overlay (H x W x C in [0, 1])."""
        self._base = None if image is None else np.asarray(image, np.float32)
        self._heat = None
        self._redraw()

    def set_heat(self, heat: np.ndarray | None) -> None:
        """The map to overlay (H x W in [0, 1], the image's size), or None."""
        self._heat = None if heat is None else np.asarray(heat, np.float32)
        self._redraw()

    def has_heat(self) -> bool:
        """Whether a heat map is shown over the image."""
        return self._heat is not None and self._base is not None

    def set_opacity(self, opacity: float) -> None:
        """How much of the heat map shows (0 = image only, 1 = map only)."""
        self._opacity = float(opacity)
        self._redraw()

    def set_heat_colormap(self, name: str) -> None:
        """Colour map of the heat map."""
        self._heat_cmap = name
        self._redraw()

    def composite(self) -> np.ndarray | None:
        """The blended image shown."""
        if self._base is None:
            return None
        heat = self._heat if self._heat is not None and self._heat.shape == self._base.shape[:2] else None
        return blend(self._base, heat, self._opacity, self._heat_cmap)

    def _redraw(self) -> None:
        self.set_array(self.composite())
