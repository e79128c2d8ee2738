"""The image row: the image both models look at, the verdict, and the Open / sample / Compare / Cancel buttons."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap


class ImageRow(QWidget):
    """The image to compare on (thumbnail and name), the verdict on it, and the buttons that act on it."""

    #: Something to tell the user (a file that is no image, no data set); "" clears.
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: Optional[np.ndarray] = None
        self.image_name = ""
        self.image_thumb = QLabel()
        self.image_thumb.setFixedSize(56, 56)
        self.image_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_thumb.setStyleSheet("border:1px solid #ccc;background:#fafafa;")
        self.image_label = QLabel("No image: drop one on the window, open one, or use a data-set sample.")
        self.image_label.setWordWrap(True)
        self.verdict_label = QLabel("")
        set_role(self.verdict_label, "title")
        self.open_image_button = QPushButton("Open image…")
        self.sample_button = QPushButton("Data-set sample")
        self.sample_button.setToolTip("Use a random test image of the current data set")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.image_thumb)
        row.addWidget(self.image_label, 1)
        row.addWidget(self.verdict_label)
        for button in (self.open_image_button, self.sample_button, self.compare_button, self.cancel_button):
            row.addWidget(button)
        self.open_image_button.clicked.connect(self._on_open_image)

    def set_image(self, image: np.ndarray, name: str) -> None:
        """The image both models look at (H x W x C float in [0, 1])."""
        self.image = np.asarray(image, np.float32)
        self.image_name = name
        self.image_thumb.setPixmap(array_to_pixmap(self.image, 54))
        h, w = self.image.shape[:2]
        self.image_label.setText(f"{name} · {w}x{h} (fitted to each model's input)")

    def load_image_file(self, path: str) -> bool:
        """Open an image file for the comparison (errors go to :attr:`message`)."""
        from convexplorer.core.errors import ConvExplorerError
        from convexplorer.core.images import load_image

        try:
            img = load_image(path)
        except ConvExplorerError as exc:
            self.message.emit(str(exc))
            return False
        self.set_image(img, Path(path).name)
        return True

    def use_dataset_sample(self, dataset: Any) -> bool:
        """Use a random test image of ``dataset`` (None: say that there is none)."""
        if dataset is None:
            self.message.emit("no data set: choose one in the Data panel first")
            return False
        idx = dataset.subset_indices("test")
        if len(idx) == 0:
            idx = np.arange(len(dataset))
        i = int(np.random.default_rng().choice(idx))
        self.set_image(dataset.image(i), f"{dataset.name} #{i} ({dataset.class_names[dataset.label(i)]})")
        return True

    def set_verdict(self, same: bool) -> None:
        """Say whether both models predict the same class (green) or not (red)."""
        self.verdict_label.setText("both predict the same class" if same else "they disagree")
        self.verdict_label.setStyleSheet(f"font-weight:bold;color:{'#2b8a3e' if same else '#c92a2a'};")

    def _on_open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)")
        if path:
            self.load_image_file(path)
