"""Sizes, colours and pens of the graph canvas, matching the architecture diagram's look."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPen

from convexplorer.core.layout import NODE_SIZE
from convexplorer.ui.widgets.architecture_diagram import GROUP_COLOURS

#: A node box (width, height): the same as the auto-layout's.
NODE_W, NODE_H = NODE_SIZE
PORT_R = 5.5
#: Scene id of a collapsed group's box: this prefix and the group name.
GROUP_PREFIX = "group:"

_COLOURS = {**GROUP_COLOURS, "Merge": "#b0bec5", "Imported": "#d7ccc8"}


def fill_colour(group: str) -> QColor:
    """The fill of a node of a palette group."""
    return QColor(_COLOURS.get(group, "#e0e0e0"))


ERROR_FILL = QColor("#ffcdd2")
ERROR_TEXT = QColor("#b71c1c")
TEXT = QColor("#263238")
MUTED = QColor("#546e7a")
ARROW = QColor("#607d8b")
SELECTED = QColor("#1565c0")
PORT_FILL = QColor("#eceff1")
PORT_FREE = QColor("#ffffff")
HOVER = QColor("#ffb300")
GROUP_FRAME = QColor(128, 203, 196, 50)
GROUP_EDGE = QColor("#00897b")


def pen(colour: QColor, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic-free pen (scales with the zoom, as the boxes do)."""
    p = QPen(colour, width, style)
    p.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return p


def font(size: float = 8.5, bold: bool = False) -> QFont:
    """The canvas fonts (point sizes at zoom 1)."""
    f = QFont()
    f.setPointSizeF(size)
    f.setBold(bold)
    return f


def shape_text(shape: tuple | None) -> str:
    """An output shape without the batch axis: '26×26×32' ('?' when unknown)."""
    if shape is None:
        return "?"
    return "×".join("?" if v is None else str(v) for v in shape[1:])


def params_text(n: int) -> str:
    """A parameter count in a few characters: '320', '1.2k', '3.4M'."""
    if n < 1000:
        return f"{n} params"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k params"
    return f"{n / 1_000_000:.2f}M params"
