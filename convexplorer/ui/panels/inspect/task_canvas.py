"""One picture of the "Boxes/masks" tab: an image with a blended mask, labelled boxes, and a detector's grid,
per-cell objectness and anchors drawn over it. It only draws what it is given (no maths)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from convexplorer.ui.widgets.box_painter import paint_boxes
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: Largest side of the drawn picture (pixels).
SIDE = 360


class TaskCanvas(QWidget):
    """A title, the picture and nothing else; :meth:`draw` takes everything to show, in fractions of the image."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setWordWrap(True)
        self.title.setMinimumHeight(2 * self.title.fontMetrics().lineSpacing() + 2)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.picture = QLabel("")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(180, 180)
        # The pixmap never sizes the layout: the three pictures share the width equally, and redraw on resize.
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background:#f4f4f4;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.picture, 1)
        #: What the last draw showed: boxes (fractions), classes, scores, and the overlays switched on.
        self.boxes = np.zeros((0, 4), np.float32)
        self.classes = np.zeros(0, np.int32)
        self.scores: np.ndarray | None = None
        #: The RGB image drawn under the boxes (float, with the mask blended when there is one).
        self.base: np.ndarray | None = None
        self._last: tuple | None = None
        self._side = 0

    def set_title(self, text: str) -> None:
        """Change the title over the picture."""
        self.title.setText(f"<b>{text}</b>")

    def clear(self, text: str = "") -> None:
        """Show ``text`` instead of a picture."""
        self.boxes = np.zeros((0, 4), np.float32)
        self.classes = np.zeros(0, np.int32)
        self.scores = None
        self.base = None
        self._last = None
        self.picture.clear()
        self.picture.setText(text)

    def draw(self, rgb: np.ndarray, boxes: np.ndarray | None = None, classes: Sequence[int] | None = None,
             scores: Sequence[float] | None = None, names: Sequence[str] | None = None,
             grid_size: int = 0, heat: np.ndarray | None = None, anchors: np.ndarray | None = None,
             anchor_centre: tuple[float, float] = (0.5, 0.5), chosen: int = -1) -> None:
        """Draw ``rgb`` (float ``H x W x 3``) and over it: ``heat`` (``S x S`` objectness, red cells), grid lines,
        ``anchors`` (A x 2 fractions, dashed, centred at ``anchor_centre``), then the boxes (fractions) with labels;
        box ``chosen`` is drawn thicker."""
        self._last = (rgb, boxes, classes, scores, names, grid_size, heat, anchors, anchor_centre, chosen)
        self.base = np.asarray(rgb, np.float32)
        self.boxes = np.zeros((0, 4), np.float32) if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)
        self.classes = np.zeros(len(self.boxes), np.int32) if classes is None else np.asarray(classes, np.int32)
        self.scores = None if scores is None else np.asarray(scores, np.float32)
        side = self._fit_side()
        self._side = side
        h, w = self.base.shape[:2]
        pix = array_to_pixmap(self.base, side, smooth=max(h, w) > side)
        pw, ph = pix.width(), pix.height()
        p = QPainter(pix)
        if heat is not None:
            s = heat.shape[0]
            for r in range(s):
                for c in range(heat.shape[1]):
                    a = int(round(150 * float(np.clip(heat[r, c], 0, 1))))
                    if a > 3:
                        p.fillRect(QRectF(c * pw / s, r * ph / s, pw / s, ph / s), QColor(255, 40, 0, a))
        if grid_size:
            p.setPen(QPen(QColor(255, 255, 255, 170), 1))
            for k in range(1, grid_size):
                p.drawLine(QPointF(k * pw / grid_size, 0), QPointF(k * pw / grid_size, ph))
                p.drawLine(QPointF(0, k * ph / grid_size), QPointF(pw, k * ph / grid_size))
        if anchors is not None:
            cx, cy = anchor_centre
            for j, (aw, ah) in enumerate(np.asarray(anchors, np.float64).reshape(-1, 2)):
                p.setPen(QPen(QColor(255, 255, 255, 230), 1, Qt.PenStyle.DashLine))
                rect = QRectF((cx - aw / 2) * pw, (cy - ah / 2) * ph, aw * pw, ah * ph)
                p.drawRect(rect)
                p.drawText(rect.topLeft() + QPointF(2, 11), f"a{j}")
        p.end()
        if len(self.boxes):
            px = self.boxes.astype(np.float64) * np.array([pw, ph, pw, ph])
            paint_boxes(pix, px, [int(k) for k in self.classes], names, self.scores)
            if 0 <= chosen < len(self.boxes):
                p = QPainter(pix)
                p.setPen(QPen(QColor("white"), 4))
                x0, y0, x1, y1 = px[chosen]
                p.drawRect(QRectF(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6))
                p.end()
        self.picture.setText("")
        self.picture.setPixmap(pix)

    def _fit_side(self) -> int:
        room = self.picture.contentsRect()
        if room.width() <= 10 or room.height() <= 10:
            return SIDE
        return int(max(120, min(SIDE, room.width() - 4, room.height() - 4)))

    def resizeEvent(self, event) -> None:
        """Redraw at the new size (the picture follows the room it has)."""
        super().resizeEvent(event)
        if self._last is not None and self._fit_side() != self._side:
            self.draw(*self._last)
