"""What a box head predicts: the box drawn over the image, and its four numbers."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: Side of the drawn image (pixels).
SIDE = 150
BOX_COLOR = "#00c853"
#: Colour of the true box (dashed), when the image comes from a data set with boxes.
TRUTH_COLOR = "#ff2d55"


class BoxView(QWidget):
    """The image with the predicted box ``[x0, y0, x1, y1]`` (fractions of the image) drawn over it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The box shown (fractions of the image), None when there is none.
        self.box: np.ndarray | None = None
        self.truth: np.ndarray | None = None
        self.picture = QLabel()
        self.picture.setObjectName("boxPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedHeight(SIDE + 4)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setMinimumHeight(3 * self.caption.fontMetrics().lineSpacing())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.picture)
        lay.addWidget(self.caption)

    def show_box(self, image: np.ndarray | None, box: np.ndarray, head: str, truth: np.ndarray | None = None) -> None:
        """Draw ``box`` (x0, y0, x1, y1 as fractions of the image) over ``image`` and write its numbers; ``truth``
        (fractions too), the true box, is drawn dashed with the IoU of the two."""
        self.box = np.asarray(box, np.float64).reshape(4)
        #: The true box drawn (fractions), None when the truth is unknown.
        self.truth = None if truth is None else np.asarray(truth, np.float64).reshape(4)
        x0, y0, x1, y1 = self.box
        if image is not None:
            img = np.asarray(image, np.float32)
            if img.ndim == 3 and img.shape[-1] == 1:
                img = np.repeat(img, 3, axis=-1)
            h, w = img.shape[:2]
            pix = array_to_pixmap(img, SIDE)
            sx, sy = pix.width(), pix.height()
            p = QPainter(pix)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            pen = QPen(QColor(BOX_COLOR))
            pen.setWidth(3)
            p.setPen(pen)
            lo_x, hi_x = sorted((float(np.clip(x0, 0, 1)), float(np.clip(x1, 0, 1))))
            lo_y, hi_y = sorted((float(np.clip(y0, 0, 1)), float(np.clip(y1, 0, 1))))
            p.drawRect(QRectF(lo_x * sx, lo_y * sy, max(1.0, (hi_x - lo_x) * sx), max(1.0, (hi_y - lo_y) * sy)))
            if self.truth is not None:
                tx0, ty0, tx1, ty1 = self.truth
                p.setPen(QPen(QColor(TRUTH_COLOR), 2, Qt.PenStyle.DashLine))
                p.drawRect(QRectF(tx0 * sx, ty0 * sy, (tx1 - tx0) * sx, (ty1 - ty0) * sy))
            p.end()
            self.picture.setPixmap(pix)
            px = f"<br>= ({x0 * w:.0f}, {y0 * h:.0f})–({x1 * w:.0f}, {y1 * h:.0f}) px of {w}x{h}"
        else:
            self.picture.clear()
            px = ""
        flipped = "<br>(x1 < x0 or y1 < y0: the head has not learnt boxes yet)" if x1 < x0 or y1 < y0 else ""
        if self.truth is not None:
            from convexplorer.core.metrics import box_iou

            iou = float(box_iou(self.box[None], self.truth[None])[0, 0])
            flipped += f"<br><span style='color:{TRUTH_COLOR}'>┅</span> true box · IoU {iou:.2f}"
        self.caption.setText(
            f"<span style='color:{BOX_COLOR}'>■</span> box of head “{head}”, as fractions of the image:<br>"
            f"x0 {x0:.2f} · y0 {y0:.2f} · x1 {x1:.2f} · y1 {y1:.2f}{px}{flipped}"
        )

    def clear(self) -> None:
        """Nothing to show."""
        self.box = None
        self.truth = None
        self.picture.clear()
        self.caption.setText("")
