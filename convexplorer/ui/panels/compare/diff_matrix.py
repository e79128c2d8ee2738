"""DiffMatrixView: the difference of two confusion matrices, green where B is better, red where worse."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView


class DiffMatrixView(ConfusionMatrixView):
    """The difference of two confusion matrices: ``+n`` / ``−n`` per cell, green where B is better, red where worse.

    Geometry, clicks and selection are the confusion matrix's; only the painting differs.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(False)  # the per-cell count tooltip of the base class does not apply to differences
        self.setToolTip("B − A per cell. Green: B is better there (more right on the diagonal, fewer mistakes off it); red: worse.")

    def set_difference(self, diff: np.ndarray | None, class_names: Sequence[str] = ()) -> None:
        """Show a K x K difference (B − A), or clear with None."""
        self.set_matrix(diff, class_names)

    def difference(self) -> np.ndarray:
        """The difference shown."""
        return self.matrix()

    @staticmethod
    def better(true: int, pred: int, delta: int) -> bool:
        """Whether a change is an improvement: more on the diagonal, fewer off it."""
        return delta > 0 if true == pred else delta < 0

    empty_text = "difference: evaluate two runs"

    def _paint_cells(self, p: QPainter, grid: QRectF, cell: float, font: QFont) -> None:
        """Cells coloured by the sign and size of the change, with the change written in."""
        k = self._cm.shape[0]
        peak = max(1, int(np.abs(self._cm).max()))
        p.setFont(font)
        for r in range(k):
            for c in range(k):
                d = int(self._cm[r, c])
                rect = QRectF(grid.left() + c * cell, grid.top() + r * cell, cell, cell)
                if d == 0:
                    colour = QColor("#f8f9fa")
                else:
                    f = 0.25 + 0.75 * abs(d) / peak
                    base = QColor(47, 158, 68) if self.better(r, c, d) else QColor(224, 49, 49)
                    colour = QColor(int(255 + (base.red() - 255) * f), int(255 + (base.green() - 255) * f),
                                    int(255 + (base.blue() - 255) * f))
                p.fillRect(rect, colour)
                p.setPen(QPen(QColor("#ddd"), 1))
                p.drawRect(rect)
                if cell >= 14:
                    p.setPen(QColor("#999") if d == 0 else QColor("#111"))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "0" if d == 0 else f"{d:+d}".replace("-", "−"))
