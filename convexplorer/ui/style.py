"""The application's style sheet (``resources/styles/convexplorer.qss``) and widget roles.

A widget says what it is (``set_role(label, "error")``) and the style sheet says how
that looks; roles: hint, title, ok, warning, error, plain, banner, offer (a frame asking a question).
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtWidgets import QApplication, QWidget

from convexplorer.ui.resources import resources_dir

ROLES = ("hint", "title", "ok", "warning", "error", "plain", "banner", "offer")


@lru_cache(maxsize=1)
def style_sheet() -> str:
    """The text of the application's style sheet ("" if the file is missing)."""
    path = resources_dir() / "styles" / "convexplorer.qss"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def apply_style(app: QApplication) -> None:
    """Give the whole application ConvExplorer's style sheet."""
    app.setStyleSheet(style_sheet())


def set_role(widget: QWidget, role: str) -> None:
    """Mark ``widget`` with a role of the style sheet ("" for none) and restyle it now."""
    if role and role not in ROLES:
        raise ValueError(f"unknown style role {role!r}; expected one of {', '.join(ROLES)}")
    if widget.property("role") == role:
        return
    widget.setProperty("role", role)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
