"""A drawing of a design, like the textbook figures: one block per layer, left to right.

Feature maps are drawn as slabs whose height follows the map size and whose
depth follows the channel count (both on a log scale); vectors are thin bars.
Each block is labelled with the layer type and its output shape; an invalid
layer is drawn red with a cross, the layers after it dashed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from convexplorer.core.spec import LAYER_KINDS
from convexplorer.core.summary import Summary
from convexplorer.ui.widgets.array_view import guard_pyside_refcounts

# every paint makes hundreds of void Qt calls: PySide6 6.12 on Python 3.11 needs the guard (see its docstring)
guard_pyside_refcounts()

GROUP_COLOURS = {
    "Input": "#cfd8dc",
    "Convolution": "#90caf9",
    "Pooling": "#ffcc80",
    "Core": "#a5d6a7",
    "Regularization": "#e1bee7",
    "Preprocessing": "#fff59d",
    "Augmentation": "#fff59d",
    "Blocks": "#80cbc4",
}


def _make_styles() -> tuple[dict[str, QColor], dict[str, QPen]]:
    colours = {k: QColor(v) for k, v in GROUP_COLOURS.items()}
    colours.update(other=QColor("#e0e0e0"), error=QColor("#ef9a9a"), pending=QColor("#eeeeee"),
                   arrow=QColor("#607d8b"), error_text=QColor("#b71c1c"))
    pens = {
        "normal": QPen(QColor("#37474f"), 1),
        "error": QPen(QColor("#b71c1c"), 2),
        "pending": QPen(QColor("#9e9e9e"), 1, Qt.PenStyle.DashLine),
        "selected": QPen(QColor("#1565c0"), 2.5),
        "arrow": QPen(QColor("#607d8b"), 1.2),
    }
    return colours, pens


_COLOURS, _PENS = _make_styles()

_BASE_TITLES = {"vgg16": "VGG16 base", "xception": "Xception base", "resnet50": "ResNet50 base"}


@dataclass
class Block:
    """One drawn block: a design layer (or the input) with its final output shape."""

    title: str
    subtitle: str
    shape: tuple | None
    group: str
    layer_index: int | None
    error: str = ""


def blocks_from_summary(summary: Summary, kinds: list[str]) -> list[Block]:
    """One block per design layer (a residual block is one block), plus the input."""
    blocks: list[Block] = []
    by_layer: dict[int | None, list] = {}
    for row in summary.rows:
        by_layer.setdefault(row.layer_index, []).append(row)
    first = summary.rows[0]
    blocks.append(Block("Input", first.shape_text, first.output_shape, "Input", None, first.error))
    for i, kind in enumerate(kinds):
        rows = by_layer.get(i, [])
        last = rows[-1] if rows else None
        error = next((r.error for r in rows if r.error and not r.pending), "")
        group = LAYER_KINDS[kind].group if kind in LAYER_KINDS else "Core"
        title = kind
        if kind == "Pretrained" and last is not None:
            title = _BASE_TITLES.get(last.name, f"{last.name} base")
        shape = last.output_shape if last is not None else None
        subtitle = "measuring…" if any(r.pending for r in rows) else _shape_label(shape)
        blocks.append(Block(title, subtitle, shape, group, i, error))
    return blocks


def _shape_label(shape: tuple | None) -> str:
    if shape is None:
        return "?"
    dims = [v for v in shape[1:]]
    return "×".join(str(v) for v in dims)


class ArchitectureDiagram(QWidget):
    """Blocks with shapes, left to right; click a block to select its layer."""

    #: A block was clicked: the design layer index (-1 for the input).
    layerClicked = Signal(int)

    MARGIN = 12
    GAP = 26
    LABEL_H = 34

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.blocks: list[Block] = []
        self.selected: int | None = None
        self._rects: list[tuple[QRectF, int | None]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(140)
        self.setToolTip("The architecture: feature maps as slabs (height ~ map size, depth ~ channels), vectors as bars")

    def set_summary(self, summary: Summary, kinds: list[str], selected: int | None = None) -> None:
        """Draw the design described by ``summary`` (``kinds``: the design's layer kinds)."""
        self.blocks = blocks_from_summary(summary, kinds)
        self.selected = selected
        self._layout()
        self.update()

    def set_selected(self, index: int | None) -> None:
        """Highlight the block of a design layer."""
        self.selected = index
        self.update()

    # --- geometry ---------------------------------------------------------------
    def _dims(self, block: Block) -> tuple[float, float, float]:
        """(face width, face height, depth offset) in pixels."""
        shape = block.shape
        if shape is None:
            return 30.0, 60.0, 0.0
        if len(shape) == 4:
            hw = max(shape[1], shape[2], 1)
            c = max(shape[3], 1)
            h = 22 + 70 * min(math.log2(hw + 1) / math.log2(513), 1.0)
            d = 4 + 22 * min(math.log2(c + 1) / 11, 1.0)
            return 12.0 + d * 0.6, h, d
        units = max(int(shape[-1] or 1), 1)
        return 12.0, 16 + 70 * min(math.log2(units + 1) / 14, 1.0), 0.0

    def _layout(self) -> None:
        fm = QFontMetrics(self._font())
        x = float(self.MARGIN)
        self._rects = []
        for b in self.blocks:
            w, h, d = self._dims(b)
            text_w = max(fm.horizontalAdvance(b.title), fm.horizontalAdvance(b.subtitle)) + 6
            slot = max(w + d, text_w, 36)
            self._rects.append((QRectF(x, 0, slot, 0), b.layer_index))
            x += slot + self.GAP
        self._total_w = int(x - self.GAP + self.MARGIN)
        self.setMinimumWidth(self._total_w)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: D401 - Qt override
        return QSize(getattr(self, "_total_w", 400), 190)

    def _font(self) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.85))
        return f

    # --- painting ---------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: D401 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        if not self.blocks:
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Add layers to see the architecture")
            p.end()
            return
        font = self._font()
        p.setFont(font)
        fm = QFontMetrics(font)
        base_y = self.height() - self.LABEL_H - 8  # bottom of the drawings
        centre_y = max(base_y / 2 + 10, base_y - 56)
        after_error = False
        text_colour = self.palette().text().color()
        prev_right: QPointF | None = None
        for block, (slot, _) in zip(self.blocks, self._rects):
            w, h, d = self._dims(block)
            x0 = slot.x() + (slot.width() - (w + d)) / 2
            top = centre_y - h / 2
            face = QRectF(x0, top + d * 0.6, w, h)
            colour = _COLOURS.get(block.group, _COLOURS["other"])
            pen = _PENS["normal"]
            if block.error:
                colour = _COLOURS["error"]
                pen = _PENS["error"]
            elif after_error:
                colour = _COLOURS["pending"]
                pen = _PENS["pending"]
            if block.layer_index == self.selected and self.selected is not None:
                pen = _PENS["selected"]
            p.setPen(pen)
            if d > 0:  # the top and side of a slab
                top_poly = QPolygonF([face.topLeft(), face.topLeft() + QPointF(d, -d * 0.6),
                                      face.topRight() + QPointF(d, -d * 0.6), face.topRight()])
                side_poly = QPolygonF([face.topRight(), face.topRight() + QPointF(d, -d * 0.6),
                                       face.bottomRight() + QPointF(d, -d * 0.6), face.bottomRight()])
                p.setBrush(colour.lighter(115))
                p.drawPolygon(top_poly)
                p.setBrush(colour.darker(115))
                p.drawPolygon(side_poly)
            p.setBrush(colour)
            p.drawRect(face)
            if block.error:
                p.setPen(_PENS["error"])
                p.drawLine(face.topLeft(), face.bottomRight())
                p.drawLine(face.topRight(), face.bottomLeft())
            # arrow from the previous block
            left = QPointF(face.left() - 2, centre_y + d * 0.3)
            if prev_right is not None:
                p.setPen(_PENS["arrow"])
                p.drawLine(prev_right, left)
                path = QPainterPath(left)
                path.lineTo(left + QPointF(-6, -3.5))
                path.lineTo(left + QPointF(-6, 3.5))
                path.closeSubpath()
                p.fillPath(path, _COLOURS["arrow"])
            prev_right = QPointF(face.right() + d + 2, centre_y + d * 0.3)
            # labels
            p.setPen(_COLOURS["error_text"] if block.error else text_colour)
            label_rect = QRectF(slot.x() - self.GAP / 2 + 2, base_y + 2, slot.width() + self.GAP - 4, fm.height())
            p.drawText(label_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                       fm.elidedText(block.title, Qt.TextElideMode.ElideRight, int(label_rect.width())))
            sub_rect = label_rect.translated(0, fm.height())
            p.drawText(sub_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                       fm.elidedText("invalid" if block.error else block.subtitle, Qt.TextElideMode.ElideRight,
                                     int(sub_rect.width())))
            after_error = after_error or bool(block.error)
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: D401 - Qt override
        x = event.position().x()
        for slot, index in self._rects:
            if slot.x() - self.GAP / 2 <= x <= slot.right() + self.GAP / 2:
                self.layerClicked.emit(-1 if index is None else index)
                return
        super().mousePressEvent(event)
