"""Task data: Shapes scenes for detection and segmentation; image folders with masks, Pascal VOC and COCO annotations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convexplorer.core import datasets as D
from convexplorer.core.datasets.shapes import shape_mask
from convexplorer.core.errors import DatasetError


# --- shapes scenes ------------------------------------------------------------------------------
def test_detection_scenes_are_seeded_and_boxes_are_the_drawn_extents():
    a = D.ShapesDetectionDataset(n=30, size=48, seed=5, noise=0.0)
    b = D.ShapesDetectionDataset(n=30, size=48, seed=5, noise=0.0)
    c = D.ShapesDetectionDataset(n=30, size=48, seed=6, noise=0.0)
    assert a.task == "detection" and a.has_objects() and not a.has_masks()
    assert a.class_names == list(D.SHAPE_CLASSES)
    counts = [len(a.objects(i)[1]) for i in range(len(a))]
    assert min(counts) >= 1 and max(counts) <= 5 and len(set(counts)) >= 3
    for i in range(len(a)):
        np.testing.assert_array_equal(a.render(i), b.render(i))
        for x, y in zip(a.objects(i), b.objects(i)):
            np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(a.render(i), c.render(i)) for i in range(5))
    overlapping = 0
    for i in range(len(a)):
        boxes, classes = a.objects(i)
        assert boxes.dtype == np.float32 and classes.dtype == np.int32
        img = a.render(i)
        inst = a.instance_map(i)
        for j in range(len(classes)):
            alone = a.object_mask(i, j)
            ys, xs = np.nonzero(alone)
            # The box is exactly the extent of the object's own pixels (pixel k spans [k, k + 1)).
            np.testing.assert_array_equal(boxes[j], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            # Its visible pixels are its own pixels not covered by a later object, in its colour.
            later = np.isin(inst, np.arange(j + 2, len(classes) + 1))
            np.testing.assert_array_equal(inst == j + 1, alone & ~later)
            visible = inst == j + 1
            assert visible.sum() >= 0.4 * alone.sum() - 1  # at most 60 % hidden
            colour = img[visible]
            assert np.all(colour == colour[0])
        if len(boxes) > 1:
            from convexplorer.core.metrics import box_iou

            ious = box_iou(boxes, boxes)
            overlapping += int((ious[np.triu_indices(len(boxes), 1)] > 0).any())
    assert overlapping >= 3  # overlaps do happen
    # The label of an image is its largest object's class; object counts add up.
    i = 0
    boxes, classes = a.objects(i)
    areas = [a.object_mask(i, j).sum() for j in range(len(classes))]
    assert a.label(i) == classes[int(np.argmax(areas))]
    assert a.object_counts().sum() == sum(counts)


def test_detection_boxes_follow_the_delivered_size():
    ds = D.ShapesDetectionDataset(n=6, size=32, seed=1)
    big = ds.with_options(image_size=(64, 48))
    boxes, classes = ds.objects(2)
    big_boxes, big_classes = big.objects(2)
    np.testing.assert_allclose(big_boxes, boxes * np.array([1.5, 2, 1.5, 2]), rtol=1e-6)
    np.testing.assert_array_equal(classes, big_classes)
    fr = big.object_fractions()
    assert len(fr) == 6
    np.testing.assert_allclose(fr[2][0], boxes / 32, rtol=1e-6)
    assert D.ShapesDataset(n=4, size=32).object_fractions() is None
    with pytest.raises(DatasetError, match="has no objects"):
        D.ShapesDataset(n=4, size=32).objects(0)


def test_segmentation_masks_are_the_drawn_pixels():
    ds = D.ShapesSegmentationDataset(n=20, size=40, seed=2, noise=0.0)
    assert ds.task == "segmentation" and ds.has_masks() and not ds.has_objects()
    assert ds.class_names == ["background", "circle", "square", "triangle", "cross"]
    for i in range(len(ds)):
        mask = ds.mask(i)
        assert mask.dtype == np.uint8 and mask.shape == (40, 40)
        # Render each object alone (the public shape_mask, from the stored parameters), paint in order.
        expected = np.zeros((40, 40), np.uint8)
        classes = ds._object_class[i]
        for j, (cx, cy, r, angle) in enumerate(ds._scene[i]["params"]):
            alone = shape_mask(ds._kinds[classes[j]], cx, cy, r, angle, 40)
            np.testing.assert_array_equal(alone, ds.object_mask(i, j))
            expected[alone] = classes[j] + 1
        np.testing.assert_array_equal(mask, expected)
        # The image is its mask: background pixels keep the gradient, object pixels one colour each.
        img = ds.render(i)
        for k in np.unique(mask[mask > 0]):
            assert len(np.unique(img[mask == k].reshape(-1, 3), axis=0)) <= len(classes)
        counts = np.bincount(mask.ravel(), minlength=5)
        counts[0] = 0
        assert ds.label(i) == int(np.argmax(counts))
    # Same seed, same scenes as the detection set.
    det = D.ShapesDetectionDataset(n=20, size=40, seed=2, noise=0.0)
    np.testing.assert_array_equal(det.render(7), ds.render(7))
    # Resized masks: nearest neighbour, classes never blended.
    small = ds.with_options(image_size=(20, 30))
    m = small.mask(3)
    assert m.shape == (20, 30) and set(np.unique(m)) <= set(np.unique(ds.mask(3)))
    assert small.all_masks().shape == (20, 20, 30)


def test_scene_arguments_are_checked():
    with pytest.raises(DatasetError, match="1 <= min <= max <= 20, received 3 and 2"):
        D.ShapesDetectionDataset(n=2, min_objects=3, max_objects=2)
    with pytest.raises(DatasetError, match="shape classes must be some of"):
        D.ShapesDetectionDataset(n=2, classes=["hexagon"])
    one = D.ShapesDetectionDataset(n=12, size=32, seed=0, min_objects=1, max_objects=1)
    assert all(len(one.objects(i)[1]) == 1 for i in range(12))
