"""The "Augmentation preview" box: one sample and what training makes of it, as a 3 x 3 mosaic."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from convexplorer.core.images import to_uint8
from convexplorer.ui.style import set_role
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: How many images the preview shows (the original and eight augmented copies).
PREVIEW_VARIANTS = 9
#: Side of one preview tile on screen, in pixels.
PREVIEW_SIDE = 96
#: Largest side of the image handed to the preview worker (the tiles are small; keep it quick).
PREVIEW_INPUT_MAX = 160


def tile(images: np.ndarray, cols: int, pad: int = 4) -> np.ndarray:
    """``N x H x W x C`` floats -> one uint8 RGB mosaic with white gaps."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, np.uint8)
    for k in range(n):
        r, q = divmod(k, cols)
        img = to_uint8(images[k])
        if c == 1:
            img = np.repeat(img, 3, axis=-1)
        out[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = img
    return out


class AugmentationPreview(QGroupBox):
    """Draws the augmented copies of a sample; says "loading TensorFlow" until the preview can run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Augmentation preview", parent)
        col = QVBoxLayout(self)
        self.aug_banner = QLabel("Loading TensorFlow… the preview appears when it is ready.")
        self.aug_banner.setObjectName("loadingBanner")
        self.aug_banner.setWordWrap(True)
        set_role(self.aug_banner, "banner")
        col.addWidget(self.aug_banner)
        self.aug_preview = QLabel("")
        self.aug_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.aug_preview.setMinimumSize(3 * PREVIEW_SIDE + 8, 3 * PREVIEW_SIDE + 8)
        col.addWidget(self.aug_preview)
        self.aug_caption = QLabel("")
        self.aug_caption.setWordWrap(True)
        col.addWidget(self.aug_caption)
        #: For data with boxes or masks: the class colours, and that targets move with the image (shown in the caption).
        self.targets_note = ""

    def set_targets(self, task: str, class_names: list[str] | None) -> None:
        """Say that boxes or masks move with the image (detection, localization, segmentation sets), with a legend."""
        if class_names is None or task == "classification":
            self.targets_note = ""
            self.aug_caption.setToolTip("")
            return
        from convexplorer.core.overlays import class_color

        first = 1 if task == "segmentation" else 0  # class 0 of a mask is the background: not tinted
        legend = " ".join(
            f"<span style='color:rgb{class_color(k)}'>■</span>&nbsp;{name}"
            for k, name in enumerate(class_names) if k >= first
        )
        what, kind = ("masks", "mask") if task == "segmentation" else ("boxes", "box")
        self.targets_note = f"{what.capitalize()} move with the image (Keras's {kind}-aware layers): {legend}"
        self.aug_caption.setToolTip(
            f"Keras's preprocessing layers transform the image and its {what} with one random draw, as training "
            "with these layers does; rotated or sheared boxes become the box around the moved corners.")

    def set_tf_ready(self, ready: bool) -> None:
        """Hide the loading banner (and enable the preview) once TensorFlow is in."""
        self.aug_banner.setVisible(not ready)
        self.aug_preview.setEnabled(ready)

    def show_caption(self, text: str) -> None:
        """Describe the augmentation, or say why there is no preview."""
        self.aug_caption.setText(text)

    def show_variants(self, variants: np.ndarray, description: str) -> None:
        """Draw ``variants`` (the original first) as a mosaic, with what they show."""
        mosaic = tile(variants, 3)
        side = 3 * PREVIEW_SIDE + 8
        self.aug_preview.setPixmap(array_to_pixmap(mosaic, side, smooth=mosaic.shape[0] > side))
        note = f"<br>{self.targets_note}" if self.targets_note else ""
        self.aug_caption.setText("top-left: the original; the others: what training sees — " + description + note)
        # a wrapped label under-reports its height to the layout: reserve what the text needs, so that the
        # sample above gives up room instead of the mosaic covering the caption
        self.aug_caption.setMinimumHeight(self.aug_caption.heightForWidth(max(self.aug_caption.width(), 3 * PREVIEW_SIDE)))
