"""core.metrics: box IoU, NMS, mAP against pycocotools' COCOeval, segmentation IoU, k-means anchors."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.core import metrics as M
from convexplorer.core.metrics import MetricError

#: The largest |ours - COCOeval| seen over the hypothesis runs (printed by the last test, read in reports).
_WORST = {"ap": 0.0, "ap50": 0.0, "runs": 0}


# --- boxes ------------------------------------------------------------------------------------
def _random_boxes(rng, n, span=100.0):
    xy = rng.uniform(0, span, (n, 2))
    wh = rng.uniform(0.5, span / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def test_box_iou_by_hand():
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1], [10, 10, 11, 12]], float)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 5, 9]], float)
    iou = M.box_iou(a, b)
    assert iou.shape == (3, 3)
    np.testing.assert_allclose(iou[0], [1 / 7, 1.0, 0.0])
    np.testing.assert_allclose(iou[1], [0.0, 0.25, 0.0])  # touching at a corner is no overlap
    assert np.all(iou[2] == 0) and np.all(iou[:, 2] == 0)  # a zero-width box overlaps nothing
    assert M.box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    with pytest.raises(MetricError, match=r"N x 4 .* received shape \(3,\)"):
        M.box_iou([1, 2, 3], b)


def test_box_iou_and_formats_equal_keras():
    from keras.utils import bounding_boxes as kb

    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 30), _random_boxes(rng, 20)
    ref = np.asarray(kb.compute_iou(a.astype(np.float32), b.astype(np.float32), "xyxy"))
    np.testing.assert_allclose(M.box_iou(a, b), ref, atol=1e-5)
    for fmt in ("yxyx", "xywh", "center_xywh"):
        ours = M.convert_boxes(a, "xyxy", fmt)
        theirs = np.asarray(kb.convert_format(a.astype(np.float32), "xyxy", fmt))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(M.convert_boxes(ours, fmt, "xyxy"), a, atol=1e-9)
    with pytest.raises(MetricError, match="unknown box format 'cxcy'"):
        M.convert_boxes(a, "xyxy", "cxcy")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 40), seed=st.integers(0, 10**6), thr=st.sampled_from([0.3, 0.5, 0.7]),
       score_thr=st.sampled_from([float("-inf"), 0.2, 0.6]), max_out=st.integers(1, 30))
def test_nms_equals_tensorflow(n, seed, thr, score_thr, max_out):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    boxes = _random_boxes(rng, n, span=50.0)
    scores = rng.uniform(0, 1, n)
    ours = M.non_max_suppression(boxes, scores, thr, score_thr, max_out)
    yxyx = boxes[:, [1, 0, 3, 2]].astype(np.float32).reshape(-1, 4)
    ref = tf.image.non_max_suppression(yxyx, scores.astype(np.float32), max_out, thr, score_thr).numpy()
    np.testing.assert_array_equal(ours, ref)


def test_nms_by_hand():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.9])
    # Index 0 and 3 tie: the lower index wins; 1 and 3 overlap 0 too much; 2 stands alone.
    assert M.non_max_suppression(boxes, scores, 0.5).tolist() == [0, 2]
    assert M.non_max_suppression(boxes, scores, 0.95).tolist() == [0, 1, 2]  # 1 overlaps 0 at 9/11
    assert M.non_max_suppression(boxes, scores, 0.5, score_threshold=0.75).tolist() == [0]
    assert M.non_max_suppression(boxes, scores, 0.5, max_outputs=1).tolist() == [0]
    assert M.non_max_suppression(np.zeros((0, 4)), []).tolist() == []


# --- mAP against COCOeval -----------------------------------------------------------------------------
def _cocoeval(gt, preds):
    """COCOeval's stats (AP, AP50) for our per-image lists, built in memory (categories are class + 1)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    classes = sorted({int(c) for _, cs in gt for c in cs} | {int(c) for _, cs, _ in preds for c in cs})
    anns, ann_id = [], 1
    for i, (boxes, cs) in enumerate(gt):
        for b, c in zip(boxes, cs):
            w, h = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append({"id": ann_id, "image_id": i + 1, "category_id": int(c) + 1, "bbox": [float(b[0]), float(b[1]), w, h],
                         "area": w * h, "iscrowd": 0})
            ann_id += 1
    dataset = {"images": [{"id": i + 1, "width": 1000, "height": 1000} for i in range(len(gt))],
               "annotations": anns, "categories": [{"id": c + 1, "name": str(c)} for c in classes]}
    results = [{"image_id": i + 1, "category_id": int(c) + 1, "score": float(s),
                "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
               for i, (boxes, cs, ss) in enumerate(preds) for b, c, s in zip(boxes, cs, ss)]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        res = coco.loadRes(results)
        ev = COCOeval(coco, res, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0], ev.stats[1]


def _scene(rng, n_images, n_classes, grid, ties):
    """Random GT and predictions: jittered copies of GT (near misses), duplicates and pure false positives.

    Coordinates lie on a grid (so IoUs often equal a threshold exactly) or, with ``grid`` None, anywhere.
    """
    continuous = grid is None
    grid = 1.0 if continuous else grid
    gt, preds = [], []
    for _ in range(n_images):
        n = int(rng.integers(0, 7))
        xy = rng.integers(0, 40, (n, 2)) * grid
        wh = rng.integers(3, 20, (n, 2)) * grid
        g = np.concatenate([xy, xy + wh], 1).astype(float)
        gc = rng.integers(0, n_classes, n)
        boxes, cs = [], []
        for b, c in zip(g, gc):
            for _ in range(int(rng.integers(0, 3))):  # 0-2 detections of this object, some misplaced or misclassed
                shift = rng.integers(-2, 3, 4) * grid * rng.integers(0, 2)  # exact, or moved
                boxes.append(np.maximum(b + shift, 0))
                cs.append(c if rng.random() < 0.8 else rng.integers(0, n_classes))
        for _ in range(int(rng.integers(0, 4))):  # clutter
            xy = rng.integers(0, 40, 2) * grid
            boxes.append(np.concatenate([xy, xy + rng.integers(1, 20, 2) * grid]).astype(float))
            cs.append(rng.integers(0, n_classes))
        m = len(boxes)
        boxes = np.array(boxes, float).reshape(-1, 4)
        # Keep boxes non-empty (x2 > x1), as detectors output them.
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + grid)
        scores = (rng.integers(0, 5, m) / 4.0) if ties else rng.uniform(0, 1, m)
        if continuous:
            g = g + rng.uniform(-0.3, 0.3, g.shape)
            boxes = boxes + rng.uniform(-0.3, 0.3, boxes.shape)
        gt.append((g, gc))
        preds.append((boxes, np.array(cs, int), scores))
    return gt, preds


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n_images=st.integers(1, 12), n_classes=st.integers(1, 4),
       grid=st.sampled_from([1.0, 0.5, 2.0, None]), ties=st.booleans())
