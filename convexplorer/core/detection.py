"""YOLO-style grid targets: encode an image's objects for a detection head, decode its output back to boxes.

A detection head predicts, on an ``S x S`` grid with ``A`` anchors a cell, the
tensor ``S x S x A x (5 + C)``: for each anchor ``[objectness, tx, ty, tw, th,
class scores...]``, as YOLOv2 does it:

- the object whose box centre falls in a cell is assigned to that cell and to
  the anchor whose shape fits it best (IoU of the sizes aligned at a corner; if
  that anchor already holds an object of this cell, the next best free one; if
  none is free the object is counted in ``dropped``);
- ``tx, ty`` are the centre's offset inside its cell (0 to 1: what YOLOv2's
  ``sigmoid(t)`` predicts), ``tw, th`` are ``log(w / anchor_w)`` and
  ``log(h / anchor_h)``;
- the class is one-hot; objectness is 1 where an object is, 0 elsewhere.

Boxes and anchors are fractions of the image (``x1, y1, x2, y2`` in 0..1;
anchor width and height in 0..1), so the same target serves any delivered
image size. :func:`decode_grid` inverts this (``from_logits=True`` first applies
the sigmoid to objectness and offsets and a softmax to the class scores); a
box's score is objectness times its best class probability. Anchors come from
:func:`dataset_anchors` (k-means over the data set's box sizes, YOLOv2's recipe).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import ConvExplorerError
from .metrics import kmeans_anchors, non_max_suppression, wh_iou


class DetectionError(ConvExplorerError):
    """Grid targets cannot be made or read (wrong shapes, no anchors, classes out of range)."""


def _anchors(anchors: Any) -> np.ndarray:
    a = np.asarray(anchors, np.float64)
    if a.ndim != 2 or a.shape[1] != 2 or len(a) == 0 or np.any(a <= 0):
        raise DetectionError(
            f"expected anchors as an A x 2 array of positive widths and heights (fractions of the image), received {a.tolist()}"
        )
    return a


def grid_shape(grid_size: int, anchors: Any, num_classes: int) -> tuple[int, int, int, int]:
    """The target's shape ``(S, S, A, 5 + C)``."""
    return (int(grid_size), int(grid_size), len(_anchors(anchors)), 5 + int(num_classes))


def encode_grid(
    boxes: Any, classes: Any, grid_size: int, anchors: Any, num_classes: int
) -> tuple[np.ndarray, int]:
    """One image's boxes (M x 4 fractions) and classes (M) as an ``S x S x A x (5 + C)`` float32 target.

    Returns the target and how many objects found no free anchor in their cell (left out).
    """
    a = _anchors(anchors)
    s, c = int(grid_size), int(num_classes)
    if s < 1 or c < 1:
        raise DetectionError(f"grid size and number of classes must be at least 1, received {s} and {c}")
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    k = np.asarray(classes).reshape(-1).astype(np.int64)
    if len(k) != len(b):
        raise DetectionError(f"{len(b)} boxes but {len(k)} classes")
    if len(k) and (k.min() < 0 or k.max() >= c):
        raise DetectionError(f"class {int(k[(k < 0) | (k >= c)][0])} is outside the {c} classes (0 to {c - 1})")
    out = np.zeros((s, s, len(a), 5 + c), np.float32)
    wh = b[:, 2:] - b[:, :2]
    centre = (b[:, :2] + b[:, 2:]) / 2
    dropped = 0
    fit = wh_iou(np.maximum(wh, 1e-12), a)
    # Larger objects first, so that a small one never takes the anchor a large one fits best.
    for m in np.argsort(-(wh[:, 0] * wh[:, 1]), kind="stable"):
        if wh[m, 0] <= 0 or wh[m, 1] <= 0:
            dropped += 1
            continue
        col = min(max(int(np.floor(centre[m, 0] * s)), 0), s - 1)
        row = min(max(int(np.floor(centre[m, 1] * s)), 0), s - 1)
        for j in np.argsort(-fit[m], kind="stable"):
            if out[row, col, j, 0] == 0:
                out[row, col, j, 0] = 1.0
                out[row, col, j, 1] = centre[m, 0] * s - col
                out[row, col, j, 2] = centre[m, 1] * s - row
                out[row, col, j, 3] = np.log(wh[m, 0] / a[j, 0])
                out[row, col, j, 4] = np.log(wh[m, 1] / a[j, 1])
                out[row, col, j, 5 + k[m]] = 1.0
                break
        else:
            dropped += 1
    return out, dropped


