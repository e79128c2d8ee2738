"""Training augmentation moves boxes and masks with the pixels (``core.targets.head_dataset``).

The data set here draws its own targets: each object is a bright rectangle
exactly on its box, and the mask is the same rectangles painted with their
class. So the moved image is the reference for the moved targets: a flip must
give exactly the mirrored box, mask and grid; a rotation must keep every bright
pixel inside the moved box and the mask on the moved pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from convexplorer.core import detection as det  # noqa: E402
from convexplorer.core.datasets.augmentation import AugmentationSpec  # noqa: E402
from convexplorer.core.datasets.base import ArrayDataset  # noqa: E402
from convexplorer.core.targets import (  # noqa: E402
    HeadTarget,
    TargetError,
    detection_head,
    head_dataset,
)

SIZE = 32
#: Each class paints its rectangle with this grey level, so a pixel's value names its class.
LEVEL = {1: 0.4, 2: 0.8}


class DrawnTargets(ArrayDataset):
    """Images that are their own targets: one to three rectangles, each of a class's grey level."""

    def __init__(self, n: int, seed: int = 0, task: str = "detection") -> None:
        rng = np.random.default_rng(seed)
        images = np.zeros((n, SIZE, SIZE, 1), np.float32)
        self._objects: list[tuple[np.ndarray, np.ndarray]] = []
        self._masks = np.zeros((n, SIZE, SIZE), np.uint8)
        for i in range(n):
            count = 1 if task == "localization" else int(rng.integers(1, 4))
            boxes, classes = [], []
            for _ in range(count):
                w, h = rng.integers(6, 13, size=2)
                x0, y0 = rng.integers(2, SIZE - 2 - w), rng.integers(2, SIZE - 2 - h)
                k = int(rng.integers(1, 3))
                images[i, y0 : y0 + h, x0 : x0 + w, 0] = LEVEL[k]
                self._masks[i, y0 : y0 + h, x0 : x0 + w] = k
                boxes.append([x0, y0, x0 + w, y0 + h])
                classes.append(k - 1)
            self._objects.append((np.array(boxes, np.float32), np.array(classes, np.int32)))
        labels = np.array([k[0] for _b, k in self._objects], np.int32)
        super().__init__("drawn", ["dim", "bright"], images, labels)
        self.task = task

    def has_objects(self) -> bool:
        return self.task == "detection"

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self._objects[self._check_index(i)]

    def all_boxes(self) -> np.ndarray:
        return np.stack([b[0] for b, _k in self._objects])

    def has_masks(self) -> bool:
        return self.task == "segmentation"

    def mask(self, i: int) -> np.ndarray:
        return self._masks[self._check_index(i)]


def _first_batch(ds, heads, spec, n=64, seed=3):
    moved = ds.with_split(0.0, 0.0, 0).with_augmentation(spec)
    x, y = next(iter(head_dataset(moved, heads, "train", batch_size=n, shuffle=False, seed=seed)))
    return x.numpy(), y


def _mirrored(boxes: np.ndarray) -> np.ndarray:
    """Boxes (fractions) of the horizontally mirrored image."""
    return np.stack([1 - boxes[..., 2], boxes[..., 1], 1 - boxes[..., 0], boxes[..., 3]], axis=-1)


def test_a_flip_mirrors_the_box_exactly_when_it_mirrors_the_image():
    ds = DrawnTargets(48, seed=1, task="localization")
    x, y = _first_batch(ds, [HeadTarget("box", "boxes")], AugmentationSpec(horizontal_flip=True))
    originals = np.stack([ds.image(i) for i in range(len(ds))])
    want = ds.box_fractions()
    flipped = 0
    for i in range(len(ds)):
        if np.allclose(x[i], originals[i][:, ::-1], atol=1e-6) and not np.allclose(x[i], originals[i], atol=1e-6):
            np.testing.assert_allclose(y.numpy()[i], _mirrored(want[i]), atol=1e-5)
            flipped += 1
        else:
            np.testing.assert_allclose(x[i], originals[i], atol=1e-6)
            np.testing.assert_allclose(y.numpy()[i], want[i], atol=1e-5)
    assert 8 < flipped < 40  # about half of them


def test_a_rotated_and_zoomed_box_still_holds_every_pixel_of_its_object():
    ds = DrawnTargets(32, seed=2, task="localization")
    x, y = _first_batch(ds, [HeadTarget("box", "boxes")], AugmentationSpec(rotation=25, zoom=0.15))
    boxes = y.numpy() * SIZE
    moved = 0
    for i in range(len(ds)):
        bright = np.argwhere(x[i, ..., 0] > 0.3)  # the object's pixels (background is 0)
        if len(bright) == 0:
            continue
        x0, y0, x1, y1 = boxes[i]
        assert x1 > x0 and y1 > y0
        ys, xs = bright[:, 0], bright[:, 1]
        assert xs.min() >= x0 - 1.5 and xs.max() + 1 <= x1 + 1.5, (i, boxes[i], xs.min(), xs.max())
        assert ys.min() >= y0 - 1.5 and ys.max() + 1 <= y1 + 1.5, (i, boxes[i], ys.min(), ys.max())
        # the box around a rotated rectangle grows, but not beyond its rotated corners' box (at most sqrt(2) a side)
        assert (x1 - x0) * (y1 - y0) <= 2.2 * (np.ptp(xs) + 2) * (np.ptp(ys) + 2)
        moved += not np.allclose(boxes[i], ds.box_fractions()[i] * SIZE, atol=0.5)
    assert moved > 20


