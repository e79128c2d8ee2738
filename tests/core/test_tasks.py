"""Reading a model's task from its outputs; raw outputs, per-image scores and Grad-CAM of a box or mask class."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import tasks
from convexplorer.core.datasets import ShapesDetectionDataset, ShapesSegmentationDataset
from convexplorer.core.detection import decode_grid
from convexplorer.core.metrics import box_iou, segmentation_iou
from convexplorer.ui.screenshots import task_models as tm

ANCHORS = np.array([[0.2, 0.2], [0.4, 0.3], [0.3, 0.5]], np.float32)


@pytest.fixture(scope="module")
def det_set():
    return ShapesDetectionDataset(n=12, size=32, seed=2)


@pytest.fixture(scope="module")
def seg_set():
    return ShapesSegmentationDataset(n=8, size=32, seed=2)


def test_model_task_reads_detection_segmentation_localization_and_classification(det_set):
    import keras

    det = tasks.model_task(tm.detector(32, 4, 3, 3))
    assert (det.task, det.grid_size, det.num_anchors, det.num_classes) == ("detection", 4, 3, 3)
    seg = tasks.model_task(tm.segmenter(32, 4))
    assert (seg.task, seg.num_classes, seg.output_shape) == ("segmentation", 4, (32, 32, 4))
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Flatten()(inp)
    two = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="labels")(x),
                            keras.layers.Dense(4, name="box")(x)])
    loc = tasks.model_task(two)
    assert (loc.task, loc.head, loc.class_head) == ("localization", "box", "labels")
    assert tasks.model_task(keras.Model(inp, keras.layers.Dense(5)(x))).task == "classification"
    # a flat S x S x A(5 + C) grid is a detector only beside a detection set with C classes
    flat = keras.Model(inp, keras.layers.Conv2D(2 * (5 + 4), 1)(keras.layers.Conv2D(4, 4, strides=4)(inp)))
    assert tasks.model_task(flat).task == "segmentation"
    info = tasks.model_task(flat, det_set)  # Shapes: 4 classes
    assert (info.task, info.grid_size, info.num_anchors, info.num_classes) == ("detection", 4, 2, 4)


def test_detection_anchors_explicit_then_model_then_data_set(det_set):
    model = tm.detector(32, 4, 3, 3)
    assert tasks.detection_anchors(model, det_set, ANCHORS, 3).tolist() == ANCHORS.tolist()
    model.anchors = ANCHORS * 2
    assert np.allclose(tasks.detection_anchors(model, det_set, None, 3), ANCHORS * 2)
    del model.anchors
    found = tasks.detection_anchors(model, det_set, None, 3)
    assert found.shape == (3, 2) and (found > 0).all()
    with pytest.raises(tasks.TaskError, match="need anchors"):
        tasks.detection_anchors(model, None, None, 3)


def test_the_oracle_detector_predicts_the_true_boxes(det_set):
    model = tm.oracle_detector(det_set, 0, ANCHORS, grid=4)
    info = tasks.model_task(model)
    raw = tasks.raw_output(model, det_set.image(0))
    boxes, scores, classes = tasks.decode_detections(tasks.grid_of(raw, info), ANCHORS, 0.5, 0.5)
    want = decode_grid(raw, ANCHORS, 0.5, from_logits=True, iou_threshold=0.5)
    assert np.allclose(boxes, want[0]) and np.allclose(scores, want[1]) and (classes == want[2]).all()
    tb, tc = det_set.objects(0)
    assert sorted(classes.tolist()) == sorted(tc.tolist())
    ious = box_iou(boxes, tb / 32.0)
    assert len(boxes) == len(tb) and ious.max(axis=1).min() > 0.8


def test_matched_iou_hand_computed():
    t = np.array([[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]])
    assert tasks.matched_iou(t, [0, 1], t, [0.9, 0.8], [0, 1]) == pytest.approx(1.0)
    # one box found exactly, one missed, one wrong extra: 1 / 3
    p = np.array([[0, 0, 0.5, 0.5], [0.6, 0, 0.9, 0.2]])
    assert tasks.matched_iou(t, [0, 1], p, [0.9, 0.8], [0, 1]) == pytest.approx(0.5)
    assert tasks.matched_iou(t, [0, 1], np.zeros((0, 4)), [], []) == 0.0


def test_image_scores_of_a_segmenter_are_the_mean_ious(seg_set):
    model = tm.segmenter(32, len(seg_set.class_names))  # background + 4 shapes
    info = tasks.model_task(model, seg_set)
    idx = [0, 3, 5]
    got = tasks.image_scores(model, seg_set, idx, info, batch_size=2)
    for i, score in zip(idx, got):
        pred = np.argmax(np.asarray(model(seg_set.image(i)[None], training=False))[0], -1)
        assert score == pytest.approx(segmentation_iou(seg_set.mask(i), pred, 5, 255)["mean"])
    worst = tasks.worst_images(idx, got, k=2)
    assert [w[0] for w in worst] == [idx[j] for j in np.argsort(got, kind="stable")[:2]]


def test_image_scores_of_the_oracle_detector(det_set):
    model = tm.oracle_detector(det_set, 1, ANCHORS, grid=4)
    info = tasks.model_task(model)
    scores = tasks.image_scores(model, det_set, [0, 1, 2], info, ANCHORS)
    assert scores[1] > 0.8 and scores[1] == scores.max()


def test_box_grad_cam_follows_a_cell_and_mask_grad_cam_a_class(det_set, seg_set):
    from convexplorer.core import task_cam

    model = tm.detector(32, 4, 3, 3)
    cam = task_cam.box_grad_cam(model, det_set.image(0), (4, 4, 3, 8), (1, 2, 0), 2)
    assert cam.heatmap.shape == (32, 32) and 0 <= cam.heatmap.min() and cam.heatmap.max() <= 1
    assert "cell (row 1, column 2), anchor 0" in cam.target
    assert task_cam.box_cell([0.5, 0.0, 0.75, 0.3], 4) == (0, 2)
    with pytest.raises(Exception, match="outside"):
        task_cam.box_grad_cam(model, det_set.image(0), (4, 4, 3, 8), (4, 0, 0), 0)
    seg = tm.segmenter(32, 5)
    raw = tasks.raw_output(seg, seg_set.image(0))
    mcam = task_cam.mask_grad_cam(seg, seg_set.image(0), raw, 1)
    assert mcam.heatmap.shape == (32, 32)


def test_box_cells_and_objectness_of_a_known_grid(det_set):
    from convexplorer.core.detection import encode_grid

    boxes = np.array([[0.1, 0.1, 0.3, 0.35], [0.55, 0.6, 0.95, 0.9]])
    grid = tm.grid_logits(boxes, [0, 2], 4, ANCHORS, 4)
    target, _ = encode_grid(boxes, [0, 2], 4, ANCHORS, 4)
    found, _scores, classes = tasks.decode_detections(grid, ANCHORS, 0.5, 0.5)
    assert sorted(classes.tolist()) == [0, 2]
    cells = tasks.box_cells(grid, ANCHORS, found)
    assert sorted(cells) == sorted(tuple(int(v) for v in c) for c in np.argwhere(target[..., 0] > 0))
    obj = tasks.objectness(grid)
    want = (1 / (1 + np.exp(-grid[..., 0]))).max(-1)
    np.testing.assert_allclose(obj, want, rtol=1e-6)
    assert obj.shape == (4, 4) and obj[0, 0] > 0.99 and obj[3, 0] < 0.01
