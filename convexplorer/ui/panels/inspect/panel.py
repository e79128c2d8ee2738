"""InspectPanel: builds the parts of the Inspect panel and wires them to the state and to workers.

The panel holds the subject (model and image), starts the core calls through
``ui/workers.py`` and hands each result to the part that draws it. Its child
widgets are the parts' widgets, reachable under the same names as before the
split (``panel.layer_combo``, ``panel.patterns_button``...), for lessons and tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QPushButton, QScrollArea, QSplitter, QTabWidget, QWidget

from convexplorer.core.errors import ConvExplorerError
from convexplorer.ui.panels.base import Panel
from convexplorer.ui.panels.inspect.attributions_tab import AttributionsTab
from convexplorer.ui.panels.inspect.cam_tab import CamTab
from convexplorer.ui.panels.inspect.examples_tab import ExamplesTab
from convexplorer.ui.panels.inspect.first_photo import DefaultClassifier
from convexplorer.ui.panels.inspect.job_bar import JobBar
from convexplorer.ui.panels.inspect.jobs import (
    BUILTIN_EXAMPLES,
    analyse,
    attribution_map,
    cam_and_saliency,
    dataset_examples,
    feature_vis,
    filter_count,
    layer_maps,
    load_application,
    open_model_file,
    prediction,
    sanity_check,
)
from convexplorer.ui.panels.inspect.kernels_tab import KernelGrid
from convexplorer.ui.panels.inspect.latest import LatestOnly
from convexplorer.ui.panels.inspect.maps_tab import FeatureMapsTab
from convexplorer.ui.panels.inspect.patterns_tab import PatternsTab
from convexplorer.ui.panels.inspect.side_column import SideColumn
from convexplorer.ui.panels.inspect.subject import Subject
from convexplorer.ui.panels.inspect.task_controller import TaskInspector
from convexplorer.ui.workers import Worker


class InspectPanel(Panel):
    """Predictions, feature maps, filter patterns, kernels, Grad-CAM, attributions and dataset examples of a model."""

    title = "Inspect"
    key = "inspect"
    needs_tensorflow = True

    #: A view was brought up to date: "model", "analysis", "maps", "cam", "patterns", "examples", "attribution",
    #: "sanity" (or "error").
    updated = Signal(str)

    def __init__(self, state, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        #: The model and the image under inspection.
        self.subject = Subject()
        self._build_parts()
        self._expose_widgets()
        #: Analysis, maps, Grad-CAM, pattern, example and attribution requests: only the newest of each kind is drawn.
        self.requests = LatestOnly(self.run_in_thread, self.busy_label.setText, self.updated.emit, self._show_error)
        #: A photo opened with no model is classified by the default ImageNet network.
        self.default_classifier = DefaultClassifier(self, self.side.offer)
        self._wire()
        state.model_changed.connect(self._on_model_changed)
        state.image_opened.connect(self.load_image_file)
        state.image_array_opened.connect(self._on_image_array)
        state.dataset_changed.connect(lambda _d: self._show_data_source())
        state.dataset_changed.connect(lambda _d: self.task_inspector.dataset_changed())
        self._show_data_source()
        self._set_tf_enabled(state.tf_ready)
        if state.tf_ready and state.model is not None:
            self._on_model_changed(state.model, state.model_label)
        if state.tf_ready:
            self.default_classifier.prepare()

    # --- parts ---------------------------------------------------------------------------------
    def _build_parts(self) -> None:
        from convexplorer.ui.widgets.timeline_view import TimelineView

        root = QHBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter)
        self.side = SideColumn()
        # The column scrolls when the window is short, instead of squeezing its boxes over each other.
        self.side_scroll = QScrollArea()
        self.side_scroll.setWidget(self.side)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.side_scroll.verticalScrollBar().sizeHint().width()
        self.side_scroll.setMinimumWidth(self.side.minimumWidth() + bar)
        self.side_scroll.setMaximumWidth(self.side.maximumWidth() + bar)
        splitter.addWidget(self.side_scroll)
        self.tabs = QTabWidget()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the view in the current tab as a PNG image")
        self.tabs.setCornerWidget(self.export_button)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([320, 960])
        self.maps_tab = FeatureMapsTab()
        self.patterns_tab = PatternsTab()
        self.kernel_grid = KernelGrid()
        self.cam_tab = CamTab()
        self.attributions_tab = AttributionsTab()
        self.examples_tab = ExamplesTab()
        self.timeline_view = TimelineView()  # the learning timeline of the current (or last) training run
        for tab, text in ((self.maps_tab, "Feature maps"), (self.patterns_tab, "Filter patterns"),
                          (self.kernel_grid, "First-layer kernels"), (self.cam_tab, "Grad-CAM and saliency"),
                          (self.attributions_tab, "Attributions"), (self.examples_tab, "Dataset examples"),
                          (self.timeline_view, "Timeline")):
            self.tabs.addTab(tab, text)
        self.state.timeline_changed.connect(lambda tl, live: self.timeline_view.set_timeline(tl, live=live))
        #: Detectors and segmenters: boxes or masks, ground truth, Grad-CAM of a box; the worst images by IoU.
        self.task_inspector = TaskInspector(self)

    def _expose_widgets(self) -> None:
        """The parts' widgets under the panel's names, as lessons, tests and the main window use them."""
        self.model_box = self.side.model_box
        self.model_label = self.model_box.model_label
        self.open_model_button = self.model_box.open_model_button
        self.app_combo = self.model_box.app_combo
        self.weights_combo = self.model_box.weights_combo
        self.include_top_check = self.model_box.include_top_check
        self.load_app_button = self.model_box.load_app_button
        self.model_progress = self.model_box.model_progress
        self.model_cancel_button = self.model_box.model_cancel_button
        self.image_box = self.side.image_box
        self.open_image_button = self.image_box.open_image_button
        self.image_label = self.image_box.image_label
        self.input_thumb = self.image_box.input_thumb
        self.topk_chart = self.side.topk_chart
        self.head_combo = self.side.head_combo
        self.head_row = self.side.head_row
        self.box_view = self.side.box_view
        self.message = self.side.message
        self.busy_label = self.side.busy_label
        self.prev_layer_button = self.maps_tab.prev_layer_button
        self.next_layer_button = self.maps_tab.next_layer_button
        self.layer_combo = self.maps_tab.layer_combo
        self.scale_combo = self.maps_tab.scale_combo
        self.maps_grid = self.maps_tab.maps_grid
        self.enlarged_view = self.maps_tab.enlarged_view
        self.rf_view = self.maps_tab.rf_view
        self.maps_hint = self.maps_tab.maps_hint
        self.pattern_layer_combo = self.patterns_tab.pattern_layer_combo
        self.pattern_count = self.patterns_tab.pattern_count
        self.pattern_steps = self.patterns_tab.pattern_steps
        self.pattern_step_size = self.patterns_tab.pattern_step_size
        self.pattern_size = self.patterns_tab.pattern_size
        self.patterns_button = self.patterns_tab.patterns_button
        self.pattern_cancel_button = self.patterns_tab.pattern_cancel_button
        self.pattern_progress = self.patterns_tab.pattern_progress
        self.pattern_grid = self.patterns_tab.pattern_grid
        self.cam_class_combo = self.cam_tab.cam_class_combo
        self.cam_layer_combo = self.cam_tab.cam_layer_combo
        self.cam_opacity = self.cam_tab.cam_opacity
        self.cam_cmap_combo = self.cam_tab.cam_cmap_combo
        self.cam_view = self.cam_tab.cam_view
        self.saliency_view = self.cam_tab.saliency_view
        self.cam_info = self.cam_tab.cam_info
        self.regularization_combo = self.patterns_tab.regularization_combo
        self.objective_combo = self.patterns_tab.objective_combo
        self.diversity_spin = self.patterns_tab.diversity_spin
        self.distill_grid = self.patterns_tab.distill_grid
        self.examples_layer_combo = self.examples_tab.layer_combo
        self.examples_filter_spin = self.examples_tab.filter_spin
        self.examples_k_spin = self.examples_tab.k_spin
        self.examples_mode_combo = self.examples_tab.mode_combo
        self.examples_button = self.examples_tab.examples_button
        self.examples_cancel_button = self.examples_tab.examples_cancel_button
        self.examples_progress = self.examples_tab.examples_progress
        self.examples_grid = self.examples_tab.grid
        self.attr_method_combo = self.attributions_tab.method_combo
        self.attr_class_combo = self.attributions_tab.class_combo
        self.attr_button = self.attributions_tab.attr_button
        self.attr_cancel_button = self.attributions_tab.attr_cancel_button
        self.attr_view = self.attributions_tab.view
        self.ig_line = self.attributions_tab.ig_line
        self.sanity_button = self.attributions_tab.sanity_button
        self.sanity_cancel_button = self.attributions_tab.sanity_cancel_button
        self.sanity_layers_spin = self.attributions_tab.sanity_layers
        self.sanity_row = self.attributions_tab.sanity_row

    def _wire(self) -> None:
        self.side.head_chosen.connect(self._on_head_chosen)
        self.model_box.open_file_requested.connect(self.load_model_file)
        self.model_box.application_requested.connect(self.load_application)
        self.image_box.open_requested.connect(self.load_image_file)
        self.maps_tab.layer_chosen.connect(self._on_layer_chosen)
        self.patterns_tab.compute_requested.connect(self._on_patterns)
        self.cam_tab.settings_changed.connect(self._on_cam_settings)
        self.examples_tab.compute_requested.connect(self._on_examples)
        self.examples_tab.layer_chosen.connect(self._on_examples_layer)
        self.examples_tab.example_clicked.connect(self._on_example_clicked)
        self.attributions_tab.compute_requested.connect(self._on_attribution)
        self.attributions_tab.sanity_requested.connect(self._on_sanity)
        self.export_button.clicked.connect(self._on_export)
        self.side.offer.shown.connect(
            lambda: QTimer.singleShot(0, self, lambda: self.side_scroll.ensureWidgetVisible(self.side.offer)))
        self.side.cam_link.clicked.connect(lambda: self.tabs.setCurrentWidget(self.cam_tab))
        self.side.maps_link.clicked.connect(lambda: self.tabs.setCurrentWidget(self.maps_tab))

    def _set_tf_enabled(self, ready: bool) -> None:
        self.model_box.set_tf_ready(ready)
        self.patterns_tab.set_tf_ready(ready)
        self.examples_tab.set_tf_ready(ready)
        self.attributions_tab.set_tf_ready(ready)
        self.task_inspector.worst.set_tf_ready(ready)

    # --- what tests read: the subject and the running workers ----------------------------------
    @property
    def _model(self) -> Any:
        return self.subject.model

    @property
    def _raw_image(self) -> np.ndarray | None:
        return self.subject.raw_image

    @property
    def _image(self) -> np.ndarray | None:
        return self.subject.image

    @property
    def _x(self) -> np.ndarray | None:
        return self.subject.x

    @property
    def _maps(self) -> np.ndarray | None:
        return self.maps_tab.maps

    @property
    def _model_worker(self) -> Worker | None:
        return self.model_box.worker

    @property
    def _pattern_worker(self) -> Worker | None:
        return self.patterns_tab.worker

    # --- Panel hooks ---------------------------------------------------------------------------
    def on_tensorflow_ready(self) -> None:
        """Enable the model controls; adopt a model that arrived while TF was loading."""
        self._set_tf_enabled(True)
        if self.subject.model is None and self.state.model is not None:
            self._on_model_changed(self.state.model, self.state.model_label)
        else:
            self._refresh()
        self.default_classifier.tensorflow_ready()

    def open_path(self, path: Path) -> bool:
        """Take image files (dropped or from the command line)."""
        from convexplorer.core.images import is_image_path

        if not is_image_path(path):
            return False
        self.load_image_file(str(path))
        return True

    def shutdown(self) -> None:
        """Cancel running work (patterns, downloads) and join the workers."""
        self.timeline_view.shutdown()
        super().shutdown()

    # --- model ---------------------------------------------------------------------------------
    def set_model(self, model: Any, label: str, app_name: str | None = None, labels: list[str] | None = None) -> None:
        """Inspect ``model`` from now on (``app_name``: its keras.applications preprocessing)."""
        # Without labels: the current data set's class names, when they match the model's outputs.
        names = getattr(getattr(self.state, "dataset", None), "class_names", None)
        self.subject.set_model(model, label, app_name, labels, names)
        self.side.set_heads([], None)  # the analysis offers the new model's heads
        self.side.show_kind("classes")
        self.side.box_view.clear()
        self.side.why_row.setVisible(False)  # until the new model's prediction is drawn
        self.side.offer.setVisible(False)
        self.default_classifier.standby = None  # another model is inspected: no need to keep it
        self.maps_tab.set_model(model)
        self.task_inspector.model_changed(model)
        # The old model's layer names mean nothing to this one: the analysis offers the new ones.
        self.examples_tab.set_layers([])
        self.attributions_tab.set_layers([], None)
        self._set_message("")
        try:
            shape = self.subject.model_input_shape()
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            shape = None
        if shape and shape[0]:
            self.patterns_tab.fit_size(int(shape[0]))
        self.model_box.show_model(label, shape)
        self._fit_image()
        self.updated.emit("model")
        self._refresh()

    def _on_model_changed(self, model: Any, label: str) -> None:
        if model is None or not self.state.tf_ready:
            return
        self.set_model(model, label or getattr(model, "name", "model"))

    def load_model_file(self, path: str) -> None:
        """Open a .keras file in a worker and inspect it."""
        self._run_model_job(open_model_file, path, done=lambda m: self.set_model(m, Path(path).name))

    def load_application(self, name: str, weights: str | None, include_top: bool = True,
                         input_shape: tuple[int, int, int] | None = None) -> None:
        """Build a keras.applications network in a worker (downloading ImageNet weights if asked)."""
        self._run_model_job(load_application, name, weights, include_top, input_shape, done=self.adopt_application)

    def adopt_application(self, info: dict) -> None:
        """Inspect the network that ``jobs.load_application`` built."""
        label = f"{info['name']} · {info['weights']}"
        self.set_model(info["model"], label, app_name=info["name"], labels=info["labels"])

    def _run_model_job(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None]) -> None:
        worker = self.run_in_thread(fn, *args)
        if worker is None:
            return
        self.model_box.begin()
        self._set_message("")
        self.model_box.watch(worker)
        worker.result.connect(done)
        worker.error.connect(self._show_error)

    # --- image ---------------------------------------------------------------------------------
    def _on_image_array(self, array: Any, label: str) -> None:
        origin, self.state.image_origin = getattr(self.state, "image_origin", None), None
        self.set_image(np.asarray(array, np.float32), label or "image", origin=origin)

    def load_image_file(self, path: str) -> bool:
        """Open an image file (validated by core.images); errors appear in the panel."""
        from convexplorer.core.images import load_image

        try:
            img = load_image(path)
        except ConvExplorerError as exc:
            self._set_message(str(exc))
            return False
        self.set_image(img, Path(path).name)
        self.default_classifier.photo_opened()
        return True

    def set_image(self, image: np.ndarray, name: str, analyse: bool = True, origin: tuple | None = None) -> None:
        """Use ``image`` (H x W x C in [0, 1]); it is fitted to the model and classified. ``origin``: (data set,
        index) it comes from, whose boxes or mask are drawn as the ground truth."""
        self.subject.set_image(image, name)
        self.task_inspector.image_changed(origin)
        self._set_message("")
        self._fit_image()
        if analyse:
            self._refresh()

    def _fit_image(self) -> None:
        s = self.subject
        if s.raw_image is None:
            return
        try:
            shape = s.fit()
        except ConvExplorerError as exc:
            self.maps_tab.set_input(None)
            self._set_message(str(exc))
            return
        self.image_box.show_image(s.image, s.image_name, s.raw_image.shape[:2], shape)
        self.maps_tab.set_input(s.image)
        self.cam_tab.set_base(s.image)
        self.attributions_tab.set_base(s.image)

    # --- analysis ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Recompute everything for the current model and image (in a worker)."""
        s = self.subject
        if not s.ready() or not self.state.tf_ready:
            return
        self.topk_chart.clear("Classifying…")
        self.task_inspector.refresh()
        # The top 5 first (one forward pass), then the maps, Grad-CAM and saliency.
        self.requests.submit("prediction", prediction, s.model, s.x, s.labels, 5, self.side.chosen_head(),
                             on_result=self._show_prediction)

    def _show_prediction(self, out: dict) -> None:
        s = self.subject
        if out["topk"] is not None and not self.side.topk_chart.isHidden():
            note = "random weights: scores mean nothing" if "random weights" in s.model_label else ""
            self.topk_chart.set_predictions(out["topk"], note)
        if not s.ready():
            return
        self.requests.submit(
            "analysis", analyse, s.model, s.x, self.layer_combo.currentText() or None,
            self.cam_tab.cam_class, self.cam_tab.chosen_layer(), s.labels, 5, self.side.chosen_head(),
            on_result=self.show_analysis,
        )

    def _on_head_chosen(self, name: str) -> None:
        """Another head: its prediction, Grad-CAM and saliency (the class or coordinate picked goes back to the default)."""
        self.cam_tab.cam_class = None
        self._refresh()

    def chosen_head(self) -> str | None:
        """The head shown (None for a model with one output)."""
        return self.side.chosen_head()

    def show_analysis(self, out: dict) -> None:
        """Hand the result of ``jobs.analyse`` to every part."""
        self.subject.analysis = out
        heads = out.get("heads") or []
        self.side.set_heads(heads, out.get("head"))
        self.side.show_kind(out.get("head_kind", "classes"))
        self.cam_tab.head_named = len(heads) > 1
        self.maps_tab.set_layers(out["spatial"], out["maps"][0] if out["maps"] else None)
        self.patterns_tab.set_layers(out["convs"] or out["spatial"])
        self.examples_tab.set_layers(out["convs"] or out["spatial"])
        cam = out.get("cam")
        self.cam_tab.set_layers(out["spatial"], cam.layer_name if cam else None)
        self.attributions_tab.set_layers(out["spatial"], cam.layer_name if cam else None)
        if out.get("box") is not None:
            self.cam_tab.set_box_targets()
            self.attributions_tab.set_box_targets()
            self.box_view.show_box(self.subject.image, out["box"], out["head"], self.task_inspector.true_box())
        elif out["probs"] is not None:
            self.cam_tab.set_classes(len(out["probs"]), self.subject.label)
            self.attributions_tab.set_classes(len(out["probs"]), self.subject.label)
        if out["topk"] is not None:
            note = "random weights: scores mean nothing" if "random weights" in self.subject.model_label else ""
            self.topk_chart.set_predictions(out["topk"], note)
        elif self.task_inspector.active():
            self.topk_chart.clear(self.task_inspector.summary())
            self.side.pred_box.setTitle("Prediction")
        else:
            self.topk_chart.clear(out.get("topk_error", "This model is not a classifier."))
        self.side.why_row.setVisible(out["topk"] is not None or out.get("box") is not None)
        if out["maps"] is not None:
            self.maps_tab.show_maps(*out["maps"])
        self.kernel_grid.show_kernels(out["kernels"])
        self._show_cam(out)

    def _on_layer_chosen(self, name: str) -> None:
        s = self.subject
        if s.ready():
            self.requests.submit("maps", layer_maps, s.model, s.x, name, on_result=lambda r: self.maps_tab.show_maps(*r))

    def _on_cam_settings(self) -> None:
        s = self.subject
        if not s.ready() or self.cam_tab.class_count == 0:
            return
        cam_class = self.cam_tab.take_class()
        self.requests.submit("cam", cam_and_saliency, s.model, s.x, cam_class, self.cam_tab.chosen_layer(),
                             self.side.chosen_head(), on_result=self._show_cam)

    def _show_cam(self, out: dict) -> None:
        cam = out.get("cam")
        classes = cam is not None and getattr(cam, "kind", "classes") == "classes"
        self.cam_tab.show_cam(cam, out.get("saliency"), self.subject.label(cam.class_index) if classes else None)
        if classes:
            self.topk_chart.set_highlight(cam.class_index)

    def _on_patterns(self) -> None:
        from convexplorer.core import inspect as ins

        model = self.subject.model
        if model is None:
            self._set_message("Load a model first.")
            return
        asked = self.patterns_tab.settings()
        layer, n = asked.layer, asked.count
        if not asked.plain():
            self._on_feature_vis(asked)
            return
        if not layer:
            self._set_message("This model has no convolution layer to show patterns of.")
            return
        self.patterns_tab.cancel()  # a new search replaces a running one
        filters = filter_count(model, layer)
        if filters is not None and n > filters:
            n = filters  # asking for more patterns than the layer has filters: show them all
            self._set_message(f"{layer} has {filters} filters: showing all {filters}.")
        token = self.requests.next_token("patterns")
        worker = self.run_in_thread(
            ins.filter_patterns, model, layer, n, steps=asked.steps, size=asked.size, step_size=asked.step_size,
        )
        if worker is None:
            return
        self.patterns_tab.begin()
        self.patterns_tab.watch(worker)
        worker.result.connect(lambda v, t=token, ly=layer: self.requests.deliver(
            "patterns", t, (ly, v), lambda r: self.patterns_tab.show_patterns(*r)))
        worker.error.connect(self._show_error)

    def _on_feature_vis(self, asked: Any) -> None:
        """Feature visualization (``core.featvis``) with the regularization and objective picked."""
        model, logit = self.subject.model, asked.objective == "logit"
        if not logit and not asked.layer:
            self._set_message("This model has no convolution layer to show patterns of.")
            return
        total = self.cam_tab.class_count if logit else filter_count(model, asked.layer)
        if logit and (total == 0 or self.cam_tab.kind != "classes"):
            self._set_message("Class logits need a classifier: open an image so that the model's classes are known.")
            return
        n, start = asked.count, asked.start
        if total is not None and start >= total:
            self._set_message(f"there are {total} {'classes' if logit else 'filters'}: pick a first one below {total}")
            return
        if total is not None and start + n > total:
            n = total - start
            self._set_message(f"showing {'classes' if logit else 'filters'} {start}–{total - 1} of {total}.")
        else:
            self._set_message("")
        self.patterns_tab.cancel()
        changes = {"steps": asked.steps, "learning_rate": asked.step_size, "diversity": asked.diversity}
        if not logit:
            changes["size"] = asked.size
        token = self.requests.next_token("patterns")
        worker = self.run_in_thread(feature_vis, model, asked.objective, asked.layer or None, start, n, asked.preset,
                                    changes, asked.per_objective, self.side.chosen_head())
        if worker is None:
            return
        self.patterns_tab.begin()
        self.patterns_tab.watch(worker)
        worker.result.connect(lambda v, t=token: self.requests.deliver(
            "patterns", t, v, self.patterns_tab.show_visualization))
        worker.error.connect(lambda m, d, t=token: self.requests.is_current("patterns", t) and self._show_error(m, d))

    # --- dataset examples, attributions, the sanity check ---------------------------------------
    def _start_job(self, kind: str, bar: JobBar, fn: Callable[..., Any], *args: Any,
                   on_result: Callable[[Any], None]) -> Any:
        """Run ``fn`` for a tab with progress and cancel; only the newest request of ``kind`` is drawn."""
        bar.cancel()  # a new request replaces a running one
        token = self.requests.next_token(kind)
        worker = self.run_in_thread(fn, *args)
        if worker is None:
            return None
        self._set_message("")
        bar.watch(worker)
        worker.result.connect(lambda v, t=token: self.requests.deliver(kind, t, v, on_result))
        worker.error.connect(lambda m, d, t=token: self.requests.is_current(kind, t) and self._show_error(m, d))
        return worker

    def examples_source(self) -> Any:
        """The images the examples tab scans: the Data panel's data set (None: the built-in Shapes set)."""
        return getattr(self.state, "dataset", None)

    def _show_data_source(self) -> None:
        ds = self.examples_source()
        if ds is None:
            n, side = BUILTIN_EXAMPLES
            self.examples_tab.set_data(f"No data set loaded: the built-in Shapes set ({n} images of {side}x{side}) is "
                                       "used. Load another in the Data panel (built-in, a folder or a download).")
        else:
            name = getattr(ds, "name", "") or type(ds).__name__
            try:
                count = f", {len(ds)} images"
            except TypeError:
                count = ""
            self.examples_tab.set_data(f"Data set: {name}{count} (from the Data panel); each image is fitted "
                                       "to the model's input as the image on the left is.")

    def _on_examples_layer(self, name: str) -> None:
        if self.subject.model is not None and name:
            self.examples_tab.set_filter_count(filter_count(self.subject.model, name))

    def _on_examples(self) -> None:
        s = self.subject
        if s.model is None:
            self._set_message("Load a model first.")
            return
        asked = self.examples_tab.request()
        if not asked.layer:
            self._set_message("Open an image first: the layers are listed once the model has seen one.")
            return
        worker = self._start_job("examples", self.examples_tab.job, dataset_examples, s.model, asked.layer,
                                 self.examples_source(), asked.k, asked.filter_index, s.app_name,
                                 on_result=self.examples_tab.show_examples)
        if worker is not None:
            self.examples_tab.caption.setText("Looking through the data set…")

    def _on_example_clicked(self, index: int, position: int) -> None:
        """Open example ``index`` (as the model was fed it) in Inspect."""
        r = self.examples_tab.result
        if r is None:
            return
        tile = r["tiles"][position]
        name = getattr(r["source"], "name", "") or "data set"
        self.set_image(tile["image"], f"{name} #{index}", origin=(r["source"], index))

    def _on_attribution(self) -> None:
        s, tab = self.subject, self.attributions_tab
        if not s.ready():
            self._set_message("Load a model and open an image first.")
            return
        self._start_job("attribution", tab.job, attribution_map, s.model, s.x, tab.method(), tab.chosen_class(),
                        self.side.chosen_head(), tab.method_options(), s.app_name,
                        on_result=lambda r: tab.show_map(r, s.label))

    def _on_sanity(self) -> None:
        s, tab = self.subject, self.attributions_tab
        if not s.ready():
            self._set_message("Load a model and open an image first.")
            return
        tab.sanity_info.setText("Randomizing the top layers one after another…")
        self._start_job("sanity", tab.sanity_job, sanity_check, s.model, s.x, tab.method(), tab.chosen_class(),
                        self.side.chosen_head(), tab.method_options(), tab.sanity_layers.value(), s.app_name,
                        on_result=tab.show_sanity)

    # --- read-outs for lessons and tests --------------------------------------------------------
    def has_model(self) -> bool:
        """Whether a model is loaded."""
        return self.subject.model is not None

    def has_image(self) -> bool:
        """Whether an image is loaded."""
        return self.subject.raw_image is not None

    def model_ready(self) -> bool:
        """Whether a model is loaded and no other is being loaded."""
        return self.has_model() and not (self.model_box.worker is not None and self.model_box.worker.is_running())

    def analysed(self) -> bool:
        """Whether the current model and image have been classified and drawn."""
        return self.subject.analysis is not None and self.has_model() and self.has_image()

    def patterns_shown(self) -> int:
        """How many filter patterns are on screen."""
        return self.patterns_tab.shown

    def examples_shown(self) -> int:
        """How many dataset examples are on screen."""
        return self.examples_tab.shown()

    def attribution_shown(self) -> bool:
        """Whether an attribution map of the current image is drawn."""
        return self.attributions_tab.result is not None

    def sanity_shown(self) -> int:
        """How many maps of randomized layers the sanity check shows."""
        return self.attributions_tab.shown()

    def sanity_method(self) -> str:
        """The method of the sanity check on screen ("" for none)."""
        r = self.attributions_tab.sanity
        return r["method"] if r is not None and self.sanity_shown() else ""

    def worst_shown(self) -> int:
        """How many images the "Worst IoU" gallery shows."""
        return len(self.task_inspector.worst.shown())

    def open_worst(self, position: int = 0) -> None:
        """Open the ``position``-th worst image in "Boxes/masks" (as a click on it does), finding them first if needed."""
        self.task_inspector.show_worst_image(position)

    def task_result_shown(self) -> bool:
        """Whether the "Boxes/masks" tab draws a prediction of the current image."""
        return self.task_inspector.tab.result is not None

    def use_sample(self, name: str) -> None:
        """Use one of the built-in sample images (``convexplorer.core.samples.SAMPLES``)."""
        from convexplorer.core.samples import SAMPLES

        if name not in SAMPLES:
            raise ConvExplorerError(f"no sample image '{name}'; there are {', '.join(SAMPLES)}")
        self.set_image(SAMPLES[name](), name)

    # --- export and messages -------------------------------------------------------------------
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
        self.side.set_message(text)
        if text:  # scrolled into view when the column is taller than the window
            QTimer.singleShot(0, self, lambda: self.side_scroll.ensureWidgetVisible(self.side.message_area))

    def _show_error(self, message: str, details: str = "") -> None:
        self.busy_label.setText("")
        self._set_message(message)
        if not self.has_model():
            self.topk_chart.clear("No model yet.")
        self.updated.emit("error")
