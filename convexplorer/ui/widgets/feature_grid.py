"""FeatureGrid: many small maps (feature-map channels, filter patterns, kernels) tiled into one image.

Hundreds of channels are drawn as ONE pyqtgraph ``ImageItem`` with explicit
levels (DESIGN.md pitfalls), not one item per map. Each map is normalised on
its own ("per map") or all share one colour range ("shared"); RGB tiles
(filter patterns, first-layer kernels of colour images) are shown as colour::

    grid = FeatureGrid()
    grid.set_maps(fmap)                       # H x W x N (N grayscale tiles)
    grid.set_maps(patterns, rgb=True)         # N x H x W x 3 in [0, 1]
    grid.set_shared_scale(True)
    grid.tile_clicked.connect(lambda index, row, col: ...)  # map index and the cell in it
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

#: Between grayscale tiles: NaN, which pyqtgraph leaves transparent (the white background shows).
GAP_VALUE = np.nan


def grid_shape(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """Rows and columns for ``n`` tiles, about as wide as tall (times ``aspect``)."""
    if n <= 0:
        return 0, 0
    cols = max(1, int(math.ceil(math.sqrt(n * aspect))))
    rows = int(math.ceil(n / cols))
    return rows, cols


def normalise_tiles(maps: np.ndarray, shared: bool) -> np.ndarray:
    """``N x H x W`` (or ``N x H x W x 3``) scaled to [0, 1], per map or with one shared range."""
    m = np.asarray(maps, dtype=np.float32)
    axes = tuple(range(1, m.ndim))
    if shared:
        lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
        return np.zeros_like(m) if hi <= lo else (m - lo) / (hi - lo)
    lo = np.nanmin(m, axis=axes, keepdims=True)
    hi = np.nanmax(m, axis=axes, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.where(hi > lo, (m - lo) / span, 0.0).astype(np.float32)


def tile(maps: np.ndarray, cols: int, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Tile ``N x H x W [x 3]`` into one ``rows*(H+pad)-pad x cols*(W+pad)-pad [x 3]`` image."""
    n, h, w = maps.shape[:3]
    rows = int(math.ceil(n / cols)) if n else 0
    extra = maps.shape[3:]
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, *extra), fill, np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = maps[i]
    return out


class FeatureGrid(QWidget):
    """Tiles of maps in one image; click a tile to pick it (and the cell under the mouse)."""

    #: (map index, row in the map, column in the map)
    tile_clicked = Signal(int, int, int)

    def __init__(self, colormap: str = "viridis", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maps: np.ndarray | None = None
        self._rgb = False
        self._shared = False
        self._cols = 0
        self._pad = 1
        self._selected: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.graphics.setMinimumSize(200, 200)
        self.view = self.graphics.addViewBox(row=0, col=0)
        self.view.setAspectLocked(True)
        self.view.invertY(True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(colormap))
        self.view.addItem(self.image)
        self.selection = pg.QtWidgets.QGraphicsRectItem()
        pen = pg.mkPen("#ff3b30", width=2.5)
        pen.setCosmetic(True)
        self.selection.setPen(pen)
        self.selection.setZValue(10)
        self.selection.setVisible(False)
        self.view.addItem(self.selection)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("color:#444;")
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.image.mouseClickEvent = self._on_click  # type: ignore[method-assign]

    # --- public API ------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Number of tiles shown."""
        return 0 if self._maps is None else int(self._maps.shape[0])

    @property
    def columns(self) -> int:
        """Tiles per row."""
        return self._cols

    def tiled(self) -> np.ndarray | None:
        """The tiled image as drawn (for tests and export)."""
        return self.image.image

    def set_maps(self, maps: np.ndarray | None, rgb: bool = False, caption: str = "") -> None:
        """Show ``H x W x N`` maps (channels last), or ``N x H x W x 3`` colour tiles with ``rgb``."""
        self._selected = None
        self.selection.setVisible(False)
        if maps is None or np.size(maps) == 0:
            self._maps = None
            self.image.clear()
            self.caption.setText(caption)
            return
        arr = np.asarray(maps, dtype=np.float32)
        if rgb:
            if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
                raise ValueError(f"colour tiles must be N x H x W x 3, got shape {arr.shape}")
            if arr.shape[-1] == 1:
                arr = arr[..., 0]
                rgb = False
        else:
            if arr.ndim != 3:
                raise ValueError(f"maps must be H x W x N, got shape {arr.shape}")
            arr = np.moveaxis(arr, -1, 0)
        self._maps, self._rgb = arr, rgb
        h, w = arr.shape[1:3]
        self._pad = max(1, min(h, w) // 8)
        _rows, self._cols = grid_shape(arr.shape[0], aspect=1.6 * h / max(w, 1))
        self.caption.setText(caption)
        self._redraw()
        self.view.autoRange(padding=0.01)

    def set_shared_scale(self, shared: bool) -> None:
        """One colour range for all maps (True) or each map stretched on its own (False)."""
        self._shared = bool(shared)
        if self._maps is not None:
            self._redraw()

    def select(self, index: int | None) -> None:
        """Outline tile ``index`` (None clears)."""
        self._selected = index
        if index is None or self._maps is None or not 0 <= index < self.count:
            self.selection.setVisible(False)
            return
        r, c = divmod(index, self._cols)
        h, w = self._maps.shape[1:3]
        self.selection.setRect(QRectF(c * (w + self._pad), r * (h + self._pad), w, h))
        self.selection.setVisible(True)

    def tile_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """Map index and cell under image coordinates (x, y), or None in a gap."""
        if self._maps is None:
            return None
        h, w = self._maps.shape[1:3]
        c, cx = divmod(int(math.floor(x)), w + self._pad)
        r, cy = divmod(int(math.floor(y)), h + self._pad)
        if x < 0 or y < 0 or cx >= w or cy >= h or c >= self._cols:
            return None
        index = r * self._cols + c
        if index >= self.count:
            return None
        return index, cy, cx

    # --- internals -------------------------------------------------------------------
    def _redraw(self) -> None:
        assert self._maps is not None
        norm = normalise_tiles(self._maps, self._shared)
        img = tile(norm, self._cols, self._pad, fill=1.0 if self._rgb else GAP_VALUE)
        if self._rgb:
            self.image.setImage(np.clip(img, 0, 1), autoLevels=False, levels=(0.0, 1.0))
        else:
            self.image.setImage(img, autoLevels=False, levels=(0.0, 1.0))
        self.select(self._selected)

    def _on_click(self, event) -> None:  # noqa: ANN001 - pyqtgraph event
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.pos()
        hit = self.tile_at(pos.x(), pos.y())
        if hit is None:
            return
        event.accept()
        self.select(hit[0])
        self.tile_clicked.emit(*hit)
