"""Screenshots of the Inspect panel: a photo classified by MobileNetV2, then maps, patterns (textbook and Distill),
kernels, attributions with a sanity-check row, and dataset examples (one filter, all filters)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from convexplorer.ui.panels.inspect import InspectPanel
from convexplorer.ui.panels.inspect.jobs import (
    analyse,
    attribution_map,
    dataset_examples,
    feature_vis,
    layer_maps,
    load_application,
    sanity_check,
)

#: The MobileNetV2 weights file that, when cached, makes the screenshot use ImageNet weights.
MOBILENET_WEIGHTS = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"


def prepare(panel: InspectPanel) -> None:
    """A photo classified by MobileNetV2 (ImageNet weights if cached, else random), Grad-CAM shown."""
    from convexplorer.core.workspace import keras_home
    from convexplorer.ui.tfloader import load_tensorflow_now

    load_tensorflow_now(panel.state)
    try:
        from skimage import data as skdata

        photo = skdata.chelsea().astype(np.float32) / 255.0
        name = "chelsea.png (scikit-image)"
    except ImportError:
        from convexplorer.core.samples import scene

        photo, name = scene(224), "scene (sample)"
    weights = "imagenet" if (keras_home() / "models" / MOBILENET_WEIGHTS).is_file() else None
    panel.adopt_application(load_application("MobileNetV2", weights, True))
    panel.set_image(photo, name, analyse=False)
    s = panel.subject
    if s.x is not None:
        panel.show_analysis(analyse(s.model, s.x, None, None, None, s.labels))
    panel.tabs.setCurrentIndex(3)


def variants(panel: InspectPanel) -> list[tuple[str, Callable[[], None]]]:
    """Feature maps with a receptive field, filter patterns (then Distill beside them), first-layer kernels,
    Integrated Gradients with a Grad-CAM sanity check, and dataset examples of one filter and of all filters."""
    return [
        ("feature-maps", lambda: _maps(panel)),
        ("filter-patterns", lambda: _patterns(panel)),
        ("patterns-distill-vs-plain", lambda: _distill(panel)),
        ("kernels", lambda: panel.tabs.setCurrentIndex(2)),
        ("attributions-sanity", lambda: _attributions(panel)),
        ("dataset-examples", lambda: _examples(panel, all_filters=False)),
        ("dataset-examples-all-filters", lambda: _examples(panel, all_filters=True)),
    ] + task_variants(panel)


def _maps(panel: InspectPanel) -> None:
    """A layer a sixth of the way down, channel 3 clicked above the centre."""
    panel.tabs.setCurrentIndex(0)
    tab, s = panel.maps_tab, panel.subject
    n = tab.layer_combo.count()
    if s.model is None or s.x is None or n == 0:
        return
    with tab.filling():
        tab.layer_combo.setCurrentIndex(min(n - 1, n // 6))
    tab.show_maps(*layer_maps(s.model, s.x, tab.layer_combo.currentText()))
    if tab.maps is not None:
        h, w, _c = tab.maps.shape
        tab.show_cell(min(3, tab.maps.shape[-1] - 1), h // 3, w // 2)


def _patterns(panel: InspectPanel) -> None:
    """16 patterns of a layer a quarter of the way down, computed here (20 steps)."""
    from convexplorer.core import inspect as ins

    panel.tabs.setCurrentIndex(1)
    tab = panel.patterns_tab
    n = tab.pattern_layer_combo.count()
    if panel.subject.model is None or n == 0:
        return
    tab.pattern_layer_combo.setCurrentIndex(min(n - 1, n // 4))
    layer = tab.pattern_layer_combo.currentText()
    tab.pattern_size.setValue(min(tab.pattern_size.value(), 96))
    tab.pattern_steps.setValue(20)
    tab.pattern_count.setValue(16)
    pats = ins.filter_patterns(panel.subject.model, layer, 16, steps=20, size=tab.pattern_size.value(),
                               step_size=tab.pattern_step_size.value())
    tab.show_patterns(layer, pats)
    tab.pattern_progress.setRange(0, 1)
    tab.pattern_progress.setValue(1)


def _distill(panel: InspectPanel) -> None:
    """Distill-regularized patterns of the same layer beside the textbook ones (8 filters, 48 steps)."""
    tab = panel.patterns_tab
    if panel.subject.model is None or not tab.pattern_layer_combo.currentText():
        return
    panel.tabs.setCurrentWidget(tab)
    tab.set_regularization("distill")
    tab.pattern_steps.setValue(48)
    tab.pattern_count.setValue(8)
    layer = tab.pattern_layer_combo.currentText()
    out = feature_vis(panel.subject.model, "channel", layer, 0, 8, "distill",
                      {"steps": 48, "learning_rate": tab.pattern_step_size.value(), "size": tab.pattern_size.value()})
    tab.show_visualization(out)
    tab.pattern_progress.setRange(0, 1)
    tab.pattern_progress.setValue(1)


def _attributions(panel: InspectPanel) -> None:
    """Integrated Gradients (16 steps) over the photo, and the sanity check of Grad-CAM over its top 4 layers."""
    s, tab = panel.subject, panel.attributions_tab
    panel.tabs.setCurrentWidget(tab)
    if not s.ready():
        return
    tab.set_method("integrated_gradients")
    tab.options.steps_spin.setValue(16)
    tab.show_map(attribution_map(s.model, s.x, "integrated_gradients", None, None, tab.method_options(), s.app_name),
                 s.label)
    tab.job.show_progress(1, 1, "")
    tab.sanity_layers.setValue(4)
    tab.show_sanity(sanity_check(s.model, s.x, "gradcam", None, None, {}, 4, s.app_name))
    tab.sanity_job.show_progress(6, 6, "")


def _examples(panel: InspectPanel, all_filters: bool) -> None:
    """The built-in Shapes set through the network: filter 7 of the last conv, or every filter of the first."""
    s, tab = panel.subject, panel.examples_tab
    panel.tabs.setCurrentWidget(tab)
    n = tab.layer_combo.count()
    if s.model is None or n == 0:
        return
    if all_filters:
        tab.mode_combo.setCurrentIndex(1)
        with tab.filling():
            tab.layer_combo.setCurrentIndex(0)
    else:
        tab.mode_combo.setCurrentIndex(0)
        with tab.filling():
            tab.layer_combo.setCurrentIndex(n - 1)
            tab.filter_spin.setRange(0, 1279)
            tab.filter_spin.setValue(7)
    asked = tab.request()
    out = dataset_examples(s.model, asked.layer, panel.examples_source(), asked.k, asked.filter_index, s.app_name)
    tab.show_examples(out)
    tab.job.show_progress(out["images"], out["images"], "")


# --- detectors and segmenters (hand-made, untrained models: see screenshots/task_models.py) -------------------------


def _task_scene(panel: InspectPanel, task: str, index: int = 7) -> None:
    """A Shapes scene set, an "oracle" model built from image ``index``'s ground truth (untrained: its output is SET
    to that image's true boxes or mask, so that the picture is meaningful), the image opened with its ground truth."""
    from convexplorer.core.datasets import ShapesDetectionDataset, ShapesSegmentationDataset
    from convexplorer.core.detection import dataset_anchors
    from convexplorer.ui.panels.inspect.task_jobs import class_names, task_prediction, truth_of
    from convexplorer.ui.screenshots import task_models as tm

    ti = panel.task_inspector
    if task == "detection":
        ds = ShapesDetectionDataset(n=300, size=64, seed=0).with_split(0.2, 0.1)
        anchors = dataset_anchors(ds.object_fractions(), k=3)
        model = tm.oracle_detector(ds, index, anchors, grid=8)
        label = "tiny detector (untrained; output set to this image's true boxes)"
        ti.given_anchors = anchors
    else:
        ds = ShapesSegmentationDataset(n=300, size=64, seed=0).with_split(0.2, 0.1)
        model = tm.oracle_segmenter(ds, index)
        label = "tiny segmenter (untrained; output set to this image's true mask)"
    if not hasattr(panel, "_screenshot_dataset"):
        panel._screenshot_dataset = panel.state.dataset  # put back by finish()
    panel.state.dataset = ds  # not announced: the other panels keep their data set
    panel.set_model(model, label)
    panel.set_image(ds.image(index), f"{ds.name} #{index}", analyse=False, origin=(ds, index))
    s = panel.subject
    panel.show_analysis(analyse(s.model, s.x, None, None, None, s.labels))
    names = class_names(ti.info, ds)
    ti.tab.show_result(task_prediction(s.model, s.x, s.image, ti.info, ti.anchors, names, truth_of(ds, index)))
    for kind in ("prediction", "analysis", "task", "task_cam"):
        panel.requests.next_token(kind)  # drop what set_model started for the previous image
    panel.busy_label.setText("")
    panel.tabs.setCurrentWidget(ti.tab)


