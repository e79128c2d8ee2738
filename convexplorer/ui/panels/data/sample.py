"""The "Sample" box: one image full size, with its class, size and subset."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from convexplorer.core.images import to_uint8
from convexplorer.core.overlays import blend_mask, mask_outline, resize_mask
from convexplorer.ui.widgets.box_painter import paint_boxes
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap, array_to_qimage


class SampleView(QGroupBox):
    """Shows the clicked sample large (its boxes with their classes, or its mask blended) and offers to send it to Inspect."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sample", parent)
        col = QVBoxLayout(self)
        self.image_label = QLabel("Click a thumbnail")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(240, 180)
        # Ignored vertically: the drawn pixmap never pushes the augmentation preview below out of its room
        self.image_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.image_label.setStyleSheet("background:#f4f4f4;")
        col.addWidget(self.image_label, 1)
        self.image_info = QLabel("")
        self.image_info.setWordWrap(True)
        self.image_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.image_info)
        self.send_button = QPushButton("Send to Inspect")
        self.send_button.setToolTip("Or double-click a thumbnail")
        col.addWidget(self.send_button)

    def show_sample(self, img: np.ndarray, class_name: str, description: str, subset: str,
                    box: np.ndarray | None = None, annotations: dict | None = None,
                    shape: tuple[int, int] | None = None, class_names: list[str] | None = None) -> None:
        """Draw ``img`` (with ``box``, in its pixels, dashed; or ``annotations``' boxes and mask, in pixels of an
        image of ``shape``) and describe it."""
        #: What is drawn over the image: the targets given, in the shown image's pixels.
        self.drawn = None
        if annotations is not None and shape is not None:
            h, w = img.shape[:2]
            if annotations.get("mask") is not None:
                m = resize_mask(annotations["mask"], (h, w))
                img = mask_outline(blend_mask(img, m, 0.45), m)
            if annotations.get("boxes") is not None:
                sx, sy = w / shape[1], h / shape[0]
                box = np.asarray(annotations["boxes"], np.float64).reshape(-1, 4) * np.array([sx, sy, sx, sy])
            self.drawn = annotations
        self._show_image(img, box, None if annotations is None else annotations.get("classes"), class_names)
        if annotations is not None and annotations.get("mask") is not None:
            extra = " · tinted: the class mask"
        elif annotations is not None and annotations.get("boxes") is not None and len(annotations["boxes"]) > 1:
            extra = f" · {len(annotations['boxes'])} boxes with their classes"
        else:
            extra = " · dashed: the stored bounding box" if box is not None else ""
        self.image_info.setText(f"<b>{class_name}</b> · {description}" + (f" · {subset}" if subset else "") + extra)
        self._fit_caption()

    def _fit_caption(self) -> None:
        """Reserve the wrapped caption's height: a wrapped label under-reports it, and the picture above would
        otherwise be drawn under the text."""
        width = max(self.image_info.width(), self.image_label.width(), 200)
        self.image_info.setMinimumHeight(max(0, self.image_info.heightForWidth(width)))

    def show_error(self, message: str) -> None:
        """Say why the sample cannot be shown."""
        self.image_label.setPixmap(QPixmap())
        self.image_label.setText("cannot show this image")
        self.image_info.setText(message)
        self._fit_caption()

    def resizeEvent(self, event) -> None:
        """Draw the sample again to fit its new room."""
        super().resizeEvent(event)
        self._fit_caption()
        last = getattr(self, "_last", None)
        if last is not None and self.image_label.contentsRect().size() != last[-1]:
            self._show_image(*last[:-1])

    def _show_image(self, img: np.ndarray, box: np.ndarray | None, classes=None, names=None) -> None:
        rgb = to_uint8(img)
        room = self.image_label.contentsRect().size()
        self._last = (img, box, classes, names, room)
        side = min(room.width(), room.height()) - 4
        if side > 8:
            # small images (MNIST) are enlarged with crisp pixels
            pix = array_to_pixmap(rgb, side, smooth=max(img.shape[:2]) > side)
        else:
            pix = QPixmap.fromImage(array_to_qimage(rgb))
        if box is not None and classes is not None:
            scale = pix.width() / img.shape[1]
            paint_boxes(pix, np.asarray(box, np.float64).reshape(-1, 4) * scale, [int(k) for k in classes], names,
                        dashed=len(classes) == 1)
        elif box is not None:
            scale = pix.width() / img.shape[1]
            painter = QPainter(pix)
            painter.setPen(QPen(QColor("#ff2d55"), 2, Qt.PenStyle.DashLine))
            x0, y0, x1, y1 = (float(v) * scale for v in np.asarray(box).reshape(4))
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            painter.end()
        self.image_label.setText("")
        self.image_label.setPixmap(pix)
