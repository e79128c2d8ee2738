"""A connection on the canvas: a curved arrow from an output port down to an input port."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from . import style
from .node_item import NodeItem


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A cubic curve leaving ``start`` downward and entering ``end`` from above."""
    path = QPainterPath(start)
    dy = max(40.0, abs(end.y() - start.y()) * 0.5)
    path.cubicTo(start + QPointF(0, dy), end - QPointF(0, dy), end)
    return path


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
        self.setPath(wire_path(start, end))

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
