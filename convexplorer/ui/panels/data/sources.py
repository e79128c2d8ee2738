"""Where data comes from: the list of sources, how each loads, and the "Source" box that chooses one.

Adding a source: give it a ``(key, label)`` in :data:`SOURCES`, build it in
:func:`load_source` (it runs in a worker, with ``progress`` and ``cancel``),
and, if it downloads, let :func:`load_button_text` and :func:`cancel_note` say so.
Image folders and annotated folders (mask PNGs, Pascal VOC, COCO JSON) are not in the
list: they are opened by path (:data:`ANNOTATION_KINDS`, :func:`load_annotations`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from convexplorer.core.datasets import (
    STANDARD_SETS,
    Dataset,
    ShapesDataset,
    ShapesDetectionDataset,
    ShapesSegmentationDataset,
    is_cached,
    load_coco,
    load_standard,
    load_voc,
    scan_mask_folder,
)
from convexplorer.core.datasets.folder import display_name
from convexplorer.ui.style import set_role

#: (key, label) of the sources in the chooser.
SOURCES: tuple[tuple[str, str], ...] = (
    ("shapes", "Shapes (built-in, offline)"),
    ("shapes_detection", "Shapes scenes: detection (boxes)"),
    ("shapes_segmentation", "Shapes scenes: segmentation (masks)"),
    ("mnist", "MNIST digits"),
    ("fashion_mnist", "Fashion-MNIST clothes"),
    ("cifar10", "CIFAR-10 photos"),
    ("catalog", "Catalog: TensorFlow Datasets…"),
)
#: The chooser's key of the tfds catalog (the Catalog box chooses the set).
CATALOG = "catalog"
#: The chooser's key of an opened image folder (its entry is added when one is opened).
FOLDER = "folder"
#: The chooser's key of an opened annotated folder or COCO file.
ANNOTATED = "annotated"
#: The built-in sources drawn procedurally (their count is the "Shapes" spin box).
SHAPE_SOURCES = ("shapes", "shapes_detection", "shapes_segmentation")
#: (kind, menu text, what the file dialog asks for) of the annotated data the "Open annotations" menu opens.
ANNOTATION_KINDS: tuple[tuple[str, str, str], ...] = (
    ("masks", "Mask folder (images/ + masks/ PNGs)…", "folder"),
    ("voc", "Pascal VOC folder (JPEGImages/ + Annotations/)…", "folder"),
    ("coco_boxes", "COCO JSON: boxes (detection)…", "json"),
    ("coco_masks", "COCO JSON: masks (segmentation)…", "json"),
)


def load_source(key: str, shapes_n: int = 2000, progress: Any = None, cancel: Any = None) -> Dataset:
    """Build or download a source (runs in a worker)."""
    if key == "shapes":
        return ShapesDataset(n=shapes_n, size=64, seed=0, progress=progress, cancel=cancel)
    if key == "shapes_detection":
        return ShapesDetectionDataset(n=shapes_n, size=64, seed=0, progress=progress, cancel=cancel)
    if key == "shapes_segmentation":
        return ShapesSegmentationDataset(n=shapes_n, size=64, seed=0, progress=progress, cancel=cancel)
    return load_standard(key, progress=progress, cancel=cancel)


def load_annotations(kind: str, path: str, image_size: tuple[int, int] = (128, 128), color_mode: str = "rgb",
                     progress: Any = None, cancel: Any = None) -> Dataset:
    """Read an annotated folder or COCO file (runs in a worker): ``kind`` is one of :data:`ANNOTATION_KINDS`."""
    opts = {"image_size": image_size, "color_mode": color_mode, "progress": progress, "cancel": cancel}
    if kind == "masks":
        return scan_mask_folder(path, **opts)
    if kind == "voc":
        return load_voc(path, **opts)
    if kind in ("coco_boxes", "coco_masks"):
        return load_coco(path, task="detection" if kind == "coco_boxes" else "segmentation", **opts)
    raise ValueError(f"unknown kind of annotations: {kind!r}")


def source_label(key: str) -> str:
    """The chooser's label of a source (its key when it has none)."""
    return dict(SOURCES).get(key, key)


def load_button_text(key: str) -> str:
    """"Load", "Download (N MB)" for a set not cached yet, or "Rescan" for a folder."""
    if key in STANDARD_SETS:
        spec = STANDARD_SETS[key]
        mb = spec.download_size / 1e6
        return "Load" if is_cached(key) else f"Download ({mb:.0f} MB)"
    if key == CATALOG:
        return "Open"
    return "Rescan" if key in (FOLDER, ANNOTATED) else "Load"


def cancel_note(key: str, label: str) -> str:
    """What the panel says when loading source ``key`` is cancelled."""
    if key in STANDARD_SETS:
        return "Cancelled. A partial download is kept and resumes next time."
    if key == CATALOG:
        return f"Cancelled: {label} was not prepared and nothing half-written was kept; the data set in use is unchanged."
    return f"Cancelled: {label} was not opened; the data set in use is unchanged."


