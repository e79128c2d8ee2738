"""What a model predicts (class, box, masks or a detection grid), its raw output for one image, and per-image scores.

:func:`model_task` reads the task from the model's output shapes, with the
current data set's task to settle the ambiguous cases:

- an output ``S x S x A x (5 + C)`` (rank 5) is a YOLO-style detection grid
  (:mod:`convexplorer.core.detection`); so is a rank-4 ``S x S x (A (5 + C))``
  output when the data set is a detection set with ``C`` classes;
- an output ``H x W x K`` (rank 4) is a segmenter's per-pixel class scores;
- four numbers beside a classifier (two heads) are a localization model;
- anything else is a classifier.

:func:`raw_output` runs the model once (a direct call, never ``predict``) and
returns the head's array, so that Inspect can redraw boxes at other thresholds
without calling the model again. :func:`image_scores` scores every image of a
subset (box IoU, mean IoU of masks, or a detection's matched IoU) for the
"worst images" gallery.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConvExplorerError
from .progress import ProgressFn, check_cancel, report

TASKS: tuple[str, ...] = ("classification", "localization", "detection", "segmentation")


class TaskError(ConvExplorerError):
    """A model's task cannot be read, or its output does not fit the data set."""


@dataclass(frozen=True)
class TaskInfo:
    """What a model predicts: the task, the head that carries it, and its output shape (without the batch)."""

    task: str
    head: str
    output_shape: tuple[int, ...]
    #: Classes the head predicts (masks: K including the background; grid: C).
    num_classes: int = 0
    #: Detection grids: S and A.
    grid_size: int = 0
    num_anchors: int = 0
    #: Localization: the classifier head beside the box head ("" when there is none).
    class_head: str = ""

    def describe(self) -> str:
        """One line for the UI."""
        if self.task == "detection":
            return (f"detector: {self.grid_size}x{self.grid_size} grid, {self.num_anchors} anchors a cell, "
                    f"{self.num_classes} classes (head “{self.head}”)")
        if self.task == "segmentation":
            h, w = self.output_shape[:2]
            return f"segmenter: {self.num_classes} classes a pixel at {w}x{h} (head “{self.head}”)"
        if self.task == "localization":
            return f"class + box (box head “{self.head}”)"
        return "classifier"


def _output_tensors(model: Any) -> list[tuple[str, Any]]:
    """(name, symbolic tensor) of each model output, in the model's order: a dict output's keys, else layer names."""
    struct = getattr(model, "_outputs_struct", None)
    if isinstance(struct, dict):
        return [(str(k), t) for k, t in struct.items()]
    outs = getattr(model, "outputs", None)
    if not outs:
        raise TaskError("the model has no outputs to read: build it on an input first")
    try:
        names = [str(n) for n in (getattr(model, "output_names", None) or [])]
    except Exception:  # noqa: BLE001 - a model that cannot name its outputs
        names = []
    if len(names) != len(outs):
        names = [getattr(getattr(t, "_keras_history", [None])[0], "name", f"output_{k + 1}") for k, t in enumerate(outs)]
    return list(zip(names, outs))


def _outputs(model: Any) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape without batch) of each model output, in the model's order."""
    return [(n, tuple(int(v) if v is not None else -1 for v in t.shape[1:])) for n, t in _output_tensors(model)]


def output_count(model: Any) -> int:
    """How many outputs (heads) the model has."""
    return len(_output_tensors(model))


def _is_softmax(tensor: Any) -> bool:
    layer = getattr(getattr(tensor, "_keras_history", None), "operation", None)
    if layer is None:
        hist = getattr(tensor, "_keras_history", None)
        layer = hist[0] if hist else None
    if type(layer).__name__ == "Softmax":
        return True
    return getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"


def _input_hw(model: Any) -> tuple[int, int] | None:
    try:
        shape = model.inputs[0].shape
        return (int(shape[1]), int(shape[2])) if shape[1] and shape[2] else None
    except (AttributeError, IndexError, TypeError):
        return None


