"""The left column of the Inspect panel: model, image, top-k prediction, messages."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.panels.inspect.box_view import BoxView
from convexplorer.ui.panels.inspect.combos import Filling
from convexplorer.ui.panels.inspect.first_photo import DownloadOffer
from convexplorer.ui.panels.inspect.image_box import ImageBox
from convexplorer.ui.panels.inspect.model_box import ModelBox
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.topk_chart import TopKChart


#: The tallest the message area grows before it scrolls (about six lines).
MESSAGE_MAX_HEIGHT = 110
_LONG_TOKEN = re.compile(r"\S{24,}")


def breakable(text: str) -> str:
    """``text`` with invisible break points after _ / . \\ - in long unbroken words (file names, URLs),
    so that a word-wrapped label can wrap them instead of growing wider than its column."""
    return _LONG_TOKEN.sub(lambda m: re.sub(r"([_/.\\-])", "\\1\u200b", m.group(0)), text)


class MessageLabel(QLabel):
    """A word-wrapped label that also wraps long unbroken words; ``text()`` is the text as given."""

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        """Show ``text`` with break points in its long words."""
        self._raw = text
        super().setText(breakable(text))

    def text(self) -> str:
        """The text as given (without the invisible break points)."""
        return getattr(self, "_raw", super().text())


class SideColumn(QWidget):
    """Model and image boxes, the head picker, the top-5 bars (or a box head's box), an error line and a "computing…" line."""

    #: The user picked another head (its name).
    head_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(300)
        self.setMaximumWidth(380)
        self.model_box = ModelBox()
        self.image_box = ImageBox()
        self.pred_box = pred_box = QGroupBox("Prediction (top 5)")
        self.topk_chart = TopKChart()
        #: The head picker, shown only for a model with several outputs.
        self.head_row = QWidget()
        hr = QHBoxLayout(self.head_row)
        hr.setContentsMargins(0, 0, 0, 0)
        self.head_label = QLabel("Head")
        self.head_combo = QComboBox()
        self.head_combo.setToolTip("This model has several outputs (heads): which one the prediction, "
                                   "Grad-CAM and saliency show")
        hr.addWidget(self.head_label)
        hr.addWidget(self.head_combo, 1)
        self.head_row.setVisible(False)
        self.box_view = BoxView()
        self.box_view.setVisible(False)
        #: The question asked once before downloading the default classifier's weights.
        self.offer = DownloadOffer()
        #: One click from the prediction to why: Grad-CAM and the feature maps (shown after a prediction).
        self.why_row = QWidget()
        wr = QHBoxLayout(self.why_row)
        wr.setContentsMargins(0, 0, 0, 0)
        self.why_label = QLabel("See why:")
        set_role(self.why_label, "hint")
        self.cam_link = QPushButton("Grad-CAM")
        self.cam_link.setToolTip("Where in the image the top class comes from")
        self.maps_link = QPushButton("Feature maps")
        self.maps_link.setToolTip("What each layer's filters respond to in this image")
        wr.addWidget(self.why_label)
        wr.addWidget(self.cam_link)
        wr.addWidget(self.maps_link)
        wr.addStretch(1)
        self.why_row.setVisible(False)
        self._filling = Filling()
        pl = QVBoxLayout(pred_box)
        pl.addWidget(self.head_row)
        pl.addWidget(self.offer)
        pl.addWidget(self.topk_chart)
        pl.addWidget(self.box_view)
        pl.addWidget(self.why_row)
        self.message = MessageLabel("")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # the column's width
        set_role(self.message, "error")
        # A long message (an offline download's, say) scrolls inside a few lines of its own
        # instead of squeezing the boxes above it or being clipped.
        self.message_area = QScrollArea()
        self.message_area.setWidget(self.message)
        self.message_area.setWidgetResizable(True)
        self.message_area.setFrameShape(QFrame.Shape.NoFrame)
        self.message_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.message_area.setMaximumHeight(MESSAGE_MAX_HEIGHT)
        self.message_area.setVisible(False)
        self.busy_label = QLabel("")
        set_role(self.busy_label, "hint")
        sl = QVBoxLayout(self)
        sl.setContentsMargins(0, 0, 4, 0)
        for w in (self.model_box, self.image_box, pred_box, self.message_area, self.busy_label):
            sl.addWidget(w)
        sl.addStretch(1)
        self.model_box.busy.connect(self.busy_label.setText)
        self.head_combo.currentIndexChanged.connect(self._on_head)

    def set_heads(self, heads: list[tuple[str, str]], current: str | None) -> None:
        """Offer ``(name, kind)`` heads, ``current`` selected; the picker shows only for two heads or more."""
        with self._filling():
            names = [n for n, _k in heads]
            if [self.head_combo.itemData(i) for i in range(self.head_combo.count())] != names:
                self.head_combo.clear()
                for name, kind in heads:
                    words = {"classes": "classes", "boxes": "box"}.get(kind, kind)
                    self.head_combo.addItem(name if words == name else f"{name} ({words})", name)
                    self.head_combo.setItemData(self.head_combo.count() - 1, {
                        "classes": "a classifier: top classes, Grad-CAM of a class",
                        "boxes": "a box [x0, y0, x1, y1]: the box over the image, Grad-CAM of a coordinate",
                    }.get(kind, "other values"), Qt.ItemDataRole.ToolTipRole)
            if current in names:
                self.head_combo.setCurrentIndex(names.index(current))
        self.head_row.setVisible(len(heads) > 1)

    def chosen_head(self) -> str | None:
        """The head picked (None: the model's only or default head)."""
        if self.head_combo.count() < 2:
            return None
        return self.head_combo.currentData()

    def show_kind(self, kind: str) -> None:
        """Show the top-k bars for a classifier head, the box for a box head."""
        box = kind == "boxes"
        self.topk_chart.setVisible(not box)
        self.box_view.setVisible(box)
        self.pred_box.setTitle("Prediction (box)" if box else "Prediction (top 5)")

    def _on_head(self, _index: int) -> None:
        if not self._filling and self.head_combo.currentData():
            self.head_chosen.emit(self.head_combo.currentData())

    def set_message(self, text: str) -> None:
        """Show ``text`` in red under the prediction, scrolling when long (hidden when empty)."""
        self.message.setText(text)
        self.message_area.setVisible(bool(text))
        self.message_area.verticalScrollBar().setValue(0)
        fits = self.message.heightForWidth(max(self.message_area.viewport().width(), 200))
        self.message_area.setFixedHeight(min(MESSAGE_MAX_HEIGHT, max(fits, 0) + 4) if text else 0)
