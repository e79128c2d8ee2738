"""Access to the files in ``convexplorer/resources`` (icons, lessons) in source and frozen builds."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap


def resources_dir() -> Path:
    """The resources folder, also inside a PyInstaller build."""
    base = getattr(sys, "_MEIPASS", None)
    if base:
        frozen = Path(base) / "convexplorer" / "resources"
        if frozen.is_dir():
            return frozen
    return Path(__file__).resolve().parent.parent / "resources"


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
