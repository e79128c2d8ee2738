"""Each task in one window, as a user clicks through it: the Data panel's Shapes set (with augmentation that moves
the boxes or masks), the Builder's preset, Training with its task metric, and the overlay Inspect draws for a sample
sent from the Data panel, checked against the trained model's own output decoded here."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core.datasets.augmentation import AugmentationSpec  # noqa: E402
from convexplorer.core.detection import decode_grid  # noqa: E402
from convexplorer.core.metrics import non_max_suppression  # noqa: E402
from convexplorer.core.overlays import blend_mask  # noqa: E402
from convexplorer.core.runs import read_run  # noqa: E402

#: The window does not write its settings (tests/ui/conftest.py: module_window).
KEEP_SETTINGS = False
WINDOW_SIZE = (1400, 900)
SIZE = 32
TIMEOUT = 300_000

#: (Data panel source, Builder preset, the task Inspect reads, its validation metric, augmentation in the Data panel)
CASES = [
    ("shapes", "Shapes: class + box", "localization", "val_iou", AugmentationSpec(horizontal_flip=True, rotation=10)),
    ("shapes_segmentation", "Shapes: FCN segmenter", "segmentation", "val_mean_iou", AugmentationSpec(vertical_flip=True)),
    ("shapes_detection", "Shapes: YOLO-style detector", "detection", "val_ap50", AugmentationSpec(horizontal_flip=True)),
]


def _load_data(window, qtbot, key: str, task: str):
    data = window.panel("data")
    data.shapes_n_spin.setValue(200)
    data.source_combo.setCurrentIndex(data.source_combo.findData(key))
    data.load_button.click()
    qtbot.waitUntil(lambda: getattr(window.state.dataset, "task", "") == task and len(window.state.dataset) == 200,
                    timeout=60_000)
    data.native_size_check.setChecked(False)
    data.height_spin.setValue(SIZE)
    data.width_spin.setValue(SIZE)
    qtbot.waitUntil(lambda: tuple(window.state.dataset.image_shape) == (SIZE, SIZE, 3), timeout=30_000)
    return data


def _decoded(raw: np.ndarray, anchors: np.ndarray, conf: float, iou: float):
    """The grid decoded at ``conf``, then class-wise NMS at ``iou`` (core.detection and core.metrics, not core.tasks)."""
    boxes, scores, classes = decode_grid(raw, anchors, conf, from_logits=True)
    keep: list[int] = []
    for k in np.unique(classes):
        sel = np.flatnonzero(classes == k)
        keep += list(sel[non_max_suppression(boxes[sel], scores[sel], iou)])
    keep_sorted = np.sort(np.asarray(keep, int))
    return boxes[keep_sorted], scores[keep_sorted], classes[keep_sorted]


@pytest.mark.allow_leaks  # the module-scoped window lives across the tests
@pytest.mark.parametrize("source, preset, task, metric, augmentation", CASES, ids=[c[2] for c in CASES])
def test_a_task_runs_from_the_data_panel_to_the_overlays(window, qtbot, source, preset, task, metric, augmentation):
    keras.utils.set_random_seed(0)
    qtbot.waitUntil(lambda: window.state.tf_ready, timeout=120_000)
    data = _load_data(window, qtbot, source, task)
    data.set_augmentation(augmentation)  # applied to the data set after a short pause, as typing is
    qtbot.waitUntil(lambda: window.state.dataset.augmentation == augmentation, timeout=10_000)
    ds = window.state.dataset

    builder = window.panel("builder")
    window.show_panel("builder")
    builder.follow_dataset_check.setChecked(True)
    builder.load_preset(preset)  # what choosing it in the Preset list does
    qtbot.waitUntil(lambda: tuple(builder.spec.input_shape) == (SIZE, SIZE, 3), timeout=10_000)
    assert builder.spec.heads and builder.spec.heads[-1].target in ("boxes", "masks")

    training = window.panel("training")
    window.show_panel("training")
    training.epochs_spin.setValue(2)
    training.batch_spin.setValue(16)
    with qtbot.waitSignal(training.training_finished, timeout=TIMEOUT):
        training.start_button.click()
    qtbot.waitUntil(lambda: not training.is_training() and not training.is_evaluating(), timeout=60_000)
    result = training.last_result
    assert result.reason == "completed", result.message
    assert metric in result.history.epoch, sorted(result.history.epoch)
    values = result.history.epoch[metric]
    assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values)

    inspect = window.panel("inspect")
    window.show_panel("inspect")
    qtbot.waitUntil(lambda: inspect.subject.model is not None and inspect.task_inspector.info is not None, timeout=60_000)
    ti = inspect.task_inspector
    assert ti.info.task == task
    model = inspect.subject.model
    i = int(ds.subset_indices("validation")[0])
    image = ds.image(i)
    if task == "localization":
        with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "analysis"):
            data.send_to_inspect(i)
        if inspect.head_combo.currentData() != "box":
            with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "analysis"):
                inspect.head_combo.setCurrentIndex(inspect.head_combo.findData("box"))
        want = np.asarray(model(image[None], training=False)["box"])[0]
        np.testing.assert_allclose(inspect.box_view.box, want, atol=1e-5)
        np.testing.assert_allclose(inspect.box_view.truth, ds.boxes(i) / SIZE, atol=1e-6)
        assert "true box · IoU" in inspect.box_view.caption.text()
        return
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "task"):
        data.send_to_inspect(i)
    assert inspect.tabs.isTabVisible(ti.tab_index) and inspect.task_result_shown()
    tab = ti.tab
    raw = np.asarray(model(image[None], training=False))[0]
    if task == "segmentation":
        tab.opacity_slider.setValue(50)
        visible = np.array([False] + [True] * (len(ds.class_names) - 1))
        np.testing.assert_allclose(tab.pred_view.base, blend_mask(image, raw.argmax(-1), 0.5, visible), atol=1e-6)
        np.testing.assert_allclose(tab.truth_view.base, blend_mask(image, ds.mask(i), 0.5, visible), atol=1e-6)
        return
    # detection: the anchors Inspect decodes with are the ones the run trained with (kept in the run's record)
    anchors = np.asarray(read_run(training.run_info.path).extra["heads"][0]["anchors"], np.float32)
    np.testing.assert_allclose(np.asarray(ti.anchors, np.float32), anchors, atol=1e-6)
    tab.conf_slider.setValue(5)  # two epochs on 140 scenes: objectness is still low
    tab.iou_slider.setValue(45)
    boxes, scores, classes = _decoded(raw, anchors, 0.05, 0.45)
    assert len(boxes) > 0
    np.testing.assert_allclose(tab.pred_view.boxes, boxes, atol=1e-5)
    np.testing.assert_allclose(tab.pred_view.scores, scores, atol=1e-5)
    assert tab.pred_view.classes.tolist() == classes.tolist()
    truth_boxes, truth_classes = ds.objects(i)
    np.testing.assert_allclose(tab.truth_view.boxes, truth_boxes / SIZE, atol=1e-6)
    assert tab.truth_view.classes.tolist() == truth_classes.tolist()
