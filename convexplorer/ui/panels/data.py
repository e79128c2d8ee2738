"""Data panel: choose a data set, browse it, split it, and preview its augmentation.

Sources: the built-in Shapes set (offline, loaded at start), MNIST,
Fashion-MNIST and CIFAR-10 (downloaded once with progress and cancel, then
cached), or an image folder (one sub-folder per class, or
train/validation/test folders of class folders; opened or dropped). The
thumbnail grid loads lazily; a click shows the full image with its label and
size, a double-click sends it to Inspect. Image size, colour mode, split
fractions and seed, and the augmentation apply to the data set handed to the
other panels (``state.set_dataset``); the augmentation preview uses the very
Keras layers training uses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.datasets import (
    STANDARD_SETS,
    AugmentationSpec,
    Dataset,
    FolderDataset,
    ShapesDataset,
    augment_preview,
    is_cached,
    load_standard,
    scan_folder,
)
from convexplorer.core.datasets.folder import display_name
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.images import to_uint8
from convexplorer.ui.panels.base import Panel, control_column, preview
from convexplorer.ui.widgets.thumbnail_grid import ThumbnailGrid, array_to_qimage, load_thumbnails
from convexplorer.ui.workers import Worker, run_in_thread

#: (key, label) of the sources in the chooser.
SOURCES: tuple[tuple[str, str], ...] = (
    ("shapes", "Shapes (built-in, offline)"),
    ("mnist", "MNIST digits"),
    ("fashion_mnist", "Fashion-MNIST clothes"),
    ("cifar10", "CIFAR-10 photos"),
)
SUBSET_COLOURS = {"train": "#4c72b0", "validation": "#dd8452", "test": "#55a868"}
PREVIEW_VARIANTS = 9
PREVIEW_SIDE = 96


def _load_source(key: str, shapes_n: int = 2000, progress=None, cancel=None) -> Dataset:
    """Build or download a source (runs in a worker)."""
    if key == "shapes":
        return ShapesDataset(n=shapes_n, size=64, seed=0, progress=progress, cancel=cancel)
    return load_standard(key, progress=progress, cancel=cancel)


def _sample_view(dataset: Dataset, i: int) -> tuple[int, np.ndarray, str]:
    """Native image and description of one sample (runs in a worker: folders read files)."""
    return i, dataset.native_image(i), dataset.describe(i)


def _tile(images: np.ndarray, cols: int, pad: int = 4) -> np.ndarray:
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


class DataPanel(Panel):
    """Load, browse, split and augment the data set the other panels use."""

    title = "Data"
    key = "data"
    needs_tensorflow = False

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.source: Dataset | None = None
        self.dataset: Dataset | None = None
        self.augmentation = AugmentationSpec()
        self._source_label = ""
        self._load_worker: Worker | None = None
        self._cancel_note = "Cancelled."
        self._preview_worker: Worker | None = None
        self._preview_again = False
        self._view_token = 0
        self._current = 0
        self._thumb_failures: dict[int, str] = {}
        self._folder_path = ""
        self._build_ui()
        self._options_timer = QTimer(self, singleShot=True, interval=250)
        self._options_timer.timeout.connect(self._apply_options)
        self._preview_timer = QTimer(self, singleShot=True, interval=120)
        self._preview_timer.timeout.connect(self._request_preview)
        state.tensorflow_ready.connect(self._on_tf_ready)
        self._set_tf_state(state.tf_ready)
        QTimer.singleShot(0, self._load_default)

    # --- UI -------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        outer = QHBoxLayout(self.body)
        outer.setContentsMargins(6, 6, 6, 6)

        # Left: source, preparation, augmentation.
        controls = QWidget()
        col = QVBoxLayout(controls)
        col.setContentsMargins(0, 0, 0, 0)

        src = QGroupBox("Source")
        form = QFormLayout(src)
        self.source_combo = QComboBox()
        for key, label in SOURCES:
            self.source_combo.addItem(label, key)
        self.source_combo.setToolTip("Shapes needs no network; the others download once and are cached.")
        form.addRow("Data set", self.source_combo)
        self.shapes_n_spin = QSpinBox(minimum=100, maximum=50_000, singleStep=500, value=2000)
        self.shapes_n_spin.setToolTip("How many shapes to draw (reproducible: seed 0)")
        form.addRow("Shapes", self.shapes_n_spin)
        row = QHBoxLayout()
        self.load_button = QPushButton("Load")
        self.open_folder_button = QPushButton("Open folder…")
        self.open_folder_button.setToolTip("A folder with one sub-folder per class, or train/validation/test folders")
        row.addWidget(self.load_button)
        row.addWidget(self.open_folder_button)
        form.addRow(row)
        row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.message_label)
        col.addWidget(src)

        prep = QGroupBox("Preparation")
        form = QFormLayout(prep)
        self.native_size_check = QCheckBox("Keep the stored size")
        self.native_size_check.setChecked(True)
        form.addRow("Image size", self.native_size_check)
        row = QHBoxLayout()
        self.height_spin = QSpinBox(minimum=8, maximum=1024, value=150, suffix=" px")
        self.width_spin = QSpinBox(minimum=8, maximum=1024, value=150, suffix=" px")
        row.addWidget(self.height_spin)
        row.addWidget(QLabel("×"))
        row.addWidget(self.width_spin)
        form.addRow("Height × width", row)
        self.color_combo = QComboBox()
        self.color_combo.addItem("As stored", None)
        self.color_combo.addItem("Colour (RGB)", "rgb")
        self.color_combo.addItem("Grayscale", "grayscale")
        form.addRow("Colour", self.color_combo)
        self.val_spin = QSpinBox(minimum=0, maximum=90, value=20, suffix=" %")
        self.test_spin = QSpinBox(minimum=0, maximum=90, value=10, suffix=" %")
        self.seed_spin = QSpinBox(minimum=0, maximum=999_999, value=0)
        form.addRow("Validation", self.val_spin)
        form.addRow("Test", self.test_spin)
        form.addRow("Split seed", self.seed_spin)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        form.addRow(self.split_label)
        col.addWidget(prep)

        aug = QGroupBox("Augmentation (training only)")
        form = QFormLayout(aug)
        self.rotation_spin = QDoubleSpinBox(minimum=0, maximum=180, singleStep=5, decimals=0, suffix=" °")
        self.width_shift_spin = QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)
        self.height_shift_spin = QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)
        self.shear_spin = QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)
        self.zoom_spin = QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)
        self.brightness_spin = QDoubleSpinBox(minimum=0, maximum=0.9, singleStep=0.05, decimals=2)
        form.addRow("Rotation ±", self.rotation_spin)
        form.addRow("Width shift", self.width_shift_spin)
        form.addRow("Height shift", self.height_shift_spin)
        form.addRow("Shear", self.shear_spin)
        form.addRow("Zoom ±", self.zoom_spin)
        form.addRow("Brightness ±", self.brightness_spin)
        row = QHBoxLayout()
        self.hflip_check = QCheckBox("Horizontal flip")
        self.vflip_check = QCheckBox("Vertical flip")
        row.addWidget(self.hflip_check)
        row.addWidget(self.vflip_check)
        form.addRow(row)
        self.fill_combo = QComboBox()
        for mode in ("nearest", "reflect", "constant", "wrap"):
            self.fill_combo.addItem(mode, mode)
        form.addRow("Fill mode", self.fill_combo)
        row = QHBoxLayout()
        self.textbook_button = QPushButton("Textbook defaults")
        self.textbook_button.setToolTip("rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest")
        self.no_aug_button = QPushButton("None")
        row.addWidget(self.textbook_button)
        row.addWidget(self.no_aug_button)
        form.addRow(row)
        col.addWidget(aug)
        col.addStretch(1)

        outer.addWidget(control_column(controls, 310, 360))

        # Middle: filter bar, thumbnails, skipped list, class counts.
        middle = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tcol = QVBoxLayout(top)
        tcol.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.class_combo = QComboBox()
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.subset_combo = QComboBox()
        for label, key in (("All subsets", "all"), ("Train", "train"), ("Validation", "validation"), ("Test", "test")):
            self.subset_combo.addItem(label, key)
        self.count_label = QLabel("")
        self.skipped_button = QPushButton("")
        self.skipped_button.setCheckable(True)
        self.skipped_button.setFlat(True)
        self.skipped_button.setStyleSheet("color:#8a4b00;text-decoration:underline;")
        self.skipped_button.hide()
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.class_combo)
        bar.addWidget(self.subset_combo)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.skipped_button)
        tcol.addLayout(bar)
        self.grid = ThumbnailGrid(64)
        self.grid.thumb_model.tracker = self.track
        tcol.addWidget(self.grid, 1)
        self.skipped_list = QListWidget()
        self.skipped_list.setMaximumHeight(140)
        self.skipped_list.hide()
        tcol.addWidget(self.skipped_list)
        middle.addWidget(top)
        self.counts_plot = pg.PlotWidget(background="w")
        self.counts_plot.setTitle("Images per class", color="#333", size="10pt")
        self.counts_plot.setMouseEnabled(x=False, y=False)
        self.counts_plot.hideButtons()
        self.counts_plot.setLabel("left", "images")
        self.counts_plot.addLegend(offset=(-10, 10), labelTextColor="#333")
        self.count_bars: dict[str, pg.BarGraphItem] = {}
        for subset, colour in SUBSET_COLOURS.items():
            item = pg.BarGraphItem(x=[], height=[], width=0.7, brush=colour, pen=pg.mkPen(colour), name=subset)
            self.counts_plot.addItem(item)
            self.count_bars[subset] = item
        self.counts_plot.setMinimumHeight(170)
        middle.addWidget(self.counts_plot)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 1)
        middle.setSizes([560, 220])
        outer.addWidget(middle, 1)

        # Right: the chosen sample and the augmentation preview.
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        sample = QGroupBox("Sample")
        scol = QVBoxLayout(sample)
        self.image_label = QLabel("Click a thumbnail")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(260, 220)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image_label.setStyleSheet("background:#f4f4f4;")
        scol.addWidget(self.image_label, 1)
        self.image_info = QLabel("")
        self.image_info.setWordWrap(True)
        self.image_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scol.addWidget(self.image_info)
        self.send_button = QPushButton("Send to Inspect")
        self.send_button.setToolTip("Or double-click a thumbnail")
        scol.addWidget(self.send_button)
        rcol.addWidget(sample, 1)
        augbox = QGroupBox("Augmentation preview")
        acol = QVBoxLayout(augbox)
        self.aug_banner = QLabel("Loading TensorFlow… the preview appears when it is ready.")
        self.aug_banner.setObjectName("loadingBanner")
        self.aug_banner.setWordWrap(True)
        self.aug_banner.setStyleSheet("background:#fff4ce;color:#5c4400;padding:4px;")
        acol.addWidget(self.aug_banner)
        self.aug_preview = QLabel("")
        self.aug_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.aug_preview.setMinimumSize(3 * PREVIEW_SIDE + 8, 3 * PREVIEW_SIDE + 8)
        acol.addWidget(self.aug_preview)
        self.aug_caption = QLabel("")
        self.aug_caption.setWordWrap(True)
        acol.addWidget(self.aug_caption)
        rcol.addWidget(augbox)
        right.setMinimumWidth(320)
        right.setMaximumWidth(420)
        outer.addWidget(right)

        self._set_busy(False)

        # Wiring.
        self.source_combo.currentIndexChanged.connect(self._on_source_choice)
        self.load_button.clicked.connect(self._on_load)
        self.open_folder_button.clicked.connect(self._on_open_folder)
        self.cancel_button.clicked.connect(self._on_cancel)
        for w in (self.native_size_check,):
            w.toggled.connect(self._on_options_changed)
        for w in (self.height_spin, self.width_spin, self.val_spin, self.test_spin, self.seed_spin):
            w.valueChanged.connect(self._on_options_changed)
        self.color_combo.currentIndexChanged.connect(self._on_options_changed)
        for w in (self.rotation_spin, self.width_shift_spin, self.height_shift_spin, self.shear_spin,
                  self.zoom_spin, self.brightness_spin):
            w.valueChanged.connect(self._on_augmentation_changed)
        for w in (self.hflip_check, self.vflip_check):
            w.toggled.connect(self._on_augmentation_changed)
        self.fill_combo.currentIndexChanged.connect(self._on_augmentation_changed)
        self.textbook_button.clicked.connect(lambda: self.set_augmentation(AugmentationSpec.textbook()))
        self.no_aug_button.clicked.connect(lambda: self.set_augmentation(AugmentationSpec()))
        self.class_combo.currentIndexChanged.connect(self._update_filter)
        self.subset_combo.currentIndexChanged.connect(self._update_filter)
        self.skipped_button.toggled.connect(self.skipped_list.setVisible)
        self.grid.sample_clicked.connect(self.show_sample)
        self.grid.sample_activated.connect(self.send_to_inspect)
        self.grid.thumb_model.thumbnail_failed.connect(self._on_thumbnail_failed)
        self.send_button.clicked.connect(lambda: self.send_to_inspect(self._current))
        self._on_source_choice()
        self._sync_size_enabled()

    # --- loading ----------------------------------------------------------------------------
    def _load_default(self) -> None:
        if self.source is None and self._load_worker is None:
            self.load_source("shapes")

    def _on_source_choice(self) -> None:
        key = self.source_combo.currentData()
        self.shapes_n_spin.setEnabled(key == "shapes")
        if key in STANDARD_SETS:
            spec = STANDARD_SETS[key]
            cached = is_cached(key)
            mb = spec.download_size / 1e6
            self.load_button.setText("Load" if cached else f"Download ({mb:.0f} MB)")
        else:
            self.load_button.setText("Rescan" if key == "folder" else "Load")

    def _on_load(self) -> None:
        key = self.source_combo.currentData()
        if key == "folder":
            self.load_folder(self._folder_path)
        else:
            self.load_source(key)

    def load_source(self, key: str) -> Worker:
        """Load the built-in shapes or a standard set (downloading it if needed) in a worker."""
        i = self.source_combo.findData(key)
        if i >= 0 and self.source_combo.currentIndex() != i:
            self.source_combo.setCurrentIndex(i)
        title = dict(SOURCES).get(key, key)
        return self._start_load(_load_source, key, self.shapes_n_spin.value(), label=title)

    def _on_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open an image folder (one sub-folder per class)")
        if path:
            self.load_folder(path)

    def open_path(self, path: Path) -> bool:
        """Folders are opened as image data sets."""
        if Path(path).is_dir():
            self.load_folder(path)
            return True
        return False

    def load_folder(self, path: str | Path) -> Worker:
        """Scan a folder in a worker, show it, then check every file in the background."""
        self._folder_path = str(path)
        i = self.source_combo.findData("folder")
        text = f"Folder: {display_name(Path(path).name)}"
        self.source_combo.blockSignals(True)
        if i < 0:
            self.source_combo.addItem(text, "folder")
            i = self.source_combo.count() - 1
        self.source_combo.setItemText(i, text)
        self.source_combo.setItemData(i, str(path), Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setCurrentIndex(i)
        self.source_combo.blockSignals(False)
        self._on_source_choice()
        size = (self.height_spin.value(), self.width_spin.value())
        return self._start_load(scan_folder, str(path), size, self.color_combo.currentData() or "rgb",
                                label=display_name(Path(path).name))

    def _start_load(self, fn, *args, label: str) -> Worker:
        if self._load_worker is not None:
            self._load_worker.cancel()
        self._set_message(f"Loading {label}…")
        self._set_busy(True)
        worker = self.track(run_in_thread(fn, *args))
        self._load_worker = worker
        if fn is _load_source and args and args[0] in STANDARD_SETS:
            self._cancel_note = "Cancelled. A partial download is kept and resumes next time."
        else:
            self._cancel_note = f"Cancelled: {label} was not opened; the data set in use is unchanged."
        worker.progress.connect(self._on_progress)
        worker.result.connect(lambda ds, w=worker: self._on_loaded(w, ds))
        worker.error.connect(lambda msg, det, w=worker: self._on_load_error(w, msg, det))
        worker.cancelled.connect(lambda w=worker: self._on_load_cancelled(w))
        worker.finished.connect(lambda w=worker: self._on_load_finished(w))
        return worker

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
        else:
            self.progress_bar.setRange(0, 0)  # busy
        self.progress_bar.setFormat(message[:60] if message else "%p%")
        self.progress_bar.setToolTip(message)

    def _on_loaded(self, worker: Worker, ds: Dataset) -> None:
        if worker is not self._load_worker:
            return
        self.set_source(ds)
        if isinstance(ds, FolderDataset) and not ds.verified:
            self._start_verify(ds)

    def _start_verify(self, ds: FolderDataset) -> None:
        worker = self.track(run_in_thread(ds.verify))
        self._load_worker = worker
        self._cancel_note = "Check of the files cancelled: the folder is shown as listed, its files unchecked."
        self._set_busy(True)
        worker.progress.connect(self._on_progress)
        worker.result.connect(lambda checked, w=worker: self._on_verified(w, checked))
        worker.error.connect(lambda msg, det, w=worker: self._on_load_error(w, msg, det))
        worker.cancelled.connect(lambda w=worker: self._on_load_cancelled(w))
        worker.finished.connect(lambda w=worker: self._on_load_finished(w))

    def _on_verified(self, worker: Worker, checked: FolderDataset) -> None:
        if worker is not self._load_worker:
            return
        if len(checked) == len(self.source or ()):
            # Nothing removed: keep the grid (scroll position, loaded thumbnails) as it is.
            self.source = checked
            self._update_skipped()
            self._apply_options()
        else:
            self.set_source(checked)

    def _on_load_error(self, worker: Worker, message: str, details: str) -> None:
        if worker is self._load_worker:
            self._set_message(message, error=True)

    def _on_load_cancelled(self, worker: Worker) -> None:
        if worker is self._load_worker:
            self._set_message(self._cancel_note)

    def _on_load_finished(self, worker: Worker) -> None:
        if worker is self._load_worker:
            self._load_worker = None
            self._set_busy(False)
            self._on_source_choice()

    def _on_cancel(self) -> None:
        if self._load_worker is not None:
            self._load_worker.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.load_button.setEnabled(not busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat("working…")

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color:#b00020;" if error else "color:#333;")

    # --- the data set ----------------------------------------------------------------------
    def set_source(self, ds: Dataset) -> None:
        """Show a loaded data set and hand the configured version to the other panels."""
        self.source = ds
        self._thumb_failures.clear()
        is_folder = isinstance(ds, FolderDataset)
        if is_folder:
            self.native_size_check.setChecked(False)
            h, w = ds.native_shape[:2]
            for spin, v in ((self.height_spin, h), (self.width_spin, w)):
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
        self.native_size_check.setEnabled(not is_folder)
        self._sync_size_enabled()
        self.grid.set_dataset(ds)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(f"All classes ({len(ds)})", -1)
        for k, (name, n) in enumerate(zip(ds.class_names, ds.class_counts())):
            self.class_combo.addItem(f"{name} ({n})", k)
        self.class_combo.blockSignals(False)
        h, w, c = ds.native_shape
        kind = f"{ds.layout}, images resized" if is_folder else f"{w}x{h} {'RGB' if c == 3 else 'grayscale'}"
        self._set_message(f"{ds.name}: {len(ds)} images in {len(ds.class_names)} classes ({kind}).")
        self._update_skipped()
        self._apply_options()
        self._current = 0
        self.show_sample(0)

    def _sync_size_enabled(self) -> None:
        custom = not self.native_size_check.isChecked()
        self.height_spin.setEnabled(custom)
        self.width_spin.setEnabled(custom)

    def _on_options_changed(self, *_args: Any) -> None:
        self._sync_size_enabled()
        self._options_timer.start()

    def options_dataset(self) -> Dataset | None:
        """The source configured with the panel's size, colour, split and augmentation (may raise)."""
        src = self.source
        if src is None:
            return None
        size = None if self.native_size_check.isChecked() else (self.height_spin.value(), self.width_spin.value())
        ds = src.with_options(image_size=size, color_mode=self.color_combo.currentData())
        ds = ds.with_split(self.val_spin.value() / 100, self.test_spin.value() / 100, self.seed_spin.value())
        return ds.with_augmentation(self.augmentation)

    def _apply_options(self) -> None:
        self._options_timer.stop()
        try:
            ds = self.options_dataset()
        except ConvExplorerError as exc:
            self.split_label.setText(str(exc))
            self.split_label.setStyleSheet("color:#b00020;")
            return
        if ds is None:
            return
        self.dataset = ds
        counts = {s: len(ds.subset_indices(s)) for s in SUBSET_COLOURS}
        h, w, c = ds.image_shape
        fixed = [s for s in ("validation", "test") if ds.has_fixed(s)]
        note = f" ({' and '.join(fixed)} from the source)" if fixed else ""
        self.split_label.setStyleSheet("color:#333;")
        self.split_label.setText(
            f"train {counts['train']} · validation {counts['validation']} · test {counts['test']}{note}\n"
            f"models get {h}x{w}x{c} float images in [0, 1]"
        )
        self._update_chart()
        self._update_filter()
        self.state.set_dataset(ds)
        self.state.status.emit(f"Data: {ds.name}, {len(ds)} images, {h}x{w}x{c}")
        self._preview_timer.start()

    def _update_chart(self) -> None:
        ds = self.dataset
        if ds is None:
            return
        k = len(ds.class_names)
        labels = ds.labels()
        bottom = np.zeros(k)
        x = np.arange(k, dtype=np.float64)
        for subset, item in self.count_bars.items():
            h = np.bincount(labels[ds.subset_indices(subset)], minlength=k).astype(np.float64)
            item.setOpts(x=x, height=h, y0=bottom.copy(), width=0.7)
            bottom += h
        axis = self.counts_plot.getAxis("bottom")
        step = max(1, k // 12)
        axis.setTicks([[(i, ds.class_names[i][:14]) for i in range(0, k, step)]])
        self.counts_plot.setXRange(-0.6, k - 0.4, padding=0)
        self.counts_plot.setYRange(0, max(1.0, float(bottom.max())) * 1.45, padding=0)  # room for the legend

    def _update_filter(self, *_args: Any) -> None:
        src, ds = self.source, self.dataset
        if src is None:
            return
        cls = self.class_combo.currentData()
        subset = self.subset_combo.currentData()
        idx = np.arange(len(src), dtype=np.int64)
        if subset not in (None, "all") and ds is not None:
            idx = ds.subset_indices(subset)
        if cls is not None and cls >= 0:
            idx = idx[src.labels()[idx] == cls]
        self.grid.set_indices(idx)
        self.count_label.setText(f"{len(idx)} shown")

    def _update_skipped(self) -> None:
        self.skipped_list.clear()
        entries: list[str] = []
        src = self.source
        if isinstance(src, FolderDataset):
            entries += [f"{display_name(os.path.relpath(s.path, src.root))}: {s.reason}" for s in src.skipped]
            notes = list(src.notes)
        else:
            notes = []
        known = {s.path for s in getattr(src, "skipped", [])}
        for i, reason in self._thumb_failures.items():
            if isinstance(src, FolderDataset) and src.paths[i] in known:
                continue
            entries.append(reason)
        self.skipped_list.addItems(entries + notes)
        n = len(entries)
        if n or notes:
            text = f"{n} file{'s' if n != 1 else ''} skipped" if n else ""
            if notes:
                text += (" · " if text else "") + f"{len(notes)} note{'s' if len(notes) != 1 else ''}"
            self.skipped_button.setText(text + " (show)")
            self.skipped_button.show()
        else:
            self.skipped_button.hide()
            self.skipped_button.setChecked(False)

    def _on_thumbnail_failed(self, i: int, reason: str) -> None:
        self._thumb_failures[i] = reason
        self._update_skipped()

    # --- one sample ------------------------------------------------------------------------
    def show_sample(self, i: int) -> None:
        """Show sample ``i`` full size with its label and size (and preview its augmentation)."""
        src = self.source
        if src is None or not 0 <= i < len(src):
            return
        self._current = int(i)
        self._view_token += 1
        token = self._view_token
        worker = self.track(run_in_thread(_sample_view, src, int(i)))
        worker.result.connect(lambda res, t=token: self._on_sample(t, res))
        worker.error.connect(lambda msg, det, t=token: self._on_sample_error(t, msg))
        self._preview_timer.start()

    def _on_sample(self, token: int, res: tuple[int, np.ndarray, str]) -> None:
        if token != self._view_token or self.source is None:
            return
        i, img, desc = res
        name = self.source.class_names[self.source.label(i)]
        # The source is unconfigured, so its boxes are in the stored image's pixels, as shown.
        box = self.source.boxes(i) if isinstance(self.source, ShapesDataset) else None
        self._show_pixmap(self.image_label, img, box)
        subset = next((s for s in SUBSET_COLOURS if self.dataset is not None and i in set(self.dataset.subset_indices(s).tolist())), "")
        extra = " · dashed: the stored bounding box" if box is not None else ""
        self.image_info.setText(f"<b>{name}</b> · {desc}" + (f" · {subset}" if subset else "") + extra)

    def _on_sample_error(self, token: int, message: str) -> None:
        if token == self._view_token:
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("cannot show this image")
            self.image_info.setText(message)

    def _show_pixmap(self, label: QLabel, img: np.ndarray, box: np.ndarray | None = None) -> None:
        pix = QPixmap.fromImage(array_to_qimage(to_uint8(img)))
        room = label.contentsRect().size()
        side = min(room.width(), room.height()) - 4
        if side > 8:
            smooth = max(img.shape[:2]) > side  # small images (MNIST) are enlarged with crisp pixels
            mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
            pix = pix.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)
        if box is not None:
            scale = pix.width() / img.shape[1]
            painter = QPainter(pix)
            painter.setPen(QPen(QColor("#ff2d55"), 2, Qt.PenStyle.DashLine))
            x0, y0, x1, y1 = (float(v) * scale for v in box)
            painter.drawRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            painter.end()
        label.setText("")
        label.setPixmap(pix)

    def send_to_inspect(self, i: int) -> None:
        """Send sample ``i`` (as models see it) to the Inspect panel."""
        ds = self.dataset or self.source
        if ds is None or not 0 <= i < len(ds):
            return
        try:
            image = ds.image(i)
        except ConvExplorerError as exc:
            self._set_message(str(exc), error=True)
            return
        label = f"{ds.class_names[ds.label(i)]} #{i} ({ds.name})"
        self.state.image_array_opened.emit(image, label)
        self.state.status.emit(f"Sent {label} to Inspect")

    # --- augmentation ---------------------------------------------------------------------
    def current_augmentation(self) -> AugmentationSpec:
        """The augmentation set in the controls."""
        return AugmentationSpec(
            rotation=self.rotation_spin.value(),
            width_shift=self.width_shift_spin.value(),
            height_shift=self.height_shift_spin.value(),
            shear=self.shear_spin.value(),
            zoom=self.zoom_spin.value(),
            horizontal_flip=self.hflip_check.isChecked(),
            vertical_flip=self.vflip_check.isChecked(),
            brightness=self.brightness_spin.value(),
            fill_mode=self.fill_combo.currentData(),
        )

    def set_augmentation(self, spec: AugmentationSpec) -> None:
        """Put ``spec`` into the controls (and apply it)."""
        widgets = (self.rotation_spin, self.width_shift_spin, self.height_shift_spin, self.shear_spin,
                   self.zoom_spin, self.brightness_spin, self.hflip_check, self.vflip_check, self.fill_combo)
        for w in widgets:
            w.blockSignals(True)
        self.rotation_spin.setValue(spec.rotation)
        self.width_shift_spin.setValue(spec.width_shift)
        self.height_shift_spin.setValue(spec.height_shift)
        self.shear_spin.setValue(spec.shear)
        self.zoom_spin.setValue(spec.zoom)
        self.brightness_spin.setValue(spec.brightness)
        self.hflip_check.setChecked(spec.horizontal_flip)
        self.vflip_check.setChecked(spec.vertical_flip)
        self.fill_combo.setCurrentIndex(max(0, self.fill_combo.findData(spec.fill_mode)))
        for w in widgets:
            w.blockSignals(False)
        self._on_augmentation_changed()

    def _on_augmentation_changed(self, *_args: Any) -> None:
        self.augmentation = self.current_augmentation()
        self.aug_caption.setText(self.augmentation.describe())
        self._options_timer.start()
        self._preview_timer.start()

    def _set_tf_state(self, ready: bool) -> None:
        self.aug_banner.setVisible(not ready)
        self.aug_preview.setEnabled(ready)

    def _on_tf_ready(self) -> None:
        self._set_tf_state(True)
        self._preview_timer.start()

    def _preview_input(self) -> np.ndarray | None:
        ds = self.dataset
        if ds is None or not 0 <= self._current < len(ds):
            return None
        img = ds.image(self._current)
        h, w = img.shape[:2]
        if max(h, w) > 160:  # the preview tiles are small; keep the worker quick
            from convexplorer.core.images import resize

            s = 160 / max(h, w)
            img = resize(img, (max(1, round(h * s)), max(1, round(w * s))))
        return img

    def _request_preview(self) -> None:
        if not self.state.tf_ready or self.dataset is None:
            return
        if self._preview_worker is not None:
            self._preview_again = True
            return
        try:
            img = self._preview_input()
        except ConvExplorerError as exc:
            self.aug_caption.setText(str(exc))
            return
        if img is None:
            return
        key = (self._current, self.augmentation, id(self.dataset))
        worker = self.track(run_in_thread(augment_preview, img, self.augmentation, PREVIEW_VARIANTS, self._current))
        self._preview_worker = worker
        worker.result.connect(lambda v, k=key: self._show_preview(v) if k == self._preview_key() else None)
        worker.error.connect(lambda msg, det: self.aug_caption.setText(msg))
        worker.finished.connect(self._on_preview_finished)

    def _preview_key(self) -> tuple:
        """What a preview shows: a result made for another sample or setting is stale."""
        return (self._current, self.augmentation, id(self.dataset))

    def _on_preview_finished(self) -> None:
        self._preview_worker = None
        if self._preview_again:
            self._preview_again = False
            self._request_preview()

    def _show_preview(self, variants: np.ndarray) -> None:
        mosaic = _tile(variants, 3)
        pix = QPixmap.fromImage(array_to_qimage(mosaic))
        side = 3 * PREVIEW_SIDE + 8
        mode = Qt.TransformationMode.SmoothTransformation if mosaic.shape[0] > side else Qt.TransformationMode.FastTransformation
        self.aug_preview.setPixmap(pix.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode))
        self.aug_caption.setText(
            "top-left: the original; the others: what training sees — " + self.augmentation.describe()
        )

    # --- screenshots and shutdown ------------------------------------------------------------
    def prepare_screenshot(self) -> None:
        """Shapes loaded, thumbnails drawn, the first sample shown, textbook augmentation previewed."""
        if self._load_worker is not None:
            self._load_worker.cancel()
            self._load_worker.wait(10)
            self._load_worker = None
            self._set_busy(False)
        if not isinstance(self.source, ShapesDataset):
            self.set_source(ShapesDataset(n=self.shapes_n_spin.value(), size=64, seed=0))
        self._apply_options()
        model = self.grid.thumb_model
        rows = list(range(min(model.rowCount(), 160)))
        model._on_loaded(model._generation, load_thumbnails(self.source, [int(model.indices()[r]) for r in rows], model.size))
        self.grid.select_sample(3)
        _i, img, desc = _sample_view(self.source, 3)
        self._view_token += 1
        self._on_sample(self._view_token, (3, img, desc))
        self.set_augmentation(AugmentationSpec.textbook())
        self._apply_options()
        if self.state.tf_ready:
            self._preview_timer.stop()
            if self._preview_worker is not None:
                self._preview_worker.wait(30)
            self._preview_again = False
            img = self._preview_input()
            if img is not None:
                self._show_preview(augment_preview(img, self.augmentation, PREVIEW_VARIANTS, seed=1))

    def shutdown(self) -> None:
        """Stop loaders, previews and the thumbnail worker."""
        self._options_timer.stop()
        self._preview_timer.stop()
        self.grid.shutdown()
        super().shutdown()


class _StandaloneDataPanel(DataPanel):
    """The panel run alone: it starts the TensorFlow import itself (the main window does otherwise)."""

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        from convexplorer.ui.tfloader import load_tensorflow_async

        worker = load_tensorflow_async(state)
        if worker is not None:
            self.track(worker)


if __name__ == "__main__":
    raise SystemExit(preview(_StandaloneDataPanel))