def test_map_equals_cocoeval(seed, n_images, n_classes, grid, ties):
    rng = np.random.default_rng(seed)
    gt, preds = _scene(rng, n_images, n_classes, grid, ties)
    if not any(len(p[0]) for p in preds):  # loadRes refuses an empty result list
        preds[0] = (np.array([[0.0, 0, 1, 1]]), np.array([0]), np.array([0.5]))
    ap, ap50 = _cocoeval(gt, preds)
    ours = M.mean_average_precision(gt, preds)
    ours50 = M.mean_average_precision(gt, preds, (0.5,))
    if ap == -1:  # no ground truth at all
        assert np.isnan(ours["map"]) and np.isnan(ours50["map"])
        return
    _WORST["ap"] = max(_WORST["ap"], abs(ours["map"] - ap))
    _WORST["ap50"] = max(_WORST["ap50"], abs(ours50["map"] - ap50))
    _WORST["runs"] += 1
    assert ours["map"] == pytest.approx(ap, abs=1e-4)
    assert ours50["map"] == pytest.approx(ap50, abs=1e-4)
    both = M.detection_metrics(gt, preds)
    assert both["ap"] == pytest.approx(ap, abs=1e-4) and both["ap50"] == pytest.approx(ap50, abs=1e-4)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), ties=st.booleans())
