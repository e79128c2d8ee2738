"""A runnable Python script that rebuilds and trains a design.

:func:`export_script` writes plain Keras code (no ConvExplorer import) in the
functional API: a ``build_model()`` function with one line per layer (a chain
reads ``x = layers.Conv2D(...)(x)``; a graph names each tensor after its node
and passes lists to merges; several heads give a dict of outputs), a
``compile_model()`` with the design's optimizer, loss(es), loss weights and
metrics, and a ``main()`` that picks a ``tf.distribute`` strategy
(``--strategy default|mirrored|multiworker``), builds and compiles inside
``strategy.scope()``, prints the parameter count and, when ``--data`` is given
(a folder of class sub-folders or an ``.npz`` with ``x_train`` / ``y_train``),
trains on it.

Designs may come from someone else, so no string of a design (model, node,
head and group names, the description, parameters, a kept Keras config) is
ever pasted into the code as it is: values reach the text only through
:func:`_lit` (the base-class ``repr`` of plain data: ``None``, booleans,
numbers, text, lists and dicts of them), tensor variable names are made from
node names by :func:`_identifier` (ASCII letters, digits and ``_`` only), and
the docstring holds no design text at all: the name and description are the
``MODEL_NAME`` and ``DESCRIPTION`` constants.
"""

from __future__ import annotations

import builtins
import keyword
import math
import numbers
import operator
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import SpecError
from .layer_kinds import APPLICATION_NAMES, LAYER_KINDS
from .spec import INPUT_ID, HeadSpec, LayerSpec, ModelSpec, normalize_quad, pair
from .summary import summarize
from .workspace import atomic_write_text

#: Deepest nesting of lists/dicts written as a literal (Python's parser stops near 200 levels).
_MAX_DEPTH = 40
#: Longest whole number written as a literal (Python refuses to read more than 4,300 digits).
_MAX_DIGITS = 400

_HEADER = '''#!/usr/bin/env python3
"""Build and train a ConvExplorer design with Keras.

Made by ConvExplorer ({total:,} parameters); the design's name and description
are MODEL_NAME and DESCRIPTION below.
Run:  python {filename} --data DATA [--epochs 10] [--strategy default|mirrored|multiworker]
DATA is a folder with one sub-folder of images per class, or an .npz file with
x_train, y_train (and optionally x_val, y_val) arrays; with several heads, the
.npz may hold y_train_HEAD (and y_val_HEAD) per head, else every head learns y_train.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras
from keras import layers

MODEL_NAME = {model_name}
DESCRIPTION = {description}
INPUT_SHAPE = {input_shape}
NUM_CLASSES = {num_classes}
LOSS = {loss}
'''

_PICK = '''

def _pick(tensor, port):
    """One output of a kept Keras layer that has several."""
    return tensor[port] if isinstance(tensor, (list, tuple)) else tensor
'''

_REST = '''

def make_strategy(name):
    """The tf.distribute strategy: one device, all local devices, or several workers (TF_CONFIG)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":

        class Strategy(tf.distribute.MultiWorkerMirroredStrategy):
            """Keras 3 fit() calls reduce() on a whole batch and with axis=0 on scalars (keras-team/keras#20585)."""

            def reduce(self, reduce_op, value, axis):
                parent = super()

                def one(v):
                    local = self.experimental_local_results(v)[0]
                    return parent.reduce(reduce_op, v, axis if axis is not None and local.shape.rank else None)

                return tf.nest.map_structure(one, value)

        return Strategy()
    return tf.distribute.get_strategy()


def _labels(y, loss):
    """Labels as a loss expects them: one-hot for categorical cross-entropy."""
    y = np.asarray(y)
    if loss == "categorical_crossentropy" and y.ndim == 1:
        return keras.utils.to_categorical(y, NUM_CLASSES)
    return y


def load_data(path, batch_size):
    """(train, validation) tf.data datasets from a folder of class folders or an .npz file."""
    heads = LOSS if isinstance(LOSS, dict) else None
    if os.path.isdir(path):
        label_mode = "int"
        if not heads:
            label_mode = {{"binary_crossentropy": "binary", "categorical_crossentropy": "categorical"}}.get(LOSS, "int")
        common = dict(
            image_size=INPUT_SHAPE[:2],
            color_mode={{1: "grayscale", 3: "rgb", 4: "rgba"}}[INPUT_SHAPE[2]],
            label_mode=label_mode,
            batch_size=batch_size,
            validation_split=0.2,
            seed=1337,
        )
        train = keras.utils.image_dataset_from_directory(path, subset="training", **common)
        val = keras.utils.image_dataset_from_directory(path, subset="validation", **common)
        if heads:  # every head learns the class of the folder, in the form its loss expects

            def per_head(x, y):
                return x, {{
                    head: tf.one_hot(y, NUM_CLASSES) if loss == "categorical_crossentropy"
                    else y if loss == "sparse_categorical_crossentropy" else tf.cast(y, "float32")
                    for head, loss in heads.items()
                }}

            train, val = train.map(per_head), val.map(per_head)
        return train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    data = np.load(path)

    def arrays(xk, yk):
        x = np.asarray(data[xk], dtype="float32")
        if x.ndim == 3:
            x = x[..., None]
        if heads:
            y = {{}}
            for head, loss in heads.items():
                key = f"{{yk}}_{{head}}" if f"{{yk}}_{{head}}" in data.files else yk
                if key not in data.files:
                    raise SystemExit(f"{{path}}: no {{yk}}_{{head}} or {{yk}} array for the head {{head!r}}")
                y[head] = _labels(data[key], loss)
        else:
            y = _labels(data[yk], LOSS)
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=1337)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    train = arrays("x_train", "y_train")
    val = arrays("x_val", "y_val") if "x_val" in data.files else None
    return train, val


def main(argv=None):
    about = "".join(c if c.isprintable() else " " for c in DESCRIPTION)  # no terminal control characters
    parser = argparse.ArgumentParser(
        description=f"Build and train the ConvExplorer design {{MODEL_NAME!r}} with Keras.".replace("%", "%%"),
        epilog=about.replace("%", "%%") or None,
    )
    parser.add_argument("--data", help="folder of class sub-folders, or .npz with x_train/y_train")
    parser.add_argument("--epochs", type=int, default={epochs})
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--strategy", choices=["default", "mirrored", "multiworker"], default="default")
    parser.add_argument("--random-weights", action="store_true", help="do not download pretrained weights")
    parser.add_argument("--save", help="save the trained model to this .keras file")
    parser.add_argument("--history", help="write the training history (Keras History.history) to this JSON file")
    args = parser.parse_args(argv)

    strategy = make_strategy(args.strategy)
    with strategy.scope():
        model = build_model(None if args.random_weights else {weights})
        compile_model(model)
    model.summary()
    print(f"design: {{MODEL_NAME!r}}")
    print(f"strategy: {{args.strategy}} ({{strategy.num_replicas_in_sync}} replica(s))")
    print(f"parameters: {{model.count_params()}}")
    if args.data:
        train, val = load_data(args.data, args.batch_size)
        history = model.fit(train, validation_data=val, epochs=args.epochs, shuffle=False)  # already shuffled
        last = {{k: round(float(v[-1]), 4) for k, v in history.history.items()}}
        print(f"final: {{last}}")
        if args.history:
            with open(args.history, "w", encoding="utf-8") as fh:
                json.dump({{k: [float(x) for x in v] for k, v in history.history.items()}}, fh, indent=1)
            print(f"history written to {{args.history}}")
    if args.save:
        model.save(args.save)
        print(f"saved {{args.save}}")
    return model


if __name__ == "__main__":
    main()
'''

