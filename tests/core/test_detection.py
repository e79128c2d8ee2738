"""core.detection: YOLO-style grid targets round-trip, anchors from data, decoding of raw outputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexplorer.core import detection as det
from convexplorer.core.detection import DetectionError

ANCHORS = np.array([[0.1, 0.1], [0.3, 0.15], [0.15, 0.35]])


def _sorted(boxes, classes):
    order = np.lexsort((boxes[:, 1], boxes[:, 0]))
    return boxes[order], classes[order]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), s=st.sampled_from([4, 7, 13]), c=st.integers(1, 5), m=st.integers(0, 8))
def test_encode_then_decode_gives_back_the_boxes(seed, s, c, m):
    rng = np.random.default_rng(seed)
    # One object a cell (distinct cells), any size and aspect, centre anywhere inside its cell.
    cells = rng.choice(s * s, size=min(m, s * s), replace=False)
    centre = (np.stack([cells % s, cells // s], 1) + rng.uniform(0.01, 0.99, (len(cells), 2))) / s
    wh = rng.uniform(0.02, 0.6, (len(cells), 2))
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], 1)
    classes = rng.integers(0, c, len(cells))
    target, dropped = det.encode_grid(boxes, classes, s, ANCHORS, c)
    assert target.shape == (s, s, 3, 5 + c) and target.dtype == np.float32 and dropped == 0
    assert target[..., 0].sum() == len(cells) and np.all(target[..., 5:].sum(-1) == target[..., 0])
    out_boxes, scores, out_classes = det.decode_grid(target, ANCHORS, score_threshold=0.5)
    assert len(out_boxes) == len(cells) and np.all(scores == 1.0)
    a, ka = _sorted(out_boxes, out_classes)
    b, kb = _sorted(boxes, classes)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_array_equal(ka, kb)


def test_yolo_parameterisation_by_hand():
    # A 4x4 grid; a box centred at (0.6, 0.3) is in column 2, row 1, at offset (0.4, 0.2) in the cell.
    box = np.array([[0.5, 0.15, 0.7, 0.45]])  # w 0.2, h 0.3: closest in shape to anchor 2 (0.15 x 0.35)
    target, _ = det.encode_grid(box, [1], 4, ANCHORS, 2)
    assert np.argwhere(target[..., 0] == 1).tolist() == [[1, 2, 2]]
    obj, tx, ty, tw, th, c0, c1 = target[1, 2, 2]
    np.testing.assert_allclose([tx, ty, tw, th], [0.4, 0.2, np.log(0.2 / 0.15), np.log(0.3 / 0.35)], atol=1e-6)
    assert (obj, c0, c1) == (1, 0, 1)
    # Two objects of one shape in one cell: the second takes the next best anchor; a fourth has none left.
    same = np.array([[0.1, 0.1, 0.2, 0.2]] * 4)
    target, dropped = det.encode_grid(same, [0, 0, 0, 0], 4, ANCHORS, 2)
    assert target[0, 0, :, 0].tolist() == [1, 1, 1] and dropped == 1
    batch, total = det.encode_batch([(box, [1]), (same, [0] * 4)], 4, ANCHORS, 2)
    assert batch.shape == (2, 4, 4, 3, 7) and total == 1
    with pytest.raises(DetectionError, match="class 3 is outside the 2 classes"):
        det.encode_grid(box, [3], 4, ANCHORS, 2)
    with pytest.raises(DetectionError, match="anchors as an A x 2 array"):
        det.encode_grid(box, [0], 4, [[0.1, -1]], 2)


def test_decode_from_logits_threshold_and_nms():
    s, c = 3, 2
    logits = np.full((s, s, 1, 5 + c), -8.0)
    logits[..., 3:5] = 0.0  # anchor-sized boxes
    # Two confident detections of class 1 in neighbouring cells, overlapping, and one weak one.
    for (r, col, conf) in ((1, 1, 4.0), (1, 2, 3.0), (0, 0, -1.0)):
        logits[r, col, 0, 0] = conf
        logits[r, col, 0, 1:3] = -4.0  # near the cell's top-left corner
        logits[r, col, 0, 6] = 8.0
    anchors = np.array([[0.6, 0.6]])
    boxes, scores, classes = det.decode_grid(logits, anchors, 0.5, from_logits=True)
    assert len(boxes) == 2 and classes.tolist() == [1, 1] and scores[0] > scores[1]
    np.testing.assert_allclose(scores[0], 1 / (1 + np.exp(-4.0)), rtol=1e-3)
    cx = (1 + 1 / (1 + np.exp(4.0))) / 3
    np.testing.assert_allclose(boxes[0], [cx - 0.3, cx - 0.3, cx + 0.3, cx + 0.3], atol=1e-6)
    kept = det.decode_grid(logits, anchors, 0.5, from_logits=True, iou_threshold=0.25)  # their IoU: 0.29
    assert len(kept[0]) == 1 and kept[1][0] == scores[0]
    with pytest.raises(DetectionError, match=r"S x S x 1 x \(5 \+ classes\), received \(3, 3, 2, 7\)"):
        det.decode_grid(np.zeros((3, 3, 2, 7)), anchors)


def test_dataset_anchors_from_objects():
    rng = np.random.default_rng(0)
    objects = []
    for _ in range(60):
        wh = np.array([[0.1, 0.3], [0.4, 0.2]])[rng.integers(0, 2, 3)] * rng.normal(1, 0.02, (3, 2))
        xy = rng.uniform(0, 0.5, (3, 2))
        objects.append((np.concatenate([xy, xy + wh], 1), np.zeros(3, int)))
    anchors = det.dataset_anchors(objects, k=2, seed=0)
    np.testing.assert_allclose(anchors, [[0.1, 0.3], [0.4, 0.2]], rtol=0.03)