def model_task(model: Any, dataset: Any = None) -> TaskInfo:
    """The task of ``model`` from its output shapes (and ``dataset``'s task where the shape alone is ambiguous)."""
    outs = _outputs(model)
    ds_task = getattr(dataset, "task", None) if dataset is not None else None
    ds_classes = len(getattr(dataset, "class_names", []) or []) if dataset is not None else 0
    for name, shape in outs:
        if len(shape) == 4 and shape[0] == shape[1] and shape[3] >= 6:
            return TaskInfo("detection", name, shape, shape[3] - 5, shape[0], shape[2])
    for name, shape in outs:
        if len(shape) == 3 and ds_task == "detection" and ds_classes and shape[0] == shape[1]:
            per = 5 + ds_classes
            if shape[2] % per == 0:
                return TaskInfo("detection", name, shape, ds_classes, shape[0], shape[2] // per)
    for name, shape in outs:
        if len(shape) == 3 and shape[2] >= 1:
            return TaskInfo("segmentation", name, shape, max(shape[2], 2))
    soft = {n for n, t in _output_tensors(model) if _is_softmax(t)}
    flat = [(n, s) for n, s in outs if len(s) == 1]
    boxes = [(n, s) for n, s in flat if s[0] == 4 and n not in soft]
    others = [(n, s) for n, s in flat if (n, s) not in boxes]
    if len(outs) > 1 and boxes and others:
        return TaskInfo("localization", boxes[0][0], boxes[0][1], others[0][1][0], class_head=others[0][0])
    name, shape = outs[0]
    return TaskInfo("classification", name, shape, shape[-1] if shape else 0)


def grid_of(raw: np.ndarray, info: TaskInfo) -> np.ndarray:
    """A detector's raw output as ``S x S x A x (5 + C)`` (a rank-3 ``S x S x A(5 + C)`` output is reshaped)."""
    g = np.asarray(raw, np.float32)
    s, a, c = info.grid_size, info.num_anchors, info.num_classes
    try:
        return g.reshape(s, s, a, 5 + c)
    except ValueError:
        raise TaskError(f"expected a grid output of {s}x{s}x{a}x{5 + c} numbers, received shape {g.shape}") from None


def detection_anchors(model: Any, dataset: Any = None, anchors: Any = None, num_anchors: int | None = None) -> np.ndarray:
    """The anchors (A x 2 fractions) to decode a detector with: ``anchors`` if given, else the model's
    ``anchors`` attribute, else k-means over ``dataset``'s boxes (:func:`core.detection.dataset_anchors`)."""
    from .detection import dataset_anchors

    for candidate in (anchors, getattr(model, "anchors", None), getattr(model, "_convexplorer_anchors", None)):
        if candidate is not None:
            a = np.asarray(candidate, np.float32).reshape(-1, 2)
            if num_anchors is not None and len(a) != num_anchors:
                raise TaskError(f"the model has {num_anchors} anchors a cell but {len(a)} anchors were given")
            return a
    if dataset is None or not dataset.has_objects():
        raise TaskError("a detector's boxes need anchors: load its detection data set in the Data panel "
                        "(its anchors are found from the boxes) or give them")
    return np.asarray(dataset_anchors(dataset.object_fractions(), k=int(num_anchors or 5)), np.float32)


def raw_output(model: Any, x: np.ndarray, head: str | None = None) -> np.ndarray:
    """The head's raw output for one image ``x`` (``H x W x C`` as fed): one direct model call."""
    return raw_outputs(model, np.asarray(x, np.float32)[None], head)[0]


def raw_outputs(model: Any, batch: np.ndarray, head: str | None = None) -> np.ndarray:
    """The head's raw output for a batch ``N x H x W x C`` (a direct ``model(x, training=False)`` call)."""
    out = model(np.asarray(batch, np.float32), training=False)
    if isinstance(out, dict):
        out = out[head] if head in out else next(iter(out.values()))
    elif isinstance(out, (list, tuple)):
        names = [n for n, _s in _outputs(model)]
        out = out[names.index(head)] if head in names else out[0]
    return np.asarray(out)


def decode_detections(grid: np.ndarray, anchors: Any, score_threshold: float, iou_threshold: float,
                      max_outputs: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (fractions), scores and classes of one grid at these thresholds: ``decode_grid`` then class-wise NMS."""
    from .detection import decode_grid

    return decode_grid(grid, anchors, score_threshold=float(score_threshold), from_logits=True,
                       iou_threshold=float(iou_threshold), max_outputs=max_outputs)


def box_cells(grid: np.ndarray, anchors: Any, boxes: Any) -> list[tuple[int, int, int]]:
    """The (row, column, anchor) each decoded box (fractions) came from: the cell holding its centre, and the
    anchor of that cell whose decoded box is closest (as :func:`core.detection.decode_grid` decodes it)."""
    g = np.asarray(grid, np.float64)
    a = np.asarray(anchors, np.float64).reshape(-1, 2)
    s = g.shape[0]
    out = []
    for box in np.asarray(boxes, np.float64).reshape(-1, 4):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        col = min(max(int(np.floor(cx * s)), 0), s - 1)
        row = min(max(int(np.floor(cy * s)), 0), s - 1)
        t = g[row, col]
        w = a[:, 0] * np.exp(np.clip(t[:, 3], -20, 20))
        h = a[:, 1] * np.exp(np.clip(t[:, 4], -20, 20))
        j = int(np.argmin(np.abs(w - (box[2] - box[0])) + np.abs(h - (box[3] - box[1]))))
        out.append((row, col, j))
    return out


def objectness(grid: np.ndarray) -> np.ndarray:
    """Each cell's objectness (sigmoid of the logit), the largest over its anchors: ``S x S`` in [0, 1]."""
    g = np.asarray(grid, np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * g[..., 0]))).max(axis=-1).astype(np.float32)


