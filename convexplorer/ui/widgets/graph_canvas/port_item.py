"""A connection point on a node: an input port on top or the output port at the bottom."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
)

from . import style


class PortItem(QGraphicsEllipseItem):
    """A small circle a wire can start (output) or end (input) on."""

    def __init__(self, node_id: str, index: int, is_output: bool, parent: QGraphicsItem | None = None) -> None:
        r = style.PORT_R
        super().__init__(QRectF(-r, -r, 2 * r, 2 * r), parent)
        self.node_id = node_id
        self.index = index
        self.is_output = is_output
        self.connected = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self._hover = False
        self._restyle()

    def set_connected(self, connected: bool) -> None:
        """Filled when an edge uses the port, hollow when it is free."""
        self.connected = connected
        self._restyle()

    def set_highlight(self, on: bool) -> None:
        """Highlight while a wire is dragged over it."""
        self._hover = on
        self._restyle()

    def scene_centre(self) -> QPointF:
        """The centre in scene coordinates (where edges attach)."""
        return self.mapToScene(QPointF(0, 0))

    def _restyle(self) -> None:
        colour = style.HOVER if self._hover else style.ARROW
        self.setPen(style.pen(colour.darker(120), 1.4 if self._hover else 1.0))
        self.setBrush(colour if self._hover else (style.PORT_FILL if self.connected or self.is_output else style.PORT_FREE))
        what = "output: drag to an input to connect" if self.is_output else (
            f"input {self.index + 1}" + ("" if self.connected else " (free: drop a wire here)"))
        self.setToolTip(what)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: D401 - Qt override
        self.set_highlight(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: D401 - Qt override
        self.set_highlight(False)
        super().hoverLeaveEvent(event)
