"""Compare panel: two networks side by side, two confusion matrices, and the learning timeline.

- **Two models**: pick models A and B (the current model, any kept run's final
  model, best or per-epoch checkpoint, a ``.keras`` file, or a
  ``keras.applications`` network), and one image (opened, dropped, or picked in
  the Data panel). Each model's top-k, its Grad-CAM overlay and the feature
  maps of comparable layers (matched by relative depth) are shown next to
  each other.
- **Confusion matrices**: two runs' matrices side by side and their difference
  (green: better, red: worse). Click a cell to list its images; click an image
  to see its Grad-CAM for the predicted and for the true class.
- **Timeline**: replay a run's recorded timeline (:class:`TimelineView`).

All TensorFlow work runs in workers (``convexplorer.ui.workers``); this module
only draws results of :mod:`convexplorer.core.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.panels.base import Panel, preview
from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView
from convexplorer.ui.widgets.feature_grid import FeatureGrid
from convexplorer.ui.widgets.overlay_view import OverlayView
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap
from convexplorer.ui.widgets.timeline_view import TimelineView
from convexplorer.ui.workers import run_in_thread

#: keras.applications networks offered for comparison: (name, weights).
APPLICATION_CHOICES: tuple[tuple[str, Optional[str]], ...] = (
    ("MobileNetV2", None),
    ("MobileNetV2", "imagenet"),
    ("MobileNet", None),
    ("ResNet50", None),
    ("VGG16", None),
    ("EfficientNetB0", None),
)
#: Most test images evaluated per model for the confusion matrices.
MAX_EVAL_IMAGES = 1000
#: Most images listed for one confusion-matrix cell.
MAX_CELL_IMAGES = 60


# --------------------------------------------------------------------------- work done in workers
def load_pair(source_a: Any, source_b: Any, progress=None, cancel=None) -> tuple[Any, Any]:
    """Open both model sources (core.compare.load_source)."""
    from convexplorer.core.compare import load_source

    return load_source(source_a, progress, cancel), load_source(source_b, progress, cancel)


def _labels_for(model: Any, names: Optional[Sequence[str]]) -> Optional[list[str]]:
    try:
        n = int(model.output_shape[-1])
    except Exception:  # noqa: BLE001 - a model without a simple output shape: no labels
        return None
    return list(names) if names is not None and len(names) == n else None


def compare_models(loaded_a: Any, loaded_b: Any, image: np.ndarray, class_names: Optional[Sequence[str]] = None,
                   progress=None, cancel=None) -> Any:
    """Both loaded models on one image (core.compare.compare_on_image), labels from their own or the data set's names."""
    from convexplorer.core.compare import compare_on_image

    labels_a = loaded_a.class_names or _labels_for(loaded_a.model, class_names)
    labels_b = loaded_b.class_names or _labels_for(loaded_b.model, class_names)
    return compare_on_image(
        loaded_a.model, loaded_b.model, image, k=5, labels_a=labels_a, labels_b=labels_b,
        names=(loaded_a.label, loaded_b.label), preprocess_a=loaded_a.preprocess, preprocess_b=loaded_b.preprocess,
        progress=progress, cancel=cancel,
    )


