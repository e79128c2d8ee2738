"""The Builder's own edits (list buttons, the form's special cases, inputs, compile, heads, blocks) as undoable commands.

Each edit is a plain function of the spec, run once through the canvas's
:meth:`~convexplorer.ui.widgets.graph_canvas.GraphCanvas.execute`; undo and redo
give back the design from the snapshots the canvas takes, so the canvas's own
edits and these share one QUndoStack.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from convexplorer.core.spec import ModelSpec
from convexplorer.ui.widgets.graph_canvas import GraphCanvas
from convexplorer.ui.widgets.graph_canvas.commands import SpecCommand

_DESIGN_EDIT_ID = 101


class DesignEdit(SpecCommand):
    """One edit of the design by ``change(spec)``; consecutive edits with the same ``merge`` key are one undo step."""

    def __init__(self, canvas: GraphCanvas, text: str, change: Callable[[ModelSpec], Any], merge: str = "") -> None:
        super().__init__(canvas, text)
        self.change, self.merge = change, merge
        #: What ``change`` returned the first time (the row or nodes to select).
        self.result: Any = None

    def edit(self) -> None:
        """Run the change on the canvas's spec (SpecError refuses it)."""
        self.result = self.change(self.canvas.spec)

    def id(self) -> int:  # noqa: D401 - Qt override
        return _DESIGN_EDIT_ID if self.merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: D401 - Qt override
        if not isinstance(other, DesignEdit) or not self.merge or other.merge != self.merge:
            return False
        self._after = other._after
        return True