_TASKS = '''

# --- tasks: boxes, masks and YOLO-style grids (the same formulas as ConvExplorer's core) -------------


def yolo_loss(y_true, y_pred, no_object_weight=0.5, coord_weight=5.0):
    """Per-image YOLO loss of grid targets and logits (N x S x S x A x (5 + C)): objectness BCE on every cell
    (no-object weight), squared error of sigmoid(tx, ty) and tw, th and class cross-entropy for responsible anchors."""
    ops = keras.ops
    y_true = ops.cast(y_true, y_pred.dtype)
    obj = y_true[..., 0]
    logit = y_pred[..., 0]
    bce = obj * ops.softplus(-logit) + (1.0 - obj) * ops.softplus(logit)
    obj_loss = bce * (obj + no_object_weight * (1.0 - obj))
    xy = ops.sigmoid(y_pred[..., 1:3])
    box = ops.sum(ops.square(xy - y_true[..., 1:3]), axis=-1) + ops.sum(ops.square(y_pred[..., 3:5] - y_true[..., 3:5]), axis=-1)
    cls = -ops.sum(y_true[..., 5:] * ops.log_softmax(y_pred[..., 5:], axis=-1), axis=-1)
    per_cell = obj_loss + obj * (coord_weight * box + cls)
    return ops.sum(ops.reshape(per_cell, (ops.shape(per_cell)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="convexplorer")
class YoloLoss(keras.losses.Loss):
    """The YOLO-style grid loss, averaged over the batch."""

    def __init__(self, no_object_weight=0.5, coord_weight=5.0, name="yolo_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.no_object_weight, self.coord_weight = float(no_object_weight), float(coord_weight)

    def call(self, y_true, y_pred):
        return yolo_loss(y_true, y_pred, self.no_object_weight, self.coord_weight)

    def get_config(self):
        return dict(super().get_config(), no_object_weight=self.no_object_weight, coord_weight=self.coord_weight)


def box_iou_diagonal(y_true, y_pred):
    """IoU of each true box [x0, y0, x1, y1] with its own predicted box."""
    ops = keras.ops
    y_true = ops.cast(y_true, y_pred.dtype)
    w = ops.maximum(ops.minimum(y_true[..., 2], y_pred[..., 2]) - ops.maximum(y_true[..., 0], y_pred[..., 0]), 0.0)
    h = ops.maximum(ops.minimum(y_true[..., 3], y_pred[..., 3]) - ops.maximum(y_true[..., 1], y_pred[..., 1]), 0.0)
    inter = w * h

    def area(b):
        return ops.maximum(b[..., 2] - b[..., 0], 0.0) * ops.maximum(b[..., 3] - b[..., 1], 0.0)

    union = area(y_true) + area(y_pred) - inter
    return ops.where(union > 0, inter / ops.maximum(union, 1e-12), ops.zeros_like(union))


@keras.saving.register_keras_serializable(package="convexplorer")
class BoxIoU(keras.metrics.MeanMetricWrapper):
    """Mean IoU of each predicted box with its true box."""

    def __init__(self, name="iou", dtype=None):
        super().__init__(fn=box_iou_diagonal, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def box_iou(a, b):
    """N x M IoU of boxes [x0, y0, x1, y1] (numpy)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def kmeans_anchors(wh, k, seed=0, iterations=300):
    """k anchor sizes (k x 2) by k-means with the distance 1 - IoU of sizes aligned at a corner (YOLOv2)."""
    wh = np.asarray(wh, np.float64).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    centres = wh[rng.choice(len(wh), size=k, replace=len(wh) < k)]
    for _ in range(iterations):
        inter = np.minimum(wh[:, None, 0], centres[None, :, 0]) * np.minimum(wh[:, None, 1], centres[None, :, 1])
        iou = inter / (wh[:, 0:1] * wh[:, 1:2] + (centres[:, 0] * centres[:, 1])[None] - inter)
        near = np.argmax(iou, axis=1)
        new = np.array([np.median(wh[near == j], axis=0) if np.any(near == j) else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return centres[np.argsort(centres[:, 0] * centres[:, 1])]


def encode_grid(objects, s, anchors, num_classes):
    """One image's objects (M x 5: class, x0, y0, x1, y1 as fractions; class -1: padding) as an S x S x A x (5 + C) target."""
    a = np.asarray(anchors, np.float64)
    out = np.zeros((s, s, len(a), 5 + num_classes), np.float32)
    objects = np.asarray(objects, np.float64).reshape(-1, 5)
    objects = objects[objects[:, 0] >= 0]
    wh = objects[:, 3:5] - objects[:, 1:3]
    centre = (objects[:, 1:3] + objects[:, 3:5]) / 2
    for m in np.argsort(-(wh[:, 0] * wh[:, 1]), kind="stable"):
        if wh[m, 0] <= 0 or wh[m, 1] <= 0:
            continue
        col = min(max(int(np.floor(centre[m, 0] * s)), 0), s - 1)
        row = min(max(int(np.floor(centre[m, 1] * s)), 0), s - 1)
        inter = np.minimum(wh[m, 0], a[:, 0]) * np.minimum(wh[m, 1], a[:, 1])
        fit = inter / (wh[m, 0] * wh[m, 1] + a[:, 0] * a[:, 1] - inter)
        for j in np.argsort(-fit, kind="stable"):
            if out[row, col, j, 0] == 0:
                out[row, col, j, :5] = [1.0, centre[m, 0] * s - col, centre[m, 1] * s - row,
                                        np.log(wh[m, 0] / a[j, 0]), np.log(wh[m, 1] / a[j, 1])]
                out[row, col, j, 5 + int(objects[m, 0])] = 1.0
                break
    return out


def decode_grid(grid, anchors, score_threshold=0.05, from_logits=True, iou_threshold=0.5, max_outputs=100):
    """Boxes, scores and classes of one image's grid (class-wise NMS when iou_threshold is given)."""
    a = np.asarray(anchors, np.float64)
    g = np.asarray(grid, np.float64)
    s = g.shape[0]
    obj, txy, twh, cls = g[..., 0], g[..., 1:3], g[..., 3:5], g[..., 5:]
    if from_logits:
        obj, txy = 0.5 * (1 + np.tanh(0.5 * obj)), 0.5 * (1 + np.tanh(0.5 * txy))
        e = np.exp(cls - cls.max(axis=-1, keepdims=True))
        cls = e / e.sum(axis=-1, keepdims=True)
    best = np.argmax(cls, axis=-1)
    score = obj * np.take_along_axis(cls, best[..., None], -1)[..., 0]
    rows, cols, js = np.nonzero(score >= score_threshold)
    cx, cy = (cols + txy[rows, cols, js, 0]) / s, (rows + txy[rows, cols, js, 1]) / s
    w = a[js, 0] * np.exp(np.clip(twh[rows, cols, js, 0], -20, 20))
    h = a[js, 1] * np.exp(np.clip(twh[rows, cols, js, 1], -20, 20))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).reshape(-1, 4)
    scores, classes = score[rows, cols, js], best[rows, cols, js]
    order = np.argsort(-scores, kind="stable")
    boxes, scores, classes = boxes[order], scores[order], classes[order]
    if iou_threshold is not None and len(boxes):
        keep = []
        for k in np.unique(classes):
            sel = np.flatnonzero(classes == k)
            ious = box_iou(boxes[sel], boxes[sel])
            alive = np.ones(len(sel), bool)
            for p in range(len(sel)):
                if alive[p] and len([i for i in keep if classes[i] == k]) < max_outputs:
                    keep.append(sel[p])
                    alive[p + 1:] &= ious[p, p + 1:] <= iou_threshold
        keep = np.sort(np.asarray(keep, np.int64))
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    return boxes[:max_outputs], scores[:max_outputs], classes[:max_outputs]


def average_precision(truth, preds, thresholds=np.linspace(0.5, 0.95, 10), max_detections=100):
    """COCO-style AP: classes x thresholds, for truth [(boxes, classes)] and preds [(boxes, classes, scores)]."""
    classes = sorted(set(np.concatenate([np.asarray(c).reshape(-1) for _, c in truth] + [np.zeros(0)]).astype(int).tolist()))
    recall_points = np.linspace(0, 1, 101)
    ap = np.zeros((len(classes), len(thresholds)))
    for k, cls in enumerate(classes):
        scores_all, matches_all, n_gt = [], [], 0
        for (gb, gc), (db, dc, ds) in zip(truth, preds):
            g = np.asarray(gb).reshape(-1, 4)[np.asarray(gc) == cls]
            sel = np.flatnonzero(np.asarray(dc) == cls)
            n_gt += len(g)
            if not len(sel):
                continue
            order = sel[np.argsort(-np.asarray(ds)[sel], kind="mergesort")][:max_detections]
            ious = box_iou(np.asarray(db)[order], g)
            matched = np.zeros((len(thresholds), len(order)), bool)
            taken = np.zeros((len(thresholds), len(g)), bool)
            for t, thr in enumerate(thresholds):
                for d in range(len(order)):
                    ok = (~taken[t]) & (ious[d] >= min(thr, 1 - 1e-10)) if len(g) else np.zeros(0, bool)
                    if ok.any():
                        j = len(g) - 1 - np.argmax(np.where(ok, ious[d], -1.0)[::-1])
                        taken[t, j] = matched[t, d] = True
            scores_all.append(np.asarray(ds)[order])
            matches_all.append(matched)
        if not scores_all:
            continue
        inds = np.argsort(-np.concatenate(scores_all), kind="mergesort")
        tps = np.concatenate(matches_all, axis=1)[:, inds]
        tp, fp = np.cumsum(tps, axis=1).astype(float), np.cumsum(~tps, axis=1).astype(float)
        for t in range(len(thresholds)):
            recall = tp[t] / n_gt
            precision = np.maximum.accumulate((tp[t] / (tp[t] + fp[t] + np.spacing(1)))[::-1])[::-1]
            at = np.searchsorted(recall, recall_points, side="left")
            q = np.zeros(len(recall_points))
            q[at < len(precision)] = precision[at[at < len(precision)]]
            ap[k, t] = q.mean()
    return ap, classes


def task_metrics(model, data, anchors):
    """val metrics of the task heads: iou (boxes), mean_iou (masks), ap50 and ap (grids, from their logits)."""
    got = {}
    for x, y in data:
        out = model(x, training=False)
        for head, kind in TASK_HEADS.items():
            p = np.asarray(out[head] if isinstance(out, dict) else out)
            t = np.asarray(y[head] if isinstance(y, dict) else y)
            if kind == "boxes":
                got.setdefault(head, []).append(np.diag(box_iou(t, p)))
            elif kind == "masks":
                k = p.shape[-1]
                cm = np.bincount(t.reshape(-1).astype(int) * k + p.argmax(-1).reshape(-1), minlength=k * k).reshape(k, k)
                got[head] = got.get(head, 0) + cm
            elif kind == "grid":
                for pi, ti in zip(p, t):
                    gb, _, gc = decode_grid(ti, anchors[head], 0.5, from_logits=False, iou_threshold=None, max_outputs=10000)
                    db, ds, dc = decode_grid(pi, anchors[head])
                    got.setdefault(head, []).append(((gb, gc), (db, dc, ds)))
    logs = {}
    kinds = list(TASK_HEADS.values())
    for head, kind in TASK_HEADS.items():
        name = "" if kinds.count(kind) == 1 else head + "_"
        if kind == "boxes" and head in got:
            logs[name + "iou"] = float(np.concatenate(got[head]).mean())
        elif kind == "masks" and head in got:
            cm = got[head]
            union = cm.sum(0) + cm.sum(1) - np.diag(cm)
            iou = np.diag(cm)[union > 0] / union[union > 0]
            logs[name + "mean_iou"] = float(iou.mean())
        elif kind == "grid" and head in got:
            ap, classes = average_precision([g for g, _ in got[head]], [d for _, d in got[head]])
            logs[name + "ap50"] = float(ap[:, 0].mean()) if classes else float("nan")
            logs[name + "ap"] = float(ap.mean()) if classes else float("nan")
    return logs


class TaskMetrics(keras.callbacks.Callback):
    """Adds val_iou, val_mean_iou, val_ap50 and val_ap of the validation data to each epoch's logs."""

    def __init__(self, data, anchors):
        super().__init__()
        self.data, self.anchors = data, anchors

    def on_epoch_end(self, epoch, logs=None):
        values = {"val_" + k: v for k, v in task_metrics(self.model, self.data, self.anchors).items()}
        print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        if logs is not None:
            logs.update(values)


def load_task_data(path, batch_size, model):
    """(train, validation, callbacks) from an .npz written by ConvExplorer's export_task_data: x_train, x_val and
    y_train_HEAD, y_val_HEAD per head (labels; boxes N x 4; masks N x H x W; objects N x M x 5 for a grid head)."""
    data = np.load(path)
    outputs = model.output if isinstance(model.output, dict) else {next(iter(TASK_HEADS)): model.output}
    anchors = {}
    for head, kind in TASK_HEADS.items():
        if kind == "grid":
            objects = np.asarray(data[f"y_train_{head}"], np.float64).reshape(-1, 5)
            objects = objects[objects[:, 0] >= 0]
            anchors[head] = kmeans_anchors(objects[:, 3:5] - objects[:, 1:3], int(outputs[head].shape[3]))
            print(f"anchors of {head!r} (k-means over the training boxes): {np.round(anchors[head], 3).tolist()}")

    def arrays(split):
        x = np.asarray(data[f"x_{split}"])
        x = x.astype("float32") / 255.0 if x.dtype == np.uint8 else x.astype("float32")
        if x.ndim == 3:
            x = x[..., None]
        y = {}
        for head, kind in TASK_HEADS.items():
            t = np.asarray(data[f"y_{split}_{head}"])
            if kind == "labels":
                t = _labels(t, LOSS[head] if isinstance(LOSS, dict) else LOSS)
            elif kind == "grid":
                s = int(outputs[head].shape[1])
                t = np.stack([encode_grid(o, s, anchors[head], int(outputs[head].shape[4]) - 5) for o in t])
            y[head] = t
        if not isinstance(model.output, dict):
            y = y[next(iter(TASK_HEADS))]
        return tf.data.Dataset.from_tensor_slices((x, y))

    train = arrays("train").shuffle(len(data["x_train"]), seed=1337).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    val = arrays("val").batch(batch_size).prefetch(tf.data.AUTOTUNE) if "x_val" in data.files else None
    callbacks = [TaskMetrics(val, anchors)] if val is not None else []
    return train, val, callbacks
'''

