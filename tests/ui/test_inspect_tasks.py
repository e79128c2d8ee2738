"""Inspect with a detector and a segmenter (small hand-made Keras models): what is drawn equals the core calls,
sliders and toggles redraw without calling the model, and the worst-images gallery is sorted by IoU."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core import tasks
from convexplorer.core.datasets import ShapesDetectionDataset, ShapesSegmentationDataset
from convexplorer.core.detection import decode_grid
from convexplorer.core.metrics import non_max_suppression, segmentation_iou
from convexplorer.core.overlays import blend_mask
from convexplorer.ui.panels.inspect import InspectPanel
from convexplorer.ui.screenshots import task_models as tm
from convexplorer.ui.state import AppState

TIMEOUT = 90_000
ANCHORS = np.array([[0.2, 0.2], [0.4, 0.3], [0.3, 0.5]], np.float32)


def _wait(qtbot, panel, kind, timeout=TIMEOUT):
    return qtbot.waitSignal(panel.updated, timeout=timeout, check_params_cb=lambda k: k == kind)


@pytest.fixture(scope="module")
def det_set():
    return ShapesDetectionDataset(n=40, size=32, seed=4).with_split(validation=0.25, test=0.0)


@pytest.fixture(scope="module")
def seg_set():
    return ShapesSegmentationDataset(n=30, size=32, seed=4).with_split(validation=0.3, test=0.0)


def _panel(qtbot, dataset, model, anchors=None):
    state = AppState()
    state.mark_tensorflow_ready()
    panel = InspectPanel(state)
    qtbot.addWidget(panel)
    panel.resize(1300, 820)
    panel.show()
    state.set_dataset(dataset)
    panel.task_inspector.given_anchors = anchors
    state.set_model(model, model.name)
    return panel


def _send(qtbot, panel, dataset, i):
    with _wait(qtbot, panel, "task"):
        panel.state.image_origin = (dataset, i)
        panel.state.image_array_opened.emit(dataset.image(i), f"#{i}")


def _expected(raw, conf, iou):
    """decode_grid at the confidence, then class-wise NMS with core.metrics (independently of core.tasks)."""
    boxes, scores, classes = decode_grid(raw, ANCHORS, conf, from_logits=True)
    keep = []
    for k in np.unique(classes):
        sel = np.flatnonzero(classes == k)
        keep += list(sel[non_max_suppression(boxes[sel], scores[sel], iou)])
    keep = np.sort(np.asarray(keep, int))
    return boxes[keep], scores[keep], classes[keep]


@pytest.fixture()
def detector_panel(qtbot, det_set):
    model = tm.detector(32, 4, 3, len(det_set.class_names), seed=3)
    # a random detector scores near 0.5 x 1/4: the bias of its objectness logit lifts it so boxes pass the sliders
    head = model.get_layer("grid_head")
    w, b = head.get_weights()
    b.reshape(3, 9)[:, 0] = 2.5
    head.set_weights([w, b])
    panel = _panel(qtbot, det_set, model, ANCHORS)
    _send(qtbot, panel, det_set, 3)
    yield panel, model
    panel.shutdown()


def test_detector_boxes_drawn_are_decode_grid_and_nms_at_the_slider_values(detector_panel, qtbot, det_set):
    panel, model = detector_panel
    ti = panel.task_inspector
    assert ti.info.task == "detection" and panel.tabs.isTabVisible(ti.tab_index)
    assert "Boxes/masks" in ti.summary()
    raw = np.asarray(model(det_set.image(3)[None], training=False))[0]
    tab = ti.tab
    for conf, iou in ((0.2, 0.45), (0.24, 0.3), (0.22, 1.0)):
        tab.conf_slider.setValue(int(conf * 100))
        tab.iou_slider.setValue(int(iou * 100))
        boxes, scores, classes = _expected(raw, conf, iou)
        assert len(boxes) > 0
        np.testing.assert_allclose(tab.pred_view.boxes, boxes, atol=1e-5)
        np.testing.assert_allclose(tab.pred_view.scores, scores, atol=1e-5)
        assert tab.pred_view.classes.tolist() == classes.tolist()
    # ground truth beside the prediction: the sample's objects, as fractions
    tb, tc = det_set.objects(3)
    np.testing.assert_allclose(tab.truth_view.boxes, tb / 32.0, atol=1e-6)
    assert tab.truth_view.classes.tolist() == tc.tolist()


def test_sliders_and_toggles_redraw_without_calling_the_model(detector_panel, qtbot, monkeypatch):
    panel, _model = detector_panel
    tab = panel.task_inspector.tab
    calls = []
    real = tasks.raw_outputs
    monkeypatch.setattr(tasks, "raw_outputs", lambda *a, **k: calls.append(1) or real(*a, **k))
    before = len(tab.pred_view.boxes)
    token = panel.requests._tokens.get("task")
    tab.conf_slider.setValue(90)
    assert len(tab.pred_view.boxes) < before or before == 0  # redrawn at once, fewer boxes
    tab.conf_slider.setValue(20)
    tab.grid_check.setChecked(True)
    tab.heat_check.setChecked(True)
    tab.anchors_check.setChecked(True)
    assert tab.pred_view.picture.pixmap() is not None and not tab.pred_view.picture.pixmap().isNull()
    assert calls == [] and panel.requests._tokens.get("task") == token  # no model call, no new request


def test_grad_cam_of_a_chosen_box_follows_its_cell_and_class(detector_panel, qtbot):
    from convexplorer.core.task_cam import box_grad_cam

    panel, model = detector_panel
    tab = panel.task_inspector.tab
    tab.conf_slider.setValue(20)
    assert tab.cam_combo.count() > 1
    with _wait(qtbot, panel, "task_cam"):
        tab.cam_combo.setCurrentIndex(1)
    cell, cls = tab.detections["cells"][0], int(tab.detections["classes"][0])
    want = box_grad_cam(model, panel.subject.x, (4, 4, 3, 9), cell, cls)
    assert tab.cam_view.has_heat()
    np.testing.assert_allclose(tab.cam_view._heat, want.heatmap, atol=1e-5)
    assert f"anchor {cell[2]}" in tab.caption.text() and f"class-{cls} logit" in tab.caption.text()


def test_segmenter_mask_overlay_toggles_and_mean_iou(qtbot, seg_set):
    model = tm.segmenter(32, len(seg_set.class_names), seed=2)
    panel = _panel(qtbot, seg_set, model)
    try:
        _send(qtbot, panel, seg_set, 2)
        tab = panel.task_inspector.tab
        assert panel.task_inspector.info.task == "segmentation"
        img = seg_set.image(2)
        pred = np.argmax(np.asarray(model(img[None], training=False))[0], -1)
        tab.opacity_slider.setValue(60)
        vis = np.array([False] + [True] * 4)
        np.testing.assert_allclose(tab.pred_view.base, blend_mask(img, pred, 0.6, vis), atol=1e-6)
        np.testing.assert_allclose(tab.truth_view.base, blend_mask(img, seg_set.mask(2), 0.6, vis), atol=1e-6)
        # hide a class the prediction uses: its pixels show the image again, in both pictures
        k = int(np.bincount(pred.ravel(), minlength=5)[1:].argmax()) + 1
        tab.class_checks[k].setChecked(False)
        vis[k] = False
        np.testing.assert_allclose(tab.pred_view.base, blend_mask(img, pred, 0.6, vis), atol=1e-6)
        np.testing.assert_allclose(tab.pred_view.base[pred == k], img[pred == k], atol=1e-6)
        miou = segmentation_iou(seg_set.mask(2), pred, 5, 255)["mean"]
        assert f"mean IoU {miou:.2f}" in tab.pred_view.title.text()
    finally:
        panel.shutdown()


def test_worst_gallery_is_sorted_by_iou_and_a_click_opens_the_image(qtbot, seg_set):
    model = tm.segmenter(32, len(seg_set.class_names), seed=2)
    panel = _panel(qtbot, seg_set, model)
    try:
        _send(qtbot, panel, seg_set, 0)
        worst = panel.task_inspector.worst
        assert panel.tabs.isTabVisible(panel.task_inspector.worst_index)
        worst.k_spin.setValue(5)
        with _wait(qtbot, panel, "worst"):
            worst.job.compute_button.click()
        idx = seg_set.subset_indices("validation")
        ious = []
        for i in idx:  # independently: argmax masks and core.metrics.segmentation_iou
            pred = np.argmax(np.asarray(model(seg_set.image(int(i))[None], training=False))[0], -1)
            m = segmentation_iou(seg_set.mask(int(i)), pred, 5, 255)["mean"]
            ious.append(0.0 if np.isnan(m) else m)
        order = sorted(range(len(idx)), key=lambda j: (ious[j], idx[j]))[:5]
        assert worst.shown() == [int(idx[j]) for j in order]
        assert worst.grid.count == 5 and worst.job.progress.value() == worst.job.progress.maximum()
        target = worst.shown()[1]
        with _wait(qtbot, panel, "task"):
            worst.grid.buttons[1].click()
        assert panel.subject.image_name.endswith(f"#{target}")
        assert panel.task_inspector.origin == (seg_set, target)
        assert panel.tabs.currentWidget() is panel.task_inspector.tab
    finally:
        panel.shutdown()


def test_worst_gallery_cancel_stops_the_search(qtbot, seg_set):
    model = tm.segmenter(32, len(seg_set.class_names), seed=2)
    panel = _panel(qtbot, seg_set, model)
    try:
        worst = panel.task_inspector.worst
        panel.task_inspector.model_changed(model)
        with qtbot.waitSignal(worst.job.cancelled, timeout=TIMEOUT):
            worst.job.compute_button.click()
            worst.job.cancel_button.click()
        qtbot.waitUntil(lambda: not worst.job.running(), timeout=TIMEOUT)
        assert worst.shown() == []
    finally:
        panel.shutdown()


def _class_and_box(size=16):
    """A classes head (softmax) and a box head (four sigmoids) on one trunk: a class + box (localization) model."""
    keras.utils.set_random_seed(11)
    inp = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = {"classes": keras.layers.Dense(4, activation="softmax", name="classes_out")(x),
           "box": keras.layers.Dense(4, activation="sigmoid", name="box_out")(x)}
    return keras.Model(inp, out, name="class_and_box")


def test_class_and_box_model_shows_the_true_box_and_its_worst_images(qtbot):
    from convexplorer.core.datasets import ShapesDataset
    from convexplorer.core.metrics import box_iou

    ds = ShapesDataset(n=30, size=16, seed=1).with_split(validation=0.3, test=0.0)
    model = _class_and_box()
    panel = _panel(qtbot, ds, model)
    try:
        assert panel.task_inspector.info.task == "localization"
        assert not panel.tabs.isTabVisible(panel.task_inspector.tab_index)
        assert panel.tabs.isTabVisible(panel.task_inspector.worst_index)
        with _wait(qtbot, panel, "analysis"):
            panel.state.image_origin = (ds, 4)
            panel.state.image_array_opened.emit(ds.image(4), "#4")
        with _wait(qtbot, panel, "analysis"):
            panel.head_combo.setCurrentIndex(panel.head_combo.findData("box"))
        np.testing.assert_allclose(panel.box_view.truth, ds.boxes(4) / 16.0, atol=1e-6)
        assert "true box · IoU" in panel.box_view.caption.text()
        worst = panel.task_inspector.worst
        worst.k_spin.setValue(4)
        with _wait(qtbot, panel, "worst"):
            worst.job.compute_button.click()
        idx = ds.subset_indices("validation")
        ious = [float(box_iou(np.asarray(model(ds.image(int(i))[None], training=False)["box"])[0][None],
                              ds.boxes(int(i))[None] / 16.0)[0, 0]) for i in idx]
        order = sorted(range(len(idx)), key=lambda j: (ious[j], idx[j]))[:4]
        assert worst.shown() == [int(idx[j]) for j in order]
    finally:
        panel.shutdown()


def test_no_ground_truth_is_drawn_over_a_letterboxed_image(qtbot, seg_set):
    inp = keras.Input((32, 48, 3))
    model = keras.Model(inp, keras.layers.Conv2D(5, 1, activation="softmax", name="masks")(inp), name="wide")
    panel = _panel(qtbot, seg_set, model)
    try:
        _send(qtbot, panel, seg_set, 1)
        tab = panel.task_inspector.tab
        assert tab.pred_view.base is not None and tab.pred_view.base.shape[:2] == (32, 48)
        assert tab.truth_view.base is None and "letterboxed" in tab.truth_view.picture.text()
    finally:
        panel.shutdown()
