"""The graph canvas: a design drawn as boxes and curved arrows, edited with undo (one class a file)."""

from .canvas import GraphCanvas
from .edge_item import EdgeItem
from .node_item import NodeItem, NodeLook
from .scene import GraphScene
from .view import KIND_MIME_TYPE, GraphView

__all__ = ["KIND_MIME_TYPE", "EdgeItem", "GraphCanvas", "GraphScene", "GraphView", "NodeItem", "NodeLook"]
