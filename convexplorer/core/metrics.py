"""Task metrics: box IoU, non-max suppression, COCO-style mean average precision, segmentation IoU, anchors.

Plain numpy, no TensorFlow import: the metrics run after every epoch and in
tests without loading TF. Each one is checked in the tests against an
independent reference: :func:`box_iou` against ``keras.utils.bounding_boxes.compute_iou``,
:func:`non_max_suppression` against ``tf.image.non_max_suppression``,
:func:`mean_average_precision` against pycocotools' ``COCOeval`` (stats[0] and
stats[1] within 1e-4), :func:`segmentation_iou` against ``keras.metrics.MeanIoU``.
Keras's box utilities return float32 backend tensors (and import TensorFlow);
the COCO comparison needs float64 and these functions stay in numpy, so Keras
is the reference here, not the implementation.

Boxes are ``(x1, y1, x2, y2)`` in continuous coordinates (pixel ``i`` spans
``[i, i + 1)``; no "+1" in widths), as COCO's evaluation uses them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import ConvExplorerError

#: IoU thresholds of COCO's AP@[.5:.95], exactly as pycocotools makes them (the same float values).
COCO_IOU_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
#: The 101 recall points at which COCO samples the interpolated precision.
COCO_RECALL_POINTS: np.ndarray = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
BOX_FORMATS: tuple[str, ...] = ("xyxy", "yxyx", "xywh", "center_xywh")


class MetricError(ConvExplorerError):
    """A metric received inputs it cannot use (wrong shapes, mismatched lists)."""


# --- boxes -----------------------------------------------------------------------------------
def _as_boxes(boxes: Any, name: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise MetricError(f"expected {name} as an N x 4 array of (x1, y1, x2, y2), received shape {arr.shape}")
    return arr


def convert_boxes(boxes: Any, source: str, target: str) -> np.ndarray:
    """Convert N x 4 boxes between "xyxy", "yxyx", "xywh" and "center_xywh" (Keras's names), float64."""
    for fmt in (source, target):
        if fmt not in BOX_FORMATS:
            raise MetricError(f"unknown box format {fmt!r}; expected one of {', '.join(BOX_FORMATS)}")
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    if source == "xyxy":
        xyxy = b
    elif source == "yxyx":
        xyxy = b[:, [1, 0, 3, 2]]
    elif source == "xywh":
        xyxy = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1)
    else:
        xyxy = np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], 1)
    if target == "xyxy":
        return xyxy.copy()
    if target == "yxyx":
        return xyxy[:, [1, 0, 3, 2]].copy()
    wh = xyxy[:, 2:] - xyxy[:, :2]
    if target == "xywh":
        return np.concatenate([xyxy[:, :2], wh], 1)
    return np.concatenate([xyxy[:, :2] + wh / 2, wh], 1)