# --- literals: the only way a value of the design reaches the code -----------------------


def _lit(value: Any, depth: int = 0) -> str:
    """A Python literal for plain data: None, booleans, numbers, text, lists, tuples and dicts of them.

    The base classes' ``repr`` is used, so a subclass cannot change what is written;
    anything else raises SpecError.
    """
    if depth > _MAX_DEPTH:
        raise SpecError("a parameter is nested too deeply to be written into a script")
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, numbers.Integral):  # numpy integers too
        try:
            text = int.__repr__(operator.index(value))
        except ValueError:  # more digits than Python converts
            text = ""
        if not text or len(text) > _MAX_DIGITS:
            raise SpecError("a whole number in the design is too long to be written into a script")
        return text
    if isinstance(value, numbers.Real):  # float, numpy floats
        v = float.__float__(value) if isinstance(value, float) else float(value)
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return float.__repr__(v)
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v, depth + 1) for v in list.__iter__(value)) + "]"
    if isinstance(value, tuple):
        items = [_lit(v, depth + 1) for v in tuple.__iter__(value)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        parts = []
        for k, v in dict.items(value):
            if not isinstance(k, str):
                raise SpecError(f"a configuration key must be text, got a {type(k).__name__}")
            parts.append(f"{_lit(k, depth + 1)}: {_lit(v, depth + 1)}")
        return "{" + ", ".join(parts) + "}"
    raise SpecError(f"a {type(value).__name__} value cannot be written into a script (only numbers, text, lists, objects)")


def _int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError(f"expected a whole number, got {value!r:.40}")
    return _lit(value)


def _float(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"expected a number, got {value!r:.40}")
    return _lit(float(value))


def _bool(value: Any) -> str:
    return "True" if value is True or (value is not False and bool(value)) else "False"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError(f"expected text, got {value!r:.40}")
    return _lit(value)


def _comment(text: str, limit: int = 120) -> str:
    """Design text shown in a comment: its repr (no line break can survive it), shortened."""
    if not isinstance(text, str):
        text = ""
    shown = str.__repr__(text[:limit] + ("…" if len(text) > limit else ""))
    assert "\n" not in shown and "\r" not in shown
    return shown


#: Names a tensor variable may not take: keywords, builtins and every name the script defines or uses.
_RESERVED = (
    set(keyword.kwlist) | set(getattr(keyword, "softkwlist", ())) | set(dir(builtins))
    | {"argparse", "json", "os", "np", "tf", "keras", "layers", "inputs", "outputs", "x", "residual", "base", "first",
       "layer", "pretrained_weights", "model", "MODEL_NAME", "DESCRIPTION", "INPUT_SHAPE", "NUM_CLASSES", "LOSS",
       "build_model", "compile_model", "make_strategy", "load_data", "main", "_labels", "_pick"}
)


def _identifier(name: str, taken: set[str]) -> str:
    """A Python variable named after a node: ASCII letters, digits and _ only, not reserved, not taken."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name if isinstance(name, str) else "", flags=re.ASCII)[:60] or "t"
    if base[0].isdigit():
        base = "t_" + base
    ident, k = base, 1
    while ident in _RESERVED or ident in taken or keyword.iskeyword(ident):
        k += 1
        ident = f"{base}_{k}"
    assert ident.isidentifier() and ident.isascii()
    taken.add(ident)
    return ident


# --- one node -----------------------------------------------------------------------------


def _units(layer: LayerSpec, spec: ModelSpec) -> str:
    if layer.get("units_from_classes"):
        return "NUM_CLASSES" if spec.output_units() == spec.num_classes else _int(spec.output_units())
    return _int(layer.get("units"))


def _pair(value: Any) -> str:
    return _lit(pair(value))


#: Merges without parameters: the class names are ours, never the design's text.
_MERGES = {k: k for k in ("Add", "Subtract", "Multiply", "Average", "Maximum")}


def _constructor(layer: LayerSpec, name: str, spec: ModelSpec) -> str | None:
    """The Keras layer expression of a one-layer kind (None for blocks written as several lines)."""
    g = layer.get
    k = layer.kind
    n = f"name={_text(name)}"
    if k in ("Conv2D", "SeparableConv2D"):
        extra = f", depth_multiplier={_int(g('depth_multiplier'))}" if k == "SeparableConv2D" else ""
        cls = "Conv2D" if k == "Conv2D" else "SeparableConv2D"
        filters = "NUM_CLASSES" if g("filters_from_classes") and spec.output_units() == spec.num_classes else _int(
            spec.filters_of(layer))
        return (f"layers.{cls}({filters}, {_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, dilation_rate={_pair(g('dilation_rate'))}{extra}, "
                f"activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})")
    if k == "DepthwiseConv2D":
        return (f"layers.DepthwiseConv2D({_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, depth_multiplier={_int(g('depth_multiplier'))}, "
                f"dilation_rate={_pair(g('dilation_rate'))}, activation={_text(g('activation'))}, "
                f"use_bias={_bool(g('use_bias'))}, {n})")
    if k == "Conv2DTranspose":
        return (f"layers.Conv2DTranspose({_int(g('filters'))}, {_pair(g('kernel_size'))}, strides={_pair(g('strides'))}, "
                f"padding={_text(g('padding'))}, activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})")
    if k in ("MaxPooling2D", "AveragePooling2D"):
        cls = "MaxPooling2D" if k == "MaxPooling2D" else "AveragePooling2D"
        strides = _pair(g("strides")) if g("strides") is not None else "None"
        return f"layers.{cls}({_pair(g('pool_size'))}, strides={strides}, padding={_text(g('padding'))}, {n})"
    if k in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        cls = "GlobalAveragePooling2D" if k == "GlobalAveragePooling2D" else "GlobalMaxPooling2D"
        keep = ", keepdims=True" if g("keepdims") else ""
        return f"layers.{cls}({n}{keep})"
    if k == "UpSampling2D":
        return f"layers.UpSampling2D({_pair(g('size'))}, interpolation={_text(g('interpolation'))}, {n})"
    if k in ("ZeroPadding2D", "Cropping2D"):
        quad = normalize_quad(g("padding" if k == "ZeroPadding2D" else "cropping"))
        if quad is None:
            raise SpecError(f"{k} {name!r}: expected [top, bottom, left, right]")
        t, b, left, right = quad
        cls = "ZeroPadding2D" if k == "ZeroPadding2D" else "Cropping2D"
        return f"layers.{cls}((({_int(t)}, {_int(b)}), ({_int(left)}, {_int(right)})), {n})"
    if k == "Reshape":
        shape = g("target_shape")
        if not isinstance(shape, (list, tuple)):
            raise SpecError(f"Reshape {name!r}: expected a list of whole numbers")
        return f"layers.Reshape({_lit(tuple(int(_int(v)) for v in shape))}, {n})"
    if k == "ReLU":
        mv = g("max_value")
        return (f"layers.ReLU(max_value={'None' if mv is None else _float(mv)}, "
                f"negative_slope={_float(g('negative_slope'))}, threshold={_float(g('threshold'))}, {n})")
    if k == "LayerNormalization":
        return (f"layers.LayerNormalization(axis={_int(g('axis'))}, epsilon={_float(g('epsilon'))}, "
                f"center={_bool(g('center'))}, scale={_bool(g('scale'))}, {n})")
    if k == "BatchNormalization":
        return (f"layers.BatchNormalization(axis={_int(g('axis'))}, momentum={_float(g('momentum'))}, "
                f"epsilon={_float(g('epsilon'))}, center={_bool(g('center'))}, scale={_bool(g('scale'))}, {n})")
    if k == "Normalization":
        return f"layers.Normalization(axis={_int(g('axis'))}, {n})"
    if k in _MERGES:
        return f"layers.{_MERGES[k]}({n})"
    if k == "Concatenate":
        return f"layers.Concatenate(axis={_int(g('axis'))}, {n})"
    if k == "Flatten":
        return f"layers.Flatten({n})"
    if k == "Dense":
        return f"layers.Dense({_units(layer, spec)}, activation={_text(g('activation'))}, use_bias={_bool(g('use_bias'))}, {n})"
    if k == "Activation":
        return f"layers.Activation({_text(g('activation'))}, {n})"
    if k == "Dropout":
        return f"layers.Dropout({_float(g('rate'))}, {n})"
    if k == "Rescaling":
        return f"layers.Rescaling({_float(g('scale'))}, offset={_float(g('offset'))}, {n})"
    if k == "RandomFlip":
        return f"layers.RandomFlip({_text(g('mode'))}, {n})"
    if k in ("RandomRotation", "RandomContrast"):
        cls = "RandomRotation" if k == "RandomRotation" else "RandomContrast"
        return f"layers.{cls}({_float(g('factor'))}, {n})"
    if k == "RandomZoom":
        return f"layers.RandomZoom({_float(g('height_factor'))}, {n})"
    if k == "RandomTranslation":
        return f"layers.RandomTranslation({_float(g('height_factor'))}, {_float(g('width_factor'))}, {n})"
    return None


def _has_lambda(value: Any, depth: int = 0) -> bool:
    """True when a Keras config holds Python code (a Lambda layer or a ``__lambda__`` function)."""
    if depth > _MAX_DEPTH:
        return False  # _lit refuses it anyway
    if isinstance(value, dict):
        if value.get("class_name") in ("Lambda", "__lambda__"):
            return True
        return any(_has_lambda(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_lambda(v, depth + 1) for v in value)
    return False


def _keras_layer_config(layer: LayerSpec, name: str) -> str:
    """The literal given to keras.layers.deserialize for a kept Keras layer (named as the design names it)."""
    class_name, config = layer.get("class_name"), layer.get("config")
    if not isinstance(class_name, str) or not class_name or not isinstance(config, dict):
        raise SpecError(f"{name}: a kept Keras layer needs its class name and configuration")
    if class_name == "Lambda" or _has_lambda(config):
        raise SpecError(f"{name}: a Lambda layer holds Python code; ConvExplorer does not write it into a script")
    # Keras 3 finds a class by its module: the layers of keras.layers (the design does not keep another module)
    return _lit({"module": "keras.layers", "class_name": class_name, "config": dict(dict.items(config), name=name),
                 "registered_name": None})


def _node_lines(layer: LayerSpec, name: str, spec: ModelSpec, inp: str, out: str) -> list[str]:
    """Lines that compute the node's output ``out`` from the input expression ``inp``."""
    k = layer.kind
    call = _constructor(layer, name, spec)
    if call is not None:
        return [f"{out} = {call}({inp})"]
    g = layer.get
    if k == "KerasLayer":
        return [
            "# a layer kept as its Keras configuration (Keras's safe mode refuses Python code)"
            + (f": {_comment(layer.get('reason'))}" if layer.get("reason") else ""),
            f"{out} = keras.layers.deserialize({_keras_layer_config(layer, name)})({inp})",
        ]
    if k == "ResidualBlock":
        f = _int(g("filters"))
        lines = [
            f"# residual block {_comment(name)}: two 3x3 convs, then the input added back",
            f"residual = {inp}",
            f"{out} = layers.Conv2D({f}, 3, activation='relu', padding='same', name={_text(name + '_conv1')})({inp})",
            f"{out} = layers.Conv2D({f}, 3, activation='relu', padding='same', name={_text(name + '_conv2')})({out})",
        ]
        if g("pooling"):
            lines += [
                f"{out} = layers.MaxPooling2D(2, padding='same', name={_text(name + '_pool')})({out})",
                f"residual = layers.Conv2D({f}, 1, strides=2, name={_text(name + '_residual')})(residual)",
            ]
        else:
            lines += [
                f"if residual.shape[-1] != {f}:",
                f"    residual = layers.Conv2D({f}, 1, name={_text(name + '_residual')})(residual)",
            ]
        lines.append(f"{out} = layers.Add(name={_text(name + '_add')})([{out}, residual])")
        return lines
    if k == "Pretrained":
        app = g("application")
        if not isinstance(app, str) or app not in APPLICATION_NAMES or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", app):
            raise SpecError(f"{name}: unknown pretrained base {app!r:.40}")
        weights = "pretrained_weights" if g("weights") == "imagenet" else "None"
        lines = [
            f"base = keras.applications.{app}(weights={weights}, include_top=False, input_shape=tuple({inp}.shape[1:]))",
            f"base.name = {_text(name)}",
        ]
        mode = g("trainable")
        if mode == "frozen":
            lines.append("base.trainable = False")
        elif mode == "trainable":
            lines.append("base.trainable = True")
        elif mode == "fine_tune":
            lines += [
                "base.trainable = True",
                f"first = [layer.name for layer in base.layers].index({_text(g('fine_tune_from'))})",
                "for layer in base.layers[:first]:  # fine-tune from this layer on",
                "    layer.trainable = False",
            ]
        else:
            raise SpecError(f"{name}: unknown training mode {mode!r:.40}")
        lines.append(f"{out} = base({inp}, training=False)  # batch-norm statistics stay fixed")
        return lines
    raise SpecError(f"cannot export layer type {k!r:.40}")


# --- the whole model ----------------------------------------------------------------------


def _group_comments(spec: ModelSpec) -> dict[str, list[str]]:
    """Comment lines to write before the first node of each group (group names are shown as repr)."""
    out: dict[str, list[str]] = {}
    order = {layer.id: i for i, layer in enumerate(spec.layers)}
    for group in spec.groups:
        members = [n for n in group.nodes if n in order]
        if members:
            first = min(members, key=order.__getitem__)
            count = f"{len(members)} layer{'s' if len(members) != 1 else ''}"
            out.setdefault(first, []).append(f"# group {_comment(group.name)} ({count})")
    return out


def _build_function(spec: ModelSpec, weights: str) -> tuple[str, bool]:
    """The source of ``build_model()`` and whether it uses ``_pick`` (kept layers with several outputs)."""
    names = spec.layer_names()
    kinds = {layer.id: layer.kind for layer in spec.layers}
    groups = _group_comments(spec)
    body: list[str] = [
        'inputs = keras.Input(shape=INPUT_SHAPE, name="input_layer")',
    ]
    uses_pick = False

    def merge_input(layer: LayerSpec, sources: list[str]) -> str:
        # merges take a list; a kept Keras layer takes a list when it has several inputs
        if LAYER_KINDS[layer.kind].is_merge and (layer.kind != "KerasLayer" or len(sources) > 1):
            return "[" + ", ".join(sources) + "]"
        return sources[0]

    heads = spec.output_heads()
    if spec.is_chain():
        body.append("x = inputs")
        previous = INPUT_ID
        for layer, name in zip(spec.layers, names):
            body += groups.get(layer.id, [])
            if kinds.get(previous) == "KerasLayer":  # its first output, when it has several
                body.append("x = _pick(x, 0)")
                uses_pick = True
            body += _node_lines(layer, name, spec, merge_input(layer, ["x"]), "x")
            previous = layer.id
        output = "x"
    else:
        taken: set[str] = set()
        var: dict[str, str] = {INPUT_ID: "inputs"}
        for i, (layer, name) in enumerate(zip(spec.layers, names)):
            body += groups.get(layer.id, [])
            sources = []
            for src, port in spec.inputs_of(i):
                if src not in var:
                    raise SpecError(f"{layer.kind} {name!r}: reads {src!r:.40}, which comes later or does not exist")
                if kinds.get(src) == "KerasLayer":
                    sources.append(f"_pick({var[src]}, {_int(port)})")
                    uses_pick = True
                else:
                    sources.append(var[src])
            var[layer.id] = _identifier(name, taken)
            body += _node_lines(layer, name, spec, merge_input(layer, sources), var[layer.id])
        if len(heads) > 1:
            body.append("outputs = {  # one output per head, by head name")
            body += [f"    {_text(h.name)}: {var[h.node]}," for h in heads]
            body.append("}")
            output = "outputs"
        else:
            output = var[heads[0].node]
    lines = [
        "",
        "",
        f"def build_model(pretrained_weights={weights}):",
        '    """The model, layer by layer (Keras functional API)."""',
    ]
    lines += [f"    {line}" for line in body]
    lines.append(f"    return keras.Model(inputs, {output}, name={_text(_keras_model_name(spec.name))})")
    return "\n".join(lines) + "\n", uses_pick


def _keras_model_name(name: str) -> str:
    from .builder import keras_model_name

    return keras_model_name(name if isinstance(name, str) else "model")


_OPTIMIZERS = {"rmsprop": "RMSprop", "adam": "Adam", "nadam": "Nadam", "sgd": "SGD"}

_METRICS = {
    "accuracy": '"accuracy"',
    "top_k_categorical_accuracy": 'keras.metrics.TopKCategoricalAccuracy(k=5, name="top5_accuracy")',
    "sparse_top_k_categorical_accuracy": 'keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy")',
    "auc": 'keras.metrics.AUC(name="auc")',
    "precision": 'keras.metrics.Precision(name="precision")',
    "recall": 'keras.metrics.Recall(name="recall")',
    "mean_absolute_error": 'keras.metrics.MeanAbsoluteError(name="mae")',
}


def _optimizer_code(spec: ModelSpec) -> str:
    c = spec.compile
    if c.optimizer not in _OPTIMIZERS:
        raise SpecError(f"unknown optimizer {c.optimizer!r:.40}")
    extra = f", momentum={_float(c.momentum)}" if c.optimizer == "sgd" else ""
    return f"keras.optimizers.{_OPTIMIZERS[c.optimizer]}(learning_rate={_float(c.learning_rate)}{extra})"


def _metrics_code(metrics: Sequence[str], classes: int | None = None) -> str:
    unknown = [m for m in metrics if m not in _METRICS and m not in ("iou", "mean_iou")]
    if unknown:
        raise SpecError(f"unknown metric {unknown[0]!r:.40}")
    code = []
    for m in metrics:
        if m == "iou":
            code.append("BoxIoU()")
        elif m == "mean_iou":
            code.append(f'keras.metrics.MeanIoU({_int(classes or 0)}, sparse_y_pred=False, name="mean_iou")')
        else:
            code.append(_METRICS[m])
    return "[" + ", ".join(code) + "]"


def _training(spec: ModelSpec) -> tuple[str, str]:
    """(the LOSS constant, the source of ``compile_model()``), as ``builder.compile_model`` compiles."""
    heads = spec.heads
    yolo = any(h.loss == "yolo" for h in heads)

    def classes(h: HeadSpec) -> int | None:
        return _head_channels(spec, h) if "mean_iou" in h.metrics else None

    lines = [
        "",
        "",
        "def compile_model(model):",
        '    """Optimizer, loss and metrics as designed."""',
        "    model.compile(",
        f"        optimizer={_optimizer_code(spec)},",
    ]
    if not yolo:
        lines.append("        loss=LOSS,")
    elif len(heads) > 1:  # the YOLO loss is a class of this script, named "yolo" in LOSS
        lines.append('        loss={head: YoloLoss() if loss == "yolo" else loss for head, loss in LOSS.items()},')
    else:
        lines.append("        loss=YoloLoss(),")
    if len(heads) > 1:  # a dict of outputs: each head its own loss, weight and metrics
        loss = "{" + ", ".join(f"{_text(h.name)}: {_text(h.loss)}" for h in heads) + "}"
        lines.append("        loss_weights={" + ", ".join(f"{_text(h.name)}: {_float(h.loss_weight)}" for h in heads) + "},")
        lines.append("        metrics={" + ", ".join(f"{_text(h.name)}: {_metrics_code(h.metrics, classes(h))}"
                                                    for h in heads) + "},")
    else:
        one: HeadSpec | None = heads[0] if heads else None
        loss = _text(one.loss if one else spec.compile.loss)
        lines.append(f"        metrics={_metrics_code(one.metrics if one else spec.compile.metrics, classes(one) if one else None)},")
    lines += ["    )", "    return model"]
    return loss, "\n".join(lines) + "\n"


def task_kinds(spec: ModelSpec) -> dict[str, str]:
    """What each head of a task design learns, as the script names it ("labels", "boxes", "masks", "grid" for a
    YOLO-style head); {} for a design that only learns labels (the script then reads folders or .npz labels as before)."""
    heads = spec.heads
    if not heads or all(h.target == "labels" and h.loss != "yolo" for h in heads):
        return {}
    return {h.name: ("grid" if h.loss == "yolo" else h.target) for h in heads}


def _head_channels(spec: ModelSpec, head: HeadSpec) -> int:
    """The last dimension of a head's output, from the summary (a mask head's classes)."""
    rows = summarize(spec).rows_of(head.node)
    shape = rows[-1].output_shape if rows else None
    if not shape or shape[-1] is None:
        raise SpecError(f'head "{head.name}": its number of classes cannot be told for the mean IoU metric')
    return int(shape[-1])


def _parameter_count(spec: ModelSpec) -> int:
    """The design's parameters, measured as ``build_model`` checks it: the summary for a chain, Keras for a graph."""
    if spec.is_chain():
        summary = summarize(spec)
        if summary.pending:  # the parameter count in the header needs the base measured
            from .builder import measure_base

            for application, shape in summary.pending:
                measure_base(application, shape)
            summary = summarize(spec)
        if not summary.valid:
            raise SpecError(summary.error)
        return summary.total
    from .builder import build_model

    return int(build_model(spec, compile=False, load_weights=False).count_params())


def _check_kept_layers(spec: ModelSpec, names: list[str]) -> None:
    """Refuse kept Keras layers that hold Python code before anything builds them."""
    for layer, name in zip(spec.layers, names):
        if layer.kind == "KerasLayer":
            _keras_layer_config(layer, name)


def _script_filename(filename: str) -> str:
    """The script's file name as the docstring shows it (a generic one when it has unusual characters)."""
    return filename if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}", filename or "", flags=re.ASCII) else "THIS_SCRIPT.py"


