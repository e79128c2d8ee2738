"""Task losses and metrics written with Keras ops: the YOLO-style grid loss and the box IoU metric.

:func:`yolo_loss` trains a detection head whose output is ``S x S x A x (5 + C)``
logits against ``core.detection.encode_grid`` targets (YOLOv2's
parameterisation: ``[objectness, tx, ty, tw, th, one-hot class]`` with ``tx, ty``
the centre's offset in its cell and ``tw, th`` the log of the size over the
anchor). Per image it sums

- objectness: binary cross-entropy on the logit of every cell and anchor,
  weighted 1 where an object is and ``no_object_weight`` elsewhere;
- box: ``coord_weight`` x the squared error of ``sigmoid(tx), sigmoid(ty)``
  and of ``tw, th`` against the target, for the responsible anchors only;
- class: softmax cross-entropy against the one-hot class, responsible anchors only;

and averages over the images. (YOLOv2 also skips the no-object loss of a
prediction that already overlaps an object by IoU > 0.6; this loss keeps it,
which makes it a pure function of the two tensors.)

:class:`YoloLoss` and :class:`BoxIoU` are registered with
``keras.saving.register_keras_serializable`` (package ``convexplorer``), so a
model compiled with them saves and loads as ``.keras`` with ``safe_mode`` on.
Keras is imported when this module is; import it lazily (``core.builder``
does).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

#: Defaults of the YOLO loss (YOLOv1's lambda_noobj and lambda_coord).
NO_OBJECT_WEIGHT = 0.5
COORD_WEIGHT = 5.0


def yolo_loss(y_true: Any, y_pred: Any, no_object_weight: float = NO_OBJECT_WEIGHT,
              coord_weight: float = COORD_WEIGHT) -> Any:
    """Per-image YOLO loss (batch,) of grid targets ``y_true`` and logits ``y_pred`` (both ``N x S x S x A x (5 + C)``)."""
    y_true = ops.cast(y_true, y_pred.dtype)
    obj = y_true[..., 0]
    logit = y_pred[..., 0]
    # binary cross-entropy from logits, numerically stable: softplus(-z) for 1, softplus(z) for 0
    bce = obj * ops.softplus(-logit) + (1.0 - obj) * ops.softplus(logit)
    obj_loss = bce * (obj + no_object_weight * (1.0 - obj))
    xy = ops.sigmoid(y_pred[..., 1:3])
    box = ops.sum(ops.square(xy - y_true[..., 1:3]), axis=-1) + ops.sum(ops.square(y_pred[..., 3:5] - y_true[..., 3:5]), axis=-1)
    log_probs = ops.log_softmax(y_pred[..., 5:], axis=-1)
    cls = -ops.sum(y_true[..., 5:] * log_probs, axis=-1)
    per_cell = obj_loss + obj * (coord_weight * box + cls)
    return ops.sum(ops.reshape(per_cell, (ops.shape(per_cell)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="convexplorer")
class YoloLoss(keras.losses.Loss):
    """The YOLO-style grid loss (:func:`yolo_loss`) as a Keras loss, averaged over the batch."""

    def __init__(self, no_object_weight: float = NO_OBJECT_WEIGHT, coord_weight: float = COORD_WEIGHT,
                 name: str = "yolo_loss", reduction: str = "sum_over_batch_size", dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.no_object_weight = float(no_object_weight)
        self.coord_weight = float(coord_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:  # noqa: D102
        return yolo_loss(y_true, y_pred, self.no_object_weight, self.coord_weight)

    def get_config(self) -> dict[str, Any]:  # noqa: D102
        config = super().get_config()
        config.update(no_object_weight=self.no_object_weight, coord_weight=self.coord_weight)
        return config


def box_iou_diagonal(y_true: Any, y_pred: Any) -> Any:
    """IoU of each true box with its own predicted box (``[x0, y0, x1, y1]``, any units): shape (batch,)."""
    y_true = ops.cast(y_true, y_pred.dtype)
    x0 = ops.maximum(y_true[..., 0], y_pred[..., 0])
    y0 = ops.maximum(y_true[..., 1], y_pred[..., 1])
    x1 = ops.minimum(y_true[..., 2], y_pred[..., 2])
    y1 = ops.minimum(y_true[..., 3], y_pred[..., 3])
    inter = ops.maximum(x1 - x0, 0.0) * ops.maximum(y1 - y0, 0.0)

    def area(b: Any) -> Any:
        return ops.maximum(b[..., 2] - b[..., 0], 0.0) * ops.maximum(b[..., 3] - b[..., 1], 0.0)

    union = area(y_true) + area(y_pred) - inter
    return ops.where(union > 0, inter / ops.maximum(union, 1e-12), ops.zeros_like(union))


@keras.saving.register_keras_serializable(package="convexplorer")
class BoxIoU(keras.metrics.MeanMetricWrapper):
    """Mean IoU of each predicted box with its true box (a localization head's metric, logged as ``iou``)."""

    def __init__(self, name: str = "iou", dtype: Any = None) -> None:
        super().__init__(fn=box_iou_diagonal, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:  # noqa: D102
        return {"name": self.name, "dtype": self.dtype}


def custom_objects() -> dict[str, Any]:
    """The classes of this module by name (for ``keras.saving.load_model``)."""
    return {"YoloLoss": YoloLoss, "BoxIoU": BoxIoU}
