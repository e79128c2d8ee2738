"""One box on the canvas: a layer (name, kind, output shape, parameters) or a collapsed group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import style
from .port_item import PortItem

if TYPE_CHECKING:
    from .edge_item import EdgeItem


@dataclass
class NodeLook:
    """What a node box shows."""

    title: str
    kind: str
    group: str = "Core"
    shape: str = ""
    params: int | None = None
    error: str = ""
    heads: list[str] = field(default_factory=list)
    #: Input ports drawn, and which of them have an edge.
    n_inputs: int = 1
    connected: frozenset[int] = frozenset()
    has_output: bool = True
    #: A collapsed group: the number of layers inside.
    members: int = 0
    movable: bool = True


class NodeItem(QGraphicsItem):
    """A rounded box with input ports on top and the output port at the bottom; red when it has an error."""

    def __init__(self, node_id: str, look: NodeLook) -> None:
        super().__init__()
        self.node_id = node_id
        self.look = look
        self.edges: list[EdgeItem] = []
        self.in_ports: list[PortItem] = []
        self.out_port: PortItem | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.set_look(look)

    @property
    def is_group(self) -> bool:
        """True for the box of a collapsed group."""
        return self.node_id.startswith(style.GROUP_PREFIX)

    def set_look(self, look: NodeLook) -> None:
        """Show new content (ports are re-made only when their number changes)."""
        self.prepareGeometryChange()
        self.look = look
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, look.movable)
        if len(self.in_ports) != look.n_inputs:
            for p in self.in_ports:
                p.setParentItem(None)
                if p.scene() is not None:
                    p.scene().removeItem(p)
            self.in_ports = [PortItem(self.node_id, k, False, self) for k in range(look.n_inputs)]
        for k, p in enumerate(self.in_ports):
            p.setPos(self._in_port_x(k), 0)
            p.set_connected(k in look.connected)
        if look.has_output and self.out_port is None:
            self.out_port = PortItem(self.node_id, 0, True, self)
            self.out_port.setPos(style.NODE_W / 2, style.NODE_H)
        elif not look.has_output and self.out_port is not None:
            self.out_port.setParentItem(None)
            if self.out_port.scene() is not None:
                self.out_port.scene().removeItem(self.out_port)
            self.out_port = None
        tip = [f"<b>{look.title}</b> ({look.kind})"]
        if look.shape:
            tip.append(f"output {look.shape}")
        if look.params is not None:
            tip.append(f"{look.params:,} parameters")
        if look.members:
            tip.append(f"a block of {look.members} layers: double-click to expand")
        if look.heads:
            tip.append("output head: " + ", ".join(look.heads))
        if look.error:
            tip.append(f"<span style='color:#b71c1c'>{_html(look.error)}</span>")
        self.setToolTip("<br>".join(tip))
        self.update()

    def _in_port_x(self, k: int) -> float:
        n = max(len(self.in_ports), self.look.n_inputs, 1)
        return style.NODE_W * (k + 1) / (n + 1)

    def in_port_pos(self, k: int) -> QPointF:
        """Scene position of input port ``k`` (the last port for a larger k)."""
        if not self.in_ports:
            return self.mapToScene(QPointF(style.NODE_W / 2, 0))
        return self.in_ports[min(k, len(self.in_ports) - 1)].scene_centre()

    def out_port_pos(self) -> QPointF:
        """Scene position of the output port."""
        return self.mapToScene(QPointF(style.NODE_W / 2, style.NODE_H))

    # --- drawing ----------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: D401 - Qt override
        extra = 16.0 if self.look.heads else 0.0
        return QRectF(-8, -8, style.NODE_W + 16, style.NODE_H + 16 + extra)

    def shape(self) -> QPainterPath:  # noqa: D401 - Qt override
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, style.NODE_W, style.NODE_H), 7, 7)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:  # noqa: D401
        look = self.look
        rect = QRectF(0, 0, style.NODE_W, style.NODE_H)
        fill = style.ERROR_FILL if look.error else style.fill_colour(look.group)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if look.members:  # a stack of cards: a block
            painter.setPen(style.pen(style.GROUP_EDGE, 1.2))
            painter.setBrush(fill.darker(108))
            painter.drawRoundedRect(rect.translated(5, 5), 7, 7)
        if look.error:
            border = style.pen(style.ERROR_TEXT, 2.5)
        elif self.isSelected():
            border = style.pen(style.SELECTED, 2.5)
        else:
            border = style.pen(style.GROUP_EDGE if look.members else style.TEXT.lighter(130), 1.2)
        painter.setPen(border)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 7, 7)
        if look.error and self.isSelected():
            painter.setPen(style.pen(style.SELECTED, 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), 9, 9)
        inner = rect.adjusted(8, 9, -8, -6)
        title_font, body_font = style.font(9.0, True), style.font(8.0)
        tf, bf = QFontMetricsF(title_font), QFontMetricsF(body_font)
        w = inner.width()
        painter.setFont(title_font)
        painter.setPen(style.ERROR_TEXT if look.error else style.TEXT)
        painter.drawText(QRectF(inner.left(), inner.top(), w, tf.height()), Qt.AlignmentFlag.AlignHCenter,
                         tf.elidedText(look.title, Qt.TextElideMode.ElideRight, w))
        y = inner.top() + tf.height() + 1
        painter.setFont(body_font)
        painter.setPen(style.MUTED)
        kind = f"block · {look.members} layers" if look.members else look.kind
        painter.drawText(QRectF(inner.left(), y, w, bf.height()), Qt.AlignmentFlag.AlignHCenter,
                         bf.elidedText(kind, Qt.TextElideMode.ElideRight, w))
        y += bf.height() + 1
        if look.error:
            painter.setPen(style.ERROR_TEXT)
            line = "⚠ " + look.error
        else:
            painter.setPen(style.TEXT)
            parts = [look.shape or "?"]
            if look.params:
                parts.append(style.params_text(look.params))
            line = "  ·  ".join(parts)
        painter.drawText(QRectF(inner.left(), y, w, bf.height()), Qt.AlignmentFlag.AlignHCenter,
                         bf.elidedText(line, Qt.TextElideMode.ElideRight, w))
        if look.heads:
            painter.setFont(style.font(7.5, True))
            painter.setPen(style.SELECTED)
            painter.drawText(QRectF(style.NODE_W / 2 + 10, style.NODE_H + 2, style.NODE_W / 2, 14),
                             Qt.AlignmentFlag.AlignLeft, "→ " + ", ".join(look.heads))

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:  # noqa: D401 - Qt override
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None and hasattr(scene, "boxes_moved"):
                scene.boxes_moved()
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