def script_text(spec: ModelSpec, filename: str = "train.py", epochs: int = 10) -> str:
    """The Python source of a script that rebuilds and trains ``spec``; raises SpecError if invalid.

    The design is validated here (not only by the caller), and every value of it is
    written through :func:`_lit`, so a design made by someone else cannot add code.
    """
    spec.validate()
    if not spec.layers:
        raise SpecError("the design has no layers: add at least one layer")
    for text, what in ((spec.name, "name"), (spec.description, "description")):
        if not isinstance(text, str):
            raise SpecError(f"the design's {what} must be text")
    names = spec.layer_names()
    _check_kept_layers(spec, names)
    total = _parameter_count(spec)
    weights = "None"
    for layer in spec.layers:
        if layer.kind == "Pretrained" and layer.get("weights") == "imagenet":
            weights = "'imagenet'"
    loss, compile_source = _training(spec)
    build_source, uses_pick = _build_function(spec, weights)
    text = _HEADER.format(
        total=int(total),
        filename=_script_filename(filename),
        model_name=_lit(spec.name),
        description=_lit(spec.description),
        input_shape=_lit(tuple(int(_int(v)) for v in spec.input_shape)),
        num_classes=_int(spec.num_classes),
        loss=loss,
    )
    kinds = task_kinds(spec)
    if kinds:  # what each head learns, for the task data, losses and metrics
        text += "TASK_HEADS = {" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in kinds.items()) + "}\n"
    # design-made text is joined after formatting: braces in it are never read as fields
    if uses_pick:
        text += _PICK
    rest = _REST.format(epochs=int(epochs), weights=weights)
    if kinds:
        for old, new in _TASK_MAIN:
            assert old in rest, old
            rest = rest.replace(old, new)
    text += build_source + compile_source + (_TASKS if kinds else "") + rest
    return text