def test_a_rotated_mask_stays_on_the_rotated_pixels():
    ds = DrawnTargets(24, seed=3, task="segmentation")
    x, y = _first_batch(ds, [HeadTarget("pixels", "masks")], AugmentationSpec(rotation=30, width_shift=0.1))
    masks = y.numpy()
    assert masks.dtype == np.uint8 and masks.shape == (24, SIZE, SIZE)
    # the class each moved pixel's grey level names (bilinear images blur the edges a little)
    levels = np.array([0.0, LEVEL[1], LEVEL[2]])
    from_pixels = np.abs(x[..., 0][..., None] - levels).argmin(-1)
    agree = (from_pixels == masks).mean()
    assert agree > 0.97, agree
    originals = np.stack([ds.mask(i) for i in range(len(ds))])
    assert (masks != originals).mean() > 0.02  # it did move


def test_a_detection_grid_is_encoded_after_the_objects_moved():
    ds = DrawnTargets(40, seed=4, task="detection").with_split(0.0, 0.0, 0)
    head = detection_head("objects", ds, grid_size=4, num_anchors=2)
    x, y = _first_batch(ds, [HeadTarget("kind"), head], AugmentationSpec(horizontal_flip=True))
    originals = np.stack([ds.image(i) for i in range(len(ds))])
    anchors = np.asarray(head.anchors)
    flipped = 0
    for i in range(len(ds)):
        boxes, classes = ds.object_fractions()[i]
        if np.allclose(x[i], originals[i][:, ::-1], atol=1e-6) and not np.allclose(x[i], originals[i], atol=1e-6):
            boxes = _mirrored(boxes)
            flipped += 1
        want, _ = det.encode_grid(boxes, classes, 4, anchors, 2)
        np.testing.assert_allclose(y["objects"].numpy()[i], want, atol=1e-5)
        assert int(y["kind"].numpy()[i]) == ds.label(i)  # a labels head is never moved
    assert 5 < flipped < 35


def test_what_cannot_move_with_the_pixels_is_refused_with_what_to_do():
    ds = DrawnTargets(8, seed=5, task="localization")
    heads = [HeadTarget("a", "boxes"), HeadTarget("b", "boxes")]
    with pytest.raises(TargetError, match=r'"a" and "b" both learn boxes.*switch off horizontal flip'):
        head_dataset(ds.with_augmentation(AugmentationSpec(horizontal_flip=True)), heads, "train", batch_size=4)
    import keras

    with pytest.raises(TargetError, match="choose the augmentation in the Data panel"):
        head_dataset(ds, [HeadTarget("box", "boxes")], "train", batch_size=4, augmentation=keras.layers.RandomFlip())
    # brightness alone keeps the boxes where they are
    _x, y = _first_batch(ds, [HeadTarget("box", "boxes")], AugmentationSpec(brightness=0.3), n=8)
    np.testing.assert_allclose(y.numpy(), ds.box_fractions(), atol=1e-6)


def test_training_inputs_split_evenly_between_replicas():
    """Every batch divides by the replica count; one replica keeps every image, as before."""
    from convexplorer.core.errors import ConvExplorerError
    from convexplorer.core.targets import training_inputs

    ds = DrawnTargets(50, seed=6, task="localization").with_split(0.2, 0.0, 0)  # 40 train, 10 validation
    heads = [HeadTarget("box", "boxes")]
    one = training_inputs(ds, heads, 12)
    assert [len(x) for x, _y in one.train] == [12, 12, 12, 4] and [len(x) for x, _y in one.validation] == [10]
    assert one.note == ""
    three = training_inputs(ds, heads, 12, replicas=3)
    assert [len(x) for x, _y in three.train] == [12, 12, 12]
    assert three.validation_batch_size == 9 and [len(x) for x, _y in three.validation] == [9]
    assert "last 4 shuffled training images" in three.note and "1 of 10 validation images left out" in three.note
    with pytest.raises(ConvExplorerError, match="fewer than one global batch of 48"):
        training_inputs(ds, heads, 48, replicas=4)
    tiny = DrawnTargets(20, seed=6, task="localization").with_split(0.1, 0.0, 0)  # 2 validation images
    assert training_inputs(tiny, heads, 6, replicas=3).validation is None
