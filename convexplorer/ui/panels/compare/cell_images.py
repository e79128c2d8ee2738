"""The images behind one confusion-matrix cell, and one image's Grad-CAM for its predicted and its true class."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from convexplorer.ui.widgets.overlay_view import OverlayView
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: Most images listed for one confusion-matrix cell.
MAX_CELL_IMAGES = 60


class CellImages(QGroupBox):
    """The "Images in the cell" box: a hint, the cell's thumbnails, and two Grad-CAM views of the one clicked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Images in the cell", parent)
        self.cell_list = QListWidget()
        self.cell_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.cell_list.setIconSize(QSize(48, 48))
        self.cell_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.cell_list.setMovement(QListWidget.Movement.Static)
        self.cell_list.setMinimumHeight(120)
        self.cell_hint = QLabel("Click a cell of a matrix to list its images; click an image to see why.")
        self.cell_hint.setWordWrap(True)
        self.cam_pred_view = OverlayView("Grad-CAM: predicted class")
        self.cam_true_view = OverlayView("Grad-CAM: true class")
        lay = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self.cell_hint)
        left.addWidget(self.cell_list, 1)
        lay.addLayout(left, 2)
        for v in (self.cam_pred_view, self.cam_true_view):
            v.setMinimumSize(170, 170)
            lay.addWidget(v, 1)

    def clear(self) -> None:
        """Empty the list and both Grad-CAM views."""
        self.cell_list.clear()
        self.cam_pred_view.set_base(None)
        self.cam_true_view.set_base(None)

    def show_members(self, text: str, members: np.ndarray, dataset: Any) -> None:
        """Say ``text`` about the cell and list its first images (data-set indices ``members``) as thumbnails."""
        self.cell_hint.setText(
            text
            + (f" Showing the first {MAX_CELL_IMAGES}." if len(members) > MAX_CELL_IMAGES else "")
            + (" Click one to see its Grad-CAM." if len(members) else "")
        )
        for i in members[:MAX_CELL_IMAGES]:
            item = QListWidgetItem(QIcon(array_to_pixmap(dataset.thumbnail(int(i), 48), 48)), f"#{int(i)}")
            self.cell_list.addItem(item)

    def show_cams(self, c: Any, index: int, class_names: Sequence[str]) -> None:
        """Draw one image's CellCams ``c`` (core.compare): the evidence for its predicted and for its true class."""
        for view, heat, cls, prob, what in (
            (self.cam_pred_view, c.cam_pred, c.pred_class, c.probability_pred, "predicted"),
            (self.cam_true_view, c.cam_true, c.true_class, c.probability_true, "true"),
        ):
            view.set_base(c.image if c.image.shape[-1] == 3 else np.repeat(c.image, 3, axis=-1))
            view.set_heat(heat)
            view.set_title(f"{what}: {class_names[cls]} ({100 * prob:.0f} %)")
            view.set_subtitle(f"#{index}: where the evidence for {class_names[cls]} is")