def test_map_equals_cocoeval_with_more_than_100_detections(seed, ties):
    rng = np.random.default_rng(seed)
    gt, preds = _scene(rng, 3, 2, 1.0, ties)
    xy = rng.uniform(0, 50, (130, 2))
    extra = np.concatenate([xy, xy + rng.uniform(2, 30, (130, 2))], 1)
    scores = (rng.integers(0, 20, 130) / 19.0) if ties else rng.uniform(0, 1, 130)
    b, c, s = preds[0]
    preds[0] = (np.concatenate([b, extra]), np.concatenate([c, np.zeros(130, int)]), np.concatenate([s, scores]))
    gt[0] = (np.concatenate([gt[0][0], extra[:40] + 0.5]), np.concatenate([gt[0][1], np.zeros(40, int)]))
    ap, ap50 = _cocoeval(gt, preds)
    ours, ours50 = M.mean_average_precision(gt, preds)["map"], M.mean_average_precision(gt, preds, (0.5,))["map"]
    _WORST["ap"] = max(_WORST["ap"], abs(ours - ap))
    _WORST["ap50"] = max(_WORST["ap50"], abs(ours50 - ap50))
    _WORST["runs"] += 1
    assert ours == pytest.approx(ap, abs=1e-4) and ours50 == pytest.approx(ap50, abs=1e-4)


def test_map_by_hand():
    g = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    # A perfect detector: AP 1 at every threshold.
    perfect = M.mean_average_precision([(g, [0, 1])], [(g, [0, 1], [0.9, 0.8])])
    assert perfect["map"] == pytest.approx(1.0) and perfect["per_class"] == pytest.approx({0: 1.0, 1: 1.0})
    # One class, two objects; the best-scored detection is a false positive, then one hit:
    # precision 1/2 at recall 1/2, nothing beyond, so AP = 0.5 * 51/101 (recall points 0..0.5).
    one = M.mean_average_precision(
        [(g, [0, 0])], [(np.array([[50, 50, 60, 60], [0, 0, 10, 10]], float), [0, 0], [0.9, 0.8])], (0.5,))
    assert one["map"] == pytest.approx(0.5 * 51 / 101)
    # A box shifted by 2 of 10 pixels: IoU 8/12 = 0.667, a hit at 0.5-0.65, a miss above: AP@[.5:.95] = 4/10.
    shifted = M.mean_average_precision([(g[:1], [0])], [(np.array([[2, 0, 12, 10]], float), [0], [1.0])])
    assert shifted["map"] == pytest.approx(0.4) and shifted["per_threshold"][0.5] == pytest.approx(1.0)
    # Classes without ground truth are left out; a class with ground truth but no detection counts 0.
    mixed = M.mean_average_precision([(g, [0, 1])], [(np.vstack([g[:1], g[:1]]), [0, 2], [0.9, 0.8])])
    assert mixed["classes"] == [0, 1] and mixed["per_class"] == pytest.approx({0: 1.0, 1: 0.0})
    assert mixed["map"] == pytest.approx(0.5)
    empty = M.mean_average_precision([(np.zeros((0, 4)), [])], [(np.zeros((0, 4)), [], [])])
    assert np.isnan(empty["map"]) and empty["per_class"] == {}
    with pytest.raises(MetricError, match="predictions for each of the 1 images, received 2"):
        M.mean_average_precision([(g, [0, 1])], [(g, [0, 1], [1, 1])] * 2)
    with pytest.raises(MetricError, match="image 0: 2 predicted boxes but 1 scores"):
        M.mean_average_precision([(g, [0, 1])], [(g, [0, 1], [1])])


