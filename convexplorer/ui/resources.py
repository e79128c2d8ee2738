"""The application icon, drawn from the top-level ``resources/`` folder.

:func:`resources_dir` (where that folder is in every kind of install) lives in
:mod:`convexplorer.core.resources`, without Qt; it is re-exported here for the UI.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from convexplorer.core.resources import resources_dir

__all__ = ["resources_dir"]


def _drawn_icon() -> QIcon:
    pix = QPixmap(64, 64)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#1f3b5a"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(2, 2, 60, 60), 10, 10)
    p.setBrush(QColor("#ffb347"))
    p.drawRect(QRectF(18, 18, 28, 28))
    p.end()
    return QIcon(pix)


def app_icon() -> QIcon:
    """The application icon (SVG source, with a drawn fallback)."""
    svg = resources_dir() / "convexplorer.svg"
    icon = QIcon(str(svg)) if svg.exists() else QIcon()
    if icon.isNull() or not icon.availableSizes() and icon.pixmap(64, 64).isNull():
        return _drawn_icon()
    return icon
