"""Screenshots of the Inspect panel: a photo classified by MobileNetV2, then maps, patterns and kernels."""

from __future__ import annotations

from typing import Callable

import numpy as np

from convexplorer.ui.panels.inspect import InspectPanel
from convexplorer.ui.panels.inspect.jobs import analyse, layer_maps, load_application

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
    """Feature maps with a receptive field, filter patterns and first-layer kernels."""
    return [
        ("feature-maps", lambda: _maps(panel)),
        ("filter-patterns", lambda: _patterns(panel)),
        ("kernels", lambda: panel.tabs.setCurrentIndex(2)),
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
