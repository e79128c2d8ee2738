"""Keras's box- and mask-aware augmentation moves boxes and masks with the image."""

from __future__ import annotations

import numpy as np

from convexplorer.core.datasets import AugmentationSpec, augment_preview
from convexplorer.core.datasets.augment_targets import augment_with_targets


def _scene():
    img = np.zeros((32, 32, 3), np.float32)
    img[4:10, 2:8] = 1.0  # one white square: columns 2..7, rows 4..9
    mask = np.zeros((32, 32), np.uint8)
    mask[4:10, 2:8] = 2
    return img, np.array([[2, 4, 8, 10]], np.float32), np.array([1]), mask


def test_a_flipped_box_is_the_hand_computed_flip_and_the_mask_moves_pixel_for_pixel():
    img, boxes, classes, mask = _scene()
    out = augment_with_targets(img, boxes, classes, mask, AugmentationSpec(horizontal_flip=True), n=9, seed=3)
    flipped = 0
    for q in range(9):
        im, b, m = out["images"][q], out["boxes"][q], out["masks"][q]
        if np.allclose(im, img[:, ::-1]):
            flipped += 1
            assert b.tolist() == [[32 - 8, 4, 32 - 2, 10]]  # x -> W - x, corners swapped
            assert (m == mask[:, ::-1]).all()
        else:
            assert np.allclose(im, img) and b.tolist() == boxes.tolist() and (m == mask).all()
        assert out["classes"][q].tolist() == [1]
    assert flipped >= 1


def test_shift_and_zoom_move_the_mask_with_the_image_and_keep_classes():
    img, boxes, classes, mask = _scene()
    spec = AugmentationSpec(width_shift=0.2, height_shift=0.2, zoom=0.2, fill_mode="constant")
    out = augment_with_targets(img, boxes, classes, mask, spec, n=6, seed=1)
    for q in range(1, 6):
        white = out["images"][q][..., 0] > 0.5
        assert set(np.unique(out["masks"][q])) <= {0, 2}  # nearest-neighbour: no blended classes
        # the mask covers the white pixels (up to one pixel of edge resampling)
        assert np.count_nonzero(white ^ (out["masks"][q] == 2)) <= 2 * 6 + 2 * 6
        ys, xs = np.nonzero(out["masks"][q] == 2)
        x0, y0, x1, y1 = out["boxes"][q][0]
        assert abs(xs.min() - x0) <= 1.5 and abs(xs.max() + 1 - x1) <= 1.5
        assert abs(ys.min() - y0) <= 1.5 and abs(ys.max() + 1 - y1) <= 1.5


def test_the_images_are_those_of_the_plain_preview():
    img, boxes, classes, mask = _scene()
    spec = AugmentationSpec(rotation=20, horizontal_flip=True, brightness=0.2)
    with_targets = augment_with_targets(img, boxes, classes, mask, spec, n=5, seed=7)["images"]
    plain = augment_preview(img, spec, n=5, seed=7)
    assert np.allclose(with_targets, plain, atol=1e-5)


def test_no_augmentation_returns_copies():
    img, boxes, classes, mask = _scene()
    out = augment_with_targets(img, boxes, classes, None, AugmentationSpec(), n=3)
    assert out["masks"] is None and len(out["boxes"]) == 3 and np.allclose(out["images"][2], img)
