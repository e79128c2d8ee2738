"""The scene that draws a design: node boxes, curved edges, group frames; wires are dragged here."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
)

from . import style
from .edge_item import EdgeItem, wire_path
from .group_frame_item import GroupFrameItem
from .node_item import NodeItem, NodeLook
from .port_item import PortItem


@dataclass
class DrawnEdge:
    """An edge as drawn: between two boxes (scene ids) and ports, for a design edge ``key``."""

    source: str
    target: str
    source_port: int
    target_port: int
    key: tuple[str, int, str, int]


class GraphScene(QGraphicsScene):
    """Draws boxes, edges and frames it is given; reports wires, moves and double-clicks as signals."""

    #: A wire was dropped: (source id, target id, input port or None for "the next free one").
    connect_requested = Signal(str, str, object)
    #: Boxes were dragged: {scene id: (x, y)} of every box that moved.
    nodes_moved = Signal(dict)
    #: A collapsed group's box was double-clicked (group name).
    expand_requested = Signal(str)
    #: An expanded group's title was double-clicked (group name).
    collapse_requested = Signal(str)
    #: A box was double-clicked (node id), e.g. to edit its parameters.
    node_activated = Signal(str)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: list[EdgeItem] = []
        self.frames: dict[str, GroupFrameItem] = {}
        self._wire: QGraphicsPathItem | None = None
        self._wire_source: PortItem | None = None
        self._wire_hover: PortItem | None = None
        self._press_positions: dict[str, QPointF] = {}
        self._box_rects: list[tuple[NodeItem, float, float, float, float]] | None = None
        self._wiring: object = None  # what the last sync drew: box positions, edges, frames
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)

    # --- content ----------------------------------------------------------------
    def sync(self, boxes: list[tuple[str, NodeLook, tuple[float, float]]], edges: list[DrawnEdge],
             frames: list[tuple[str, list[str]]]) -> None:
        """Show exactly these boxes (scene id, look, top-left), edges and group frames; boxes are reused by id.

        Edges and frames are drawn again only when a box moved or the wiring changed (a parameter
        edit or a new summary changes the boxes' text alone).
        """
        signature = ([(sid, pos) for sid, _, pos in boxes], list(edges), frames)
        same_wiring = signature == self._wiring and all(
            sid in self.node_items and self.node_items[sid].pos() == QPointF(x, y) for sid, _, (x, y) in boxes)
        self._wiring = signature
        if same_wiring:
            for sid, look, _ in boxes:
                item = self.node_items[sid]
                if item.look != look:
                    item.set_look(look)
            return
        for e in self.edge_items:
            e.detach()
            self.removeItem(e)
        self.edge_items = []
        wanted = {sid for sid, _, _ in boxes}
        for sid in [s for s in self.node_items if s not in wanted]:
            item = self.node_items.pop(sid)
            item.edges.clear()
            self.removeItem(item)
        for sid, look, (x, y) in boxes:
            item = self.node_items.get(sid)
            if item is None:
                item = NodeItem(sid, look)
                self.node_items[sid] = item
                self.addItem(item)
            elif item.look != look:
                item.set_look(look)
            if item.pos() != QPointF(x, y):
                item.setPos(x, y)
        self._box_rects = None
        for d in edges:
            src, dst = self.node_items.get(d.source), self.node_items.get(d.target)
            if src is None or dst is None:
                continue
            edge = EdgeItem(src, dst, d.source_port, d.target_port, d.key)
            self.addItem(edge)
            edge.update_path()  # now that it can see the boxes it must go around
            self.edge_items.append(edge)
        for frame in self.frames.values():
            self.removeItem(frame)
        self.frames = {}
        for name, members in frames:
            items = [self.node_items[m] for m in members if m in self.node_items]
            if not items:
                continue
            rect = QRectF()
            for it in items:
                rect = rect.united(it.mapRectToScene(QRectF(0, 0, style.NODE_W, style.NODE_H)))
            frame = GroupFrameItem(name)
            frame.set_rect(rect)
            self.addItem(frame)
            self.frames[name] = frame

    def box_rects(self) -> list[tuple[NodeItem, float, float, float, float]]:
        """Every box with its scene rectangle (x0, y0, x1, y1), cached until a box moves."""
        if self._box_rects is None:
            self._box_rects = [(it, it.x(), it.y(), it.x() + style.NODE_W, it.y() + style.NODE_H)
                               for it in self.node_items.values()]
        return self._box_rects

    def boxes_moved(self) -> None:
        """Forget the cached box rectangles (a box moved)."""
        self._box_rects = None

    def selected_box_ids(self) -> list[str]:
        """Scene ids of the selected boxes, in drawing order."""
        return [sid for sid, item in self.node_items.items() if item.isSelected()]

    def selected_edges(self) -> list[EdgeItem]:
        """The selected edges."""
        return [e for e in self.edge_items if e.isSelected()]

    # --- wires and moves ------------------------------------------------------------
    def _item_at(self, pos: QPointF, kind: type) -> QGraphicsItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape, Qt.SortOrder.DescendingOrder, QTransform()):
            if isinstance(item, kind) and item is not self._wire:
                return item
        return None

    def start_wire(self, port: PortItem) -> None:
        """Begin dragging a wire from an output port."""
        self._wire_source = port
        self._wire = QGraphicsPathItem()
        self._wire.setPen(style.pen(style.HOVER.darker(110), 2.0, Qt.PenStyle.DashLine))
        self._wire.setZValue(5)
        self.addItem(self._wire)
        self.move_wire(port.scene_centre())

    def move_wire(self, pos: QPointF) -> None:
        """Follow the pointer; highlight the input port under it."""
        if self._wire is None or self._wire_source is None:
            return
        self._wire.setPath(wire_path(self._wire_source.scene_centre(), pos))
        port = self._item_at(pos, PortItem)
        port = port if isinstance(port, PortItem) and not port.is_output else None
        if port is not self._wire_hover:
            if self._wire_hover is not None:
                self._wire_hover.set_highlight(False)
            if port is not None:
                port.set_highlight(True)
            self._wire_hover = port

    def end_wire(self, pos: QPointF) -> None:
        """Drop the wire: over an input port or a box, ask for the connection; anywhere else, nothing."""
        source = self._wire_source
        if self._wire is not None:
            self.removeItem(self._wire)
        if self._wire_hover is not None:
            self._wire_hover.set_highlight(False)
        self._wire, self._wire_source, self._wire_hover = None, None, None
        if source is None:
            return
        port = self._item_at(pos, PortItem)
        if isinstance(port, PortItem) and not port.is_output:
            self.connect_requested.emit(source.node_id, port.node_id, port.index)
            return
        node = self._item_at(pos, NodeItem)
        if isinstance(node, NodeItem):
            self.connect_requested.emit(source.node_id, node.node_id, None)

    @property
    def wiring(self) -> bool:
        """True while a wire is being dragged."""
        return self._wire is not None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: D401 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            port = self._item_at(event.scenePos(), PortItem)
            if isinstance(port, PortItem) and port.is_output:
                self.start_wire(port)
                event.accept()
                return
        super().mousePressEvent(event)
        self._press_positions = {sid: QPointF(it.pos()) for sid, it in self.node_items.items() if it.isSelected()}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: D401 - Qt override
        if self._wire is not None:
            self.move_wire(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: D401 - Qt override
        if self._wire is not None:
            self.end_wire(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        moved = {sid: (it.pos().x(), it.pos().y()) for sid, it in self.node_items.items()
                 if sid in self._press_positions and it.pos() != self._press_positions[sid]}
        self._press_positions = {}
        if moved:
            self.nodes_moved.emit(moved)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: D401 - Qt override
        node = self._item_at(event.scenePos(), NodeItem)
        if isinstance(node, NodeItem):
            if node.is_group:
                self.expand_requested.emit(node.node_id[len(style.GROUP_PREFIX):])
            else:
                self.node_activated.emit(node.node_id)
            event.accept()
            return
        frame = self._item_at(event.scenePos(), GroupFrameItem)
        if isinstance(frame, GroupFrameItem) and frame.title_rect().contains(event.scenePos()):
            self.collapse_requested.emit(frame.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
