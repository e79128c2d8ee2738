"""Augment an image together with its boxes and its class mask, with Keras's own box- and mask-aware layers.

Keras 3's preprocessing layers take a dict ``{"images", "bounding_boxes": {"boxes",
"labels"}, "segmentation_masks"}`` and apply *one* random transformation to all
three (given ``bounding_box_format``). The layers :func:`augmentation_layers`
builds from an :class:`AugmentationSpec` all do (checked with Keras 3.15):

- ``RandomFlip``, ``RandomTranslation``, ``RandomZoom``, ``RandomRotation`` and
  ``RandomShear`` move the boxes and the mask with the image (masks are resampled
  with nearest-neighbour, so classes never blend); a rotated or sheared box is
  the box around its four moved corners (so it grows a little), and boxes are
  clipped to the image;
- ``RandomBrightness`` changes the image only.

:func:`augment_with_targets` therefore shows exactly what a model trained on
these targets with this spec sees: the same layers, the same seed, boxes
``[x0, y0, x1, y1]`` in pixels ("xyxy").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DatasetError
from .augmentation import AugmentationSpec, augmentation_layers

#: The box format the layers are given (corners in pixels, as the data sets' ``objects`` are).
BOX_FORMAT = "xyxy"


def target_layers(spec: AugmentationSpec, seed: int | None = None) -> list:
    """The spec's Keras layers, made box-aware (``bounding_box_format="xyxy"``)."""
    layers = augmentation_layers(spec, seed)
    for layer in layers:
        layer.bounding_box_format = BOX_FORMAT
    return layers


def augment_with_targets(
    image: np.ndarray,
    boxes: Any = None,
    classes: Any = None,
    mask: Any = None,
    spec: AugmentationSpec | None = None,
    n: int = 9,
    seed: int = 0,
) -> dict[str, Any]:
    """``n`` augmented copies of one image with its boxes (M x 4 pixels) and/or class mask (H x W ints).

    Returns ``{"images": n x H x W x C float32 in [0, 1], "boxes": [M x 4 per copy] or None,
    "classes": [M per copy] or None, "masks": n x H x W uint8 or None}``. Copy 0 is the
    original. Boxes that leave the image entirely are dropped from their copy.
    """
    import tensorflow as tf

    img = np.asarray(image, np.float32)
    if img.ndim != 3:
        raise DatasetError(f"expected one image of shape H x W x C, received shape {img.shape}")
    if n < 1:
        raise DatasetError(f"need at least one preview, received n={n}")
    h, w = img.shape[:2]
    b = None if boxes is None else np.asarray(boxes, np.float32).reshape(-1, 4)
    k = None if b is None else (np.zeros(len(b), np.int32) if classes is None else np.asarray(classes, np.int32).reshape(-1))
    m = None if mask is None else np.asarray(mask)
    if m is not None and m.shape[:2] != (h, w):
        raise DatasetError(f"the mask is {m.shape[1]}x{m.shape[0]} but the image is {w}x{h}")
    images = np.repeat(img[None], n, axis=0)
    out_boxes = None if b is None else [b.copy() for _ in range(n)]
    out_classes = None if k is None else [k.copy() for _ in range(n)]
    masks = None if m is None else np.repeat(m.reshape(h, w)[None], n, axis=0).astype(np.uint8)
    spec = spec or AugmentationSpec()
    if spec.is_identity():
        spec.validate()
        return {"images": images, "boxes": out_boxes, "classes": out_classes, "masks": masks}
    data: dict[str, Any] = {"images": tf.constant(images)}
    if b is not None and len(b):
        data["bounding_boxes"] = {"boxes": tf.constant(np.repeat(b[None], n, 0)),
                                  "labels": tf.constant(np.repeat(k[None], n, 0))}
    if masks is not None:
        data["segmentation_masks"] = tf.constant(masks[..., None].astype(np.float32))
    for layer in target_layers(spec, seed):
        data = layer(data, training=True)
    images = np.clip(np.asarray(data["images"], np.float32), 0.0, 1.0)
    images[0] = img
    if masks is not None:
        moved = np.rint(np.asarray(data["segmentation_masks"], np.float32)[..., 0]).astype(np.uint8)
        moved[0] = masks[0]
        masks = moved
    if "bounding_boxes" in data:
        moved_b = np.asarray(data["bounding_boxes"]["boxes"], np.float32)
        out_boxes, out_classes = [b.copy()], [k.copy()]
        for q in range(1, n):
            bq = np.clip(moved_b[q], [0, 0, 0, 0], [w, h, w, h])
            keep = (bq[:, 2] - bq[:, 0] > 0) & (bq[:, 3] - bq[:, 1] > 0)
            out_boxes.append(bq[keep])
            out_classes.append(k[keep])
    return {"images": images, "boxes": out_boxes, "classes": out_classes, "masks": masks}
