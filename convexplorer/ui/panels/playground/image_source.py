"""The Input box: which image the Playground works on, and how its colour channels meet the kernel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QWidget

from convexplorer.core.errors import ImageError
from convexplorer.core.images import IMAGE_EXTENSIONS, resize
from convexplorer.core.samples import SAMPLES

from .compute import MODES
from .fields import combo, hint_label, pick

#: Longest image side the Playground works on; larger images are scaled down
#: (keeps every update inside one frame).
MAX_SIDE = 512


def as_playground_image(array: np.ndarray) -> tuple[np.ndarray, str]:
    """Any H x W (x C) array as float32 H x W x (1|3) in [0, 1], scaled down to MAX_SIDE; returns a note."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1 or a.shape[2] not in (1, 3, 4):
        raise ImageError(f"expected an H x W, H x W x 1, x 3 or x 4 image, got an array of shape {a.shape}")
    if a.shape[2] == 4:
        a = a[..., :3]
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    a = np.asarray(a, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise ImageError("the image contains values that are not finite numbers")
    if a.size and float(a.max()) > 1.5:
        a = a / 255.0
    if a.shape[2] == 3 and np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
        a = a[..., :1]
    note = ""
    h, w = a.shape[:2]
    if max(h, w) > MAX_SIDE:
        step = max(h, w) // (2 * MAX_SIDE)
        if step > 1:  # huge arrays: drop pixels first so the filtered resize stays cheap
            a = np.ascontiguousarray(a[::step, ::step])
        scale = MAX_SIDE / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        a = resize(a, (nh, nw)) if a.shape[:2] != (nh, nw) else a
        note = f"scaled down from {w}x{h} to {nw}x{nh} (the Playground works on up to {MAX_SIDE} px)"
    return np.ascontiguousarray(a), note


class ImageSource(QGroupBox):
    """The Input box: built-in samples and opened images, and the channel mode."""

    #: A (new or re-selected) image is now :attr:`source`.
    changed = Signal()
    #: The user chose a file in the Open dialog.
    file_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Input", parent)
        self._images: dict[str, np.ndarray] = {}
        self._notes: dict[str, str] = {}
        #: The image in use: float32 H x W x (1|3) in [0, 1].
        self.source = np.zeros((1, 1, 1), np.float32)

        form = QFormLayout(self)
        row = QHBoxLayout()
        self.sample_combo = combo()
        self.sample_combo.setToolTip("built-in samples and the images you opened")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("open an image file (you can also drop one on the window)")
        row.addWidget(self.sample_combo, 1)
        row.addWidget(self.open_button)
        form.addRow("Image", row)
        self.mode_combo = combo()
        for key, text in MODES.items():
            self.mode_combo.addItem(text, key)
        self.mode_combo.setToolTip("how a colour image's channels meet the 2-D kernel")
        form.addRow("Channels", self.mode_combo)
        self.image_note = hint_label()
        form.addRow(self.image_note)

        self.sample_combo.currentTextChanged.connect(self.load)
        self.open_button.clicked.connect(self._on_open_clicked)

    def add_samples(self) -> None:
        """List the built-in samples (the first one becomes the input)."""
        for name in SAMPLES:
            self.sample_combo.addItem(name)

    def load(self, name: str) -> None:
        """Make the image listed as ``name`` the input (built-in samples are made on first use)."""
        if name in self._images:
            self.source = self._images[name]
        elif name in SAMPLES:
            arr, note = as_playground_image(SAMPLES[name]())
            self._images[name] = arr
            self._notes[name] = note
            self.source = arr
        else:
            return
        c = self.source.shape[2]
        self.mode_combo.setEnabled(c == 3)
        h, w = self.source.shape[:2]
        self.image_note.setText(f"{w}×{h} pixels, {'colour (3 channels)' if c == 3 else 'grayscale (1 channel)'}")
        self.changed.emit()

    def add_image(self, image: np.ndarray, label: str) -> None:
        """List ``image`` under ``label`` and make it the input (raises ImageError for arrays that are no image)."""
        arr, note = as_playground_image(image)
        self._images[label] = arr
        self._notes[label] = note
        if self.sample_combo.findText(label) < 0:
            self.sample_combo.addItem(label)
        if self.sample_combo.currentText() == label:
            self.load(label)
        else:
            self.sample_combo.setCurrentText(label)

    def note(self) -> str:
        """What happened to the current image on the way in ('' or e.g. 'scaled down from ...')."""
        return self._notes.get(self.sample_combo.currentText(), "")

    def mode(self) -> str:
        """The channel mode in use: 'gray' for one-channel images, else the chosen one."""
        return self.mode_combo.currentData() if self.source.shape[2] == 3 else "gray"

    def state(self) -> dict:
        """The sample and channel mode as plain JSON data (opened files are not saved)."""
        current = self.sample_combo.currentText()
        return {"image": current if current in SAMPLES else None, "mode": self.mode_combo.currentData()}

    def restore(self, data: dict) -> None:
        """Apply what :meth:`state` saved; unknown entries are skipped."""
        if data.get("image") in SAMPLES:
            self.sample_combo.setCurrentText(data["image"])
        pick(self.mode_combo, data.get("mode"))

    def _on_open_clicked(self) -> None:
        pattern = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", f"Images ({pattern})")
        if path:
            self.file_chosen.emit(Path(path))