def evaluation_images(dataset: Any, limit: int = MAX_EVAL_IMAGES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``limit`` test images of a data set (its test subset, else everything): images, labels, indices."""
    idx = dataset.subset_indices("test")
    if len(idx) == 0:
        idx = np.arange(len(dataset))
    idx = np.asarray(idx[:limit], np.int64)
    x = np.stack([dataset.image(int(i)) for i in idx]).astype(np.float32)
    y = np.asarray([dataset.label(int(i)) for i in idx], np.int64)
    return x, y, idx


def evaluate_pair(model_a: Any, model_b: Any, dataset: Any, progress=None, cancel=None) -> dict:
    """Evaluate two models on the data set's test images; their results and the confusion difference."""
    from convexplorer.core.compare import confusion_difference
    from convexplorer.core.evaluation import evaluate_model

    x, y, idx = evaluation_images(dataset)
    names = list(dataset.class_names)
    ra = evaluate_model(model_a, (x, y), names, idx, progress=progress, cancel=cancel)
    rb = evaluate_model(model_b, (x, y), names, idx, progress=progress, cancel=cancel)
    return {"a": ra, "b": rb, "diff": confusion_difference(ra.confusion, rb.confusion, names, names), "indices": idx}


def cams_for(model: Any, images: list[np.ndarray], true_class: int, pred_class: int, progress=None, cancel=None) -> list:
    """Grad-CAM of each image for the predicted and the true class (core.compare.cell_cams)."""
    from convexplorer.core.compare import cell_cams

    return cell_cams(model, images, true_class, pred_class, progress=progress, cancel=cancel)


# --------------------------------------------------------------------------- helpers
def _source_key(source: Any) -> tuple:
    """What identifies a model source (two entries for the same file share their loaded model)."""
    return (source.kind, source.path, source.name, source.weights, id(source.model) if source.model is not None else None)


class DiffMatrixView(ConfusionMatrixView):
    """The difference of two confusion matrices: ``+n`` / ``−n`` per cell, green where B is better, red where worse.

    Geometry, clicks and selection are the confusion matrix's; only the painting differs.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(False)  # the per-cell count tooltip of the base class does not apply to differences
        self.setToolTip("B − A per cell. Green: B is better there (more right on the diagonal, fewer mistakes off it); red: worse.")

    def set_difference(self, diff: np.ndarray | None, class_names: Sequence[str] = ()) -> None:
        """Show a K x K difference (B − A), or clear with None."""
        self.set_matrix(diff, class_names)

    def difference(self) -> np.ndarray:
        """The difference shown."""
        return self.matrix()

    @staticmethod
    def better(true: int, pred: int, delta: int) -> bool:
        """Whether a change is an improvement: more on the diagonal, fewer off it."""
        return delta > 0 if true == pred else delta < 0

    empty_text = "difference: evaluate two runs"

    def _paint_cells(self, p: QPainter, grid: QRectF, cell: float, font: QFont) -> None:
        """Cells coloured by the sign and size of the change, with the change written in."""
        k = self._cm.shape[0]
        peak = max(1, int(np.abs(self._cm).max()))
        p.setFont(font)
        for r in range(k):
            for c in range(k):
                d = int(self._cm[r, c])
                rect = QRectF(grid.left() + c * cell, grid.top() + r * cell, cell, cell)
                if d == 0:
                    colour = QColor("#f8f9fa")
                else:
                    f = 0.25 + 0.75 * abs(d) / peak
                    base = QColor(47, 158, 68) if self.better(r, c, d) else QColor(224, 49, 49)
                    colour = QColor(int(255 + (base.red() - 255) * f), int(255 + (base.green() - 255) * f),
                                    int(255 + (base.blue() - 255) * f))
                p.fillRect(rect, colour)
                p.setPen(QPen(QColor("#ddd"), 1))
                p.drawRect(rect)
                if cell >= 14:
                    p.setPen(QColor("#999") if d == 0 else QColor("#111"))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "0" if d == 0 else f"{d:+d}".replace("-", "−"))


class _ModelColumn(QWidget):
    """One side of the image comparison: name, Grad-CAM overlay, top-k bars."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from convexplorer.ui.widgets.topk_chart import TopKChart

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.cam_view = OverlayView(title)
        self.cam_view.setMinimumSize(200, 200)
        self.topk_chart = TopKChart()
        self.topk_chart.clear("Pick two models and an image, then press Compare.")
        lay.addWidget(self.cam_view, 1)
        lay.addWidget(self.topk_chart)


# --------------------------------------------------------------------------- the panel
class ComparePanel(Panel):
    """Two models side by side on one image; two runs' confusion matrices; the learning timeline."""

    title = "Compare"
    key = "compare"
    needs_tensorflow = True

    #: A view was brought up to date: "models", "comparison", "confusion", "cell", "cams", "timeline", "error".
    updated = Signal(str)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._sources: list[Any] = []  # core.compare.ModelSource per combo entry
        self._loaded: dict[tuple, Any] = {}  # _source_key -> LoadedModel
        self._image: Optional[np.ndarray] = None
        self._image_name = ""
        self._comparison: Any = None
        self._eval: Optional[dict] = None
        self._eval_models: tuple[Any, Any] = (None, None)
        self._eval_dataset: Any = None
        self._cell: Optional[tuple[str, int, int]] = None
        self._cell_indices = np.zeros(0, np.int64)
        self._worker: Any = None
        self._build_ui()
        state.model_changed.connect(lambda *_a: self.refresh_sources())
        state.image_opened.connect(self._on_image_opened)
        state.image_array_opened.connect(self._on_image_array)
        # (timeline, live) from training, once AppState has this signal (see the integration notes)
        timeline_signal = getattr(state, "timeline_changed", None)
        if timeline_signal is not None:
            timeline_signal.connect(lambda tl, live=False: self.show_timeline(tl, bool(live), "current training"))
        self.refresh_sources()
        self._set_ready(state.tf_ready)

    # --- layout --------------------------------------------------------------------
    def _build_ui(self) -> None:
        root = QVBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        self.tabs = QTabWidget()
        root.addWidget(self.tabs, 1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b00020;")
        self.message.setVisible(False)
        root.addWidget(self.message)

        # --- two models on one image
        models_tab = QWidget()
        mt = QVBoxLayout(models_tab)
        pick = QHBoxLayout()
        self.source_a_combo = QComboBox()
        self.source_b_combo = QComboBox()
        for combo, name in ((self.source_a_combo, "A"), (self.source_b_combo, "B")):
            combo.setMinimumWidth(260)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setToolTip(f"Model {name}: the current model, a kept run's model or checkpoint, a file, or a pretrained network")
        self.open_file_button = QPushButton("Add .keras file…")
        self.open_image_button = QPushButton("Open image…")
        self.sample_button = QPushButton("Data-set sample")
        self.sample_button.setToolTip("Use a random test image of the current data set")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        pick.addWidget(QLabel("A"))
        pick.addWidget(self.source_a_combo, 1)
        pick.addWidget(QLabel("B"))
        pick.addWidget(self.source_b_combo, 1)
        pick.addWidget(self.open_file_button)
        mt.addLayout(pick)
        row2 = QHBoxLayout()
        self.image_thumb = QLabel()
        self.image_thumb.setFixedSize(56, 56)
        self.image_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_thumb.setStyleSheet("border:1px solid #ccc;background:#fafafa;")
        self.image_label = QLabel("No image: drop one on the window, open one, or use a data-set sample.")
        self.image_label.setWordWrap(True)
        self.verdict_label = QLabel("")
        self.verdict_label.setStyleSheet("font-weight:bold;")
        row2.addWidget(self.image_thumb)
        row2.addWidget(self.image_label, 1)
        row2.addWidget(self.verdict_label)
        row2.addWidget(self.open_image_button)
        row2.addWidget(self.sample_button)
        row2.addWidget(self.compare_button)
        row2.addWidget(self.cancel_button)
        mt.addLayout(row2)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.column_a = _ModelColumn("A")
        self.column_b = _ModelColumn("B")
        maps_box = QWidget()
        mb = QVBoxLayout(maps_box)
        mb.setContentsMargins(0, 0, 0, 0)
        prow = QHBoxLayout()
        self.pair_combo = QComboBox()
        self.pair_combo.setToolTip("Layers of A and B at the same relative depth (first with first, last with last)")
        prow.addWidget(QLabel("Comparable layers"))
        prow.addWidget(self.pair_combo, 1)
        mb.addLayout(prow)
        grids = QHBoxLayout()
        self.maps_a_grid = FeatureGrid()
        self.maps_b_grid = FeatureGrid()
        grids.addWidget(self.maps_a_grid)
        grids.addWidget(self.maps_b_grid)
        mb.addLayout(grids, 1)
        split.addWidget(self.column_a)
        split.addWidget(maps_box)
        split.addWidget(self.column_b)
        split.setSizes([300, 620, 300])
        mt.addWidget(split, 1)
        self.tabs.addTab(models_tab, "Two models")

        # --- confusion matrices
        cm_tab = QWidget()
        ct = QVBoxLayout(cm_tab)
        crow = QHBoxLayout()
        self.run_a_combo = QComboBox()
        self.run_b_combo = QComboBox()
        for combo in (self.run_a_combo, self.run_b_combo):
            combo.setMinimumWidth(240)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.evaluate_button = QPushButton("Evaluate both on the data set")
        self.evaluate_button.setToolTip("Run both runs' models on the current data set's test images (needed to see the images in a cell)")
        crow.addWidget(QLabel("Run A"))
        crow.addWidget(self.run_a_combo, 1)
        crow.addWidget(QLabel("Run B"))
        crow.addWidget(self.run_b_combo, 1)
        crow.addWidget(self.evaluate_button)
        ct.addLayout(crow)
        self.confusion_summary = QLabel("Pick two runs: their stored confusion matrices are compared; evaluate them to see the images.")
        self.confusion_summary.setWordWrap(True)
        ct.addWidget(self.confusion_summary)
        mats = QGridLayout()
        self.confusion_a_view = ConfusionMatrixView()
        self.confusion_b_view = ConfusionMatrixView()
        self.difference_view = DiffMatrixView()
        self.confusion_a_title = QLabel("A")
        self.confusion_b_title = QLabel("B")
        diff_title = QLabel("B − A (green better, red worse)")
        for col, (title, view) in enumerate(((self.confusion_a_title, self.confusion_a_view),
                                             (self.confusion_b_title, self.confusion_b_view),
                                             (diff_title, self.difference_view))):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setStyleSheet("font-weight:bold;")
            mats.addWidget(title, 0, col)
            mats.addWidget(view, 1, col)
        ct.addLayout(mats, 3)
        cell_box = QGroupBox("Images in the cell")
        cb = QHBoxLayout(cell_box)
        self.cell_list = QListWidget()
        self.cell_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.cell_list.setIconSize(QSize(48, 48))
        self.cell_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.cell_list.setMovement(QListWidget.Movement.Static)
        self.cell_list.setMinimumHeight(120)
        self.cell_hint = QLabel("Click a cell of a matrix to list its images; click an image to see why.")
        self.cell_hint.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.cell_hint)
        left.addWidget(self.cell_list, 1)
        cb.addLayout(left, 2)
        self.cam_pred_view = OverlayView("Grad-CAM: predicted class")
        self.cam_true_view = OverlayView("Grad-CAM: true class")
        for v in (self.cam_pred_view, self.cam_true_view):
            v.setMinimumSize(170, 170)
            cb.addWidget(v, 1)
        ct.addWidget(cell_box, 2)
        self.tabs.addTab(cm_tab, "Confusion matrices")

        # --- timeline
        tl_tab = QWidget()
        tt = QVBoxLayout(tl_tab)
        trow = QHBoxLayout()
        self.timeline_run_combo = QComboBox()
        self.timeline_run_combo.setMinimumWidth(300)
        self.open_timeline_button = QPushButton("Open timeline…")
        self.open_timeline_button.setToolTip("Open a run folder's timeline.npz")
        trow.addWidget(QLabel("Run"))
        trow.addWidget(self.timeline_run_combo, 1)
        trow.addWidget(self.open_timeline_button)
        tt.addLayout(trow)
        self.timeline_view = TimelineView()
        tt.addWidget(self.timeline_view, 1)
        self.tabs.addTab(tl_tab, "Timeline")

        self.open_file_button.clicked.connect(self._on_add_file)
        self.open_image_button.clicked.connect(self._on_open_image)
        self.sample_button.clicked.connect(self.use_dataset_sample)
        self.compare_button.clicked.connect(self.compare)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.pair_combo.currentIndexChanged.connect(self._show_pair)
        self.run_a_combo.currentIndexChanged.connect(lambda _i: self._show_stored_confusions())
        self.run_b_combo.currentIndexChanged.connect(lambda _i: self._show_stored_confusions())
        self.evaluate_button.clicked.connect(self.evaluate_runs)
        self.confusion_a_view.cell_clicked.connect(lambda t, p: self.show_cell("a", t, p))
        self.confusion_b_view.cell_clicked.connect(lambda t, p: self.show_cell("b", t, p))
        self.difference_view.cell_clicked.connect(lambda t, p: self.show_cell("b", t, p))
        self.cell_list.currentRowChanged.connect(self._on_cell_image)
        self.timeline_run_combo.activated.connect(self._on_timeline_run)
        self.open_timeline_button.clicked.connect(self._on_open_timeline)

    def _set_ready(self, ready: bool) -> None:
        for w in (self.compare_button, self.evaluate_button, self.open_file_button):
            w.setEnabled(ready)

    # --- Panel hooks -----------------------------------------------------------------
    def on_tensorflow_ready(self) -> None:
        """Enable the buttons that need TensorFlow."""
        self._set_ready(True)
        self.refresh_sources()

    def open_path(self, path: Path) -> bool:
        """Take images (for the comparison), .keras files (as a model source) and timeline files."""
        from convexplorer.core.images import is_image_path
        from convexplorer.core.timeline import TIMELINE_FILE

        p = Path(path)
        if p.suffix.lower() == ".keras":
            self.add_source_file(str(p))
            return True
        if p.name == TIMELINE_FILE or (p.is_dir() and (p / TIMELINE_FILE).is_file()):
            return self.open_timeline(p)
        if is_image_path(p):
            self.load_image_file(str(p))
            return True
        return False

    def shutdown(self) -> None:
        """Stop the timeline's timers and the workers."""
        self.timeline_view.shutdown()
        super().shutdown()

    # --- sources -----------------------------------------------------------------------
    def refresh_sources(self) -> None:
        """Rebuild the model and run lists (current model, kept runs and checkpoints, files, applications)."""
        from convexplorer.core.compare import ModelSource, list_checkpoints
        from convexplorer.core.runs import list_runs

        keep_a, keep_b = self.source_a_combo.currentIndex(), self.source_b_combo.currentIndex()
        files = [s for s in self._sources if s.kind == "file" and getattr(s, "_added", False)]
        sources: list[Any] = []
        if self.state.model is not None:
            names = getattr(self.state.dataset, "class_names", None)
            sources.append(ModelSource("model", label=f"current: {self.state.model_label or self.state.model.name}",
                                       model=self.state.model, class_names=None if names is None else list(names)))
        try:
            runs = list_runs()[:30]
        except Exception:  # noqa: BLE001 - an unreadable runs folder must not break the panel
            runs = []
        for run in runs:
            try:
                for label, path in list_checkpoints(run.path):
                    names = (run.evaluation or {}).get("class_names")
                    sources.append(ModelSource("file", label=f"{run.label or run.id} · {label}", path=str(path),
                                               class_names=list(names) if names else None))
            except Exception:  # noqa: BLE001
                continue
        sources.extend(files)
        for name, weights in APPLICATION_CHOICES:
            sources.append(ModelSource("application", label=f"{name} ({'ImageNet' if weights else 'random'} weights)",
                                       name=name, weights=weights))
        self._sources = sources
        for combo, keep, default in ((self.source_a_combo, keep_a, 0), (self.source_b_combo, keep_b, 1)):
            combo.blockSignals(True)
            combo.clear()
            for s in sources:
                combo.addItem(s.label)
            combo.setCurrentIndex(keep if 0 <= keep < len(sources) else min(default, len(sources) - 1))
            combo.blockSignals(False)
        self._fill_runs(runs)

    def add_source(self, source: Any) -> int:
        """Add a model source (a core.compare.ModelSource) to both lists; returns its index."""
        self._sources.insert(0, source)
        for combo in (self.source_a_combo, self.source_b_combo):
            i = combo.currentIndex()
            combo.insertItem(0, source.label)
            combo.setCurrentIndex(i + 1 if i >= 0 else 0)
        return 0

    def add_source_file(self, path: str) -> int:
        """Add a .keras file as a model source (also made model B)."""
        from convexplorer.core.compare import ModelSource

        src = ModelSource("file", label=Path(path).name, path=str(path))
        src._added = True  # type: ignore[attr-defined] - kept when the lists are rebuilt
        i = self.add_source(src)
        self.source_b_combo.setCurrentIndex(i)
        return i

    def set_sources(self, a: int, b: int) -> None:
        """Choose models A and B by their index in the lists."""
        self.source_a_combo.setCurrentIndex(a)
        self.source_b_combo.setCurrentIndex(b)

    def source_labels(self) -> list[str]:
        """The labels of the model sources offered."""
        return [s.label for s in self._sources]

    def _fill_runs(self, runs: list) -> None:
        from convexplorer.core.timeline import TIMELINE_FILE

        self._runs = runs
        for combo, default in ((self.run_a_combo, 1), (self.run_b_combo, 0)):
            keep = combo.currentIndex()
            combo.blockSignals(True)
            combo.clear()
            for r in runs:
                combo.addItem(r.title)
            if runs:
                combo.setCurrentIndex(keep if 0 <= keep < len(runs) else min(default, len(runs) - 1))
            combo.blockSignals(False)
        self._timeline_runs = [r for r in runs if (r.path / TIMELINE_FILE).is_file()]
        self.timeline_run_combo.clear()
        for r in self._timeline_runs:
            self.timeline_run_combo.addItem(r.title)
        if not self._timeline_runs:
            self.timeline_run_combo.addItem("no run with a recorded timeline yet")
        if runs and self._eval is None:
            self._show_stored_confusions()

    # --- image -------------------------------------------------------------------------
    def _on_image_opened(self, path: str) -> None:
        self.load_image_file(path)

    def _on_image_array(self, array: Any, label: str) -> None:
        self.set_image(np.asarray(array, np.float32), label)

    def load_image_file(self, path: str) -> bool:
        """Open an image file for the comparison (errors shown inline)."""
        from convexplorer.core.errors import ConvExplorerError
        from convexplorer.core.images import load_image

        try:
            img = load_image(path)
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            return False
        self.set_image(img, Path(path).name)
        return True

    def set_image(self, image: np.ndarray, name: str) -> None:
        """The image both models look at (H x W x C float in [0, 1])."""
        self._image = np.asarray(image, np.float32)
        self._image_name = name
        self.image_thumb.setPixmap(array_to_pixmap(self._image, 54))
        h, w = self._image.shape[:2]
        self.image_label.setText(f"{name} · {w}x{h} (fitted to each model's input)")

    def use_dataset_sample(self) -> bool:
        """Use a random test image of the current data set."""
        ds = self.state.dataset
        if ds is None:
            self._set_message("no data set: choose one in the Data panel first")
            return False
        idx = ds.subset_indices("test")
        if len(idx) == 0:
            idx = np.arange(len(ds))
        i = int(np.random.default_rng().choice(idx))
        self.set_image(ds.image(i), f"{ds.name} #{i} ({ds.class_names[ds.label(i)]})")
        return True

    def _on_open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)")
        if path:
            self.load_image_file(path)

    def _on_add_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a Keras model", "", "Keras models (*.keras *.h5)")
        if path:
            self.add_source_file(path)

    # --- comparing two models ----------------------------------------------------------------
    def compare(self) -> bool:
        """Load models A and B (if needed) and compare them on the image, in a worker."""
        if self._image is None:
            self._set_message("no image to compare on: open one, drop one, or use a data-set sample")
            return False
        ia, ib = self.source_a_combo.currentIndex(), self.source_b_combo.currentIndex()
        if not (0 <= ia < len(self._sources) and 0 <= ib < len(self._sources)):
            self._set_message("pick two models first")
            return False
        self._set_message("")
        sa, sb = self._sources[ia], self._sources[ib]
        names = getattr(self.state.dataset, "class_names", None)

        ka, kb = _source_key(sa), _source_key(sb)

        def job(progress=None, cancel=None):
            la = self._loaded.get(ka)
            lb = self._loaded.get(kb)
            if la is None or lb is None:
                from convexplorer.core.compare import load_source

                la = la or load_source(sa, progress, cancel)
                lb = lb or load_source(sb, progress, cancel)
            return la, lb, compare_models(la, lb, self._image, names, progress, cancel)

        def done(result: Any) -> None:
            la, lb, cmp = result
            self._loaded = {k: v for k, v in self._loaded.items() if k in (ka, kb)}  # keep two models at most
            self._loaded[ka] = la
            self._loaded[kb] = lb
            self.show_comparison(cmp)

        self._start(job, done, "comparing…")
        return True

    def show_comparison(self, cmp: Any) -> None:
        """Draw an ImageComparison: overlays, bars, matched layers."""
        self._comparison = cmp
        for col, view in ((self.column_a, cmp.a), (self.column_b, cmp.b)):
            col.cam_view.set_base(view.image[..., :3] if view.image.shape[-1] >= 3 else view.image)
            col.cam_view.set_heat(view.cam)
            col.cam_view.set_title(view.name)
            col.cam_view.set_subtitle(f"Grad-CAM for {self._class_text(view, view.cam_class)} · {view.cam_layer}")
            col.topk_chart.set_predictions(view.topk)
            col.topk_chart.set_highlight(view.cam_class)
        ta, tb = cmp.a.topk[0], cmp.b.topk[0]
        if ta[1] is not None and tb[1] is not None:
            same = ta[1] == tb[1]
        else:
            same = cmp.same_top_class
        self.verdict_label.setText("both predict the same class" if same else "they disagree")
        self.verdict_label.setStyleSheet(f"font-weight:bold;color:{'#2b8a3e' if same else '#c92a2a'};")
        self.pair_combo.blockSignals(True)
        self.pair_combo.clear()
        for la, lb in cmp.pairs:
            self.pair_combo.addItem(f"{la}  ↔  {lb}")
        self.pair_combo.blockSignals(False)
        self.pair_combo.setCurrentIndex(0 if cmp.pairs else -1)
        self._show_pair(self.pair_combo.currentIndex())
        self.updated.emit("comparison")

    @staticmethod
    def _class_text(view: Any, cls: int) -> str:
        for i, label, _p in view.topk:
            if i == cls and label:
                return label
        return f"class {cls}"

    def _show_pair(self, i: int) -> None:
        cmp = self._comparison
        if cmp is None or not 0 <= i < len(cmp.pairs):
            self.maps_a_grid.set_maps(None, caption="")
            self.maps_b_grid.set_maps(None, caption="")
            return
        for grid, view in ((self.maps_a_grid, cmp.a), (self.maps_b_grid, cmp.b)):
            name, maps = view.maps[i]
            grid.set_maps(maps, caption=f"{view.name}: {name} · {maps.shape[0]}x{maps.shape[1]}, {maps.shape[-1]} channels shown")

    # --- confusion matrices ----------------------------------------------------------------
    def _selected_runs(self) -> tuple[Any, Any]:
        runs = getattr(self, "_runs", [])
        ia, ib = self.run_a_combo.currentIndex(), self.run_b_combo.currentIndex()
        ra = runs[ia] if 0 <= ia < len(runs) else None
        rb = runs[ib] if 0 <= ib < len(runs) else None
        return ra, rb

    def _show_stored_confusions(self) -> None:
        """Show the confusion matrices stored with the two runs (when they were evaluated)."""
        from convexplorer.core.compare import confusion_difference
        from convexplorer.core.errors import ConvExplorerError

        ra, rb = self._selected_runs()
        ea = (ra.evaluation or {}) if ra is not None else {}
        eb = (rb.evaluation or {}) if rb is not None else {}
        if not ea.get("confusion") or not eb.get("confusion"):
            self.confusion_summary.setText("These runs have no stored evaluation: press “Evaluate both on the data set”.")
            return
        try:
            diff = confusion_difference(np.asarray(ea["confusion"]), np.asarray(eb["confusion"]),
                                        ea.get("class_names"), eb.get("class_names"))
        except ConvExplorerError as exc:
            self.confusion_summary.setText(str(exc))
            return
        self._eval = None
        self.show_confusions(diff, ra.label or ra.id, rb.label or rb.id)

    def show_confusions(self, diff: Any, label_a: str = "A", label_b: str = "B") -> None:
        """Draw two confusion matrices and their difference (a core.compare.ConfusionDiff)."""
        self.confusion_a_view.set_matrix(diff.a, diff.class_names)
        self.confusion_b_view.set_matrix(diff.b, diff.class_names)
        self.difference_view.set_difference(diff.diff, diff.class_names)
        self.confusion_a_title.setText(f"A: {label_a} · accuracy {100 * diff.accuracy_a:.1f} %")
        self.confusion_b_title.setText(f"B: {label_b} · accuracy {100 * diff.accuracy_b:.1f} %")
        self.confusion_summary.setText(f"Biggest changes from A to B: {diff.describe(4)}.")
        self.cell_list.clear()
        self.updated.emit("confusion")

    def evaluate_runs(self) -> bool:
        """Evaluate both selected runs' final models on the current data set (in a worker)."""
        ra, rb = self._selected_runs()
        if ra is None or rb is None:
            self._set_message("pick two kept runs first (train and keep runs in the Training panel)")
            return False
        if self.state.dataset is None:
            self._set_message("no data set: choose the data set the runs were trained on in the Data panel")
            return False
        dataset = self.state.dataset

        def job(progress=None, cancel=None):
            from convexplorer.core.runs import load_run_model

            ma, mb = load_run_model(ra), load_run_model(rb)
            return ma, mb, evaluate_pair(ma, mb, dataset, progress, cancel)

        self._start(job, lambda r: self.set_evaluation(r[0], r[1], r[2], dataset, ra.label or ra.id, rb.label or rb.id),
                    "evaluating…")
        return True

    def set_evaluation(self, model_a: Any, model_b: Any, evaluation: dict, dataset: Any,
                       label_a: str = "A", label_b: str = "B") -> None:
        """Show two models' evaluations (from :func:`evaluate_pair`) so that cells can be opened."""
        self._eval = evaluation
        self._eval_models = (model_a, model_b)
        self._eval_dataset = dataset
        self.show_confusions(evaluation["diff"], label_a, label_b)

    def show_cell(self, which: str, true: int, pred: int) -> int:
        """List the images of cell (true, pred) of model ``which`` ("a" or "b"); returns how many."""
        from convexplorer.core.compare import cell_members

        self.cell_list.clear()
        self.cam_pred_view.set_base(None)
        self.cam_true_view.set_base(None)
        ev = self._eval
        diff = self.difference_view.difference()
        names = self.confusion_a_view._names
        if ev is None:
            self.cell_hint.setText("Evaluate both runs on the data set to see the images behind the counts.")
            return 0
        res = ev[which]
        members = cell_members(res.y_true, res.y_pred, true, pred, ev["indices"])
        self._cell = (which, true, pred)
        self._cell_indices = members
        change = ""
        if diff.size:
            change = f" (A→B {int(diff[true, pred]):+d})".replace("-", "−")
        self.cell_hint.setText(
            f"Model {which.upper()}: true {names[true]}, predicted {names[pred]}: {len(members)} image(s){change}."
            + (f" Showing the first {MAX_CELL_IMAGES}." if len(members) > MAX_CELL_IMAGES else "")
            + (" Click one to see its Grad-CAM." if len(members) else "")
        )
        ds = self._eval_dataset
        for i in members[:MAX_CELL_IMAGES]:
            item = QListWidgetItem(QIcon(array_to_pixmap(ds.thumbnail(int(i), 48), 48)), f"#{int(i)}")
            self.cell_list.addItem(item)
        self.updated.emit("cell")
        return len(members)

    def _on_cell_image(self, row: int) -> None:
        if row < 0 or self._cell is None or row >= len(self._cell_indices):
            return
        self.show_cell_image(row)

    def show_cell_image(self, row: int) -> None:
        """Grad-CAM for the predicted and true class of the ``row``-th image of the open cell (in a worker)."""
        which, true, pred = self._cell  # type: ignore[misc]
        model = self._eval_models[0 if which == "a" else 1]
        idx = int(self._cell_indices[row])
        image = self._eval_dataset.image(idx)
        names = self.confusion_a_view._names

        def done(cams: list) -> None:
            c = cams[0]
            for view, heat, cls, prob, what in (
                (self.cam_pred_view, c.cam_pred, c.pred_class, c.probability_pred, "predicted"),
                (self.cam_true_view, c.cam_true, c.true_class, c.probability_true, "true"),
            ):
                view.set_base(c.image if c.image.shape[-1] == 3 else np.repeat(c.image, 3, axis=-1))
                view.set_heat(heat)
                view.set_title(f"{what}: {names[cls]} ({100 * prob:.0f} %)")
                view.set_subtitle(f"#{idx}: where the evidence for {names[cls]} is")
            self.updated.emit("cams")

        self._start(lambda progress=None, cancel=None: cams_for(model, [image], true, pred, progress, cancel),
                    done, "Grad-CAM…")

    # --- timeline ---------------------------------------------------------------------------
    def open_timeline(self, path: Path | str) -> bool:
        """Show the timeline saved in a run folder (or a timeline.npz file)."""
        from convexplorer.core.errors import ConvExplorerError
        from convexplorer.core.timeline import Timeline

        try:
            tl = Timeline.load(path)
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            return False
        self.show_timeline(tl)
        return True

    def show_timeline(self, timeline: Any, live: bool = False, label: str = "") -> None:
        """Replay ``timeline`` in the Timeline tab (``live`` while it is still being recorded); ``label`` names it in the list."""
        if label:
            self.timeline_run_combo.blockSignals(True)
            if self.timeline_run_combo.count() and not getattr(self, "_timeline_runs", []):
                self.timeline_run_combo.clear()  # drop the "no run ..." placeholder
            self.timeline_run_combo.insertItem(0, label)
            self.timeline_run_combo.setCurrentIndex(0)
            self._timeline_runs = [None, *getattr(self, "_timeline_runs", [])]
            self.timeline_run_combo.blockSignals(False)
        self.timeline_view.set_timeline(timeline, live=live)
        self.tabs.setCurrentIndex(2)
        self.updated.emit("timeline")

    def _on_timeline_run(self, i: int) -> None:
        runs = getattr(self, "_timeline_runs", [])
        if 0 <= i < len(runs) and runs[i] is not None:
            self.open_timeline(runs[i].path)

    def _on_open_timeline(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a timeline", "", "Timeline (timeline.npz *.npz)")
        if path:
            self.open_timeline(path)

    # --- workers ----------------------------------------------------------------------------
    def _start(self, fn: Any, on_result: Any, busy: str) -> None:
        if self._worker is not None and self._worker.is_running():
            self._worker.cancel()
        self.compare_button.setEnabled(False)
        self.evaluate_button.setEnabled(False)
        self.cancel_button.setVisible(True)
        self.state.status.emit(busy)
        worker = self.track(run_in_thread(fn))
        self._worker = worker
        worker.result.connect(lambda r, w=worker: on_result(r) if w is self._worker else None)
        worker.error.connect(lambda m, d, w=worker: self._show_error(m, d) if w is self._worker else None)
        worker.finished.connect(lambda w=worker: self._job_finished(w))

    def _job_finished(self, worker: Any) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self.cancel_button.setVisible(False)
        self._set_ready(self.state.tf_ready)

    def _on_cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def busy(self) -> bool:
        """True while a worker runs."""
        return self._worker is not None and self._worker.is_running()

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _show_error(self, message: str, details: str = "") -> None:
        self._set_message(message)
        self.updated.emit("error")

    # --- screenshots ---------------------------------------------------------------------------
    def prepare_screenshot(self) -> None:
        """Two checkpoints of a small shapes convnet (epoch 1 and epoch 6) on one shapes image."""
        from convexplorer.ui.tfloader import load_tensorflow_now

        load_tensorflow_now(self.state)
        demo = demo_session()
        self._screenshot_demo = demo
        from convexplorer.core.compare import ModelSource

        self.add_source(ModelSource("model", label="shapes convnet · epoch 1", model=demo["early"], class_names=demo["names"]))
        self.add_source(ModelSource("model", label="shapes convnet · epoch 6", model=demo["late"], class_names=demo["names"]))
        self.set_sources(1, 0)
        ds = demo["dataset"]
        i = int(demo["indices"][-1])
        self.set_image(ds.image(i), f"shapes #{i} ({ds.class_names[ds.label(i)]})")
        from convexplorer.core.compare import load_source

        la, lb = load_source(self._sources[1]), load_source(self._sources[0])
        self.show_comparison(compare_models(la, lb, self._image, demo["names"]))
        self.pair_combo.setCurrentIndex(0)
        self.set_evaluation(demo["early"], demo["late"], evaluate_pair(demo["early"], demo["late"], ds), ds,
                            "epoch 1", "epoch 6")
        self._runs = []
        for combo, text in ((self.run_a_combo, "demo: shapes convnet · epoch 1"), (self.run_b_combo, "demo: shapes convnet · epoch 6")):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(text)
            combo.blockSignals(False)
        self.show_timeline(demo["timeline"], label="demo: shapes convnet, 6 epochs")
        self.timeline_view.set_index(len(demo["timeline"]) - 2)
        self.tabs.setCurrentIndex(0)

    def screenshot_variants(self) -> list:
        """The confusion-matrix tab with a cell opened, and the timeline tab."""

        def confusion() -> None:
            self.tabs.setCurrentIndex(1)
            diff = self._eval["diff"] if self._eval else None
            if diff is not None and diff.changed:
                t, p, _d = next((c for c in diff.changed if c[0] != c[1]), diff.changed[0])
                if self.show_cell("b", t, p) or self.show_cell("a", t, p):
                    which, true, pred = self._cell  # type: ignore[misc]
                    model = self._eval_models[0 if which == "a" else 1]
                    cams = cams_for(model, [self._eval_dataset.image(int(self._cell_indices[0]))], true, pred)
                    self.cell_list.blockSignals(True)
                    self.cell_list.setCurrentRow(0)
                    self.cell_list.blockSignals(False)
                    c = cams[0]
                    names = self.confusion_a_view._names
                    for view, heat, cls, what in ((self.cam_pred_view, c.cam_pred, c.pred_class, "predicted"),
                                                  (self.cam_true_view, c.cam_true, c.true_class, "true")):
                        view.set_base(c.image)
                        view.set_heat(heat)
                        view.set_title(f"{what}: {names[cls]}")

        def timeline() -> None:
            self.tabs.setCurrentIndex(2)

        return [("confusion", confusion), ("timeline", timeline)]


def demo_session(epochs: int = 6, n: int = 600, size: int = 32, seed: int = 0,
                 classes: Sequence[str] = ("circle", "square", "cross")) -> dict:
    """A small shapes convnet trained for ``epochs`` with a timeline: its epoch-1 copy, the final model, the data."""
    import keras

    from convexplorer.core import timeline as T
    from convexplorer.core.datasets.shapes import ShapesDataset

    ds = ShapesDataset(n=n, size=size, seed=seed, classes=tuple(classes))
    x = ds.materialize().astype(np.float32) / 255.0
    y = ds.labels()
    test = ds.subset_indices("test")
    train = np.setdiff1d(np.arange(n), test)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2"),
        keras.layers.MaxPooling2D(name="pool2"),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv3"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="dense"),
        keras.layers.Dense(len(ds.class_names), activation="softmax", name="classes"),
    ], name="shapes_convnet")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    probes = T.pick_probes(y[test], per_class=1)
    idx = test[probes]
    rec = T.TimelineRecorder(x[idx], probe_labels=y[idx], class_names=ds.class_names,
                             probe_names=[f"#{int(i)}" for i in idx])
    model.fit(x[train], y[train], epochs=1, batch_size=16, verbose=0, callbacks=[rec])
    early = keras.models.clone_model(model)
    early.set_weights(model.get_weights())
    model.fit(x[train], y[train], epochs=epochs, initial_epoch=1, batch_size=16, verbose=0,
              validation_data=(x[test], y[test]), callbacks=[rec])
    return {"early": early, "late": model, "dataset": ds, "names": list(ds.class_names), "indices": idx,
            "timeline": rec.timeline}


if __name__ == "__main__":
    raise SystemExit(preview(ComparePanel))
