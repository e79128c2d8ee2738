"""The Playground: live convolution, padding, stride, dilation and pooling on real images.

Pick an image and a kernel, change padding, stride, dilation, bias, ReLU and
pooling, and watch the feature map and pooled map change while you drag. The
maths is :mod:`convexplorer.core.conv` (numpy, no TensorFlow); this panel only
draws it. A step-through mode walks the sliding window over the padded input
and writes out the multiply-add of each output pixel; the Gabor bank tab
applies a grid of orientations x frequencies to the image.

Run alone with ``python -m convexplorer.ui.panels.playground``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from convexplorer.core import kernels as K
from convexplorer.core.arithmetic import ConvGeometry, conv_geometry
from convexplorer.core.conv import conv2d, conv_step, global_pool, keras_refuses, pad_input, pool2d, pool_geometry
from convexplorer.core.errors import ConvExplorerError, ImageError
from convexplorer.core.images import IMAGE_EXTENSIONS, is_image_path, load_image, resize
from convexplorer.core.samples import SAMPLES
from convexplorer.ui.panels.base import Panel, control_column, preview
from convexplorer.ui.state import AppState
from convexplorer.ui.widgets.array_view import ArrayView
from convexplorer.ui.widgets.kernel_grid import KernelGrid
from convexplorer.ui.workers import run_in_thread

#: Longest image side the Playground works on; larger images are scaled down
#: (keeps every update inside one frame).
MAX_SIDE = 512
#: Longest side of the image the Gabor bank is applied to.
BANK_SIDE = 160
CUSTOM = "Custom (edit the grid)"
MODES = {
    "gray": "Grayscale: one channel",
    "depthwise": "Colour: kernel on each channel (depthwise)",
    "conv2d": "Colour: one filter summing the channels (Conv2D)",
}
CHANNEL_NAMES = ("R", "G", "B")
WINDOW_COLOUR = "#00c853"  # green: stands out on grey images and on the blue-white-red maps
IMAGE_AREA_COLOUR = "#ffb300"


def _as_playground_image(array: np.ndarray) -> tuple[np.ndarray, str]:
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


def _combo(min_chars: int = 14) -> QComboBox:
    c = QComboBox()
    c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(min_chars)
    return c


def _spin(lo: int, hi: int, value: int, tip: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    return s


class PlaygroundPanel(Panel):
    """Live convolution and pooling on sample or user images, with step-through and Gabor bank."""

    title = "Playground"
    key = "playground"
    needs_tensorflow = False

    #: Emitted after every recompute (results drawn).
    updated = Signal()
    #: Emitted when the Gabor bank has been drawn.
    bank_updated = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._images: dict[str, np.ndarray] = {}
        self._image_notes: dict[str, str] = {}
        self._source = np.zeros((1, 1, 1), np.float32)
        self._kernel2d = K.preset("Sobel x")
        self._x: np.ndarray | None = None  # input as convolved (H x W or H x W x C)
        self._kernel_used: np.ndarray | None = None
        self._geo: ConvGeometry | None = None
        self._fmap: np.ndarray | None = None  # H' x W' x F after bias and ReLU
        self._pooled: np.ndarray | None = None
        self._step_index = 0
        self._step_active = False
        self._bank_generation = 0
        self._bank_dirty = True
        self._bank_worker = None
        self._pad_rect: tuple | None = None
        self._pgeo: ConvGeometry | None = None

        self._build_ui()
        self._connect()
        for name in SAMPLES:
            self.sample_combo.addItem(name)
        self.preset_combo.setCurrentText("Sobel x")
        self._load_sample(self.sample_combo.currentText())
        self._on_preset(self.preset_combo.currentText())
        # The first computation imports scipy's BLAS (~0.4 s): do it once the window is up.
        self._schedule()

    # ================================================================== UI construction
    def _build_ui(self) -> None:
        outer = QHBoxLayout(self.body)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(6)

        controls = QWidget()
        col = QVBoxLayout(controls)
        col.setContentsMargins(2, 2, 2, 2)
        col.setSpacing(6)
        self.controls_scroll = control_column(controls, 392, 392)  # fixed: the grid does not reflow
        outer.addWidget(self.controls_scroll)

        # --- input
        box = QGroupBox("Input")
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.sample_combo = _combo()
        self.sample_combo.setToolTip("built-in samples and the images you opened")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("open an image file (you can also drop one on the window)")
        row.addWidget(self.sample_combo, 1)
        row.addWidget(self.open_button)
        form.addRow("Image", row)
        self.mode_combo = _combo()
        for key, text in MODES.items():
            self.mode_combo.addItem(text, key)
        self.mode_combo.setToolTip("how a colour image's channels meet the 2-D kernel")
        form.addRow("Channels", self.mode_combo)
        self.image_note = QLabel("")
        self.image_note.setWordWrap(True)
        self.image_note.setStyleSheet("color:#555;")
        form.addRow(self.image_note)
        col.addWidget(box)

        # --- kernel
        box = QGroupBox("Kernel")
        kcol = QVBoxLayout(box)
        self.preset_combo = _combo()
        for name in K.PRESETS:
            self.preset_combo.addItem(name)
        self.preset_combo.addItem(CUSTOM)
        self.preset_combo.setMaxVisibleItems(25)
        kcol.addWidget(self.preset_combo)
        self.preset_note = QLabel("")
        self.preset_note.setWordWrap(True)
        self.preset_note.setStyleSheet("color:#555;")
        kcol.addWidget(self.preset_note)
        self.gabor_box = QWidget()
        gform = QFormLayout(self.gabor_box)
        gform.setContentsMargins(0, 0, 0, 0)
        self.gabor_freq = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.gabor_freq.setRange(0.02, 0.5)
        self.gabor_freq.setDecimals(3)
        self.gabor_freq.setValue(0.2)
        self.gabor_freq.setToolTip("stripes per pixel")
        self.gabor_theta = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.gabor_theta.setRange(0.0, 180.0)
        self.gabor_theta.setDecimals(0)
        self.gabor_theta.setValue(0.0)
        self.gabor_theta.setToolTip("orientation in degrees (0: vertical stripes)")
        self.gabor_sigma = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.gabor_sigma.setRange(0.5, 6.0)
        self.gabor_sigma.setDecimals(2)
        self.gabor_sigma.setValue(2.5)
        self.gabor_sigma.setToolTip("width of the Gaussian envelope in pixels")
        self.gabor_size = _spin(3, K.MAX_KERNEL_SIZE, 11, "kernel size (odd sizes keep it centred)")
        self.gabor_size.setSingleStep(2)
        self.gabor_phase = _combo()
        self.gabor_phase.addItem("even (line detector)", 0.0)
        self.gabor_phase.addItem("odd (edge detector)", math.pi / 2)
        gform.addRow("Frequency", self.gabor_freq)
        gform.addRow("Theta (°)", self.gabor_theta)
        gform.addRow("Sigma", self.gabor_sigma)
        gform.addRow("Size", self.gabor_size)
        gform.addRow("Phase", self.gabor_phase)
        kcol.addWidget(self.gabor_box)
        self.kernel_grid = KernelGrid()
        kcol.addWidget(self.kernel_grid)
        col.addWidget(box)

        # --- convolution
        box = QGroupBox("Convolution")
        cform = QFormLayout(box)
        self.padding_combo = _combo()
        self.padding_combo.addItem("valid (no padding)", "valid")
        self.padding_combo.addItem("same (output = input / stride)", "same")
        self.padding_combo.addItem("custom (per side)", "custom")
        cform.addRow("Padding", self.padding_combo)
        self.custom_pad_box = QWidget()
        prow = QHBoxLayout(self.custom_pad_box)
        prow.setContentsMargins(0, 0, 0, 0)
        self.pad_top = _spin(0, 20, 1, "rows of zeros above")
        self.pad_bottom = _spin(0, 20, 1, "rows of zeros below")
        self.pad_left = _spin(0, 20, 1, "columns of zeros on the left")
        self.pad_right = _spin(0, 20, 1, "columns of zeros on the right")
        for text, spin in (("T", self.pad_top), ("B", self.pad_bottom), ("L", self.pad_left), ("R", self.pad_right)):
            prow.addWidget(QLabel(text))
            prow.addWidget(spin)
        cform.addRow("", self.custom_pad_box)
        self.stride_y = _spin(1, 16, 1, "vertical stride (rows the window moves each step)")
        self.stride_x = _spin(1, 16, 1, "horizontal stride (columns the window moves each step)")
        cform.addRow("Stride (y, x)", self._pair(self.stride_y, self.stride_x))
        self.dilation_y = _spin(1, 8, 1, "vertical dilation (gap between kernel rows)")
        self.dilation_x = _spin(1, 8, 1, "horizontal dilation (gap between kernel columns)")
        cform.addRow("Dilation (y, x)", self._pair(self.dilation_y, self.dilation_x))
        brow = QHBoxLayout()
        self.bias_spin = QDoubleSpinBox()
        self.bias_spin.setRange(-10.0, 10.0)
        self.bias_spin.setSingleStep(0.1)
        self.bias_spin.setDecimals(2)
        self.bias_spin.setToolTip("added to every output value")
        self.relu_check = QCheckBox("ReLU")
        self.relu_check.setToolTip("keep max(value, 0)")
        brow.addWidget(self.bias_spin)
        brow.addWidget(self.relu_check)
        brow.addStretch(1)
        cform.addRow("Bias", brow)
        col.addWidget(box)

        # --- pooling
        box = QGroupBox("Pooling after the convolution")
        pform = QFormLayout(box)
        self.pool_check = QCheckBox("on")
        self.pool_check.setChecked(True)
        self.pool_mode = _combo()
        self.pool_mode.addItem("max", "max")
        self.pool_mode.addItem("average", "avg")
        prow2 = QHBoxLayout()
        prow2.addWidget(self.pool_check)
        prow2.addWidget(self.pool_mode, 1)
        pform.addRow("Pooling", prow2)
        self.pool_size = _spin(1, 8, 2, "pool window size")
        self.pool_stride = _spin(0, 8, 0, "pool stride (\"= size\" like Keras's default)")
        self.pool_stride.setSpecialValueText("= size")
        pform.addRow("Size, stride", self._pair(self.pool_size, self.pool_stride))
        self.pool_padding = _combo()
        self.pool_padding.addItem("valid", "valid")
        self.pool_padding.addItem("same", "same")
        pform.addRow("Padding", self.pool_padding)
        col.addWidget(box)

        # --- step-through
        box = QGroupBox("Step-through")
        scol = QVBoxLayout(box)
        srow = QHBoxLayout()
        self.step_play = QPushButton("▶ Play")
        self.step_play.setCheckable(True)
        self.step_back = QPushButton("◀ Step")
        self.step_next = QPushButton("Step ▶")
        self.step_stop = QPushButton("■ Stop")
        for b in (self.step_play, self.step_back, self.step_next, self.step_stop):
            srow.addWidget(b)
        scol.addLayout(srow)
        srow2 = QHBoxLayout()
        srow2.addWidget(QLabel("Speed"))
        self.step_speed = QSlider(Qt.Orientation.Horizontal)
        self.step_speed.setRange(1, 60)
        self.step_speed.setValue(8)
        self.step_speed.setToolTip("window positions per second")
        srow2.addWidget(self.step_speed, 1)
        self.step_zoom = QCheckBox("zoom in")
        self.step_zoom.setToolTip("zoom the input view onto the window so its values show")
        self.step_zoom.setChecked(True)
        srow2.addWidget(self.step_zoom)
        scol.addLayout(srow2)
        hint = QLabel("Click a feature-map pixel to see the window that made it.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color:#555;")
        scol.addWidget(hint)
        col.addWidget(box)
        col.addStretch(1)

        # --- right side: tabs
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        conv_tab = QWidget()
        vcol = QVBoxLayout(conv_tab)
        vcol.setContentsMargins(2, 2, 2, 2)
        vcol.setSpacing(3)
        grid = QGridLayout()
        grid.setSpacing(4)
        self.input_view = ArrayView("Input (padded)", colormap="grey")
        self.kernel_view = ArrayView("Kernel", colormap="CET-D1", symmetric=True)
        self.output_view = ArrayView("Feature map", colormap="CET-D1", symmetric=True)
        self.pooled_view = ArrayView("Pooled map", colormap="CET-D1", symmetric=True)
        self.output_view.set_robust(True)
        self.pooled_view.set_robust(True)
        grid.addWidget(self.input_view, 0, 0)
        grid.addWidget(self.kernel_view, 0, 1)
        grid.addWidget(self.output_view, 1, 0)
        grid.addWidget(self.pooled_view, 1, 1)
        for i in range(2):
            grid.setRowStretch(i, 1)
            grid.setColumnStretch(i, 1)
        vcol.addLayout(grid, 1)

        crow = QHBoxLayout()
        self.channel_label = QLabel("Show channel")
        self.channel_combo = QComboBox()
        self.channel_combo.setToolTip("which output channel the feature and pooled maps show")
        crow.addWidget(self.channel_label)
        crow.addWidget(self.channel_combo)
        crow.addStretch(1)
        self.global_label = QLabel("")
        self.global_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        crow.addWidget(self.global_label)
        vcol.addLayout(crow)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color:#b00020;font-weight:bold;")
        self.message_label.setVisible(False)
        vcol.addWidget(self.message_label)
        self.note_label = QLabel("")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color:#6a4a00;")
        self.note_label.setVisible(False)
        vcol.addWidget(self.note_label)
        info = QHBoxLayout()
        info.setSpacing(6)
        self.shapes_label = QLabel("")
        self.shapes_label.setTextFormat(Qt.TextFormat.RichText)
        self.shapes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shapes_label.setStyleSheet("font-family:monospace;font-size:8pt;background:#f6f6f6;padding:4px;")
        self.shapes_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.shapes_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        info.addWidget(self.shapes_label, 1)
        self.step_label = QLabel("")
        self.step_label.setWordWrap(True)
        self.step_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.step_label.setStyleSheet("font-family:monospace;font-size:8pt;background:#fff0ee;padding:4px;")
        self.step_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.step_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        self.step_label.setVisible(False)
        info.addWidget(self.step_label, 1)
        vcol.addLayout(info)
        self.tabs.addTab(conv_tab, "Convolution")

        bank_tab = QWidget()
        bcol = QVBoxLayout(bank_tab)
        brow2 = QHBoxLayout()
        self.bank_orientations = _spin(1, 8, 4, "number of orientations (columns)")
        self.bank_frequencies = _spin(1, 4, 3, "number of frequencies (rows)")
        brow2.addWidget(QLabel("Orientations"))
        brow2.addWidget(self.bank_orientations)
        brow2.addWidget(QLabel("Frequencies"))
        brow2.addWidget(self.bank_frequencies)
        brow2.addWidget(QLabel("(size, sigma and phase from the Gabor controls)"))
        brow2.addStretch(1)
        bcol.addLayout(brow2)
        self.bank_caption = QLabel("")
        self.bank_caption.setWordWrap(True)
        bcol.addWidget(self.bank_caption)
        bgrid = QHBoxLayout()
        self.bank_kernels_view = ArrayView("Gabor kernels", colormap="CET-D1", symmetric=True)
        self.bank_maps_view = ArrayView("Responses on the image", colormap="CET-D1", symmetric=True)
        self.bank_kernels_view.set_values_visible(False)
        bgrid.addWidget(self.bank_kernels_view, 2)
        bgrid.addWidget(self.bank_maps_view, 3)
        bcol.addLayout(bgrid, 1)
        self.bank_status = QLabel("")
        self.bank_status.setStyleSheet("color:#555;")
        bcol.addWidget(self.bank_status)
        self.tabs.addTab(bank_tab, "Gabor bank")

        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._step_timer = QTimer(self)
        self._bank_timer = QTimer(self)
        self._bank_timer.setSingleShot(True)
        self._bank_timer.setInterval(30)
        self.custom_pad_box.setVisible(False)

    @staticmethod
    def _pair(a: QWidget, b: QWidget) -> QWidget:
        w = QWidget()
        row = QHBoxLayout(w)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(a)
        row.addWidget(b)
        row.addStretch(1)
        return w

    def _connect(self) -> None:
        self._update_timer.timeout.connect(self.recompute)
        self._step_timer.timeout.connect(self._on_step_timer)
        self._bank_timer.timeout.connect(self._start_bank)
        self.sample_combo.currentTextChanged.connect(self._on_sample)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.mode_combo.currentIndexChanged.connect(self._schedule)
        self.preset_combo.currentTextChanged.connect(self._on_preset)
        for s in (self.gabor_freq, self.gabor_theta, self.gabor_sigma):
            s.valueChanged.connect(self._on_gabor_changed)
        self.gabor_size.valueChanged.connect(self._on_gabor_changed)
        self.gabor_phase.currentIndexChanged.connect(self._on_gabor_changed)
        self.kernel_grid.kernel_changed.connect(self._on_grid_kernel)
        self.kernel_grid.invalid.connect(self._on_grid_invalid)
        self.padding_combo.currentIndexChanged.connect(self._on_padding_mode)
        for w in (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right, self.stride_y, self.stride_x,
                  self.dilation_y, self.dilation_x, self.pool_size, self.pool_stride):
            w.valueChanged.connect(self._schedule)
        self.bias_spin.valueChanged.connect(self._schedule)
        self.relu_check.toggled.connect(self._schedule)
        self.pool_check.toggled.connect(self._schedule)
        self.pool_mode.currentIndexChanged.connect(self._schedule)
        self.pool_padding.currentIndexChanged.connect(self._schedule)
        self.channel_combo.currentIndexChanged.connect(self._on_channel)
        self.step_play.toggled.connect(self._on_play_toggled)
        self.step_next.clicked.connect(lambda: self.step(1))
        self.step_back.clicked.connect(lambda: self.step(-1))
        self.step_stop.clicked.connect(self.stop_step_through)
        self.step_speed.valueChanged.connect(self._on_speed)
        self.step_zoom.toggled.connect(lambda _on: self._show_step())
        self.output_view.clicked.connect(self._on_output_clicked)
        self.tabs.currentChanged.connect(self._on_tab)
        self.bank_orientations.valueChanged.connect(self._mark_bank_dirty)
        self.bank_frequencies.valueChanged.connect(self._mark_bank_dirty)
        self.state.image_array_opened.connect(self._on_state_image)

    # ================================================================== public API
    def set_image(self, image: np.ndarray, label: str = "your image") -> None:
        """Use ``image`` (H x W or H x W x C; uint8 or float in [0, 1]) as the input, listed under ``label``."""
        arr, note = _as_playground_image(image)
        self._images[label] = arr
        self._image_notes[label] = note
        if self.sample_combo.findText(label) < 0:
            self.sample_combo.addItem(label)
        if self.sample_combo.currentText() == label:
            self._load_sample(label)
            self._schedule()
        else:
            self.sample_combo.setCurrentText(label)

    def set_kernel(self, kernel: np.ndarray) -> None:
        """Use a 2-D kernel (shown in the grid as "Custom")."""
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentText(CUSTOM)
        self.preset_combo.blockSignals(False)
        self._show_preset_controls(CUSTOM)
        self.kernel_grid.set_kernel(kernel)  # emits kernel_changed -> schedule

    def kernel(self) -> np.ndarray:
        """The 2-D kernel in use."""
        return self._kernel2d.copy()

    def feature_map(self) -> np.ndarray | None:
        """The last feature map (H' x W' x F, after bias and ReLU), or None after an error."""
        return None if self._fmap is None else self._fmap.copy()

    def pooled_map(self) -> np.ndarray | None:
        """The last pooled map (H'' x W'' x F), or None when pooling is off or failed."""
        return None if self._pooled is None else self._pooled.copy()

    def open_path(self, path: Path) -> bool:
        """Open an image file as the input; True when the path is an image (errors are shown inline)."""
        path = Path(path)
        if path.is_dir() or not is_image_path(path):
            return False
        try:
            image = load_image(path, "rgb")
            self.set_image(image, path.name)
        except ConvExplorerError as exc:
            self._show_message(str(exc))
        return True

    def step(self, delta: int = 1) -> None:
        """Move the step-through window by ``delta`` output positions (wraps around)."""
        if self._fmap is None:
            return
        total = self._fmap.shape[0] * self._fmap.shape[1]
        if not self._step_active:
            self._step_active = True
            delta = 0 if delta > 0 and self._step_index == 0 else delta
        self._step_index = (self._step_index + delta) % total
        self._show_step()

    def set_step_position(self, row: int, col: int) -> None:
        """Show the window that makes output pixel (row, col)."""
        if self._fmap is None:
            return
        oh, ow = self._fmap.shape[:2]
        self._step_active = True
        self._step_index = min(max(row, 0), oh - 1) * ow + min(max(col, 0), ow - 1)
        self._show_step()

    def step_position(self) -> tuple[int, int] | None:
        """The output position the step-through shows, or None when it is off."""
        if not self._step_active or self._fmap is None:
            return None
        return divmod(self._step_index, self._fmap.shape[1])

    def start_step_through(self, play: bool = True) -> None:
        """Start the step-through from the first output pixel (animated when ``play``)."""
        self.tabs.setCurrentIndex(0)
        self._step_index = 0
        self._step_active = True
        self._show_step()
        self.step_play.setChecked(play)

    def stop_step_through(self) -> None:
        """Stop the animation and remove the window overlays."""
        self.step_play.setChecked(False)
        self._step_active = False
        self._step_index = 0
        self.step_label.setVisible(False)
        self._draw_overlays(None)

    def show_gabor_bank(self, wait: bool = True) -> None:
        """Switch to the Gabor bank tab and compute it (synchronously when ``wait``)."""
        self.tabs.setCurrentIndex(1)
        self._bank_timer.stop()
        if wait:
            self._compute_bank_now()
        else:
            self._start_bank()

    def workspace_state(self) -> dict:
        """The settings and kernel as plain JSON data, for the workspace file."""
        return {
            "image": self.sample_combo.currentText() if self.sample_combo.currentText() in SAMPLES else None,
            "mode": self.mode_combo.currentData(),
            "preset": self.preset_combo.currentText(),
            "kernel": self._kernel2d.astype(float).tolist(),
            "gabor": {
                "frequency": self.gabor_freq.value(),
                "theta_deg": self.gabor_theta.value(),
                "sigma": self.gabor_sigma.value(),
                "size": self.gabor_size.value(),
                "odd": self.gabor_phase.currentIndex() == 1,
            },
            "padding": self.padding_combo.currentData(),
            "custom_padding": [self.pad_top.value(), self.pad_bottom.value(), self.pad_left.value(), self.pad_right.value()],
            "stride": [self.stride_y.value(), self.stride_x.value()],
            "dilation": [self.dilation_y.value(), self.dilation_x.value()],
            "bias": self.bias_spin.value(),
            "relu": self.relu_check.isChecked(),
            "pool": {
                "on": self.pool_check.isChecked(),
                "mode": self.pool_mode.currentData(),
                "size": self.pool_size.value(),
                "stride": self.pool_stride.value(),
                "padding": self.pool_padding.currentData(),
            },
        }

    def restore_workspace_state(self, data: dict) -> None:
        """Apply what :meth:`workspace_state` saved; unknown or missing entries keep their current values."""
        if not isinstance(data, dict):
            raise ConvExplorerError(f"the Playground part of the workspace must be a mapping, got {type(data).__name__}")

        def pick(combo: QComboBox, value: object) -> None:
            i = combo.findData(value)
            if i >= 0:
                combo.setCurrentIndex(i)

        if data.get("image") in SAMPLES:
            self.sample_combo.setCurrentText(data["image"])
        pick(self.mode_combo, data.get("mode"))
        g = data.get("gabor") or {}
        for slider, key in ((self.gabor_freq, "frequency"), (self.gabor_theta, "theta_deg"), (self.gabor_sigma, "sigma")):
            if isinstance(g.get(key), (int, float)):
                slider.setValue(float(g[key]))
        if isinstance(g.get("size"), int):
            self.gabor_size.setValue(g["size"])
        if "odd" in g:
            self.gabor_phase.setCurrentIndex(1 if g["odd"] else 0)
        pick(self.padding_combo, data.get("padding"))
        spins = (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right)
        for spin, v in zip(spins, data.get("custom_padding") or []):
            spin.setValue(int(v))
        for spin, v in zip((self.stride_y, self.stride_x), data.get("stride") or []):
            spin.setValue(int(v))
        for spin, v in zip((self.dilation_y, self.dilation_x), data.get("dilation") or []):
            spin.setValue(int(v))
        if isinstance(data.get("bias"), (int, float)):
            self.bias_spin.setValue(float(data["bias"]))
        if "relu" in data:
            self.relu_check.setChecked(bool(data["relu"]))
        pool = data.get("pool") or {}
        if "on" in pool:
            self.pool_check.setChecked(bool(pool["on"]))
        pick(self.pool_mode, pool.get("mode"))
        if isinstance(pool.get("size"), int):
            self.pool_size.setValue(pool["size"])
        if isinstance(pool.get("stride"), int):
            self.pool_stride.setValue(pool["stride"])
        pick(self.pool_padding, pool.get("padding"))
        preset = data.get("preset")
        if preset in K.PRESETS:
            self.preset_combo.setCurrentText(preset)
        elif data.get("kernel") is not None:
            self.set_kernel(np.asarray(data["kernel"], dtype=np.float32))
        self._schedule()

    def shutdown(self) -> None:
        """Stop timers, cancel the bank worker and join it."""
        self._step_timer.stop()
        self._update_timer.stop()
        self._bank_timer.stop()
        super().shutdown()

    # ================================================================== computing
    def _schedule(self, *_args: object) -> None:
        """Recompute once the current burst of events is handled (coalesces slider drags)."""
        self._update_timer.start()

    def _mode(self) -> str:
        return self.mode_combo.currentData() if self._source.shape[2] == 3 else "gray"

    def _padding_spec(self):
        mode = self.padding_combo.currentData()
        if mode == "custom":
            return ((self.pad_top.value(), self.pad_bottom.value()), (self.pad_left.value(), self.pad_right.value()))
        return mode

    def _pool_params(self) -> tuple[int, int | None, str, str]:
        size = self.pool_size.value()
        stride = self.pool_stride.value() or None
        return size, stride, self.pool_padding.currentData(), self.pool_mode.currentData()

    def recompute(self) -> None:
        """Run the convolution and pooling on the current settings and draw everything (synchronous)."""
        self._update_timer.stop()
        mode = self._mode()
        k2 = self._kernel2d
        if mode == "gray":
            x = K.to_grayscale(self._source)
            kernel = k2
        elif mode == "depthwise":
            x = self._source
            kernel = k2
        else:
            x = self._source
            kernel = np.repeat(k2[:, :, None, None], x.shape[2], axis=2)
        stride = (self.stride_y.value(), self.stride_x.value())
        dilation = (self.dilation_y.value(), self.dilation_x.value())
        padding = self._padding_spec()
        self._x, self._kernel_used = x, kernel
        self.kernel_view.set_array(k2)
        self.kernel_view.set_subtitle(f"{k2.shape[0]}×{k2.shape[1]}" + (f", dilation {dilation[0]}×{dilation[1]}" if max(dilation) > 1 else ""))
        messages: list[str] = []
        notes: list[str] = []
        try:
            geo = conv_geometry(x.shape[:2], k2.shape, stride, padding, dilation)
            fmap = conv2d(x, kernel, stride=stride, padding=geo.padding, dilation=dilation)
        except ConvExplorerError as exc:
            self._geo = self._fmap = self._pooled = None
            self._draw_input(None)
            self.output_view.set_array(None)
            self.pooled_view.set_array(None)
            self.output_view.set_subtitle("")
            self.pooled_view.set_subtitle("")
            self.shapes_label.setText(self._shapes_html(None, None, x))
            self.global_label.setText("")
            self._show_message(f"{exc}. Try 'same' padding, a smaller kernel or less dilation.")
            self._show_notes([])
            self.step_label.setVisible(False)
            self._draw_overlays(None)
            self.updated.emit()
            return
        if fmap.ndim == 2:
            fmap = fmap[..., None]
        fmap = np.ascontiguousarray(fmap)  # our own copy: bias and ReLU work in place
        bias = float(self.bias_spin.value())
        if bias:
            fmap += np.float32(bias)
        if self.relu_check.isChecked():
            np.maximum(fmap, np.float32(0.0), out=fmap)
        self._geo, self._fmap = geo, fmap
        if keras_refuses(stride, dilation):
            notes.append(
                "A Keras Conv2D layer refuses stride > 1 together with dilation > 1 (tf.nn.conv2d accepts it); "
                "the Playground computes it by the definition."
            )
        if geo.padding != ((0, 0), (0, 0)) and abs(float(k2.sum())) < 1e-6 * max(1.0, float(np.abs(k2).sum())):
            border = np.concatenate([np.ravel(x[0]), np.ravel(x[-1]), np.ravel(x[:, 0]), np.ravel(x[:, -1])])
            if float(np.abs(border).mean()) > 0.05:
                notes.append("Lines along the border come from the zero padding: the kernel sees a jump from the image to 0.")
        pooled = None
        pgeo = None
        if self.pool_check.isChecked():
            size, pstride, ppad, pmode = self._pool_params()
            try:
                pgeo = pool_geometry(fmap.shape[:2], size, pstride, ppad)
                pooled = pool2d(fmap, size, pstride, ppad, pmode)
            except ConvExplorerError as exc:
                messages.append(f"Pooling: {exc}")
        self._pooled = pooled
        self._pgeo = pgeo if pooled is not None else None
        self._update_channel_combo(fmap.shape[2])
        self._draw_input(geo)
        self._draw_maps()
        g_avg, g_max = global_pool(fmap, "avg"), global_pool(fmap, "max")
        scale = max(1e-30, float(np.max(np.abs(fmap))))

        def num(v: float) -> str:
            return "0" if abs(v) < 1e-6 * scale else f"{v:.4g}"  # float32 round-off is not a value

        self.global_label.setText(
            "Global average pooling: " + ", ".join(num(v) for v in np.atleast_1d(g_avg))
            + "   ·   global max pooling: " + ", ".join(num(v) for v in np.atleast_1d(g_max))
            + "   (of the feature map)"
        )
        self.shapes_label.setText(self._shapes_html(geo, pgeo, x))
        if messages:
            self._show_message(" ".join(messages))
        else:
            self._show_message("")
        if self.kernel_grid.error_text():
            self._show_message(self.kernel_grid.error_text() + " (the last good kernel is in use)")
        self._show_notes(notes)
        if self._step_active:
            total = fmap.shape[0] * fmap.shape[1]
            self._step_index = min(self._step_index, total - 1)
            self._show_step()
        else:
            self._draw_overlays(None)
        self.updated.emit()

    def _draw_input(self, geo: ConvGeometry | None) -> None:
        x = self._x
        if x is None:
            return
        padding = geo.padding if geo is not None else ((0, 0), (0, 0))
        xp = pad_input(x, padding)
        if xp.ndim == 3 and xp.shape[2] == 1:
            xp = xp[..., 0]
        self.input_view.set_array(xp, levels=(0.0, 1.0) if xp.ndim == 2 else None)
        (t, b), (l, r) = padding
        h, w = x.shape[:2]
        sub = f"{h}×{w}" + (f"×{x.shape[2]}" if x.ndim == 3 else "")
        if t or b or l or r:
            sub += f" → padded {h + t + b}×{w + l + r} (zeros outside the dashed line)"
        self.input_view.set_subtitle(sub)
        self._pad_rect = (t, l, h, w, IMAGE_AREA_COLOUR, True) if (t or b or l or r) else None

    def _draw_maps(self) -> None:
        ch = max(0, self.channel_combo.currentIndex())
        fmap, pooled = self._fmap, self._pooled
        if fmap is None:
            return
        ch = min(ch, fmap.shape[2] - 1)
        for view, arr in ((self.output_view, fmap), (self.pooled_view, pooled)):
            if arr is None:
                view.set_array(None)
                view.set_subtitle("pooling off" if view is self.pooled_view and not self.pool_check.isChecked() else "")
                continue
            plane = arr[..., ch]
            signed = float(plane.min()) < 0.0
            view.set_colormap("CET-D1" if signed else "viridis")
            view.set_symmetric(signed)
            view.set_array(plane)
            shape = f"{arr.shape[0]}×{arr.shape[1]}×{arr.shape[2]}"
            view.set_subtitle(shape + (f", channel {self.channel_combo.currentText()}" if arr.shape[2] > 1 else ""))

    def _update_channel_combo(self, channels: int) -> None:
        names = list(CHANNEL_NAMES[:channels]) if channels <= 3 else [str(i) for i in range(channels)]
        current = [self.channel_combo.itemText(i) for i in range(self.channel_combo.count())]
        if current != names:
            self.channel_combo.blockSignals(True)
            self.channel_combo.clear()
            self.channel_combo.addItems(names)
            self.channel_combo.blockSignals(False)
        multi = channels > 1
        self.channel_combo.setVisible(multi)
        self.channel_label.setVisible(multi)

    def _shapes_html(self, geo: ConvGeometry | None, pgeo: ConvGeometry | None, x: np.ndarray) -> str:
        def esc(s: str) -> str:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        c = x.shape[2] if x.ndim == 3 else 1
        mode = self._mode()
        lines = [f"<b>Input</b> {x.shape[0]}×{x.shape[1]}×{c}"]
        if geo is None:
            return "<br>".join(lines)
        (t, b), (l, r) = geo.padding
        kh, kw = geo.kernel_hw
        f = 1 if mode in ("gray", "conv2d") else c
        kshape = f"{kh}×{kw}×{c}×1" if mode == "conv2d" else f"{kh}×{kw}" + (" on each channel" if f > 1 else "")
        lines.append(
            f"<b>Conv</b> kernel {kshape}, stride {geo.stride[0]}×{geo.stride[1]}, dilation {geo.dilation[0]}×{geo.dilation[1]}, "
            f"padding top {t}, bottom {b}, left {l}, right {r}"
        )
        lines.append("&nbsp;height: " + esc(geo.formula(0)))
        lines.append("&nbsp;width:&nbsp; " + esc(geo.formula(1)))
        lines.append(f"<b>Feature map</b> {geo.output_hw[0]}×{geo.output_hw[1]}×{f}")
        if pgeo is not None:
            size, pstride, ppad, pmode = self._pool_params()
            lines.append(
                f"<b>Pool</b> {'max' if pmode == 'max' else 'average'} {pgeo.kernel_hw[0]}×{pgeo.kernel_hw[1]}, "
                f"stride {pgeo.stride[0]}×{pgeo.stride[1]}, {ppad}"
            )
            lines.append("&nbsp;height: " + esc(pgeo.formula(0)))
            lines.append("&nbsp;width:&nbsp; " + esc(pgeo.formula(1)))
            lines.append(f"<b>Pooled map</b> {pgeo.output_hw[0]}×{pgeo.output_hw[1]}×{f}")
        return "<br>".join(lines)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _show_notes(self, notes: list[str]) -> None:
        note = self._image_notes.get(self.sample_combo.currentText(), "")
        all_notes = ([f"Image {note}."] if note else []) + notes
        self.note_label.setText(" ".join(all_notes))
        self.note_label.setVisible(bool(all_notes))

    def message(self) -> str:
        """The error line under the views ('' when all is well)."""
        return self.message_label.text() if self.message_label.isVisibleTo(self) else ""

    # ================================================================== step-through
    def _show_step(self) -> None:
        if not self._step_active or self._fmap is None or self._geo is None or self._x is None:
            self._draw_overlays(None)
            return
        oh, ow = self._fmap.shape[:2]
        i, j = divmod(self._step_index, ow)
        mode = self._mode()
        ch = max(0, self.channel_combo.currentIndex())
        channel = ch if mode == "depthwise" else 0
        geo = self._geo
        try:
            st = conv_step(self._x, self._kernel_used, (i, j), geo.stride, geo.padding, geo.dilation,
                           bias=float(self.bias_spin.value()), channel=channel)
        except ConvExplorerError as exc:
            self._show_message(str(exc))
            return
        self._draw_overlays(st)
        value = st.value
        text = f"<b>Output ({i}, {j})</b> of {oh}×{ow}: window rows {st.rows[0]}–{st.rows[-1]}, columns {st.cols[0]}–{st.cols[-1]} of the padded input"
        if st.inputs.ndim == 3:
            text += f" (all {st.inputs.shape[2]} channels)"
        expr = st.expression(max_terms=9)
        text += "<br>" + expr
        if self.relu_check.isChecked():
            text += f" → ReLU → {max(value, 0.0):.3f}"
        if np.any(st.in_padding):
            text += f"<br><i>{int(np.sum(st.in_padding))} of the taps fall on padding zeros.</i>"
        cells = self._pooled_cells(i, j)
        if cells:
            shown = ", ".join(f"({pi}, {pj})" for pi, pj in cells)
            text += f"<br>Then pooled into cell{'s' if len(cells) > 1 else ''} {shown} of the pooled map (dashed)."
        self.step_label.setText(text)
        self.step_label.setVisible(True)

    def _draw_overlays(self, st) -> None:
        pad_rect = self._pad_rect
        rects = [pad_rect] if pad_rect else []
        if st is None:
            self.input_view.set_highlights(rects)
            self.input_view.set_markers([])
            self.output_view.set_highlight(None)
            self.pooled_view.set_highlight(None)
            return
        (r0, c0), (eh, ew) = st.top_left, st.extent
        rects.append((r0, c0, eh, ew, WINDOW_COLOUR))
        self.input_view.set_highlights(rects)
        if max(self._geo.dilation) > 1:
            self.input_view.set_markers([(r, c) for r in st.rows for c in st.cols], WINDOW_COLOUR)
        else:
            self.input_view.set_markers([])
        i, j = st.out_pos
        self.output_view.set_highlight((i, j, 1, 1), WINDOW_COLOUR)
        self.pooled_view.set_highlights([(pi, pj, 1, 1, WINDOW_COLOUR, True) for pi, pj in self._pooled_cells(i, j)])
        if self.step_zoom.isChecked():
            margin = 2
            vb = self.input_view.plot.getViewBox()
            side = max(eh, ew) + 2 * margin
            cy, cx = r0 + eh / 2, c0 + ew / 2
            vb.setRange(QRectF(cx - side / 2, cy - side / 2, side, side), padding=0)

    def _pooled_cells(self, i: int, j: int) -> list[tuple[int, int]]:
        """Pooled-map cells whose pooling window contains feature-map pixel (i, j)."""
        g = self._pgeo
        if g is None or self._pooled is None:
            return []

        def axis(v: int, ax: int) -> range:
            k, s, p0 = g.kernel_hw[ax], g.stride[ax], g.padding[ax][0]
            lo = max(0, -(-(v + p0 - k + 1) // s))
            hi = min(g.output_hw[ax] - 1, (v + p0) // s)
            return range(lo, hi + 1)

        return [(pi, pj) for pi in axis(i, 0) for pj in axis(j, 1)]

    def _on_step_timer(self) -> None:
        self.step(1)

    def _on_play_toggled(self, on: bool) -> None:
        self.step_play.setText("❚❚ Pause" if on else "▶ Play")
        if on:
            if not self._step_active:
                self._step_active = True
                self._show_step()
            self._step_timer.start(int(1000 / self.step_speed.value()))
        else:
            self._step_timer.stop()

    def _on_speed(self, value: int) -> None:
        if self._step_timer.isActive():
            self._step_timer.start(int(1000 / value))

    def _on_output_clicked(self, row: int, col: int) -> None:
        self.set_step_position(row, col)

    # ================================================================== Gabor bank
    def _bank_inputs(self) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
        img = K.to_grayscale(self._source)
        h, w = img.shape
        if max(h, w) > BANK_SIDE:
            s = BANK_SIDE / max(h, w)
            img = resize(img[..., None], (max(1, round(h * s)), max(1, round(w * s))))[..., 0]
        nf = self.bank_frequencies.value()
        freqs = [round(0.08 * 2 ** (i * 2 / max(1, nf - 1)), 3) if nf > 1 else 0.16 for i in range(nf)]
        thetas = K.orientations(self.bank_orientations.value())
        size = self.gabor_size.value()
        bank = K.gabor_bank(size, freqs, thetas, sigma=self.gabor_sigma.value(), phase=self.gabor_phase.currentData(), zero_mean=True)
        return img, bank, freqs, thetas

    def _mark_bank_dirty(self, *_args: object) -> None:
        self._bank_dirty = True
        if self.tabs.currentIndex() == 1:
            self._bank_timer.start()

    def _on_tab(self, index: int) -> None:
        if index == 1 and self._bank_dirty:
            self._bank_timer.start()

    def _start_bank(self) -> None:
        img, bank, freqs, thetas = self._bank_inputs()
        self._bank_generation += 1
        gen = self._bank_generation
        if self._bank_worker is not None and self._bank_worker.is_running():
            self._bank_worker.cancel()
        self._show_bank_kernels(bank, freqs, thetas)
        self.bank_status.setText("computing the responses…")
        worker = run_in_thread(K.apply_bank, img, bank)
        worker.result.connect(lambda maps, gen=gen: self._on_bank_result(gen, maps))
        worker.error.connect(lambda msg, _det: self.bank_status.setText(f"Gabor bank failed: {msg}"))
        self._bank_worker = self.track(worker)

    def _compute_bank_now(self) -> None:
        img, bank, freqs, thetas = self._bank_inputs()
        self._bank_generation += 1
        self._show_bank_kernels(bank, freqs, thetas)
        self._on_bank_result(self._bank_generation, K.apply_bank(img, bank))

    def _show_bank_kernels(self, bank: np.ndarray, freqs: list[float], thetas: list[float]) -> None:
        self.bank_kernels_view.set_array(K.mosaic(bank, gap=1))
        k = bank.shape[2]
        self.bank_kernels_view.set_subtitle(f"{bank.shape[0]} frequencies × {bank.shape[1]} orientations, {k}×{k} each")
        degs = ", ".join(f"{math.degrees(t):.0f}°" for t in thetas)
        fr = ", ".join(f"{f:g}" for f in freqs)
        self.bank_caption.setText(
            f"Columns: orientation θ = {degs}.   Rows: frequency = {fr} cycles/pixel (top to bottom).   "
            f"Sigma {self.gabor_sigma.value():.2f} px, {self.gabor_phase.currentText()}, mean removed (flat areas give 0). "
            "Each response is the grayscale image correlated with the kernel in the same place on the left "
            "(same padding); strong colours show where the image has stripes or edges of that orientation and scale."
        )

    def _on_bank_result(self, gen: int, maps: np.ndarray) -> None:
        if gen != self._bank_generation:
            return
        self._bank_dirty = False
        gap = max(1, maps.shape[-1] // 24)
        # display only: each map scaled to its own largest |value| so weak and strong responses both show
        peak = np.max(np.abs(maps), axis=(2, 3), keepdims=True)
        shown = maps / np.where(peak > 0, peak, 1.0)
        self.bank_maps_view.set_array(K.mosaic(shown, gap=gap), levels=(-1.0, 1.0))
        self.bank_maps_view.set_subtitle(
            f"{maps.shape[0]}×{maps.shape[1]} maps of {maps.shape[2]}×{maps.shape[3]}, each scaled to its own maximum (±1)"
        )
        self.bank_status.setText("")
        self.bank_updated.emit()

    # ================================================================== slots
    def _load_sample(self, name: str) -> None:
        if name in self._images:
            self._source = self._images[name]
        elif name in SAMPLES:
            arr, note = _as_playground_image(SAMPLES[name]())
            self._images[name] = arr
            self._image_notes[name] = note
            self._source = arr
        else:
            return
        c = self._source.shape[2]
        self.mode_combo.setEnabled(c == 3)
        self._mark_bank_dirty()
        h, w = self._source.shape[:2]
        self.image_note.setText(f"{w}×{h} pixels, {'colour (3 channels)' if c == 3 else 'grayscale (1 channel)'}")
        self.input_view.set_colormap("grey")

    def _on_sample(self, name: str) -> None:
        self._load_sample(name)
        self._schedule()

    def _on_open_clicked(self) -> None:
        pattern = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", f"Images ({pattern})")
        if path:
            self.open_path(Path(path))

    def _on_state_image(self, array: object, label: str) -> None:
        try:
            self.set_image(np.asarray(array), label or "picked image")
        except ConvExplorerError as exc:
            self._show_message(str(exc))

    def _show_preset_controls(self, name: str) -> None:
        self.gabor_box.setVisible(name == "Gabor")
        note = K.PRESET_NOTES.get(name, "Type your own weights in the grid (e.g. 2, -0.5, 1/9); sizes 1×1 to 11×11.")
        if name == "Gabor":
            note += " Scaled so the largest weight is 1."
        self.preset_note.setText(note)

    def _on_preset(self, name: str) -> None:
        self._show_preset_controls(name)
        if name == CUSTOM:
            return
        k = self._gabor_kernel() if name == "Gabor" else K.preset(name)
        self.kernel_grid.blockSignals(True)
        self.kernel_grid.set_kernel(k, emit=False)
        self.kernel_grid.blockSignals(False)
        self._kernel2d = k
        self._show_message("")
        self._schedule()

    def _gabor_kernel(self) -> np.ndarray:
        """The Gabor preset, scaled so its largest weight is ±1 (readable numbers; same shape of response)."""
        g = K.gabor(
            self.gabor_size.value(),
            frequency=self.gabor_freq.value(),
            theta=math.radians(self.gabor_theta.value()),
            sigma=self.gabor_sigma.value(),
            phase=self.gabor_phase.currentData(),
        )
        peak = float(np.max(np.abs(g)))
        return g / peak if peak > 0 else g

    def _on_gabor_changed(self, *_args: object) -> None:
        self._mark_bank_dirty()
        if self.preset_combo.currentText() == "Gabor":
            self._on_preset("Gabor")

    def _on_grid_kernel(self, kernel: np.ndarray) -> None:
        if self.preset_combo.currentText() != CUSTOM:
            self.preset_combo.blockSignals(True)
            self.preset_combo.setCurrentText(CUSTOM)
            self.preset_combo.blockSignals(False)
            self._show_preset_controls(CUSTOM)
        self._kernel2d = np.asarray(kernel, np.float32)
        self._schedule()

    def _on_grid_invalid(self, message: str) -> None:
        self._show_message(message + " (the last good kernel is in use)")

    def _on_padding_mode(self, _index: int) -> None:
        self.custom_pad_box.setVisible(self.padding_combo.currentData() == "custom")
        self._schedule()

    def _on_channel(self, _index: int) -> None:
        self._draw_maps()
        if self._step_active:
            self._show_step()


if __name__ == "__main__":
    raise SystemExit(preview(PlaygroundPanel))
