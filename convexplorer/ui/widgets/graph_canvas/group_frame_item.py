"""The frame drawn behind the nodes of an expanded group, with its name; double-click the title to collapse."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from . import style

TITLE_H = 20.0


class GroupFrameItem(QGraphicsItem):
    """A tinted rounded rectangle around a group's nodes."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._rect = QRectF()
        self.setZValue(-1)
        self.setToolTip(f'group "{name}": double-click its title to collapse it into one box')

    def set_rect(self, rect: QRectF) -> None:
        """Surround ``rect`` (the members' boxes) with a margin and a title bar."""
        self.prepareGeometryChange()
        self._rect = rect.adjusted(-14, -14 - TITLE_H, 14, 14)
        self.update()

    def title_rect(self) -> QRectF:
        """Where the name is written (double-click there to collapse)."""
        return QRectF(self._rect.left(), self._rect.top(), self._rect.width(), TITLE_H + 6)

    def boundingRect(self) -> QRectF:  # noqa: D401 - Qt override
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:  # noqa: D401
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(style.pen(style.GROUP_EDGE, 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(style.GROUP_FRAME)
        painter.drawRoundedRect(self._rect, 10, 10)
        f = style.font(8.5, True)
        painter.setFont(f)
        painter.setPen(style.GROUP_EDGE.darker(130))
        title = self.title_rect().adjusted(10, 4, -10, 0)
        painter.drawText(title, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         QFontMetricsF(f).elidedText(f"▾ {self.name}", Qt.TextElideMode.ElideRight, title.width()))