def box_area(boxes: Any) -> np.ndarray:
    """Areas of N x 4 ``(x1, y1, x2, y2)`` boxes (0 for empty or reversed boxes)."""
    b = _as_boxes(boxes, "boxes")
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(a: Any, b: Any) -> np.ndarray:
    """N x M intersection over union of N x 4 and M x 4 ``(x1, y1, x2, y2)`` boxes (0 where the union is empty)."""
    a = _as_boxes(a, "the first boxes")
    b = _as_boxes(b, "the second boxes")
    # As COCO's bbIou computes it: widths first, then the overlap of [x, x + w).
    aw, ah = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    iw = np.minimum(a[:, None, 0] + aw[:, None], b[None, :, 0] + bw[None, :]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 1] + ah[:, None], b[None, :, 1] + bh[None, :]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = (aw * ah)[:, None] + (bw * bh)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def non_max_suppression(
    boxes: Any,
    scores: Any,
    iou_threshold: float = 0.5,
    score_threshold: float = float("-inf"),
    max_outputs: int = 100,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first (as ``tf.image.non_max_suppression``).

    Boxes scoring above ``score_threshold`` are taken by descending score (ties: the lower
    index first); a box is dropped when its IoU with one already kept exceeds ``iou_threshold``;
    at most ``max_outputs`` are kept.
    """
    b = _as_boxes(boxes, "boxes")
    s = np.asarray(scores, np.float64).reshape(-1)
    if len(s) != len(b):
        raise MetricError(f"expected one score per box, received {len(s)} scores for {len(b)} boxes")
    # Corners in order, as TF's NMS takes them (it accepts either diagonal).
    b = np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], 1)
    order = np.argsort(-s, kind="stable")
    order = order[s[order] > score_threshold]
    keep: list[int] = []
    alive = np.ones(len(order), bool)
    ious = box_iou(b[order], b[order]) if len(order) else np.zeros((0, 0))
    for pos in range(len(order)):
        if len(keep) >= int(max_outputs):
            break
        if not alive[pos]:
            continue
        keep.append(int(order[pos]))
        alive[pos + 1 :] &= ious[pos, pos + 1 :] <= iou_threshold
    return np.asarray(keep, np.int64)


# --- mean average precision -----------------------------------------------------------------------
def _image_entry(entry: Any, with_scores: bool, i: int, what: str) -> tuple[np.ndarray, ...]:
    try:
        parts = tuple(entry)
    except TypeError:
        parts = ()
    need = 3 if with_scores else 2
    if len(parts) != need:
        form = "(boxes, classes, scores)" if with_scores else "(boxes, classes)"
        raise MetricError(f"{what} of image {i} must be {form}, received {type(entry).__name__} of {len(parts)} parts")
    boxes = _as_boxes(parts[0], f"the {what} boxes of image {i}")
    classes = np.asarray(parts[1]).reshape(-1).astype(np.int64)
    if len(classes) != len(boxes):
        raise MetricError(f"image {i}: {len(boxes)} {what} boxes but {len(classes)} classes")
    if not with_scores:
        return boxes, classes
    scores = np.asarray(parts[2], np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise MetricError(f"image {i}: {len(boxes)} predicted boxes but {len(scores)} scores")
    return boxes, classes, scores


def _match(ious: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """T x D: whether each detection (in score order) matches a ground-truth box at each threshold.

    COCOeval's greedy rule: a detection takes the unmatched ground truth of highest IoU
    that is at least the threshold (on equal IoU the later ground truth wins).
    """
    d_count, g_count = ious.shape
    t_count = len(thresholds)
    matched = np.zeros((t_count, d_count), bool)
    if d_count == 0 or g_count == 0:
        return matched
    taken = np.zeros((t_count, g_count), bool)
    limit = np.minimum(thresholds, 1 - 1e-10)[:, None]
    rows = np.arange(t_count)
    for d in range(d_count):
        ok = (~taken) & (ious[d][None, :] >= limit)
        if not ok.any():
            continue
        score = np.where(ok, ious[d][None, :], -1.0)
        last = g_count - 1 - np.argmax(score[:, ::-1], axis=1)  # last index of the maximum
        hit = ok.any(axis=1)
        taken[rows[hit], last[hit]] = True
        matched[hit, d] = True
    return matched


def mean_average_precision(
    ground_truth: Sequence[Any],
    predictions: Sequence[Any],
    iou_thresholds: Sequence[float] | np.ndarray = COCO_IOU_THRESHOLDS,
    max_detections: int = 100,
) -> dict[str, Any]:
    """COCO-style mean average precision over classes and IoU thresholds.

    ``ground_truth``: one ``(boxes N x 4, classes N)`` per image; ``predictions``: one
    ``(boxes M x 4, classes M, scores M)`` per image (the same images, in order). Boxes are
    ``(x1, y1, x2, y2)``. Returns ``{"map": mean over classes and thresholds, "per_class":
    {class: AP averaged over the thresholds}, "per_threshold": {threshold: mean AP over
    classes}, "ap": classes x thresholds array, "classes": the classes with ground truth}``.

    It follows pycocotools' COCOeval (area range "all", no crowd regions): per image and
    class the ``max_detections`` best detections are matched greedily by descending score
    (a stable sort), each to the unmatched ground truth of best IoU at or above the
    threshold; precision is made monotone from the right and read at 101 recall points.
    Classes without ground truth are left out of the mean; with none at all "map" is NaN.
    """
    if len(ground_truth) != len(predictions):
        raise MetricError(
            f"expected predictions for each of the {len(ground_truth)} images, received {len(predictions)}"
        )
    thresholds = np.asarray(iou_thresholds, np.float64).reshape(-1)
    if thresholds.size == 0 or np.any((thresholds < 0) | (thresholds > 1)):
        raise MetricError(f"IoU thresholds must be between 0 and 1, received {list(np.round(thresholds, 4))}")
    gts = [_image_entry(e, False, i, "ground truth") for i, e in enumerate(ground_truth)]
    dts = [_image_entry(e, True, i, "predictions") for i, e in enumerate(predictions)]
    classes = sorted(set(np.concatenate([g[1] for g in gts] + [np.zeros(0, np.int64)]).tolist()))
    t_count = len(thresholds)
    ap = np.zeros((len(classes), t_count))
    for k, cls in enumerate(classes):
        scores_all: list[np.ndarray] = []
        matches_all: list[np.ndarray] = []
        n_gt = 0
        for (gb, gc), (db, dc, ds) in zip(gts, dts):
            g = gb[gc == cls]
            sel = np.flatnonzero(dc == cls)
            n_gt += len(g)
            if len(sel) == 0:
                continue
            order = sel[np.argsort(-ds[sel], kind="mergesort")][: int(max_detections)]
            scores_all.append(ds[order])
            matches_all.append(_match(box_iou(db[order], g), thresholds))
        if not scores_all:
            continue  # ground truth but no detections: AP 0
        scores = np.concatenate(scores_all)
        inds = np.argsort(-scores, kind="mergesort")
        tps = np.concatenate(matches_all, axis=1)[:, inds]
        tp_sum = np.cumsum(tps, axis=1).astype(float)
        fp_sum = np.cumsum(~tps, axis=1).astype(float)
        for t in range(t_count):
            tp, fp = tp_sum[t], fp_sum[t]
            recall = tp / n_gt
            precision = tp / (fp + tp + np.spacing(1))
            precision = np.maximum.accumulate(precision[::-1])[::-1]
            at = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")
            q = np.zeros(len(COCO_RECALL_POINTS))
            inside = at < len(precision)
            q[inside] = precision[at[inside]]
            ap[k, t] = q.mean()
    per_class = {int(c): float(ap[k].mean()) for k, c in enumerate(classes)}
    mean = float(ap.mean()) if len(classes) else float("nan")
    per_threshold = {float(t): (float(ap[:, j].mean()) if len(classes) else float("nan")) for j, t in enumerate(thresholds)}
    return {"map": mean, "per_class": per_class, "per_threshold": per_threshold, "ap": ap, "classes": classes}


def detection_metrics(
    ground_truth: Sequence[Any], predictions: Sequence[Any], max_detections: int = 100
) -> dict[str, Any]:
    """AP@0.5 and AP@[.5:.95], per class and their means: ``{"ap50", "ap", "per_class_ap50", "per_class_ap"}``."""
    full = mean_average_precision(ground_truth, predictions, COCO_IOU_THRESHOLDS, max_detections)
    j50 = int(np.argmin(np.abs(COCO_IOU_THRESHOLDS - 0.5)))
    ap50 = full["ap"][:, j50] if len(full["classes"]) else np.zeros(0)
    return {
        "ap": full["map"],
        "ap50": float(ap50.mean()) if len(ap50) else float("nan"),
        "per_class_ap": full["per_class"],
        "per_class_ap50": {c: float(v) for c, v in zip(full["classes"], ap50)},
    }


# --- segmentation ------------------------------------------------------------------------------
def segmentation_iou(
    true_masks: Any, pred_masks: Any, num_classes: int, ignore_class: int | None = None
) -> dict[str, Any]:
    """Per-class IoU of integer class masks and their mean, as ``keras.metrics.MeanIoU`` counts them.

    Returns ``{"per_class": float array (NaN for a class in neither mask), "mean": mean over
    the classes present, "confusion": num_classes x num_classes pixel counts}``. Pixels whose
    true class is ``ignore_class`` are left out (Pascal VOC's 255 border).
    """
    t = np.asarray(true_masks).reshape(-1).astype(np.int64)
    p = np.asarray(pred_masks).reshape(-1).astype(np.int64)
    if t.shape != p.shape:
        raise MetricError(
            f"expected predicted masks of the same shape as the true ones, received {np.shape(pred_masks)} "
            f"and {np.shape(true_masks)}"
        )
    k = int(num_classes)
    if k < 1:
        raise MetricError(f"number of classes must be at least 1, received {num_classes}")
    if ignore_class is not None:
        keep = t != int(ignore_class)
        t, p = t[keep], p[keep]
    for name, arr in (("true", t), ("predicted", p)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            bad = int(arr[(arr < 0) | (arr >= k)][0])
            raise MetricError(f"{name} mask holds class {bad}, outside the {k} classes (0 to {k - 1})")
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)
    present = ~np.isnan(per_class)
    mean = float(per_class[present].mean()) if present.any() else float("nan")
    return {"per_class": per_class, "mean": mean, "confusion": cm}


# --- anchors ------------------------------------------------------------------------------------
def wh_iou(wh: Any, anchors: Any) -> np.ndarray:
    """N x K IoU of width/height boxes aligned at a corner (YOLOv2's anchor distance is 1 - this)."""
    a = np.asarray(wh, np.float64).reshape(-1, 2)
    b = np.asarray(anchors, np.float64).reshape(-1, 2)
    inter = np.minimum(a[:, None, 0], b[None, :, 0]) * np.minimum(a[:, None, 1], b[None, :, 1])
    union = (a[:, 0] * a[:, 1])[:, None] + (b[:, 0] * b[:, 1])[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def mean_anchor_iou(wh: Any, anchors: Any) -> float:
    """Average over the boxes of their best IoU with an anchor (YOLOv2's "Avg IOU")."""
    ious = wh_iou(wh, anchors)
    return float(ious.max(axis=1).mean()) if ious.size else float("nan")


def kmeans_anchors(wh: Any, k: int, seed: int = 0, iterations: int = 300, restarts: int = 5) -> np.ndarray:
    """``k`` anchor sizes (k x 2 width, height, smallest area first) by k-means with distance 1 - IoU.

    As YOLOv2 chooses its priors: boxes are compared by shape only (aligned at a corner),
    and each centre moves to the mean of its boxes until nothing changes. Centres start
    k-means++-style from ``seed``; of ``restarts`` runs the one of highest mean IoU is kept.
    """
    data = np.asarray(wh, np.float64).reshape(-1, 2)
    data = data[(data[:, 0] > 0) & (data[:, 1] > 0)]
    k = int(k)
    if k < 1:
        raise MetricError(f"the number of anchors must be at least 1, received {k}")
    if len(data) < k:
        raise MetricError(f"{k} anchors need at least {k} boxes with a positive width and height, received {len(data)}")
    rng = np.random.default_rng(seed)
    best, best_iou = None, -1.0
    for _ in range(max(1, int(restarts))):
        c = _kmeans_once(data, k, rng, int(iterations))
        fit = mean_anchor_iou(data, c)
        if fit > best_iou:
            best, best_iou = c, fit
    assert best is not None
    return best[np.argsort(best[:, 0] * best[:, 1], kind="stable")]


def _kmeans_once(data: np.ndarray, k: int, rng: np.random.Generator, iterations: int) -> np.ndarray:
    centres = [data[rng.integers(len(data))]]
    for _ in range(1, k):
        dist = (1 - wh_iou(data, np.array(centres))).min(axis=1) ** 2
        total = dist.sum()
        pick = rng.choice(len(data), p=dist / total) if total > 0 else rng.integers(len(data))
        centres.append(data[pick])
    c = np.array(centres)
    assign = np.full(len(data), -1)
    for _ in range(iterations):
        new = np.argmax(wh_iou(data, c), axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = data[assign == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return c
