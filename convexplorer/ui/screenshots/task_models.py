"""Small hand-made Keras models with a segmenter's and a detector's output shapes, for screenshots and tests.

They are NOT trained. :func:`segmenter` and :func:`detector` have random weights.
:func:`oracle_detector` and :func:`oracle_segmenter` add to that random head a
fixed tensor (a :class:`FixedOutput` layer) set from the ground truth of given
images, so that the screenshots show meaningful boxes and masks: they "predict"
the ground truth of the image they were made for (and the random part still
gives Grad-CAM a gradient to follow). Nothing here imports Qt.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _keras():
    import keras

    return keras


def _fixed_output_class():
    keras = _keras()

    class FixedOutput(keras.layers.Layer):
        """Adds a fixed tensor (no batch axis) to its input: the oracle models' "prediction"."""

        def __init__(self, value: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.value = np.asarray(value, np.float32)

        def build(self, input_shape: Any) -> None:
            self.offset = self.add_weight(shape=self.value.shape, initializer="zeros", trainable=False, name="offset")
            self.offset.assign(self.value)

        def call(self, x: Any) -> Any:
            return x + self.offset

    return FixedOutput


def _body(size: int, channels: int, downsample: int):
    keras = _keras()
    L = keras.layers
    inp = keras.Input((size, size, channels), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    for k in range(downsample):
        x = L.Conv2D(8 * 2 ** min(k + 1, 2), 3, strides=2, padding="same", activation="relu", name=f"conv{k + 2}")(x)
    return inp, x


def segmenter(size: int = 32, classes: int = 4, channels: int = 3, seed: int = 0, bias: Any = None):
    """A tiny FCN: two convolutions, then a ``Conv2D(classes, 1, softmax)`` head: ``N x H x W x classes``."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    inp, x = _body(size, channels, 0)
    x = keras.layers.Conv2D(classes, 1, name="mask_logits")(x)
    if bias is not None:
        x = _fixed_output_class()(bias, name="ground_truth_offset")(x)
    out = keras.layers.Softmax(name="masks")(x)
    return keras.Model(inp, out, name="tiny_segmenter")


def detector(size: int = 32, grid: int = 4, anchors: int = 3, classes: int = 3, channels: int = 3, seed: int = 0,
             bias: Any = None):
    """A tiny YOLO-style detector: convolutions down to ``grid x grid``, ``Conv2D(A (5 + C), 1)`` and a Reshape to
    ``N x S x S x A x (5 + C)`` (objectness logit, tx, ty, tw, th, class logits)."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    steps = int(round(np.log2(size / grid)))
    inp, x = _body(size, channels, steps)
    x = keras.layers.Conv2D(anchors * (5 + classes), 1, name="grid_head",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.05))(x)
    if bias is not None:
        x = _fixed_output_class()(np.asarray(bias).reshape(grid, grid, anchors * (5 + classes)),
                                  name="ground_truth_offset")(x)
    out = keras.layers.Reshape((grid, grid, anchors, 5 + classes), name="grid")(x)
    return keras.Model(inp, out, name="tiny_detector")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def grid_logits(boxes: Any, classes: Any, grid: int, anchors: Any, num_classes: int) -> np.ndarray:
    """Raw outputs (logits) that :func:`core.detection.decode_grid` with ``from_logits=True`` decodes to these boxes
    (fractions) with scores near 0.99: the encoded target, with objectness +-7, offsets as logits, class logits 6."""
    from convexplorer.core.detection import encode_grid

    target, _dropped = encode_grid(boxes, classes, grid, anchors, num_classes)
    out = np.zeros_like(target)
    obj = target[..., 0] > 0
    out[..., 0] = np.where(obj, 7.0, -7.0)
    out[..., 1:3] = np.where(obj[..., None], _logit(target[..., 1:3]), 0.0)
    out[..., 3:5] = target[..., 3:5]
    out[..., 5:] = np.where(obj[..., None], 6.0 * target[..., 5:], 0.0)
    return out.astype(np.float32)


def oracle_detector(dataset: Any, index: int, anchors: Any, grid: int = 4, seed: int = 0):
    """A detector for ``dataset``'s images whose output is set so that it predicts image ``index``'s true boxes
    (for screenshots: untrained, labelled as such)."""
    h, w, c = dataset.image_shape
    boxes, classes = dataset.objects(index)
    frac = np.asarray(boxes, np.float32) / np.array([w, h, w, h], np.float32)
    k = len(dataset.class_names)
    bias = grid_logits(frac, classes, grid, anchors, k)
    return detector(h, grid, len(np.asarray(anchors).reshape(-1, 2)), k, c, seed, bias=bias)


def oracle_segmenter(dataset: Any, index: int, seed: int = 0):
    """A segmenter for ``dataset``'s images whose output is set to image ``index``'s true mask (logit 8 a pixel's
    class): for screenshots, untrained, labelled as such."""
    h, w, c = dataset.image_shape
    k = len(dataset.class_names)
    mask = np.asarray(dataset.mask(index)).astype(np.int64)
    bias = np.zeros((h, w, k), np.float32)
    valid = mask < k
    rows, cols = np.nonzero(valid)
    bias[rows, cols, mask[valid]] = 8.0
    return segmenter(h, k, c, seed, bias=bias)
