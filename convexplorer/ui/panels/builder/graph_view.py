"""The main view: the design as a graph on the canvas, with its edit toolbar and the read-only banner."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.graph_canvas import GraphCanvas


class GraphView(QWidget):
    """The :class:`GraphCanvas` under a toolbar (undo, redo, group, fold, layout, fit, make head)."""

    #: "Fold" was clicked: collapse or expand the group of the selection.
    fold_requested = Signal()
    #: "Make output" was clicked: the selected layer becomes a head of the model.
    head_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        self.canvas = GraphCanvas()
        bar = QHBoxLayout()
        bar.setSpacing(2)
        acts = self.canvas.edit_actions
        self.undo_button = self._tool(bar, acts["undo"], "Undo", "Undo the last edit (Ctrl+Z)")
        self.redo_button = self._tool(bar, acts["redo"], "Redo", "Redo the edit undone (Ctrl+Shift+Z, Ctrl+Y)")
        bar.addSpacing(8)
        self.group_button = self._tool(bar, acts["group"], "Group", "Group the selected layers as a named block (Ctrl+G)")
        self.ungroup_button = self._tool(bar, acts["ungroup"], "Ungroup", "Dissolve the selected layers' group (Ctrl+Shift+G)")
        self.fold_button = QToolButton()
        self.fold_button.setText("Fold")
        self.fold_button.setToolTip("Collapse the selected block into one box, or expand it again (or double-click a block)")
        self.fold_button.clicked.connect(self.fold_requested)
        bar.addWidget(self.fold_button)
        bar.addSpacing(8)
        self.layout_button = self._tool(bar, acts["layout"], "Layout",
                                        "Lay the graph out in rows; boxes you placed stay where they are (L)")
        self.fit_button = self._tool(bar, acts["fit"], "Fit", "Zoom to show the whole graph (F); wheel zooms, drag the background to pan")
        bar.addSpacing(8)
        self.head_button = QToolButton()
        self.head_button.setText("Make output")
        self.head_button.setToolTip("Make the selected layer an output (a head) of the model")
        self.head_button.clicked.connect(self.head_requested)
        bar.addWidget(self.head_button)
        bar.addStretch(1)
        self.zoom_label = QLabel("")
        set_role(self.zoom_label, "hint")
        self.zoom_label.setToolTip("Wheel: zoom · drag the background: pan · drag from an output port (bottom of a box) "
                                   "to an input port (top) to connect · Delete removes the selection")
        bar.addWidget(self.zoom_label)
        v.addLayout(bar)
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        set_role(self.banner, "banner")
        self.banner.setVisible(False)
        v.addWidget(self.banner)
        v.addWidget(self.canvas, 1)
        self.canvas.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z:.0%} · hover for help"))

    #: The smallest zoom a design opens at: the boxes' text stays readable (Fit shows all of a big graph).
    MIN_OPEN_ZOOM = 0.6

    def show_design(self) -> None:
        """Fit the graph in view, but no smaller than readable: then the top (the input) is shown."""
        self.canvas.view.fit(readable=self.MIN_OPEN_ZOOM)

    @staticmethod
    def _tool(bar: QHBoxLayout, action: object, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setDefaultAction(action)  # type: ignore[arg-type]
        action.setText(text)  # type: ignore[attr-defined]
        action.setToolTip(tip)  # type: ignore[attr-defined]
        bar.addWidget(b)
        return b

    def show_read_only(self, reason: str | None) -> None:
        """Show the banner that says why the design is locked (hidden when it is editable)."""
        self.banner.setText(f"🔒 Read-only: {reason}" if reason else "")
        self.banner.setVisible(bool(reason))
        for b in (self.group_button, self.ungroup_button, self.layout_button, self.head_button, self.undo_button,
                  self.redo_button):
            b.setVisible(not reason)
