"""The "Image" box: open an image, and see it as the model is fed it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget

from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap


class ImageBox(QGroupBox):
    """The image under inspection: an open button, a thumbnail and what the model is fed."""

    #: The user picked an image file: its path.
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image", parent)
        self.open_image_button = QPushButton("Open image…")
        self.image_label = QLabel("Drop an image on the window, open one, or pick one in the Data panel.")
        self.image_label.setWordWrap(True)
        self.input_thumb = QLabel()
        self.input_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_thumb.setMinimumHeight(140)
        il = QVBoxLayout(self)
        il.addWidget(self.open_image_button)
        il.addWidget(self.input_thumb)
        il.addWidget(self.image_label)
        self.open_image_button.clicked.connect(self._on_open_image)

    def show_image(self, fitted: np.ndarray, name: str, raw_size: tuple[int, int], shape: tuple[int, int, int]) -> None:
        """Show ``fitted`` (the image as fed) and say how the ``raw_size`` (H, W) image became ``shape``."""
        h, w = raw_size
        self.image_label.setText(f"{name}: {w}x{h}, fed to the model as {shape[1]}x{shape[0]}x{shape[2]}")
        pixmap = array_to_pixmap(fitted, 200, smooth=True)
        self.input_thumb.setPixmap(pixmap)
        self.input_thumb.setMinimumHeight(max(140, pixmap.height()))  # never squeezed under the caption

    def _on_open_image(self) -> None:
        from convexplorer.core.images import IMAGE_EXTENSIONS

        pattern = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", f"Images ({pattern})")
        if path:
            self.open_requested.emit(path)
