"""Task metrics on the validation data after each epoch: box IoU, mean and per-class IoU, AP@0.5 and AP@[.5:.95].

:func:`task_metrics` runs a model over batches of ``(images, targets)`` (the
same ``tf.data`` input or arrays training uses: ``core.targets.head_dataset``)
and measures each head that learns something else than labels:

- a localization head (four numbers, ``[x0, y0, x1, y1]``): the mean IoU of
  each predicted box with its true box (``core.metrics.box_iou``, diagonal) as
  ``iou``;
- a mask head (``H x W x classes`` scores): the per-pixel confusion matrix
  summed over the data, then ``core.metrics.segmentation_iou``: ``mean_iou``
  and ``iou.<class>`` (what ``keras.metrics.MeanIoU`` / ``IoU`` count);
- a detection grid (``S x S x A x (5 + C)`` logits, a ``HeadTarget`` with
  anchors): each image's boxes decoded (``core.detection.decode_grid``, a low
  score threshold and class-wise NMS) against the objects of its target grid,
  then ``core.metrics.detection_metrics`` (COCOeval's rules): ``ap50``, ``ap``
  and ``ap50.<class>``, ``ap.<class>``.

:func:`task_metrics_callback` wraps it in a Keras callback that writes these
values, prefixed ``val_``, into the epoch's logs: a ``TrainingSession`` runs it
before its own monitor (``metric_callbacks``), so they reach the history, the
events and the Training panel's charts like any Keras metric. The model is
called directly (``model(x, training=False)``), which also works on a model
built under a ``tf.distribute`` strategy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import ConvExplorerError

#: Detections kept for AP: a low score threshold (AP integrates over scores), NMS at this IoU.
AP_SCORE_THRESHOLD = 0.05
AP_NMS_IOU = 0.5


class TaskMetricError(ConvExplorerError):
    """A head's output or target does not have the shape its task needs."""


def task_heads(heads: Sequence[Any]) -> list[Any]:
    """The heads that have task metrics (boxes and masks; labels have Keras's accuracy)."""
    return [h for h in heads if getattr(h, "target", "labels") in ("boxes", "masks")]


def _batches(data: Any) -> Iterable[tuple[Any, Any]]:
    if isinstance(data, (tuple, list)) and len(data) == 2 and not hasattr(data, "element_spec"):
        x, y = data
        n = len(x)
        for start in range(0, n, 64):
            stop = min(n, start + 64)
            yy = {k: v[start:stop] for k, v in y.items()} if isinstance(y, dict) else y[start:stop]
            yield x[start:stop], yy
        return
    yield from data


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _pick(out: Any, y: Any, name: str, single: bool) -> tuple[np.ndarray, np.ndarray]:
    if single:
        p = out if not isinstance(out, dict) else out[name]
        t = y[name] if isinstance(y, dict) else y
    else:
        p, t = out[name], y[name]
    return _numpy(p), _numpy(t)


def _suffix(names: Sequence[str], k: int) -> str:
    return str(names[k]) if k < len(names) else str(k)


