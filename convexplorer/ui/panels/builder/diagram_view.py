"""The bottom strip: the architecture diagram, one block per layer, scrolling sideways."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from convexplorer.core.summary import Summary
from convexplorer.ui.widgets.architecture_diagram import ArchitectureDiagram


class DiagramView(QGroupBox):
    """The "Architecture" box around a horizontally scrolling :class:`ArchitectureDiagram`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Architecture", parent)
        self.diagram = ArchitectureDiagram()
        self.diagram_scroll = QScrollArea()
        self.diagram_scroll.setWidget(self.diagram)
        self.diagram_scroll.setWidgetResizable(True)
        self.diagram_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.diagram_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.diagram_scroll.setMinimumHeight(150)
        dl = QVBoxLayout(self)
        dl.setContentsMargins(4, 4, 4, 4)
        dl.addWidget(self.diagram_scroll)

    def show_summary(self, summary: Summary, kinds: list[str], selected: int | None) -> None:
        """Draw the blocks of ``summary`` (layer ``kinds``), ``selected`` highlighted (a negative index: none)."""
        self.diagram.set_summary(summary, kinds, selected if selected is not None and selected >= 0 else None)

    def select_layer(self, index: int) -> None:
        """Highlight the block of layer ``index`` (a negative index: none)."""
        self.diagram.set_selected(index if index >= 0 else None)
