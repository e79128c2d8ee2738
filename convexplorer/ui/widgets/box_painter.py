"""Draw boxes with a label (class name, and score) over a pixmap, in the class palette of ``core.overlays``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap

from convexplorer.core.overlays import class_color


def class_qcolor(k: int) -> QColor:
    """The palette colour of class ``k``."""
    return QColor(*class_color(k))


def box_label(k: int, names: Sequence[str] | None, score: float | None = None) -> str:
    """"circle 0.93", "class 2", "square"."""
    name = names[k] if names is not None and 0 <= k < len(names) else f"class {k}"
    return name if score is None else f"{name} {score:.2f}"


def paint_boxes(pix: QPixmap, boxes: np.ndarray, classes: Sequence[int], names: Sequence[str] | None = None,
                scores: Sequence[float] | None = None, dashed: bool = False, width: int = 2,
                labels: bool = True) -> QPixmap:
    """Draw ``boxes`` (``[x0, y0, x1, y1]`` in the pixmap's pixels) on ``pix`` with a filled label above each."""
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont(p.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    p.setFont(font)
    fm = QFontMetrics(font)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    for n, (box, k) in enumerate(zip(b, classes)):
        colour = class_qcolor(int(k))
        pen = QPen(colour, width, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        p.setPen(pen)
        x0, y0, x1, y1 = (float(v) for v in box)
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x0, y0, max(1.0, x1 - x0), max(1.0, y1 - y0)))
        if not labels:
            continue
        text = box_label(int(k), names, None if scores is None else float(scores[n]))
        tw, th = fm.horizontalAdvance(text) + 6, fm.height() + 2
        ly = y0 - th if y0 - th >= 0 else y0  # above the box, or inside it at the top edge
        lx = min(max(0.0, x0), max(0.0, pix.width() - tw))
        p.fillRect(QRectF(lx, ly, tw, th), colour)
        p.setPen(QColor("black") if colour.lightness() > 140 else QColor("white"))
        p.drawText(QRectF(lx, ly, tw, th), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return pix