def mask_of(raw: np.ndarray) -> np.ndarray:
    """A segmenter's predicted class mask (argmax over the classes; one channel: above 0.5)."""
    r = np.asarray(raw)
    if r.shape[-1] == 1:
        return (r[..., 0] > 0.5).astype(np.uint8)
    return np.argmax(r, axis=-1).astype(np.uint8)


def matched_iou(true_boxes: Any, true_classes: Any, boxes: Any, scores: Any, classes: Any) -> float:
    """A detection's quality on one image: greedy matching (best score first, same class, IoU > 0), the matched
    IoUs summed over ``max(true, predicted)`` boxes: 1 for every box found exactly and nothing else, 0 for none."""
    from .metrics import box_iou

    t = np.asarray(true_boxes, np.float64).reshape(-1, 4)
    p = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = max(len(t), len(p))
    if n == 0:
        return 1.0
    if len(t) == 0 or len(p) == 0:
        return 0.0
    ious = box_iou(p, t)
    same = np.asarray(classes).reshape(-1)[:, None] == np.asarray(true_classes).reshape(-1)[None, :]
    ious = np.where(same, ious, 0.0)
    taken = np.zeros(len(t), bool)
    total = 0.0
    for j in np.argsort(-np.asarray(scores, np.float64).reshape(-1), kind="stable"):
        cand = np.where(taken, -1.0, ious[j])
        best = int(np.argmax(cand))
        if cand[best] > 0:
            taken[best] = True
            total += float(cand[best])
    return total / n


def image_scores(
    model: Any,
    dataset: Any,
    indices: Sequence[int],
    info: TaskInfo,
    anchors: Any = None,
    score_threshold: float = 0.5,
    iou_threshold: float = 0.5,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """One score in [0, 1] per image of ``indices``: box IoU (localization), mean IoU over the classes present
    (segmentation) or :func:`matched_iou` at these thresholds (detection)."""
    from .metrics import box_iou, segmentation_iou

    idx = np.asarray(indices, np.int64)
    out = np.zeros(len(idx), np.float64)
    h, w = dataset.image_shape[:2]
    scale = np.array([w, h, w, h], np.float64)
    for start in range(0, len(idx), int(batch_size)):
        check_cancel(cancel)
        report(progress, start, len(idx), f"scoring images {start}/{len(idx)}")
        part = idx[start : start + int(batch_size)]
        batch = np.stack([dataset.image(int(i)) for i in part])
        raw = raw_outputs(model, batch, info.head)
        for k, i in enumerate(part):
            if info.task == "segmentation":
                true = dataset.mask(int(i))
                pred = mask_of(raw[k])
                if pred.shape != true.shape:
                    from .overlays import resize_mask

                    pred = resize_mask(pred, true.shape)
                res = segmentation_iou(true, pred, max(info.num_classes, int(true[true != 255].max(initial=0)) + 1),
                                       ignore_class=255)
                out[start + k] = 0.0 if np.isnan(res["mean"]) else res["mean"]
            elif info.task == "detection":
                tb, tc = dataset.objects(int(i))
                b, s, c = decode_detections(grid_of(raw[k], info), anchors, score_threshold, iou_threshold)
                out[start + k] = matched_iou(np.asarray(tb) / scale, tc, b, s, c)
            elif info.task == "localization":
                true = np.asarray(dataset.boxes(int(i)), np.float64).reshape(1, 4) / scale
                out[start + k] = float(box_iou(np.asarray(raw[k], np.float64).reshape(1, 4), true)[0, 0])
            else:
                raise TaskError("the worst-images gallery needs a localization, detection or segmentation model")
    report(progress, len(idx), len(idx), "scored")
    return out


def worst_images(indices: Sequence[int], scores: np.ndarray, k: int = 24) -> list[tuple[int, float]]:
    """The ``k`` lowest-scoring images as (index, score), worst first (ties: the lower index first)."""
    idx = np.asarray(indices, np.int64)
    order = np.lexsort((idx, np.asarray(scores, np.float64)))[: int(k)]
    return [(int(idx[j]), float(scores[j])) for j in order]
