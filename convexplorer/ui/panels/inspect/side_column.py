"""The left column of the Inspect panel: model, image, top-k prediction, messages."""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from convexplorer.ui.panels.inspect.image_box import ImageBox
from convexplorer.ui.panels.inspect.model_box import ModelBox
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.topk_chart import TopKChart


class SideColumn(QWidget):
    """Model and image boxes, the top-5 bars, an error line and a "computing…" line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(300)
        self.setMaximumWidth(380)
        self.model_box = ModelBox()
        self.image_box = ImageBox()
        pred_box = QGroupBox("Prediction (top 5)")
        self.topk_chart = TopKChart()
        pl = QVBoxLayout(pred_box)
        pl.addWidget(self.topk_chart)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        set_role(self.message, "error")
        self.message.setVisible(False)
        self.busy_label = QLabel("")
        set_role(self.busy_label, "hint")
        sl = QVBoxLayout(self)
        sl.setContentsMargins(0, 0, 4, 0)
        for w in (self.model_box, self.image_box, pred_box, self.message, self.busy_label):
            sl.addWidget(w)
        sl.addStretch(1)
        self.model_box.busy.connect(self.busy_label.setText)

    def set_message(self, text: str) -> None:
        """Show ``text`` in red under the prediction (hidden when empty)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