def _detection(panel: InspectPanel) -> None:
    """Boxes with class and score, grid lines, objectness and the anchors at the chosen box, its Grad-CAM."""
    from convexplorer.ui.panels.inspect.task_jobs import task_cam

    _task_scene(panel, "detection")
    tab, s = panel.task_inspector.tab, panel.subject
    tab.conf_slider.setValue(40)
    tab.grid_check.setChecked(True)
    tab.heat_check.setChecked(True)
    tab.anchors_check.setChecked(True)
    tab._filling = True
    tab.cam_combo.setCurrentIndex(1)
    tab._filling = False
    tab.redraw()
    d = tab.detections
    if len(d["boxes"]):
        tab.show_cam(task_cam(s.model, s.x, tab.result, 0, list(d["cells"]), list(d["classes"])))


def _segmentation(panel: InspectPanel) -> None:
    """The predicted mask and the true one, opacity 60 %, and Grad-CAM of the first shape class."""
    from convexplorer.ui.panels.inspect.task_jobs import task_cam

    _task_scene(panel, "segmentation")
    tab, s = panel.task_inspector.tab, panel.subject
    tab.opacity_slider.setValue(60)
    tab.show_cam(task_cam(s.model, s.x, tab.result, max(0, tab.cam_combo.currentIndex()), [], []))


