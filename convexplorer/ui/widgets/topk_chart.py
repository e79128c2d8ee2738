"""TopKChart: the top-k classes of a prediction as labelled horizontal bars with percentages."""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

Prediction = tuple[int, Optional[str], float]


def bar_text(index: int, label: Optional[str]) -> str:
    """The text of one bar: the label when there is one, else "class N"."""
    return f"{label} ({index})" if label else f"class {index}"


class TopKChart(QWidget):
    """Horizontal bars, best class on top; the bar length is the probability."""

    ROW_HEIGHT = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preds: list[Prediction] = []
        self._note = "No prediction yet: open an image and a model."
        self._highlight: int | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setMinimumHeight(5 * self.ROW_HEIGHT + 12)

    def predictions(self) -> list[Prediction]:
        """The bars shown, best first."""
        return list(self._preds)

    def note_text(self) -> str:
        """The note shown under the bars, or instead of them when there are none."""
        return self._note

    def set_predictions(self, preds: Sequence[Prediction], note: str = "") -> None:
        """Show ``(class index, label or None, probability)`` rows (best first)."""
        self._preds = [(int(i), label, float(p)) for i, label, p in preds]
        self._note = note
        # Long class names are elided in the bars: the tooltip has them whole.
        self.setToolTip("\n".join(f"{bar_text(i, label)}: {100 * p:.1f} %" for i, label, p in self._preds))
        self.setMinimumHeight(max(5, len(self._preds)) * self.ROW_HEIGHT + 12 + (18 if note else 0))
        self.updateGeometry()
        self.update()

    def set_highlight(self, class_index: int | None) -> None:
        """Draw the bar of ``class_index`` in the accent colour (the class Grad-CAM shows)."""
        self._highlight = class_index
        self.update()

    def clear(self, note: str = "") -> None:
        """Remove the bars and show ``note``."""
        self._preds = []
        self._note = note
        self.setToolTip("")
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(280, max(5, len(self._preds)) * self.ROW_HEIGHT + 12)

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        w = self.width()
        fm = p.fontMetrics()
        y = 6.0
        if not self._preds:
            p.setPen(QColor("#666"))
            p.drawText(QRectF(6, 0, w - 12, self.height()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._note)
            p.end()
            return
        label_w = min(max(fm.horizontalAdvance(bar_text(i, l)) for i, l, _p in self._preds) + 10, int(w * 0.6))
        pct_w = fm.horizontalAdvance("100.0 %") + 8
        bar_x = 6 + label_w
        bar_w = max(10, w - bar_x - pct_w - 6)
        for i, label, prob in self._preds:
            text = fm.elidedText(bar_text(i, label), Qt.TextElideMode.ElideRight, label_w - 6)
            p.setPen(QColor("#222"))
            p.drawText(QRectF(6, y, label_w - 6, self.ROW_HEIGHT - 4), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
            p.fillRect(QRectF(bar_x, y + 3, bar_w, self.ROW_HEIGHT - 10), QColor("#eeeeee"))
            color = QColor("#e8590c") if i == self._highlight else QColor("#1c7ed6")
            p.fillRect(QRectF(bar_x, y + 3, bar_w * max(0.0, min(1.0, prob)), self.ROW_HEIGHT - 10), color)
            p.drawText(QRectF(bar_x + bar_w + 4, y, pct_w, self.ROW_HEIGHT - 4), Qt.AlignmentFlag.AlignVCenter, f"{100 * prob:.1f} %")
            y += self.ROW_HEIGHT
        if self._note:
            p.setPen(QColor("#8a5a00"))
            p.drawText(QRectF(6, y, w - 12, 18), Qt.AlignmentFlag.AlignLeft, fm.elidedText(self._note, Qt.TextElideMode.ElideRight, w - 12))
        p.end()