# --- segmentation --------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.integers(2, 6), ignore=st.booleans())
def test_segmentation_iou_equals_keras(seed, k, ignore):
    import keras

    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, (3, 9, 7))
    pred = np.where(rng.random(true.shape) < 0.6, true, rng.integers(0, k, true.shape))
    if rng.random() < 0.5:
        true[true == k - 1] = 0  # a class absent from the truth (still predicted)
    ignore_class = 0 if ignore else None
    ours = M.segmentation_iou(true, pred, k, ignore_class=ignore_class)
    ref = keras.metrics.MeanIoU(num_classes=k, ignore_class=ignore_class)
    ref.update_state(true, pred)
    if np.isnan(ours["mean"]):  # every pixel ignored: Keras says 0, we say "nothing to measure"
        assert float(ref.result()) == 0.0
    else:
        assert ours["mean"] == pytest.approx(float(ref.result()), abs=1e-5)
    for c in range(k):
        one = keras.metrics.IoU(num_classes=k, target_class_ids=[c], ignore_class=ignore_class)
        one.update_state(true, pred)
        expected = float(one.result())
        if np.isnan(ours["per_class"][c]):
            assert expected == 0.0  # Keras reports 0 for a class in neither mask; we say "not there"
        else:
            assert ours["per_class"][c] == pytest.approx(expected, abs=1e-5)


def test_segmentation_iou_by_hand():
    true = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    out = M.segmentation_iou(true, pred, 3)
    np.testing.assert_allclose(out["per_class"][:2], [1 / 2, 2 / 3])
    assert np.isnan(out["per_class"][2]) and out["mean"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert out["confusion"].tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    with pytest.raises(MetricError, match="true mask holds class 5, outside the 3 classes"):
        M.segmentation_iou([[5]], [[0]], 3)
    with pytest.raises(MetricError, match="same shape"):
        M.segmentation_iou(true, pred[:, :2], 3)


# --- anchors ---------------------------------------------------------------------------------------------
def test_kmeans_anchors_recover_clusters_and_improve_with_k():
    rng = np.random.default_rng(1)
    centres = np.array([[10, 30], [40, 40], [80, 24], [25, 90]], float)
    wh = np.concatenate([c * rng.normal(1.0, 0.03, (150, 2)) for c in centres])
    found = M.kmeans_anchors(wh, 4, seed=0)
    expected = centres[np.argsort(centres.prod(1))]
    np.testing.assert_allclose(found, expected, rtol=0.03)
    np.testing.assert_array_equal(found, M.kmeans_anchors(wh, 4, seed=0))  # seeded
    assert M.mean_anchor_iou(wh, found) > 0.9
    # More anchors fit a spread of shapes better (YOLOv2's figure 2).
    spread = rng.uniform(5, 100, (400, 2))
    ious = [M.mean_anchor_iou(spread, M.kmeans_anchors(spread, k, seed=0)) for k in (1, 2, 3, 5, 9)]
    assert all(b > a for a, b in zip(ious, ious[1:])), ious
    np.testing.assert_allclose(M.wh_iou([[2, 4]], [[4, 2], [2, 4]]), [[4 / 12, 1.0]])
    with pytest.raises(MetricError, match="3 anchors need at least 3 boxes"):
        M.kmeans_anchors([[1, 1], [0, 5]], 3)


def test_worst_difference_from_cocoeval_is_reported(capsys):
    """Not a check: prints the largest |ours - COCOeval| seen in the hypothesis runs above (run with -s)."""
    with capsys.disabled():
        print(f"\nmax |ours - COCOeval|: AP {_WORST['ap']:.3g}, AP50 {_WORST['ap50']:.3g} over {_WORST['runs']} runs")
