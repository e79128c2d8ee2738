"""ConfusionMatrixView: counts of true class (rows) against predicted class (columns).

Cells are shaded by the fraction of their row (so rare classes read as well
as common ones), show the count, and can be clicked: ``cell_clicked(true,
predicted)`` lets a panel show the examples behind a cell::

    view = ConfusionMatrixView()
    view.set_matrix(cm, ["circle", "square", "triangle"])
    view.cell_clicked.connect(lambda t, p: ...)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ConfusionMatrixView(QWidget):
    """A painted, clickable confusion matrix with class names on both axes."""

    #: (true class, predicted class) of a clicked cell.
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(220, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self._cm = np.zeros((0, 0), np.int64)
        self._names: list[str] = []
        self._selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        self.setToolTip("Rows: true class · columns: predicted class. Click a cell to see its examples.")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A comfortable default size."""
        return QSize(320, 300)

    def set_matrix(self, cm: np.ndarray | None, class_names: Sequence[str] = ()) -> None:
        """Show ``cm`` (K x K counts) with its class names; None clears."""
        if cm is None:
            self._cm = np.zeros((0, 0), np.int64)
            self._names = []
        else:
            self._cm = np.asarray(cm, dtype=np.int64)
            k = self._cm.shape[0]
            names = [str(c) for c in class_names] if class_names else [str(i) for i in range(k)]
            self._names = names[:k] + [str(i) for i in range(len(names), k)]
        self._selected = None
        self.update()

    def matrix(self) -> np.ndarray:
        """The counts shown."""
        return self._cm.copy()

    def select(self, cell: tuple[int, int] | None) -> None:
        """Outline a cell (or none)."""
        self._selected = cell
        self.update()

    # --- geometry --------------------------------------------------------------
    def _layout(self) -> tuple[QRectF, float]:
        k = max(1, self._cm.shape[0])
        fm = QFontMetrics(self._label_font())
        label_w = min(110, max((fm.horizontalAdvance(n) for n in self._names), default=20) + 10)
        top = fm.height() * 2 + 6
        left = label_w + fm.height() + 6
        avail_w = self.width() - left - 6
        avail_h = self.height() - top - 6
        cell = max(4.0, min(avail_w / k, avail_h / k))
        return QRectF(left, top, cell * k, cell * k), cell

    def _label_font(self) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, f.pointSizeF() - 1))
        return f

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The (true, predicted) cell under widget coordinates, or None."""
        k = self._cm.shape[0]
        if k == 0:
            return None
        grid, cell = self._layout()
        if not grid.contains(x, y):
            return None
        r = int((y - grid.top()) // cell)
        c = int((x - grid.left()) // cell)
        if 0 <= r < k and 0 <= c < k:
            return r, c
        return None

    def cell_center(self, true: int, pred: int) -> tuple[float, float]:
        """Widget coordinates of a cell's centre (for tests and tooltips)."""
        grid, cell = self._layout()
        return grid.left() + (pred + 0.5) * cell, grid.top() + (true + 0.5) * cell

    # --- events -----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Select and report the clicked cell."""
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is not None:
            self._selected = cell
            self.update()
            self.cell_clicked.emit(*cell)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """Tooltip text for the hovered cell."""
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell != self._hover:
            self._hover = cell
            if cell is None:
                self.setToolTip("Rows: true class · columns: predicted class. Click a cell to see its examples.")
            else:
                t, p = cell
                n = int(self._cm[t, p])
                row = int(self._cm[t].sum())
                pct = f" ({100 * n / row:.0f}% of {self._names[t]})" if row else ""
                self.setToolTip(f"true {self._names[t]}, predicted {self._names[p]}: {n}{pct}")
        super().mouseMoveEvent(event)

    #: Shown when there is nothing to draw.
    empty_text = "confusion matrix: evaluate a trained model"

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        """Draw the grid, the cells (:meth:`_paint_cells`), the selection and the axis labels."""
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        k = self._cm.shape[0]
        if k == 0:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        grid, cell = self._layout()
        font = self._label_font()
        self._paint_cells(p, grid, cell, font)
        if self._selected is not None:
            r, c = self._selected
            p.setPen(QPen(QColor("#111"), 2.5))
            p.drawRect(QRectF(grid.left() + c * cell, grid.top() + r * cell, cell, cell).adjusted(1, 1, -1, -1))
        self._paint_axes(p, grid, cell, font)
        p.end()

    def _paint_cells(self, p: QPainter, grid: QRectF, cell: float, font: QFont) -> None:
        """Counts shaded by their share of the row: blue on the diagonal, red off it."""
        k = self._cm.shape[0]
        rows = self._cm.sum(axis=1, keepdims=True).astype(np.float64)
        frac = np.divide(self._cm, rows, out=np.zeros(self._cm.shape), where=rows > 0)
        count_font = QFont(font)
        count_font.setPointSizeF(max(6.0, min(12.0, cell / 3.2)))
        for r in range(k):
            for c in range(k):
                rect = QRectF(grid.left() + c * cell, grid.top() + r * cell, cell, cell)
                f = float(frac[r, c])
                if r == c:
                    base = QColor(33, 113, 181)
                else:
                    base = QColor(203, 24, 29)
                color = QColor(
                    int(255 + (base.red() - 255) * f), int(255 + (base.green() - 255) * f), int(255 + (base.blue() - 255) * f)
                )
                p.fillRect(rect, color)
                p.setPen(QPen(QColor("#ddd"), 1))
                p.drawRect(rect)
                if cell >= 14:
                    p.setFont(count_font)
                    p.setPen(QColor("white") if f > 0.55 else QColor("#222"))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(int(self._cm[r, c])))

    def _paint_axes(self, p: QPainter, grid: QRectF, cell: float, font: QFont) -> None:
        """Class names on both axes, "predicted" on top and "true" down the left."""
        fm = QFontMetrics(font)
        p.setFont(font)
        p.setPen(QColor("#222"))
        for i, name in enumerate(self._names):
            text = fm.elidedText(name, Qt.TextElideMode.ElideRight, int(grid.left() - fm.height() - 10))
            p.drawText(
                QRectF(fm.height() + 2, grid.top() + i * cell, grid.left() - fm.height() - 8, cell),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            col_text = fm.elidedText(name, Qt.TextElideMode.ElideRight, int(cell - 2))
            p.drawText(
                QRectF(grid.left() + i * cell, grid.top() - fm.height() - 2, cell, fm.height()),
                Qt.AlignmentFlag.AlignCenter,
                col_text,
            )
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(QRectF(grid.left(), 0, grid.width(), fm.height() + 2), Qt.AlignmentFlag.AlignCenter, "predicted")
        p.save()
        p.translate(0, grid.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-grid.height() / 2, 0, grid.height(), fm.height() + 2), Qt.AlignmentFlag.AlignCenter, "true")
        p.restore()
