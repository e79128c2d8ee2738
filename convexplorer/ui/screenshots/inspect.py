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
    ]


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
