"""Access to the top-level ``resources/`` folder (icons, lessons, style sheets) in every kind of install.

It installs as the package ``convexplorer.resources`` (see setup.py); a
PyInstaller build carries it at ``convexplorer/resources``; a source checkout
used without installing has it at the repository's root.
"""

from __future__ import annotations

import importlib.util
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
    try:
        spec = importlib.util.find_spec("convexplorer.resources")
    except ImportError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    return Path(__file__).resolve().parents[2] / "resources"


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
