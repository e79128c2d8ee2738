"""The Dataset interface the browser and the trainer both use.

A :class:`Dataset` is browsed one sample at a time (``image(i)``, ``label(i)``,
``thumbnail(i)``) without loading everything, and handed to training as a
``tf.data.Dataset`` by :meth:`Dataset.to_tf_dataset` (split, shuffled,
augmented, batched, prefetched). Options (delivered image size, colour mode,
split fractions and seed) never mutate a data set: ``with_options`` and
``with_split`` return a configured copy, so a set already handed to the trainer
never changes under it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from ..errors import DatasetError
from ..images import resize, to_uint8

Subset = Literal["train", "validation", "test"]
SUBSETS: tuple[str, ...] = ("train", "validation", "test")
#: Codes stored in a data set's fixed-split array.
TRAIN, VALIDATION, TEST, UNASSIGNED = 0, 1, 2, -1
_CODE = {"train": TRAIN, "validation": VALIDATION, "test": TEST}
#: Luminance weights for RGB -> grayscale (ITU-R 601, as Pillow and TF use).
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class SplitSpec:
    """Fractions of the samples that go to validation and test, and the shuffle seed."""

    validation: float = 0.2
    test: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        """Raise :class:`DatasetError` when the fractions cannot make a split."""
        for name, value in (("validation", self.validation), ("test", self.test)):
            if not 0.0 <= value < 1.0:
                raise DatasetError(f"the {name} fraction must be between 0 and 1, received {value}")
        if self.validation + self.test >= 1.0:
            raise DatasetError(
                f"validation + test fractions must leave something to train on, received "
                f"{self.validation} + {self.test} = {self.validation + self.test:.2f}"
            )


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """Convert an ``H x W x C`` float image to 1 (luminance) or 3 channels."""
    c = image.shape[-1]
    if c == channels:
        return image
    if channels == 3 and c == 1:
        return np.repeat(image, 3, axis=-1)
    if channels == 1 and c == 3:
        return (image @ _LUMA)[..., None].astype(np.float32)
    raise DatasetError(f"cannot convert a {c}-channel image to {channels} channels")


class Dataset:
    """Base class: subclasses provide ``_raw_image``, ``_labels`` and the native shape."""

    #: Shown in the UI and in run records.
    name: str = "dataset"
    #: Augmentation chosen in the Data panel (an ``AugmentationSpec``); applied to "train" by default.
    augmentation: Any = None

    def __init__(
        self,
        name: str,
        class_names: Sequence[str],
        labels: np.ndarray,
        native_shape: tuple[int, int, int],
        fixed_split: np.ndarray | None = None,
        split: SplitSpec | None = None,
    ) -> None:
        self.name = name
        self.class_names = [str(c) for c in class_names]
        self._labels = np.asarray(labels, dtype=np.int32)
        self._native_shape = tuple(int(v) for v in native_shape)
        self._target_size: tuple[int, int] | None = None
        self._channels = self._native_shape[2]
        n = len(self._labels)
        self._fixed = (
            np.full(n, UNASSIGNED, np.int8) if fixed_split is None else np.asarray(fixed_split, np.int8).copy()
        )
        self.split = split or SplitSpec()
        self.split.validate()
        self._split_cache: dict[str, np.ndarray] | None = None

    # --- the interface ----------------------------------------------------------
    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the images as delivered to models."""
        h, w = self._target_size or self._native_shape[:2]
        return (int(h), int(w), int(self._channels))

    @property
    def native_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the stored images before resizing/colour conversion."""
        return self._native_shape  # type: ignore[return-value]

    @property
    def color_mode(self) -> str:
        """"rgb" or "grayscale": the delivered colour mode."""
        return "rgb" if self._channels == 3 else "grayscale"

    def __len__(self) -> int:
        return int(len(self._labels))

    def _check_index(self, i: int) -> int:
        n = len(self)
        if not -n <= int(i) < n:
            raise DatasetError(f"sample index out of range: {i} (the data set has {n} samples)")
        return int(i) % n

    def label(self, i: int) -> int:
        """Class index of sample ``i``."""
        return int(self._labels[self._check_index(i)])

    def labels(self) -> np.ndarray:
        """All labels as an ``int32`` array (a copy)."""
        return self._labels.copy()

    def class_counts(self) -> np.ndarray:
        """Number of samples per class."""
        return np.bincount(self._labels, minlength=len(self.class_names)).astype(np.int64)

    def image(self, i: int) -> np.ndarray:
        """Sample ``i`` as ``float32`` ``H x W x C`` in [0, 1] at :attr:`image_shape`."""
        return self._deliver(self._raw_image(self._check_index(i)))

    def native_image(self, i: int) -> np.ndarray:
        """Sample ``i`` at its stored size (for the full-size view)."""
        return self._raw_image(self._check_index(i))

    def thumbnail(self, i: int, size: int = 64) -> np.ndarray:
        """A small ``uint8`` RGB preview (longest side ``size``) of sample ``i``."""
        img = self.native_image(i)
        h, w = img.shape[:2]
        scale = size / max(h, w)
        if scale < 1.0:
            img = resize(img, (max(1, round(h * scale)), max(1, round(w * scale))))
        return to_uint8(convert_channels(img, 3))

    def describe(self, i: int) -> str:
        """A short description of sample ``i`` (source and stored size)."""
        h, w, c = self.native_shape
        return f"#{i} · {w}x{h} · {'RGB' if c == 3 else 'grayscale'}"

    # --- targets other than the label ------------------------------------------------
    #: What the samples teach: "classification" (a label), "localization" (a label and one box),
    #: "detection" (objects: a box and a class each, several an image) or "segmentation" (a class mask).
    task: str = "classification"

    def has_objects(self) -> bool:
        """True when the samples come with objects (boxes and classes, several an image)."""
        return False

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``i``'s objects: boxes ``[x0, y0, x1, y1]`` (M x 4 float32, pixels of :attr:`image_shape`), classes (M int32)."""
        raise DatasetError(f"{self.name} has no objects (boxes with classes): it is a {self.task} data set")

    def object_fractions(self) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Every sample's objects with boxes as fractions of the image, a (boxes, classes) each; None without objects."""
        if not self.has_objects():
            return None
        h, w = self.image_shape[:2]
        scale = np.array([w, h, w, h], np.float32)
        out = []
        for i in range(len(self)):
            boxes, classes = self.objects(i)
            out.append(((np.asarray(boxes, np.float32) / scale).astype(np.float32), np.asarray(classes, np.int32)))
        return out

    def object_counts(self) -> np.ndarray | None:
        """Number of objects per class over all samples; None without objects."""
        if not self.has_objects():
            return None
        classes = [self.objects(i)[1] for i in range(len(self))]
        flat = np.concatenate(classes) if classes else np.zeros(0, np.int32)
        return np.bincount(flat, minlength=len(self.class_names)).astype(np.int64)

    def mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask (H x W uint8 at :attr:`image_shape`; 0 is background)."""
        raise DatasetError(f"{self.name} has no masks: it is a {self.task} data set")

    def all_masks(self) -> np.ndarray | None:
        """Every sample's class mask (N x H x W uint8); None without masks."""
        if not self.has_masks():
            return None
        h, w = self.image_shape[:2]
        out = np.empty((len(self), h, w), np.uint8)
        for i in range(len(self)):
            out[i] = self.mask(i)
        return out

    def box_fractions(self) -> np.ndarray | None:
        """Every sample's box ``[x0, y0, x1, y1]`` as fractions of the image (N x 4 float32); None without boxes."""
        all_boxes = getattr(self, "all_boxes", None)
        if all_boxes is None:
            return None
        h, w = self.image_shape[:2]
        return (np.asarray(all_boxes(), np.float32) / np.array([w, h, w, h], np.float32)).astype(np.float32)

    def has_masks(self) -> bool:
        """True when the samples come with per-pixel class masks (segmentation sets)."""
        return False

    # --- configuration ------------------------------------------------------------
    def with_options(self, image_size: tuple[int, int] | None = None, color_mode: str | None = None) -> "Dataset":
        """A copy that delivers images at ``image_size`` (H, W) and ``color_mode``."""
        other = copy.copy(self)
        if image_size is not None:
            h, w = int(image_size[0]), int(image_size[1])
            if not (4 <= h <= 2048 and 4 <= w <= 2048):
                raise DatasetError(f"image size must be between 4 and 2048 pixels a side, received {h}x{w}")
            other._target_size = None if (h, w) == tuple(self._native_shape[:2]) else (h, w)
        if color_mode is not None:
            if color_mode not in ("rgb", "grayscale"):
                raise DatasetError(f"colour mode must be 'rgb' or 'grayscale', received {color_mode!r}")
            other._channels = 3 if color_mode == "rgb" else 1
        return other

    def _with_stored_size(self, image_size: tuple[int, int] | None, color_mode: str | None) -> "Dataset":
        """:meth:`with_options` for sets whose stored images vary in size (folders, some catalog sets): the size
        asked for becomes the native one, each image being resized to it when read."""
        other = Dataset.with_options(self, None, color_mode)
        if image_size is not None:
            h, w = int(image_size[0]), int(image_size[1])
            if not (4 <= h <= 2048 and 4 <= w <= 2048):
                raise DatasetError(f"image size must be between 4 and 2048 pixels a side, received {h}x{w}")
            other._native_shape = (h, w, other._native_shape[2])
            other._target_size = None
        return other

    def with_split(self, validation: float = 0.2, test: float = 0.1, seed: int = 0) -> "Dataset":
        """A copy split with these fractions and seed (fixed folder/official splits are kept)."""
        spec = SplitSpec(float(validation), float(test), int(seed))
        spec.validate()
        other = copy.copy(self)
        other.split = spec
        other._split_cache = None
        return other

    def with_augmentation(self, spec: Any) -> "Dataset":
        """A copy whose training subset is augmented with ``spec`` (None: no augmentation)."""
        other = copy.copy(self)
        other.augmentation = None if spec is None or spec.is_identity() else spec
        return other

    # --- splitting ----------------------------------------------------------------
    def has_fixed(self, subset: str) -> bool:
        """True when ``subset`` comes from the source (official test set, a test/ folder)."""
        return bool(np.any(self._fixed == _CODE[subset]))

    def _compute_split(self) -> dict[str, np.ndarray]:
        codes = self._fixed.copy()
        pool = np.flatnonzero(codes == UNASSIGNED)
        val_frac = 0.0 if self.has_fixed("validation") else self.split.validation
        test_frac = 0.0 if self.has_fixed("test") else self.split.test
        rng = np.random.default_rng(self.split.seed)
        # Stratified: each class is cut by the same fractions, so the classes keep their balance.
        pool_labels = self._labels[pool]
        for cls in np.unique(pool_labels):
            members = pool[pool_labels == cls]
            members = members[rng.permutation(len(members))]
            n_val = int(round(len(members) * val_frac))
            n_test = int(round(len(members) * test_frac))
            codes[members[:n_val]] = VALIDATION
            codes[members[n_val : n_val + n_test]] = TEST
            codes[members[n_val + n_test :]] = TRAIN
        return {s: np.flatnonzero(codes == _CODE[s]).astype(np.int64) for s in SUBSETS}

    def subset_indices(self, subset: str) -> np.ndarray:
        """Sorted indices of the samples in ``subset`` ("train", "validation" or "test")."""
        if subset not in _CODE:
            raise DatasetError(f"subset must be one of train, validation, test; received {subset!r}")
        if self._split_cache is None:
            self._split_cache = self._compute_split()
        return self._split_cache[subset].copy()

    # --- training -----------------------------------------------------------------
    def to_tf_dataset(
        self,
        subset: str = "train",
        batch_size: int = 32,
        shuffle: bool = True,
        augmentation: Any = None,
        seed: int = 0,
        targets: Mapping[str, np.ndarray] | None = None,
        drop_remainder: bool = False,
    ):
        """A batched, prefetched ``tf.data.Dataset`` of (float32 images in [0, 1], int32 labels).

        ``drop_remainder`` leaves out a last batch smaller than ``batch_size`` (under a strategy with
        several replicas every batch must split evenly between them).

        ``targets`` (a table per name, one row per sample: labels, boxes...) replaces the
        labels by a dict ``{name: row}`` for models with several heads; the images, their
        order and their augmentation are the same as without it.

        ``augmentation`` is an :class:`~convexplorer.core.datasets.augmentation.AugmentationSpec`
        or a Keras layer, applied to each batch (the same layers the preview uses). Left as
        None, the "train" subset gets the data set's own :attr:`augmentation` (set in the Data
        panel) and the other subsets none; pass False for no augmentation at all.
        """
        import tensorflow as tf

        if batch_size < 1:
            raise DatasetError(f"batch size must be at least 1, received {batch_size}")
        idx = self.subset_indices(subset)
        if len(idx) == 0:
            raise DatasetError(
                f"the {subset} subset of {self.name} is empty: raise its fraction or add {subset} images"
            )
        if shuffle:
            idx = idx[np.random.default_rng(seed).permutation(len(idx))]
        if targets is None:
            ds = self._tf_source(idx, shuffle=shuffle, seed=seed)
        else:
            ds = self._tf_source_targets(idx, shuffle, seed, targets)
        ds = ds.batch(int(batch_size), drop_remainder=bool(drop_remainder))
        if augmentation is None and subset == "train":
            augmentation = self.augmentation
        if augmentation is not None and augmentation is not False:
            from .augmentation import AugmentationSpec, build_augmentation

            layer = build_augmentation(augmentation, seed=seed) if isinstance(augmentation, AugmentationSpec) else augmentation
            if layer is not None:
                ds = ds.map(
                    lambda x, y: (tf.clip_by_value(layer(x, training=True), 0.0, 1.0), y),
                    num_parallel_calls=tf.data.AUTOTUNE,
                )
        return ds.prefetch(tf.data.AUTOTUNE)

    def _tf_source_targets(self, idx: np.ndarray, shuffle: bool, seed: int, targets: Mapping[str, np.ndarray]):
        """Unbatched (image, {name: target row}) for ``idx``: the same source as :meth:`_tf_source`, fed sample
        numbers in place of labels, which then pick each target's row."""
        import tensorflow as tf

        n = len(self)
        tables = {}
        for name, table in targets.items():
            arr = np.asarray(table)
            if len(arr) != n:
                raise DatasetError(f"the target {name!r} has {len(arr)} rows but {self.name} has {n} samples")
            tables[str(name)] = tf.constant(arr)
        numbered = copy.copy(self)
        numbered._numbering = np.arange(n, dtype=np.int32)  # the source's "label" is now the sample number
        ds = numbered._tf_source(idx, shuffle=shuffle, seed=seed)
        return ds.map(
            lambda x, i: (x, {k: tf.gather(t, i) for k, t in tables.items()}), num_parallel_calls=tf.data.AUTOTUNE
        )

    def _source_labels(self) -> np.ndarray:
        """What :meth:`_tf_source` serves as labels: the labels, or sample numbers (for :meth:`_tf_source_targets`)."""
        numbering = getattr(self, "_numbering", None)
        return self._labels if numbering is None else numbering

    def _tf_convert(self, images):
        """TF ops: uint8 or float native images -> float32 [0, 1] at :attr:`image_shape`."""
        import tensorflow as tf

        x = images
        if x.dtype == tf.uint8:
            x = tf.cast(x, tf.float32) / 255.0
        else:
            x = tf.cast(x, tf.float32)
        c = self._native_shape[2]
        if c == 1 and self._channels == 3:
            x = tf.image.grayscale_to_rgb(x)
        elif c == 3 and self._channels == 1:
            x = tf.image.rgb_to_grayscale(x)
        if self._target_size is not None:
            x = tf.image.resize(x, self._target_size, method="bilinear")
        return tf.clip_by_value(x, 0.0, 1.0)

    def _tf_source(self, idx: np.ndarray, shuffle: bool, seed: int):
        """Unbatched (image, label) pairs for ``idx``; default: load each with :meth:`image`."""
        import tensorflow as tf

        shape = self.image_shape
        labels = self._source_labels()

        def load(i):
            return self.image(int(i)).astype(np.float32), np.int32(labels[int(i)])

        ds = tf.data.Dataset.from_tensor_slices(idx.astype(np.int64))
        if shuffle:
            ds = ds.shuffle(len(idx), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(
            lambda i: tf.numpy_function(load, [i], (tf.float32, tf.int32), stateful=False),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        ds = ds.ignore_errors()
        return ds.map(lambda x, y: (tf.ensure_shape(x, shape), tf.ensure_shape(y, ())))

    # --- for subclasses -------------------------------------------------------------
    def _raw_image(self, i: int) -> np.ndarray:
        """Sample ``i`` as float32 at the native shape (subclasses implement)."""
        raise NotImplementedError

    def _deliver(self, img: np.ndarray) -> np.ndarray:
        img = convert_channels(img.astype(np.float32, copy=False), self._channels)
        target = self.image_shape[:2]
        if tuple(img.shape[:2]) != target:
            img = resize(img, target)
        return np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)


class ArrayDataset(Dataset):
    """A data set held in memory as a ``uint8`` array ``N x H x W x C`` (MNIST, CIFAR, shapes)."""

    def __init__(
        self,
        name: str,
        class_names: Sequence[str],
        images: np.ndarray,
        labels: np.ndarray,
        fixed_split: np.ndarray | None = None,
        split: SplitSpec | None = None,
    ) -> None:
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DatasetError(f"expected images of shape N x H x W x C with C = 1 or 3, received {images.shape}")
        if len(images) != len(labels):
            raise DatasetError(f"{len(images)} images but {len(labels)} labels")
        super().__init__(name, class_names, labels, images.shape[1:], fixed_split, split)
        self._images = images

    def _raw_image(self, i: int) -> np.ndarray:
        x = self._images[i]
        return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)

    def _tf_source(self, idx: np.ndarray, shuffle: bool, seed: int):
        import tensorflow as tf

        # Only the subset's images become a tensor; the order is shuffled as small ints.
        sel = np.sort(idx)
        x_all = tf.constant(self._images[sel])
        y_all = tf.constant(self._source_labels()[sel])
        order = tf.data.Dataset.from_tensor_slices(np.searchsorted(sel, idx).astype(np.int64))
        if shuffle:
            order = order.shuffle(len(idx), seed=seed, reshuffle_each_iteration=True)
        convert = self._tf_convert
        return order.map(
            lambda k: (convert(tf.gather(x_all, k)), tf.gather(y_all, k)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
