"""Data augmentation as Keras preprocessing layers, described by a plain dataclass.

:class:`AugmentationSpec` holds the settings the panel shows (the textbook's
``ImageDataGenerator`` vocabulary: rotation in degrees, width/height shift,
shear, zoom, flips, brightness, fill mode). :func:`build_augmentation` turns
it into a ``keras.Sequential`` of ``RandomRotation``, ``RandomTranslation``,
``RandomShear``, ``RandomZoom``, ``RandomFlip`` and ``RandomBrightness``; the
preview (:func:`augment_preview`) and training
(:meth:`Dataset.to_tf_dataset`) both use that one model, so what you see is
what the network gets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from ..errors import DatasetError

FILL_MODES: tuple[str, ...] = ("nearest", "reflect", "constant", "wrap")


@dataclass(frozen=True)
class AugmentationSpec:
    """Random transformations applied to training images (all off by default)."""

    #: Maximum rotation, in degrees either way.
    rotation: float = 0.0
    #: Maximum horizontal shift, as a fraction of the width.
    width_shift: float = 0.0
    #: Maximum vertical shift, as a fraction of the height.
    height_shift: float = 0.0
    #: Maximum shear intensity (Keras ``RandomShear`` factor).
    shear: float = 0.0
    #: Maximum zoom, as a fraction (0.2 = between 80 % and 120 %).
    zoom: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    #: Maximum brightness change, as a fraction of the value range.
    brightness: float = 0.0
    #: How pixels outside the image are filled: nearest, reflect, constant or wrap.
    fill_mode: str = "nearest"
    #: Value used when ``fill_mode`` is "constant" (0 = black, 1 = white).
    fill_value: float = 0.0

    @classmethod
    def textbook(cls) -> "AugmentationSpec":
        """The textbook's defaults: rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest."""
        return cls(
            rotation=40.0,
            width_shift=0.2,
            height_shift=0.2,
            shear=0.2,
            zoom=0.2,
            horizontal_flip=True,
            vertical_flip=False,
            brightness=0.0,
            fill_mode="nearest",
        )

    def validate(self) -> None:
        """Raise :class:`DatasetError` for values the layers cannot use."""
        if not 0 <= self.rotation <= 180:
            raise DatasetError(f"rotation must be 0 to 180 degrees, received {self.rotation}")
        for name in ("width_shift", "height_shift", "shear", "zoom", "brightness"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise DatasetError(f"{name.replace('_', ' ')} must be between 0 and 1, received {value}")
        if self.fill_mode not in FILL_MODES:
            raise DatasetError(f"fill mode must be one of {', '.join(FILL_MODES)}; received {self.fill_mode!r}")
        if not 0 <= self.fill_value <= 1:
            raise DatasetError(f"fill value must be between 0 and 1, received {self.fill_value}")

    def is_identity(self) -> bool:
        """True when no transformation is switched on."""
        return not (
            self.rotation or self.width_shift or self.height_shift or self.shear or self.zoom
            or self.horizontal_flip or self.vertical_flip or self.brightness
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AugmentationSpec":
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in data.items() if k in names})

    def describe(self) -> str:
        """One line listing what is on."""
        if self.is_identity():
            return "no augmentation"
        parts = []
        if self.rotation:
            parts.append(f"rotation ±{self.rotation:g}°")
        if self.width_shift or self.height_shift:
            parts.append(f"shift {self.width_shift:g}/{self.height_shift:g}")
        if self.shear:
            parts.append(f"shear {self.shear:g}")
        if self.zoom:
            parts.append(f"zoom ±{self.zoom:g}")
        flips = [n for n, on in (("horizontal", self.horizontal_flip), ("vertical", self.vertical_flip)) if on]
        if flips:
            parts.append(" + ".join(flips) + " flip")
        if self.brightness:
            parts.append(f"brightness ±{self.brightness:g}")
        return ", ".join(parts) + f"; fill {self.fill_mode}"


def augmentation_layers(spec: AugmentationSpec, seed: int | None = None) -> list:
    """The Keras preprocessing layers for ``spec``, in application order."""
    import keras

    spec.validate()
    L = keras.layers
    fill = dict(fill_mode=spec.fill_mode, fill_value=float(spec.fill_value))
    out: list = []

    def s(k: int) -> int | None:
        return None if seed is None else int(seed) + k

    if spec.horizontal_flip or spec.vertical_flip:
        mode = "horizontal_and_vertical" if spec.horizontal_flip and spec.vertical_flip else (
            "horizontal" if spec.horizontal_flip else "vertical"
        )
        out.append(L.RandomFlip(mode, seed=s(1), name="flip"))
    if spec.rotation:
        out.append(L.RandomRotation(spec.rotation / 360.0, seed=s(2), name="rotation", **fill))
    if spec.width_shift or spec.height_shift:
        out.append(L.RandomTranslation(spec.height_shift, spec.width_shift, seed=s(3), name="shift", **fill))
    if spec.shear:
        if hasattr(L, "RandomShear"):
            out.append(L.RandomShear(x_factor=spec.shear, y_factor=0.0, seed=s(4), name="shear", **fill))
        else:  # pragma: no cover - older Keras
            raise DatasetError("shear needs Keras 3.6 or newer (RandomShear); set shear to 0")
    if spec.zoom:
        out.append(L.RandomZoom(spec.zoom, spec.zoom, seed=s(5), name="zoom", **fill))
    if spec.brightness:
        out.append(L.RandomBrightness(spec.brightness, value_range=(0.0, 1.0), seed=s(6), name="brightness"))
    return out


def build_augmentation(spec: AugmentationSpec, seed: int | None = None):
    """A ``keras.Sequential`` applying ``spec`` (call it with ``training=True``); None when identity."""
    import keras

    if spec.is_identity():
        spec.validate()
        return None
    return keras.Sequential(augmentation_layers(spec, seed), name="augmentation")


def augment_preview(image: np.ndarray, spec: AugmentationSpec, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` augmented variants of one ``H x W x C`` image in [0, 1], as ``n x H x W x C`` float32.

    Uses the same layers as training (:func:`build_augmentation`). Variant 0 is
    the original image, so the preview always shows what was transformed.
    """
    import tensorflow as tf

    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise DatasetError(f"expected one image of shape H x W x C, received shape {image.shape}")
    if n < 1:
        raise DatasetError(f"need at least one preview, received n={n}")
    model = build_augmentation(spec, seed=seed)
    batch = np.repeat(image[None], n, axis=0)
    if model is None:
        return batch
    out = model(tf.constant(batch), training=True)
    out = np.clip(np.asarray(out, np.float32), 0.0, 1.0)
    out[0] = image
    return out