def task_metrics(
    model: Any,
    data: Any,
    heads: Sequence[Any],
    class_names: Sequence[str] = (),
    per_class: bool = True,
) -> dict[str, float]:
    """Task metrics of ``model`` on ``data`` (batches of (images, targets)) for ``heads`` (``core.targets.HeadTarget``).

    Keys: ``iou`` (localization), ``mean_iou`` and ``iou.<class>`` (masks), ``ap50``, ``ap``,
    ``ap50.<class>``, ``ap.<class>`` (detection grids); with several heads of one kind the
    keys start with ``<head>_``. ``class_names`` are the data set's (for masks, background first).
    """
    from .detection import decode_grid
    from .metrics import box_iou, detection_metrics, segmentation_iou

    chosen = task_heads(heads)
    if not chosen:
        return {}
    single = len(heads) == 1
    ious: dict[str, list[np.ndarray]] = {h.name: [] for h in chosen}
    confusion: dict[str, np.ndarray | None] = {h.name: None for h in chosen}
    truths: dict[str, list] = {h.name: [] for h in chosen}
    preds: dict[str, list] = {h.name: [] for h in chosen}
    for x, y in _batches(data):
        out = model(x, training=False)
        for h in chosen:
            p, t = _pick(out, y, h.name, single)
            if h.target == "masks":
                if p.ndim != 4:
                    raise TaskMetricError(
                        f'the head "{h.name}" learns masks: expected scores of shape (batch, height, width, classes), '
                        f"received {p.shape}"
                    )
                k = p.shape[-1]
                cm = segmentation_iou(t.reshape(-1), np.argmax(p, -1).reshape(-1), k)["confusion"]
                confusion[h.name] = cm if confusion[h.name] is None else confusion[h.name] + cm
            elif getattr(h, "grid_size", 0) and getattr(h, "anchors", ()):
                anchors = np.asarray(h.anchors, np.float64)
                if p.ndim != 5 or p.shape[1:4] != (h.grid_size, h.grid_size, len(anchors)):
                    raise TaskMetricError(
                        f'the head "{h.name}" is a detection grid of {h.grid_size} x {h.grid_size} x {len(anchors)} anchors: '
                        f"expected outputs of shape (batch, {h.grid_size}, {h.grid_size}, {len(anchors)}, 5 + classes), "
                        f"received {p.shape}"
                    )
                for pi, ti in zip(p, t):
                    gb, _, gc = decode_grid(ti, anchors, score_threshold=0.5, max_outputs=10_000)
                    truths[h.name].append((gb, gc))
                    db, ds, dc = decode_grid(pi, anchors, score_threshold=AP_SCORE_THRESHOLD, from_logits=True,
                                             iou_threshold=AP_NMS_IOU)
                    preds[h.name].append((db, dc, ds))
            else:
                if p.shape[-1] != 4 or p.ndim != 2:
                    raise TaskMetricError(
                        f'the head "{h.name}" learns one box [x0, y0, x1, y1]: expected outputs of shape (batch, 4), '
                        f"received {p.shape}"
                    )
                ious[h.name].append(np.diag(box_iou(t.reshape(-1, 4), p.reshape(-1, 4))))
    kinds = [("masks" if h.target == "masks" else "grid" if getattr(h, "grid_size", 0) else "box") for h in chosen]
    out_metrics: dict[str, float] = {}
    for h, kind in zip(chosen, kinds):
        prefix = f"{h.name}_" if kinds.count(kind) > 1 else ""
        if kind == "masks":
            cm = confusion[h.name]
            if cm is None:
                continue
            tp = np.diag(cm).astype(np.float64)
            union = cm.sum(0) + cm.sum(1) - np.diag(cm)
            with np.errstate(invalid="ignore", divide="ignore"):
                each = np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)
            present = ~np.isnan(each)
            out_metrics[prefix + "mean_iou"] = float(each[present].mean()) if present.any() else math.nan
            if per_class:
                for k, v in enumerate(each):
                    out_metrics[f"{prefix}iou.{_suffix(class_names, k)}"] = float(v)
        elif kind == "grid":
            if not truths[h.name]:
                continue
            m = detection_metrics(truths[h.name], preds[h.name])
            out_metrics[prefix + "ap50"] = float(m["ap50"])
            out_metrics[prefix + "ap"] = float(m["ap"])
            if per_class:
                for k in sorted(m["per_class_ap50"]):
                    out_metrics[f"{prefix}ap50.{_suffix(class_names, k)}"] = float(m["per_class_ap50"][k])
                    out_metrics[f"{prefix}ap.{_suffix(class_names, k)}"] = float(m["per_class_ap"][k])
        else:
            if ious[h.name]:
                out_metrics[prefix + "iou"] = float(np.concatenate(ious[h.name]).mean())
    return out_metrics


_CallbackClass: Any = None


def task_metrics_callback(data: Any, heads: Sequence[Any], class_names: Sequence[str] = (),
                          prefix: str = "val_", per_class: bool = True) -> Any:
    """A Keras callback that adds :func:`task_metrics` on ``data`` to each epoch's logs (keys prefixed ``val_``)."""
    global _CallbackClass
    if _CallbackClass is None:
        import keras

        class TaskMetrics(keras.callbacks.Callback):
            """Writes task metrics (IoU, mean IoU, AP) of the validation data into the epoch's logs."""

            def __init__(self, data: Any, heads: Sequence[Any], class_names: Sequence[str], prefix: str,
                         per_class: bool) -> None:
                super().__init__()
                self.data, self.heads, self.class_names = data, list(heads), list(class_names)
                self.prefix, self.per_class = prefix, per_class
                #: The values of every epoch, as written into the logs.
                self.history: list[dict[str, float]] = []

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                if getattr(self.model, "stop_training", False):
                    return  # stopping (Stop, early stopping, a NaN loss): no full pass over the data now
                values = task_metrics(self.model, self.data, self.heads, self.class_names, self.per_class)
                row = {self.prefix + k: v for k, v in values.items()}
                self.history.append(row)
                if logs is not None:
                    logs.update(row)

        _CallbackClass = TaskMetrics
    return _CallbackClass(data, heads, class_names, prefix, per_class)