#: How main() changes for a task design: its data come from export_task_data's .npz, with the task metrics.
_TASK_MAIN = (
    ('parser.add_argument("--data", help="folder of class sub-folders, or .npz with x_train/y_train")',
     'parser.add_argument("--data", help=".npz with x_train, x_val, y_train_HEAD, y_val_HEAD (ConvExplorer\'s task data)")'),
    ("        train, val = load_data(args.data, args.batch_size)\n",
     "        train, val, callbacks = load_task_data(args.data, args.batch_size, model)\n"),
    ("history = model.fit(train, validation_data=val, epochs=args.epochs, shuffle=False)",
     "history = model.fit(train, validation_data=val, epochs=args.epochs, shuffle=False, callbacks=callbacks)"),
)


def export_task_data(dataset: Any, spec: ModelSpec, path: str | os.PathLike[str], max_objects: int | None = None) -> Path:
    """Write ``dataset``'s train and validation splits as the .npz a task design's script reads; returns the path.

    ``x_train``/``x_val`` (uint8 images) and, for each head, ``y_train_HEAD``/``y_val_HEAD``: labels, boxes
    (N x 4 fractions), masks (N x H x W uint8) or, for a YOLO-style head, the objects (N x M x 5: class, x0, y0,
    x1, y1 as fractions; class -1 pads). The script sizes the anchors and grids itself.
    """
    import numpy as np

    from .targets import HeadTarget, target_tables

    kinds = task_kinds(spec)
    if not kinds:
        raise SpecError("the design has no box, mask or grid head: its script trains on class folders or labels")
    arrays: dict[str, Any] = {}
    objects = dataset.object_fractions() if "grid" in kinds.values() else None
    for split, subset in (("train", "train"), ("val", "validation")):
        idx = dataset.subset_indices(subset)
        arrays[f"x_{split}"] = np.stack([np.round(dataset.image(int(i)) * 255).astype(np.uint8) for i in idx])
        plain = [HeadTarget(h, k) for h, k in kinds.items() if k != "grid"]
        tables = target_tables(dataset, plain) if plain else {}
        for head, kind in kinds.items():
            if kind == "grid":
                m = max_objects or max((len(objects[int(i)][1]) for i in idx), default=1)
                table = np.full((len(idx), max(m, 1), 5), -1.0, np.float32)
                for row, i in enumerate(idx):
                    b, c = objects[int(i)]
                    n = min(len(c), m)
                    table[row, :n, 0] = c[:n]
                    table[row, :n, 1:] = np.asarray(b, np.float32).reshape(-1, 4)[:n]
                arrays[f"y_{split}_{head}"] = table
            else:
                arrays[f"y_{split}_{head}"] = tables[head][idx]
    p = Path(path)
    np.savez_compressed(p, **arrays)
    return p


def export_script(spec: ModelSpec, path: str | os.PathLike[str], epochs: int = 10) -> Path:
    """Write the training script for ``spec`` to ``path`` atomically; returns the path."""
    p = Path(path)
    atomic_write_text(p, script_text(spec, p.name, epochs))
    try:
        os.chmod(p, 0o755)
    except OSError:
        pass
    return p
