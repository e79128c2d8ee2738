"""A connection on the canvas: a curved arrow from an output port down to an input port."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from . import style
from .node_item import NodeItem


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A cubic curve leaving ``start`` downward and entering ``end`` from above."""
    path = QPainterPath(start)
    dy = max(40.0, abs(end.y() - start.y()) * 0.5)
    path.cubicTo(start + QPointF(0, dy), end - QPointF(0, dy), end)
    return path


def detour_path(start: QPointF, end: QPointF, blockers: list[QRectF]) -> QPainterPath:
    """A curve that goes down a lane beside the ``blockers`` (boxes the plain curve would cross)."""
    left = min(b.left() for b in blockers)
    right = max(b.right() for b in blockers)
    top = min(b.top() for b in blockers)
    bottom = max(b.bottom() for b in blockers)
    mid = (start.x() + end.x()) / 2
    lane = right + LANE_GAP if right - mid <= mid - left else left - LANE_GAP
    a, b = QPointF(lane, max(top, start.y() + 20)), QPointF(lane, min(bottom, end.y() - 20))
    path = QPainterPath(start)
    dy = max(20.0, (a.y() - start.y()) * 0.6)
    path.cubicTo(start + QPointF(0, dy), a - QPointF(0, dy), a)
    path.lineTo(b)
    dy = max(20.0, (end.y() - b.y()) * 0.6)
    path.cubicTo(b + QPointF(0, dy), end - QPointF(0, dy), end)
    return path


LANE_GAP = 18.0


class EdgeItem(QGraphicsPathItem):
    """Output ``source_port`` of ``source`` feeding input ``target_port`` of ``target``; selectable, deletable."""

    def __init__(self, source: NodeItem, target: NodeItem, source_port: int, target_port: int,
                 key: tuple[str, int, str, int]) -> None:
        super().__init__()
        self.source, self.target = source, target
        self.source_port, self.target_port = source_port, target_port
        #: (source id, output port, target id, input port) in the design (a group box shows its members' edges).
        self.key = key
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        source.edges.append(self)
        target.edges.append(self)
        self.setToolTip("a connection: select it and press Delete to remove it")
        self.update_path()

    def detach(self) -> None:
        """Forget the nodes (before the item is removed)."""
        for node in (self.source, self.target):
            if self in node.edges:
                node.edges.remove(self)

    def update_path(self) -> None:
        """Follow the nodes after a move."""
        start = self.source.out_port_pos()
        end = self.target.in_port_pos(self.target_port) - QPointF(0, style.PORT_R)
        path = wire_path(start, end)
        blockers = self._blockers(path)
        self.setPath(detour_path(start, end, blockers) if blockers else path)

    def _blockers(self, path: QPainterPath) -> list[QRectF]:
        """Boxes (other than its ends) that the plain curve runs through."""
        scene = self.scene()
        if scene is None or not hasattr(scene, "box_rects"):
            return []
        r = path.boundingRect()
        x0, y0, x1, y1 = r.left() - 4, r.top() - 4, r.right() + 4, r.bottom() + 4
        near = [(item, bx0, by0, bx1, by1) for item, bx0, by0, bx1, by1 in scene.box_rects()
                if bx0 < x1 and x0 < bx1 and by0 < y1 and y0 < by1 and item is not self.source and item is not self.target]
        if not near:
            return []
        samples = [path.pointAtPercent(k / 16) for k in range(2, 15)]
        pts = [(p.x(), p.y()) for p in samples]
        return [QRectF(bx0, by0, bx1 - bx0, by1 - by0) for _, bx0, by0, bx1, by1 in near
                if any(bx0 - 4 <= px <= bx1 + 4 and by0 - 4 <= py <= by1 + 4 for px, py in pts)]

    def shape(self) -> QPainterPath:  # noqa: D401 - Qt override
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:  # noqa: D401
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = style.SELECTED if self.isSelected() else style.ARROW
        painter.setPen(style.pen(colour, 2.4 if self.isSelected() else 1.4))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path = self.path()
        painter.drawPath(path)
        end = path.pointAtPercent(1.0)
        back = path.pointAtPercent(0.97)
        d = end - back
        length = max((d.x() ** 2 + d.y() ** 2) ** 0.5, 1e-6)
        ux, uy = d.x() / length, d.y() / length
        head = QPolygonF([end, end - QPointF(ux * 9 - uy * 4.5, uy * 9 + ux * 4.5),
                          end - QPointF(ux * 9 + uy * 4.5, uy * 9 - ux * 4.5)])
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawPolygon(head)