def _worst(panel: InspectPanel) -> None:
    """The worst validation images of the segmentation scenes for the same oracle (right on one image only)."""
    from convexplorer.ui.panels.inspect.task_jobs import worst_gallery

    ti = panel.task_inspector
    if ti.info is None or ti.info.task == "classification":
        _task_scene(panel, "segmentation")
    worst = ti.worst
    worst.k_spin.setValue(18)
    out = worst_gallery(panel.subject.model, panel.state.dataset, ti.info, ti.anchors, 0.5, 0.45,
                        worst.k_spin.value(), "validation")
    worst.show_worst(out)
    worst.job.show_progress(out["count"], out["count"], "")
    panel.tabs.setCurrentWidget(worst)


def task_variants(panel: InspectPanel) -> list[tuple[str, Callable[[], None]]]:
    """The detector's boxes, the segmenter's masks and the worst-IoU gallery."""
    return [
        ("detection-boxes", lambda: _detection(panel)),
        ("segmentation-overlay", lambda: _segmentation(panel)),
        ("worst-iou-gallery", lambda: _worst(panel)),
    ]


def finish(panel: InspectPanel) -> None:
    """Give the state its data set back (the panels shot after this one use it)."""
    if hasattr(panel, "_screenshot_dataset"):
        panel.state.dataset = panel._screenshot_dataset
        del panel._screenshot_dataset
