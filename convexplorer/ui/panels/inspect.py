"""Inspect panel: classify an image and see inside the network.

Models: the one just trained or built (``state.model_changed``), a ``.keras``
file (opened in safe mode), or a pretrained ``keras.applications`` network
with random, ImageNet (downloaded with progress, cached) or file weights.
Images: dropped/opened files, or arrays picked in the Data panel. The image is
fitted to the model's input, classified at once (top-k bars), and the tabs
show feature maps (click a map for a big view and the input region it sees),
filter patterns (gradient ascent in a worker), first-layer kernels, Grad-CAM
and saliency. All TensorFlow work runs in workers; only drawing happens here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.errors import ConvExplorerError
from convexplorer.ui.panels.base import Panel, preview
from convexplorer.ui.widgets.array_view import ArrayView
from convexplorer.ui.widgets.feature_grid import FeatureGrid
from convexplorer.ui.widgets.overlay_view import HEAT_COLORMAPS, OverlayView
from convexplorer.ui.widgets.topk_chart import TopKChart, bar_text
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap
from convexplorer.ui.workers import run_in_thread

WEIGHT_CHOICES = ("Random weights", "ImageNet (download)", "From file…")
#: Side of the image fed to models that accept any size.
FREE_SIZE = 224


# --- work done in workers (plain functions of core calls) ---------------------------------------


def _analyse(model: Any, x: np.ndarray, layer: str | None, cam_class: int | None, cam_layer: str | None,
             labels: list[str] | None, k: int = 5) -> dict:
    """Everything the panel shows for one model and image."""
    from convexplorer.core import inspect as ins

    infos = ins.layers(model, x.shape)
    spatial = [i.name for i in infos if i.spatial]
    convs = [i.name for i in infos if i.spatial and i.is_conv]
    out: dict[str, Any] = {"spatial": spatial, "convs": convs, "topk": None, "probs": None}
    try:
        probs = ins.predict(model, x)
        out["probs"] = probs
        out["topk"] = ins.predict_topk(model, x, k=k, labels=labels)
    except ConvExplorerError as exc:
        out["topk_error"] = str(exc)
    layer = layer if layer in spatial else (spatial[0] if spatial else None)
    out["maps"] = ins.feature_maps(model, x, [layer])[0] if layer else None
    try:
        out["kernels"] = ins.first_layer_kernels(model, x.shape)
    except ConvExplorerError:
        out["kernels"] = None
    out["cam"] = out["saliency"] = None
    if out["probs"] is not None and spatial:
        out["cam"] = ins.grad_cam_details(model, x, cam_class, cam_layer if cam_layer in spatial else None)
        out["saliency"] = ins.saliency(model, x, out["cam"].class_index)
    return out


def _cam_and_saliency(model: Any, x: np.ndarray, cam_class: int | None, cam_layer: str | None) -> dict:
    from convexplorer.core import inspect as ins

    cam = ins.grad_cam_details(model, x, cam_class, cam_layer)
    return {"cam": cam, "saliency": ins.saliency(model, x, cam.class_index)}


def _maps(model: Any, x: np.ndarray, layer: str) -> tuple[str, np.ndarray]:
    from convexplorer.core import inspect as ins

    return ins.feature_maps(model, x, [layer])[0]


def _load_application(name: str, weights: str | None, include_top: bool, input_shape: tuple | None = None,
                      progress=None, cancel=None) -> dict:
    """Build a keras.applications model; ImageNet class names when they are (or may be) available."""
    from convexplorer.core import zoo
    from convexplorer.core.workspace import keras_home

    model = zoo.build_application(name, weights=weights, include_top=include_top, input_shape=input_shape,
                                  progress=progress, cancel=cancel)
    labels = None
    if include_top:
        cached = (keras_home() / "models" / zoo.CLASS_INDEX_FILE).is_file()
        if cached or weights == "imagenet":
            try:
                labels = zoo.imagenet_class_names(progress, cancel)
            except ConvExplorerError:
                labels = None
    return {"model": model, "labels": labels, "name": name, "weights": zoo.weights_label(model)}


def open_model_file(path: str, progress: Optional[Callable[[int, int, str], None]] = None,
                    cancel: Optional[Any] = None) -> Any:
    """Open a .keras model in safe mode (core.modelio when present, else Keras directly)."""
    try:
        from convexplorer.core.modelio import load_keras_model
    except ImportError:  # pragma: no cover - the Builder's module is missing
        import keras

        return keras.saving.load_model(path, safe_mode=True)
    return load_keras_model(path, allow_unsafe=False, compile=False, progress=progress, cancel=cancel)


class InspectPanel(Panel):
    """Predictions, feature maps, filter patterns, kernels, Grad-CAM and saliency of a model on an image."""

    title = "Inspect"
    key = "inspect"
    needs_tensorflow = True

    #: A view was brought up to date: "model", "analysis", "maps", "cam", "patterns".
    updated = Signal(str)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._model: Any = None
        self._model_label = ""
        self._app_name: str | None = None
        self._labels: list[str] | None = None
        self._raw_image: np.ndarray | None = None
        self._image_name = ""
        self._image: np.ndarray | None = None  # fitted to the model, in [0, 1]
        self._x: np.ndarray | None = None  # what the model is fed (preprocessed)
        self._n_classes = 0
        self._tokens: dict[str, int] = {}
        self._pattern_worker = None
        self._model_worker = None
        self._maps_name = ""
        self._maps: np.ndarray | None = None
        self._cam_class: int | None = None
        self._filling = False
        self._rf: tuple[int, int, int, int] | None = None
        self._build_ui()
        state.model_changed.connect(self._on_model_changed)
        state.image_opened.connect(self._on_image_opened)
        state.image_array_opened.connect(self._on_image_array)
        self._set_tf_enabled(state.tf_ready)
        if state.tf_ready and state.model is not None:
            self._on_model_changed(state.model, state.model_label)

    # --- layout ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        from convexplorer.core.zoo import APPLICATIONS

        root = QHBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter)

        side = QWidget()
        side.setMinimumWidth(300)
        side.setMaximumWidth(380)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 4, 0)

        model_box = QGroupBox("Model")
        ml = QVBoxLayout(model_box)
        self.model_label = QLabel("No model yet: train one, open a .keras file or load a pretrained network.")
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("font-weight:bold;")
        self.open_model_button = QPushButton("Open .keras…")
        self.open_model_button.setToolTip("Open a saved Keras model (in safe mode: no Python code is run)")
        self.app_combo = QComboBox()
        self.app_combo.addItems(list(APPLICATIONS))
        self.app_combo.setCurrentText("MobileNetV2")
        self.weights_combo = QComboBox()
        self.weights_combo.addItems(WEIGHT_CHOICES)
        self.include_top_check = QCheckBox("with its ImageNet classifier (1000 classes)")
        self.include_top_check.setChecked(True)
        self.load_app_button = QPushButton("Load pretrained network")
        app_form = QFormLayout()
        app_form.addRow("Pretrained", self.app_combo)
        app_form.addRow("Weights", self.weights_combo)
        self.model_progress = QProgressBar()
        self.model_progress.setVisible(False)
        self.model_cancel_button = QPushButton("Cancel")
        self.model_cancel_button.setVisible(False)
        prow = QHBoxLayout()
        prow.addWidget(self.model_progress, 1)
        prow.addWidget(self.model_cancel_button)
        ml.addWidget(self.model_label)
        ml.addWidget(self.open_model_button)
        ml.addLayout(app_form)
        ml.addWidget(self.include_top_check)
        ml.addWidget(self.load_app_button)
        ml.addLayout(prow)

        image_box = QGroupBox("Image")
        il = QVBoxLayout(image_box)
        self.open_image_button = QPushButton("Open image…")
        self.image_label = QLabel("Drop an image on the window, open one, or pick one in the Data panel.")
        self.image_label.setWordWrap(True)
        self.input_thumb = QLabel()
        self.input_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_thumb.setMinimumHeight(140)
        il.addWidget(self.open_image_button)
        il.addWidget(self.input_thumb)
        il.addWidget(self.image_label)

        pred_box = QGroupBox("Prediction (top 5)")
        pl = QVBoxLayout(pred_box)
        self.topk_chart = TopKChart()
        pl.addWidget(self.topk_chart)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color:#b00020;")
        self.message.setVisible(False)
        self.busy_label = QLabel("")
        self.busy_label.setStyleSheet("color:#555;")

        sl.addWidget(model_box)
        sl.addWidget(image_box)
        sl.addWidget(pred_box)
        sl.addWidget(self.message)
        sl.addWidget(self.busy_label)
        sl.addStretch(1)
        splitter.addWidget(side)

        self.tabs = QTabWidget()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the view in the current tab as a PNG image")
        self.tabs.setCornerWidget(self.export_button)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([320, 960])

        # Feature maps
        maps_tab = QWidget()
        mt = QVBoxLayout(maps_tab)
        bar = QHBoxLayout()
        self.prev_layer_button = QPushButton("◀")
        self.prev_layer_button.setToolTip("Previous layer")
        self.next_layer_button = QPushButton("▶")
        self.next_layer_button.setToolTip("Next layer")
        for b in (self.prev_layer_button, self.next_layer_button):
            b.setFixedWidth(32)
        self.layer_combo = QComboBox()
        self.layer_combo.setMinimumWidth(260)
        self.scale_combo = QComboBox()
        self.scale_combo.addItems(["Colour scale per map", "Shared colour scale"])
        bar.addWidget(QLabel("Layer"))
        bar.addWidget(self.prev_layer_button)
        bar.addWidget(self.layer_combo, 1)
        bar.addWidget(self.next_layer_button)
        bar.addWidget(self.scale_combo)
        mt.addLayout(bar)
        msplit = QSplitter(Qt.Orientation.Horizontal)
        self.maps_grid = FeatureGrid("viridis")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.enlarged_view = ArrayView("Channel", colormap="viridis")
        self.rf_view = ArrayView("Input: receptive field", show_colorbar=False)
        self.rf_view.set_values_visible(False)
        rl.addWidget(self.enlarged_view, 1)
        rl.addWidget(self.rf_view, 1)
        msplit.addWidget(self.maps_grid)
        msplit.addWidget(right)
        msplit.setStretchFactor(0, 3)
        msplit.setStretchFactor(1, 2)
        mt.addWidget(msplit, 1)
        self.maps_hint = QLabel("Click a map to enlarge it; the cell you click is traced back to the input region that feeds it.")
        self.maps_hint.setStyleSheet("color:#555;")
        mt.addWidget(self.maps_hint)
        self.tabs.addTab(maps_tab, "Feature maps")

        # Filter patterns
        pat_tab = QWidget()
        pt = QVBoxLayout(pat_tab)
        pbar = QHBoxLayout()
        self.pattern_layer_combo = QComboBox()
        self.pattern_layer_combo.setMinimumWidth(220)
        self.pattern_count = QSpinBox()
        self.pattern_count.setRange(1, 512)
        self.pattern_count.setValue(16)
        self.pattern_steps = QSpinBox()
        self.pattern_steps.setRange(1, 1000)
        self.pattern_steps.setValue(40)
        self.pattern_step_size = QDoubleSpinBox()
        self.pattern_step_size.setRange(0.01, 100.0)
        self.pattern_step_size.setValue(10.0)
        self.pattern_size = QSpinBox()
        self.pattern_size.setRange(8, 512)
        self.pattern_size.setValue(64)
        self.patterns_button = QPushButton("Compute patterns")
        self.pattern_cancel_button = QPushButton("Cancel")
        self.pattern_cancel_button.setEnabled(False)
        for text, w in (("Layer", self.pattern_layer_combo), ("Filters", self.pattern_count), ("Steps", self.pattern_steps),
                        ("Step size", self.pattern_step_size), ("Size", self.pattern_size)):
            pbar.addWidget(QLabel(text))
            pbar.addWidget(w)
        pbar.addStretch(1)
        pbar.addWidget(self.patterns_button)
        pbar.addWidget(self.pattern_cancel_button)
        pt.addLayout(pbar)
        self.pattern_progress = QProgressBar()
        self.pattern_progress.setFormat("%p%")
        pt.addWidget(self.pattern_progress)
        self.pattern_grid = FeatureGrid()
        self.pattern_grid.caption.setText("The input that excites each filter most, found by gradient ascent from grey noise.")
        pt.addWidget(self.pattern_grid, 1)
        self.tabs.addTab(pat_tab, "Filter patterns")

        # Kernels
        self.kernel_grid = FeatureGrid("CET-D1")
        self.tabs.addTab(self.kernel_grid, "First-layer kernels")

        # Grad-CAM
        cam_tab = QWidget()
        ct = QVBoxLayout(cam_tab)
        cbar = QHBoxLayout()
        self.cam_class_combo = QComboBox()
        self.cam_class_combo.setMinimumWidth(200)
        self.cam_layer_combo = QComboBox()
        self.cam_layer_combo.setMinimumWidth(200)
        self.cam_opacity = QSlider(Qt.Orientation.Horizontal)
        self.cam_opacity.setRange(0, 100)
        self.cam_opacity.setValue(50)
        self.cam_opacity.setFixedWidth(120)
        self.cam_cmap_combo = QComboBox()
        self.cam_cmap_combo.addItems(HEAT_COLORMAPS)
        for text, w in (("Class", self.cam_class_combo), ("Conv layer", self.cam_layer_combo),
                        ("Opacity", self.cam_opacity), ("Colours", self.cam_cmap_combo)):
            cbar.addWidget(QLabel(text))
            cbar.addWidget(w)
        cbar.addStretch(1)
        ct.addLayout(cbar)
        views = QHBoxLayout()
        self.cam_view = OverlayView("Grad-CAM")
        self.saliency_view = ArrayView("Gradient saliency", colormap="inferno")
        self.saliency_view.set_values_visible(False)
        views.addWidget(self.cam_view, 1)
        views.addWidget(self.saliency_view, 1)
        ct.addLayout(views, 1)
        self.cam_info = QLabel("")
        self.cam_info.setWordWrap(True)
        ct.addWidget(self.cam_info)
        self.tabs.addTab(cam_tab, "Grad-CAM and saliency")

        # the learning timeline of the current (or last) training run
        from convexplorer.ui.widgets.timeline_view import TimelineView

        self.timeline_view = TimelineView()
        self.tabs.addTab(self.timeline_view, "Timeline")
        self.state.timeline_changed.connect(lambda tl, live: self.timeline_view.set_timeline(tl, live=live))

        # wiring
        self.open_model_button.clicked.connect(self._on_open_model)
        self.load_app_button.clicked.connect(self._on_load_app)
        self.model_cancel_button.clicked.connect(self._on_cancel_model)
        self.open_image_button.clicked.connect(self._on_open_image)
        self.layer_combo.currentTextChanged.connect(self._on_layer_changed)
        self.prev_layer_button.clicked.connect(lambda: self._step_layer(-1))
        self.next_layer_button.clicked.connect(lambda: self._step_layer(1))
        self.scale_combo.currentIndexChanged.connect(lambda i: self.maps_grid.set_shared_scale(i == 1))
        self.maps_grid.tile_clicked.connect(self._on_map_clicked)
        self.patterns_button.clicked.connect(self._on_patterns)
        self.pattern_cancel_button.clicked.connect(self._on_cancel_patterns)
        self.cam_class_combo.currentIndexChanged.connect(self._on_cam_settings)
        self.cam_layer_combo.currentTextChanged.connect(self._on_cam_settings)
        self.cam_opacity.valueChanged.connect(lambda v: self.cam_view.set_opacity(v / 100.0))
        self.cam_cmap_combo.currentTextChanged.connect(self.cam_view.set_heat_colormap)
        self.export_button.clicked.connect(self._on_export)

    def _set_tf_enabled(self, ready: bool) -> None:
        for w in (self.open_model_button, self.load_app_button, self.patterns_button):
            w.setEnabled(ready)

    # --- Panel hooks ---------------------------------------------------------------------------
    def on_tensorflow_ready(self) -> None:
        """Enable the model controls; adopt a model that arrived while TF was loading."""
        self._set_tf_enabled(True)
        if self._model is None and self.state.model is not None:
            self._on_model_changed(self.state.model, self.state.model_label)
        else:
            self._refresh()

    def open_path(self, path: Path) -> bool:
        """Take image files (dropped or from the command line)."""
        from convexplorer.core.images import is_image_path

        if not is_image_path(path):
            return False
        self.load_image_file(str(path))
        return True

    def prepare_screenshot(self) -> None:
        """A photo classified by MobileNetV2 (ImageNet weights if cached, else random), Grad-CAM shown."""
        from convexplorer.core.workspace import keras_home
        from convexplorer.ui.tfloader import load_tensorflow_now

        load_tensorflow_now(self.state)
        try:
            from skimage import data as skdata

            photo = skdata.chelsea().astype(np.float32) / 255.0
            name = "chelsea.png (scikit-image)"
        except ImportError:
            from convexplorer.core.samples import scene

            photo, name = scene(224), "scene (sample)"
        cached = keras_home() / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
        weights = "imagenet" if cached.is_file() else None
        info = _load_application("MobileNetV2", weights, True)
        self._adopt_application(info)
        self.set_image(photo, name, analyse=False)
        if self._x is not None:
            self._apply_analysis(_analyse(self._model, self._x, None, None, None, self._labels))
        self.tabs.setCurrentIndex(3)

    def screenshot_variants(self) -> list[tuple[str, Callable[[], None]]]:
        """Feature maps with a receptive field, filter patterns and first-layer kernels."""
        return [("feature-maps", self._shot_maps), ("filter-patterns", self._shot_patterns), ("kernels", self._shot_kernels)]

    def _shot_maps(self) -> None:
        self.tabs.setCurrentIndex(0)
        n = self.layer_combo.count()
        if self._model is None or self._x is None or n == 0:
            return
        self._filling = True
        self.layer_combo.setCurrentIndex(min(n - 1, n // 6))
        self._filling = False
        self._show_maps(*_maps(self._model, self._x, self.layer_combo.currentText()))
        if self._maps is not None:
            h, w, _c = self._maps.shape
            self._on_map_clicked(min(3, self._maps.shape[-1] - 1), h // 3, w // 2)

    def _shot_patterns(self) -> None:
        from convexplorer.core import inspect as ins

        self.tabs.setCurrentIndex(1)
        n = self.pattern_layer_combo.count()
        if self._model is None or n == 0:
            return
        self.pattern_layer_combo.setCurrentIndex(min(n - 1, n // 4))
        layer = self.pattern_layer_combo.currentText()
        self.pattern_size.setValue(min(self.pattern_size.value(), 96))
        self.pattern_steps.setValue(20)
        self.pattern_count.setValue(16)
        pats = ins.filter_patterns(self._model, layer, 16, steps=20, size=self.pattern_size.value(),
                                   step_size=self.pattern_step_size.value())
        self._show_patterns((layer, pats))
        self.pattern_progress.setRange(0, 1)
        self.pattern_progress.setValue(1)

    def _shot_kernels(self) -> None:
        self.tabs.setCurrentIndex(2)

    def shutdown(self) -> None:
        """Cancel running work (patterns, downloads) and join the workers."""
        self.timeline_view.shutdown()
        super().shutdown()

    # --- model ---------------------------------------------------------------------------------
    def set_model(self, model: Any, label: str, app_name: str | None = None, labels: list[str] | None = None) -> None:
        """Inspect ``model`` from now on (``app_name``: its keras.applications preprocessing)."""
        from convexplorer.core import inspect as ins

        self._model, self._model_label, self._app_name = model, label, app_name
        self._labels = labels
        if labels is None:
            # The current data set's class names, when they match the model's outputs.
            names = getattr(getattr(self.state, "dataset", None), "class_names", None)
            try:
                n_out = int(model.outputs[0].shape[-1])
            except (AttributeError, IndexError, TypeError, ValueError):
                n_out = -1
            self._labels = list(names) if names and len(names) == n_out else None
        self._maps = None
        self._set_message("")
        try:
            shape = ins.input_shape(model)
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            shape = None
        desc = f"input {'x'.join('?' if v is None else str(v) for v in shape)}" if shape else "input size set by the image"
        if shape and shape[0]:
            self.pattern_size.setValue(min(int(shape[0]), self.pattern_size.maximum()))
        self.model_label.setText(f"{label}\n{desc}")
        self._fit_image()
        self.updated.emit("model")
        self._refresh()

    def _on_model_changed(self, model: Any, label: str) -> None:
        if model is None or not self.state.tf_ready:
            return
        self.set_model(model, label or getattr(model, "name", "model"))

    def _on_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Keras model", "", "Keras models (*.keras *.h5)")
        if path:
            self.load_model_file(path)

    def load_model_file(self, path: str) -> None:
        """Open a .keras file in a worker and inspect it."""
        self._run_model_job(open_model_file, path, done=lambda m: self.set_model(m, Path(path).name))

    def _on_load_app(self) -> None:
        name = self.app_combo.currentText()
        choice = self.weights_combo.currentIndex()
        weights: str | None = None
        if choice == 1:
            weights = "imagenet"
        elif choice == 2:
            path, _ = QFileDialog.getOpenFileName(self, f"Weights for {name}", "", "Keras weights (*.h5 *.weights.h5)")
            if not path:
                return
            weights = path
        self.load_application(name, weights, self.include_top_check.isChecked())

    def load_application(self, name: str, weights: str | None, include_top: bool = True,
                         input_shape: tuple[int, int, int] | None = None) -> None:
        """Build a keras.applications network in a worker (downloading ImageNet weights if asked)."""
        self._run_model_job(_load_application, name, weights, include_top, input_shape, done=self._adopt_application)

    def _adopt_application(self, info: dict) -> None:
        label = f"{info['name']} · {info['weights']}"
        self.set_model(info["model"], label, app_name=info["name"], labels=info["labels"])

    def _run_model_job(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None]) -> None:
        if self._model_worker is not None and self._model_worker.is_running():
            self._model_worker.cancel()
        self.model_progress.setRange(0, 0)
        self.model_progress.setVisible(True)
        self.model_cancel_button.setVisible(True)
        self.load_app_button.setEnabled(False)
        self._set_message("")
        worker = self.track(run_in_thread(fn, *args))
        self._model_worker = worker
        worker.progress.connect(self._on_model_progress)
        worker.result.connect(done)
        worker.error.connect(self._show_error)
        worker.finished.connect(lambda w=worker: self._model_job_finished(w))

    def _on_model_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.model_progress.setRange(0, 1000)
            self.model_progress.setValue(int(1000 * done / total))
        else:
            self.model_progress.setRange(0, 0)
        self.model_progress.setFormat(message[:60] or "%p%")
        self.busy_label.setText(message)

    def _model_job_finished(self, worker: Any) -> None:
        if worker is not self._model_worker:
            return
        self._model_worker = None
        self.model_progress.setVisible(False)
        self.model_cancel_button.setVisible(False)
        self.load_app_button.setEnabled(self.state.tf_ready)
        self.busy_label.setText("")

    def _on_cancel_model(self) -> None:
        if self._model_worker is not None:
            self._model_worker.cancel()

    # --- image ---------------------------------------------------------------------------------
    def _on_open_image(self) -> None:
        from convexplorer.core.images import IMAGE_EXTENSIONS

        pattern = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "", f"Images ({pattern})")
        if path:
            self.load_image_file(path)

    def _on_image_opened(self, path: str) -> None:
        self.load_image_file(path)

    def _on_image_array(self, array: Any, label: str) -> None:
        self.set_image(np.asarray(array, np.float32), label or "image")

    def load_image_file(self, path: str) -> bool:
        """Open an image file (validated by core.images); errors appear in the panel."""
        from convexplorer.core.images import load_image

        try:
            img = load_image(path)
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            return False
        self.set_image(img, Path(path).name)
        return True

    def set_image(self, image: np.ndarray, name: str, analyse: bool = True) -> None:
        """Use ``image`` (H x W x C in [0, 1]); it is fitted to the model and classified."""
        self._raw_image = np.asarray(image, np.float32)
        self._image_name = name
        self._set_message("")
        self._fit_image()
        if analyse:
            self._refresh()

    def _fit_image(self) -> None:
        from convexplorer.core import inspect as ins
        from convexplorer.core import zoo

        if self._raw_image is None:
            return
        shape: Any = None
        if self._model is not None:
            try:
                shape = ins.input_shape(self._model)
            except ConvExplorerError:
                shape = None
        if shape is None:
            shape = (FREE_SIZE, FREE_SIZE, self._raw_image.shape[-1] if self._raw_image.ndim == 3 else 1)
        shape = tuple(FREE_SIZE if v is None else v for v in shape[:2]) + (shape[2] or 3,)
        try:
            self._image = ins.prepare_image(self._raw_image, shape, keep_aspect=True)
            self._x = zoo.preprocess(self._app_name, self._image) if self._app_name else self._image
        except ConvExplorerError as exc:
            self._image = self._x = None
            self._set_message(str(exc))
            return
        h, w = self._raw_image.shape[:2]
        self.image_label.setText(f"{self._image_name}: {w}x{h}, fed to the model as {shape[1]}x{shape[0]}x{shape[2]}")
        self.input_thumb.setPixmap(array_to_pixmap(self._image, 200, smooth=True))
        self.rf_view.set_array(self._image)
        self.cam_view.set_base(self._image)

    # --- analysis ------------------------------------------------------------------------------
    def _next_token(self, kind: str) -> int:
        self._tokens[kind] = self._tokens.get(kind, 0) + 1
        return self._tokens[kind]

    def _submit(self, kind: str, fn: Callable[..., Any], *args: Any, on_result: Callable[[Any], None]) -> None:
        token = self._next_token(kind)
        self.busy_label.setText("computing…")
        worker = self.track(run_in_thread(fn, *args))
        worker.result.connect(lambda value, t=token: self._deliver(kind, t, value, on_result))
        worker.error.connect(lambda msg, det, t=token: self._tokens.get(kind) == t and self._show_error(msg, det))

    def _deliver(self, kind: str, token: int, value: Any, on_result: Callable[[Any], None]) -> None:
        if self._tokens.get(kind) != token:
            return  # an older request: a newer one is on its way
        self.busy_label.setText("")
        on_result(value)
        self.updated.emit(kind)

    def _refresh(self) -> None:
        """Recompute everything for the current model and image (in a worker)."""
        if self._model is None or self._x is None or not self.state.tf_ready:
            return
        self.topk_chart.clear("Classifying…")
        cam_layer = self.cam_layer_combo.currentText() or None
        self._submit(
            "analysis", _analyse, self._model, self._x, self.layer_combo.currentText() or None,
            self._cam_class, cam_layer, self._labels, on_result=self._apply_analysis,
        )

    def _apply_analysis(self, out: dict) -> None:
        self._last_analysis = out
        self._filling = True
        try:
            self._fill_combo(self.layer_combo, out["spatial"], out["maps"][0] if out["maps"] else None)
            convs = out["convs"] or out["spatial"]
            self._fill_combo(self.pattern_layer_combo, convs, self.pattern_layer_combo.currentText() or (convs[-1] if convs else None))
            cam = out.get("cam")
            self._fill_combo(self.cam_layer_combo, out["spatial"], cam.layer_name if cam else None)
            probs = out["probs"]
            if probs is not None and len(probs) != self._n_classes:
                self._n_classes = len(probs)
                self.cam_class_combo.clear()
                self.cam_class_combo.addItem("Top class")
                for i in range(self._n_classes):
                    self.cam_class_combo.addItem(bar_text(i, self._labels[i] if self._labels and i < len(self._labels) else None))
                self._cam_class = None
        finally:
            self._filling = False
        if out["topk"] is not None:
            note = "random weights: scores mean nothing" if "random weights" in self._model_label else ""
            self.topk_chart.set_predictions(out["topk"], note)
        else:
            self.topk_chart.clear(out.get("topk_error", "This model is not a classifier."))
        if out["maps"] is not None:
            self._show_maps(*out["maps"])
        self._show_kernels(out["kernels"])
        self._show_cam(out)

    def _fill_combo(self, combo: QComboBox, items: list[str], current: str | None) -> None:
        if [combo.itemText(i) for i in range(combo.count())] != list(items):
            combo.clear()
            combo.addItems(items)
        if current and current in items:
            combo.setCurrentText(current)

    # feature maps
    def _on_layer_changed(self, name: str) -> None:
        if self._filling or not name or self._model is None or self._x is None:
            return
        self._submit("maps", _maps, self._model, self._x, name, on_result=lambda r: self._show_maps(*r))

    def _step_layer(self, delta: int) -> None:
        i = self.layer_combo.currentIndex() + delta
        if 0 <= i < self.layer_combo.count():
            self.layer_combo.setCurrentIndex(i)

    def _show_maps(self, name: str, maps: np.ndarray) -> None:
        self._maps_name, self._maps = name, maps
        h, w, c = maps.shape
        self.maps_grid.set_maps(maps, caption=f"{name}: {c} channels of {h}x{w}")
        self.maps_grid.set_shared_scale(self.scale_combo.currentIndex() == 1)
        self._on_map_clicked(0, h // 2, w // 2)

    def _on_map_clicked(self, index: int, row: int, col: int) -> None:
        from convexplorer.core import inspect as ins

        if self._maps is None or self._image is None:
            return
        self.maps_grid.select(index)
        m = self._maps[..., index]
        self.enlarged_view.set_title(f"{self._maps_name}, channel {index}")
        self.enlarged_view.set_array(m)
        self.enlarged_view.set_highlight((row, col, 1, 1))
        try:
            top, left, bottom, right = ins.receptive_field(self._model, self._maps_name, row, col, self._image.shape)
        except ConvExplorerError as exc:
            self.rf_view.set_subtitle(str(exc))
            return
        self.rf_view.set_highlight((top, left, bottom - top, right - left))
        self.rf_view.set_subtitle(f"cell ({row}, {col}) sees rows {top}–{bottom - 1}, columns {left}–{right - 1}")
        self._rf = (top, left, bottom, right)

    # kernels
    def _show_kernels(self, kernels: tuple[str, np.ndarray] | None) -> None:
        if kernels is None:
            self.kernel_grid.set_maps(None, caption="This model has no convolution layer.")
            return
        name, k = kernels
        kh, kw, cin, cout = k.shape
        if cin == 3:
            self.kernel_grid.set_maps(np.moveaxis(k, -1, 0), rgb=True,
                                      caption=f"{name}: {cout} kernels {kh}x{kw}x3 shown as colour (weights scaled per kernel)")
        else:
            self.kernel_grid.set_maps(k[:, :, 0, :], caption=f"{name}: {cout} kernels {kh}x{kw} (input channel 0 of {cin})")

    # Grad-CAM
    def _on_cam_settings(self, *_args: Any) -> None:
        if self._filling or self._model is None or self._x is None or self._n_classes == 0:
            return
        i = self.cam_class_combo.currentIndex()
        self._cam_class = None if i <= 0 else i - 1
        layer = self.cam_layer_combo.currentText() or None
        self._submit("cam", _cam_and_saliency, self._model, self._x, self._cam_class, layer, on_result=self._show_cam)

    def _show_cam(self, out: dict) -> None:
        cam = out.get("cam")
        if cam is None:
            self.cam_view.set_heat(None)
            self.saliency_view.set_array(None)
            self.cam_info.setText("Grad-CAM needs a classifier with a convolution layer.")
            return
        self.cam_view.set_opacity(self.cam_opacity.value() / 100.0)
        self.cam_view.set_heat_colormap(self.cam_cmap_combo.currentText())
        self.cam_view.set_heat(cam.heatmap)
        self.saliency_view.set_array(out["saliency"], levels=(0.0, 1.0))
        label = self._labels[cam.class_index] if self._labels and cam.class_index < len(self._labels) else None
        p = float(cam.probabilities[cam.class_index])
        self.cam_view.set_subtitle(f"{bar_text(cam.class_index, label)} · {100 * p:.1f} %")
        self.saliency_view.set_subtitle("|d score / d pixel|, largest over colour channels")
        h, w = cam.coarse.shape
        self.cam_info.setText(
            f"Grad-CAM of {bar_text(cam.class_index, label)} from layer {cam.layer_name} ({h}x{w}, upsampled): "
            "gradients of the class score, averaged per channel, weight the channels; ReLU keeps what speaks for the class."
        )
        self.topk_chart.set_highlight(cam.class_index)

    # filter patterns
    def _on_patterns(self) -> None:
        from convexplorer.core import inspect as ins

        if self._model is None:
            self._set_message("Load a model first.")
            return
        layer = self.pattern_layer_combo.currentText()
        if not layer:
            self._set_message("This model has no convolution layer to show patterns of.")
            return
        if self._pattern_worker is not None and self._pattern_worker.is_running():
            self._pattern_worker.cancel()
        n = self.pattern_count.value()
        filters = self._filters_of(layer)
        if filters is not None and n > filters:
            n = filters  # asking for more patterns than the layer has filters: show them all
            self._set_message(f"{layer} has {filters} filters: showing all {filters}.")
        token = self._next_token("patterns")
        self.pattern_progress.setValue(0)
        self.patterns_button.setEnabled(False)
        self.pattern_cancel_button.setEnabled(True)
        worker = self.track(run_in_thread(
            ins.filter_patterns, self._model, layer, n, steps=self.pattern_steps.value(),
            size=self.pattern_size.value(), step_size=self.pattern_step_size.value(),
        ))
        self._pattern_worker = worker
        worker.progress.connect(self._on_pattern_progress)
        worker.result.connect(lambda v, t=token, ly=layer: self._deliver("patterns", t, (ly, v), self._show_patterns))
        worker.error.connect(self._show_error)
        worker.cancelled.connect(lambda: self.pattern_grid.caption.setText("Cancelled."))
        worker.finished.connect(self._patterns_finished)

    def _filters_of(self, layer: str) -> int | None:
        """Channels of ``layer``'s output in the current model (None if unknown)."""
        from convexplorer.core import inspect as ins

        try:
            info = next((i for i in ins.layers(self._model) if i.name == layer), None)
        except Exception:  # noqa: BLE001 - the worker will explain a model it cannot trace
            return None
        last = info.output_shape[-1] if info is not None and info.output_shape else None
        return int(last) if isinstance(last, int) else None

    def _on_pattern_progress(self, done: int, total: int, message: str) -> None:
        self.pattern_progress.setRange(0, max(1, total))
        self.pattern_progress.setValue(done)
        self.pattern_progress.setFormat(f"%p%  {message}")

    def _show_patterns(self, result: tuple[str, np.ndarray]) -> None:
        layer, pats = result
        self._patterns_count = len(pats)
        self.pattern_grid.set_maps(pats, rgb=True, caption=f"{layer}: the input that excites each of filters 0–{len(pats) - 1} most")

    def _patterns_finished(self) -> None:
        self.patterns_button.setEnabled(self.state.tf_ready)
        self.pattern_cancel_button.setEnabled(False)

    def _on_cancel_patterns(self) -> None:
        if self._pattern_worker is not None:
            self._pattern_worker.cancel()

    # --- read-outs for lessons and tests --------------------------------------------------------
    def has_model(self) -> bool:
        """Whether a model is loaded."""
        return self._model is not None

    def has_image(self) -> bool:
        """Whether an image is loaded."""
        return getattr(self, "_raw_image", None) is not None

    def analysed(self) -> bool:
        """Whether the current model and image have been classified and drawn."""
        out = getattr(self, "_last_analysis", None)
        return out is not None and self.has_model() and self.has_image()

    def patterns_shown(self) -> int:
        """How many filter patterns are on screen."""
        return getattr(self, "_patterns_count", 0)

    def use_sample(self, name: str) -> None:
        """Use one of the built-in sample images (``convexplorer.core.samples.SAMPLES``)."""
        from convexplorer.core.samples import SAMPLES

        if name not in SAMPLES:
            raise ConvExplorerError(f"no sample image '{name}'; there are {', '.join(SAMPLES)}")
        self.set_image(SAMPLES[name](), name)

    # export and messages
    def export_view(self, path: str) -> bool:
        """Save the current tab's view as a PNG; False (with a message) if it cannot be written."""
        ok = self.tabs.currentWidget().grab().save(str(path), "PNG")
        if not ok:
            self._set_message(f"cannot save {Path(path).name}: check the folder exists and is writable")
        return ok

    def _on_export(self) -> None:
        name = self.tabs.tabText(self.tabs.currentIndex()).lower().replace(" ", "-")
        path, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", f"{name}.png", "PNG images (*.png)")
        if path:
            if not path.lower().endswith(".png"):
                path += ".png"
            if self.export_view(path):
                self.state.status.emit(f"saved {Path(path).name}")

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _show_error(self, message: str, details: str = "") -> None:
        self.busy_label.setText("")
        self._set_message(message)
        self.updated.emit("error")


if __name__ == "__main__":
    raise SystemExit(preview(InspectPanel))