class SourceBox(QGroupBox):
    """The "Source" box: choose a data set or folder, load it, follow and cancel the load."""

    #: Load the source with this key (the Load / Download button).
    load_requested = Signal(str)
    #: Open (or rescan) the image folder at this path.
    folder_requested = Signal(str)
    #: Open (or rescan) annotated data: its kind (see :data:`ANNOTATION_KINDS`) and path.
    annotations_requested = Signal(str, str)
    #: Export the data set in use as class folders into this folder.
    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Source", parent)
        self.folder_path = ""
        #: The annotated data last opened: (kind, path).
        self.annotations: tuple[str, str] = ("", "")
        form = QFormLayout(self)
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
        self.open_annotations_button = QPushButton("Open annotations…")
        self.open_annotations_button.setToolTip(
            "Images with boxes or masks: a folder of mask PNGs, a Pascal VOC folder or a COCO JSON file")
        self.annotations_menu = QMenu(self.open_annotations_button)
        for kind, text, _what in ANNOTATION_KINDS:
            action = self.annotations_menu.addAction(text)
            action.setData(kind)
            action.triggered.connect(lambda _c=False, k=kind: self._on_open_annotations(k))
        self.open_annotations_button.setMenu(self.annotations_menu)
        form.addRow(self.open_annotations_button)
        self.export_button = QPushButton("Export as class folders…")
        self.export_button.setToolTip("Write the data set in use (with its split) as train/validation/test folders "
                                      "of class folders: images you own and can open anywhere")
        self.export_button.clicked.connect(self._on_export)
        form.addRow(self.export_button)
        row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        # three lines kept free: a data set's summary (name, counts, boxes or masks, size) is never cut off
        self.message_label.setMinimumHeight(3 * self.message_label.fontMetrics().lineSpacing() + 4)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.message_label)
        self.set_busy(False)

        self.source_combo.currentIndexChanged.connect(self.refresh)
        self.load_button.clicked.connect(self._on_load)
        self.open_folder_button.clicked.connect(self._on_open_folder)
        self.refresh()

    def key(self) -> str:
        """The key of the chosen source."""
        return self.source_combo.currentData()

    def select(self, key: str) -> None:
        """Choose the source ``key`` (if it is listed)."""
        i = self.source_combo.findData(key)
        if i >= 0 and self.source_combo.currentIndex() != i:
            self.source_combo.setCurrentIndex(i)

    def show_folder(self, path: str | Path) -> None:
        """Add (or rename) the chooser's folder entry for ``path`` and choose it."""
        self.folder_path = str(path)
        self._show_entry(FOLDER, f"Folder: {display_name(Path(path).name)}", path)

    def show_annotations(self, kind: str, path: str | Path) -> None:
        """Add (or rename) the chooser's entry for annotated data at ``path`` and choose it."""
        self.annotations = (kind, str(path))
        words = {"masks": "Masks", "voc": "VOC", "coco_boxes": "COCO boxes", "coco_masks": "COCO masks"}.get(kind, kind)
        self._show_entry(ANNOTATED, f"{words}: {display_name(Path(path).name)}", path)

    def _show_entry(self, key: str, text: str, path: str | Path) -> None:
        """Add (or rename) the chooser's one entry for ``key``, naming ``path`` in its tooltip, and choose it."""
        i = self.source_combo.findData(key)
        self.source_combo.blockSignals(True)
        if i < 0:
            self.source_combo.addItem(text, key)
            i = self.source_combo.count() - 1
        self.source_combo.setItemText(i, text)
        self.source_combo.setItemData(i, str(path), Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setCurrentIndex(i)
        self.source_combo.blockSignals(False)
        self.refresh()

    def refresh(self, *_args: Any) -> None:
        """Fit the Load button and the shapes count to the chosen source."""
        key = self.key()
        self.shapes_n_spin.setEnabled(key in SHAPE_SOURCES)
        self.load_button.setText(load_button_text(key))
        self.load_button.setVisible(key != CATALOG)  # the Catalog box has its own Open button

    def set_busy(self, busy: bool) -> None:
        """Show the progress bar and Cancel while a load runs; Load waits meanwhile."""
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.load_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        if busy:
            self.progress_bar.setRange(0, 0)
            self.progress_bar.setFormat("working…")

    def show_progress(self, done: int, total: int, message: str) -> None:
        """Draw a load's progress (a busy bar when the total is unknown)."""
        if total > 0:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * done / total))
        else:
            self.progress_bar.setRange(0, 0)  # busy
        self.progress_bar.setFormat(message[:60] if message else "%p%")
        self.progress_bar.setToolTip(message)

    def set_message(self, text: str, error: bool = False) -> None:
        """Say what happened (in red for an error)."""
        self.message_label.setText(text)
        set_role(self.message_label, "error" if error else "")

    def _on_load(self) -> None:
        key = self.key()
        if key == FOLDER:
            self.folder_requested.emit(self.folder_path)
        elif key == ANNOTATED:
            self.annotations_requested.emit(*self.annotations)
        else:
            self.load_requested.emit(key)

    def _on_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open an image folder (one sub-folder per class)")
        if path:
            self.folder_requested.emit(path)

    def _on_export(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Export into a folder (an empty one, or a new sub-folder is made in it)")
        if path:
            self.export_requested.emit(path)

    def _on_open_annotations(self, kind: str) -> None:
        what = {k: w for k, _t, w in ANNOTATION_KINDS}[kind]
        title = {k: t for k, t, _w in ANNOTATION_KINDS}[kind].rstrip("…")
        if what == "json":
            path, _ = QFileDialog.getOpenFileName(self, f"Open {title}", "", "COCO annotations (*.json)")
        else:
            path = QFileDialog.getExistingDirectory(self, f"Open {title}")
        if path:
            self.annotations_requested.emit(kind, path)
