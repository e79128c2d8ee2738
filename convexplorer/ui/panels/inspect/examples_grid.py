"""A grid of dataset examples: each image with its receptive-field box outlined, its crop and its activation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QScrollArea, QToolButton, QWidget

from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: Colour of the receptive-field outline and of the crop's frame.
BOX_COLOR = "#ff3b30"
#: Smallest outline drawn (pixels): a receptive field of a few input pixels still shows.
MIN_BOX = 7.0


@dataclass(frozen=True)
class ExampleTile:
    """One tile to draw: the image as fed to the model, the box ``(y0, x0, y1, x1)`` (None: no outline), its crop
    and a caption."""

    image: np.ndarray
    box: tuple[int, int, int, int] | None
    crop: np.ndarray | None
    caption: str
    tooltip: str = ""


def _rgb(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image, np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.clip(a[..., :3], 0.0, 1.0)


def tile_pixmap(tile: ExampleTile, side: int) -> QPixmap:
    """The image at ``side`` pixels with its box outlined, and beside it the crop at half that side."""
    img = _rgb(tile.image)
    h, w = img.shape[:2]
    pic = array_to_pixmap(img, side)
    sx, sy = pic.width() / max(1, w), pic.height() / max(1, h)
    half = side // 2 if tile.crop is not None else 0
    out = QPixmap(pic.width() + (half + 6 if half else 0), max(pic.height(), half))
    out.fill(QColor(0, 0, 0, 0))
    p = QPainter(out)
    p.drawPixmap(0, 0, pic)
    pen = QPen(QColor(BOX_COLOR))
    pen.setWidth(2)
    p.setPen(pen)
    if tile.box is None:
        p.end()
        return out
    y0, x0, y1, x1 = tile.box
    rect = QRectF(x0 * sx, y0 * sy, max(1.0, (x1 - x0) * sx - 1), max(1.0, (y1 - y0) * sy - 1))
    if rect.width() < MIN_BOX or rect.height() < MIN_BOX:  # a few pixels: outline a visible square around them
        c = rect.center()
        side = max(MIN_BOX, rect.width(), rect.height())
        rect = QRectF(c.x() - side / 2, c.y() - side / 2, side, side)
    p.drawRect(rect)
    if half and tile.crop is not None and np.size(tile.crop) > 0:
        crop = array_to_pixmap(_rgb(tile.crop), half)
        cx = pic.width() + 6
        p.drawPixmap(cx, 0, crop)
        p.drawRect(QRectF(cx, 0, crop.width() - 1, crop.height() - 1))
    p.end()
    return out


class ExamplesGrid(QScrollArea):
    """Clickable tiles in rows that follow the width; a click gives the tile's position in the list."""

    #: A tile was clicked: its position in the list given to :meth:`set_tiles`.
    tile_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumHeight(160)
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setContentsMargins(4, 4, 4, 4)
        self._grid.setSpacing(6)
        self._grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self._inner)
        #: The tiles' buttons, in list order.
        self.buttons: list[QToolButton] = []
        self._columns = 0

    @property
    def count(self) -> int:
        """Tiles shown."""
        return len(self.buttons)

    def set_tiles(self, tiles: list[ExampleTile], side: int = 112) -> None:
        """Show these tiles (images ``side`` pixels wide; the crop, when there is one, half that)."""
        self.clear()
        for i, t in enumerate(tiles):
            b = QToolButton()
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            pix = tile_pixmap(t, side)
            b.setIcon(pix)
            b.setIconSize(QSize(pix.width(), pix.height()))
            b.setText(t.caption)
            b.setToolTip(t.tooltip or t.caption)
            b.setAutoRaise(True)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.clicked.connect(lambda _c=False, i=i: self.tile_clicked.emit(i))
            self.buttons.append(b)
        self._columns = 0
        self._relayout()

    def clear(self) -> None:
        """No tiles."""
        for b in self.buttons:
            self._grid.removeWidget(b)
            b.hide()  # gone at once, not only when the event loop deletes it
            b.deleteLater()
        self.buttons = []

    def _relayout(self) -> None:
        if not self.buttons:
            return
        width = max(1, self.viewport().width() - 8)
        tile_w = max(1, self.buttons[0].sizeHint().width() + self._grid.spacing())
        cols = max(1, width // tile_w)
        if cols == self._columns:
            return
        self._columns = cols
        for b in self.buttons:
            self._grid.removeWidget(b)
        for i, b in enumerate(self.buttons):
            self._grid.addWidget(b, i // cols, i % cols)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        """Re-flow the tiles to the new width."""
        super().resizeEvent(event)
        self._relayout()
