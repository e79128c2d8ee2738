"""Grad-CAM of one detected box or one mask class: the same recipe as :func:`core.inspect.grad_cam_details`, with the
score taken from a detector's grid or a segmenter's class map instead of a classifier's output.

- a box: the class logit at the box's own cell and anchor, ``grid[row, col, anchor, 5 + class]``
  (the number the detector raised to find that object);
- a mask class: the class's output summed over the pixels predicted as that class
  (the segmenter's softmax, as its head gives it).

The model is re-traced and the gradient function built once per model, layer and
head (cached, as the classifier Grad-CAM is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .inspect import (
    InspectError,
    _get_trace,
    _image_batch,
    _resize_map,
    _spatial_record,
    _tf_function,
    default_conv_layer,
)


@dataclass(frozen=True)
class TargetCam:
    """A Grad-CAM map for a box or mask class, and what it followed (in words)."""

    heatmap: np.ndarray
    coarse: np.ndarray
    layer_name: str
    target: str


def box_cell(box: Any, grid_size: int) -> tuple[int, int]:
    """The (row, column) of the grid cell holding a box's centre (box in fractions ``[x0, y0, x1, y1]``)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    s = int(grid_size)
    col = min(max(int(np.floor((x0 + x1) / 2 * s)), 0), s - 1)
    row = min(max(int(np.floor((y0 + y1) / 2 * s)), 0), s - 1)
    return row, col


def default_target_layer(model: Any, shape: tuple[int, int, int]) -> str:
    """The layer a box or mask Grad-CAM follows by default: the last convolution that looks at a neighbourhood
    (kernel larger than 1x1): a 1x1 head maps features to outputs pixel by pixel, so its map shows nothing more."""
    trace = _get_trace(model, shape)
    for r in reversed(trace.records):
        ks = getattr(r.layer, "kernel_size", None)
        if type(r.layer).__name__ in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D") and ks is not None \
                and tuple(ks) != (1, 1) and len(getattr(r.tensor, "shape", ())) == 4:
            return r.name
    return default_conv_layer(model, shape)


def target_grad_cam(model: Any, image: np.ndarray, weights: np.ndarray, layer_name: str | None = None,
                    head: str | None = None, target: str = "") -> TargetCam:
    """Grad-CAM of the score ``sum(output * weights)`` (``weights`` has the head's output shape, no batch).

    A one-hot ``weights`` follows one number (a box's class logit), a mask follows a class over its pixels.
    """
    import tensorflow as tf

    batch, shape = _image_batch(model, image)
    trace = _get_trace(model, shape)
    hname = trace.head(head)
    name = layer_name or default_target_layer(model, shape)
    i = _spatial_record(trace, name, "Grad-CAM")
    out_t = trace.outputs[hname]
    want = tuple(int(v) for v in out_t.shape[1:])
    w = np.asarray(weights, np.float32)
    if int(np.prod(want)) != w.size:
        raise InspectError(f"the target has {w.size} numbers but head {hname!r} outputs {'x'.join(map(str, want))}")
    w = w.reshape(want)

    def make() -> Callable[..., Any]:
        import keras

        whole = keras.Model(trace.inp, [trace.records[i].tensor, out_t])

        def run(x: Any, wt: Any) -> Any:
            with tf.GradientTape() as tape:
                conv, out = whole(x, training=False)
                tape.watch(conv)
                score = tf.reduce_sum(out[0] * wt)
            grads = tape.gradient(score, conv)
            weights_c = tf.reduce_mean(grads, axis=(1, 2))
            return tf.nn.relu(tf.reduce_sum(conv * weights_c[:, None, None, :], axis=-1))[0]

        return _tf_function(run)

    fn = trace.cached(("target_cam", i, hname), make)
    cam = np.asarray(fn(batch, tf.constant(w)), np.float32)
    top = float(cam.max()) if cam.size else 0.0
    cam = cam / top if top > 0 else np.zeros_like(cam)
    heat = np.clip(_resize_map(cam, shape[:2]), 0.0, 1.0)
    return TargetCam(heat, cam, trace.records[i].name, target)


def box_grad_cam(model: Any, image: np.ndarray, grid_shape: tuple[int, ...], cell: tuple[int, int, int],
                 class_index: int, layer_name: str | None = None, head: str | None = None) -> TargetCam:
    """Grad-CAM of class ``class_index``'s logit at ``cell`` = (row, column, anchor) of an ``S x S x A x (5 + C)`` grid."""
    s, _s2, a, d = grid_shape
    r, c, j = (int(v) for v in cell)
    if not (0 <= r < s and 0 <= c < s and 0 <= j < a and 0 <= class_index < d - 5):
        raise InspectError(f"cell {cell} / class {class_index} is outside the {s}x{s}x{a} grid of {d - 5} classes")
    w = np.zeros((s, s, a, d), np.float32)
    w[r, c, j, 5 + int(class_index)] = 1.0
    return target_grad_cam(model, image, w, layer_name, head,
                           f"the class-{class_index} logit at cell (row {r}, column {c}), anchor {j}")


def mask_grad_cam(model: Any, image: np.ndarray, scores: np.ndarray, class_index: int, layer_name: str | None = None,
                  head: str | None = None) -> TargetCam:
    """Grad-CAM of a segmenter's class ``class_index`` summed over the pixels it predicts as that class."""
    raw = np.asarray(scores)
    pred = np.argmax(raw, axis=-1) == int(class_index)
    w = np.zeros(raw.shape, np.float32)
    w[..., int(class_index)] = pred if pred.any() else 1.0
    where = "over the pixels predicted as it" if pred.any() else "over the whole image (no pixel is predicted as it)"
    return target_grad_cam(model, image, w, layer_name, head, f"class {class_index}'s score summed {where}")