def encode_batch(
    objects: Sequence[tuple[Any, Any]], grid_size: int, anchors: Any, num_classes: int
) -> tuple[np.ndarray, int]:
    """Targets for many images (a list of (boxes in fractions, classes)): ``N x S x S x A x (5 + C)`` and the total dropped."""
    out = np.zeros((len(objects),) + grid_shape(grid_size, anchors, num_classes), np.float32)
    dropped = 0
    for i, (b, k) in enumerate(objects):
        out[i], d = encode_grid(b, k, grid_size, anchors, num_classes)
        dropped += d
    return out, dropped


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def decode_grid(
    grid: Any,
    anchors: Any,
    score_threshold: float = 0.5,
    from_logits: bool = False,
    iou_threshold: float | None = None,
    max_outputs: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (K x 4 fractions), scores (K) and classes (K) from one image's ``S x S x A x (5 + C)`` output.

    Keeps the cells whose score (objectness x best class probability) is at least
    ``score_threshold``, best first; with ``iou_threshold`` a class-wise non-max
    suppression follows.
    """
    a = _anchors(anchors)
    g = np.asarray(grid, np.float64)
    if g.ndim != 4 or g.shape[0] != g.shape[1] or g.shape[2] != len(a) or g.shape[3] < 6:
        raise DetectionError(
            f"expected a grid output of shape S x S x {len(a)} x (5 + classes), received {tuple(g.shape)}"
        )
    s = g.shape[0]
    obj, txy, twh, cls = g[..., 0], g[..., 1:3], g[..., 3:5], g[..., 5:]
    if from_logits:
        obj, txy = _sigmoid(obj), _sigmoid(txy)
        e = np.exp(cls - cls.max(axis=-1, keepdims=True))
        cls = e / e.sum(axis=-1, keepdims=True)
    best = np.argmax(cls, axis=-1)
    score = obj * np.take_along_axis(cls, best[..., None], -1)[..., 0]
    rows, cols, js = np.nonzero(score >= score_threshold)
    cx = (cols + txy[rows, cols, js, 0]) / s
    cy = (rows + txy[rows, cols, js, 1]) / s
    w = a[js, 0] * np.exp(np.clip(twh[rows, cols, js, 0], -20, 20))
    h = a[js, 1] * np.exp(np.clip(twh[rows, cols, js, 1], -20, 20))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).reshape(-1, 4)
    scores = score[rows, cols, js]
    classes = best[rows, cols, js].astype(np.int32)
    order = np.argsort(-scores, kind="stable")
    boxes, scores, classes = boxes[order], scores[order], classes[order]
    if iou_threshold is not None and len(boxes):
        keep = []
        for k in np.unique(classes):
            sel = np.flatnonzero(classes == k)
            keep.extend(sel[non_max_suppression(boxes[sel], scores[sel], iou_threshold, max_outputs=max_outputs)])
        keep = np.sort(np.asarray(keep, np.int64))
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    return boxes[:max_outputs].astype(np.float32), scores[:max_outputs].astype(np.float32), classes[:max_outputs]


def dataset_anchors(objects: Sequence[tuple[Any, Any]], k: int = 5, seed: int = 0) -> np.ndarray:
    """``k`` anchors (k x 2 fractions of the image) by k-means (1 - IoU) over every box's width and height."""
    wh = [np.asarray(b, np.float64).reshape(-1, 4) for b, _ in objects]
    sizes = np.concatenate(wh)[:, 2:] - np.concatenate(wh)[:, :2] if wh else np.zeros((0, 2))
    return kmeans_anchors(sizes, k, seed=seed)
