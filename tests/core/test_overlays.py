"""Overlays composed in numpy: pixels checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import overlays as ov


def test_blend_mask_hand_computed_pixels():
    image = np.full((2, 3, 3), 0.2, np.float32)
    mask = np.array([[0, 1, 2], [255, 1, 0]], np.uint8)
    colors = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0]], np.uint8)
    out = ov.blend_mask(image, mask, opacity=0.25, colors=colors)
    # class 1 (red): 0.75 * 0.2 + 0.25 * (1, 0, 0)
    assert out[0, 1] == pytest.approx([0.4, 0.15, 0.15])
    assert out[1, 1] == pytest.approx([0.4, 0.15, 0.15])
    assert out[0, 2] == pytest.approx([0.15, 0.4, 0.15])
    # background (0) and void (255) keep the image
    assert out[0, 0] == pytest.approx([0.2, 0.2, 0.2])
    assert out[1, 0] == pytest.approx([0.2, 0.2, 0.2])
    assert out[1, 2] == pytest.approx([0.2, 0.2, 0.2])


def test_blend_mask_per_class_visibility_hides_a_class():
    image = np.zeros((1, 3, 1), np.float32)
    mask = np.array([[0, 1, 2]])
    out = ov.blend_mask(image, mask, opacity=1.0, visible=[False, False, True])
    assert out[0, 1].tolist() == [0, 0, 0]
    assert out[0, 2] == pytest.approx(np.array(ov.class_color(2)) / 255)
    shown_bg = ov.blend_mask(image, mask, opacity=1.0, visible=[True, True, True])
    assert shown_bg[0, 0] == pytest.approx(np.array(ov.class_color(0)) / 255)


def test_blend_mask_refuses_a_mask_of_another_size():
    with pytest.raises(ov.OverlayError, match="the mask is 2x2 but the image is 3x3"):
        ov.blend_mask(np.zeros((3, 3, 3)), np.zeros((2, 2), np.uint8))


def test_draw_boxes_outlines_the_covered_pixels():
    img = np.zeros((10, 10, 3), np.float32)
    out = ov.draw_boxes(img, [[2, 3, 6, 8]], [1], colors=np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    on = out[..., 0] > 0.5
    expected = np.zeros((10, 10), bool)
    expected[3, 2:6] = expected[7, 2:6] = True  # top and bottom rows 3 and 7
    expected[3:8, 2] = expected[3:8, 5] = True  # left and right columns 2 and 5
    assert (on == expected).all()


def test_draw_boxes_clips_and_skips_boxes_outside():
    img = np.zeros((4, 4, 3), np.float32)
    out = ov.draw_boxes(img, [[-2, -2, 2, 2], [10, 10, 12, 12]], [0, 0])
    on = out.sum(-1) > 0
    assert on[:2, :2].all() and on.sum() == 4  # the part inside (2 x 2 pixels, all on its outline)


def test_resize_mask_never_mixes_classes():
    m = np.array([[0, 1], [2, 3]], np.uint8)
    big = ov.resize_mask(m, (4, 4))
    assert big.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


def test_annotated_thumbnail_of_a_detection_set_draws_its_boxes():
    from convexplorer.core.datasets import ShapesDetectionDataset

    ds = ShapesDetectionDataset(n=3, size=32, seed=1, noise=0.0)
    plain = ds.thumbnail(0, 32)
    drawn = ov.annotated_thumbnail(ds, 0, 32)
    boxes, classes = ds.objects(0)
    want = (ov.draw_boxes(plain, boxes, classes) * 255 + 0.5).astype(np.uint8)
    assert (drawn == want).all() and (drawn != plain).any()


def test_annotated_thumbnail_of_a_segmentation_set_blends_its_mask():
    from convexplorer.core.datasets import ShapesSegmentationDataset

    ds = ShapesSegmentationDataset(n=2, size=32, seed=1, noise=0.0)
    drawn = ov.annotated_thumbnail(ds, 0, 32)
    want = (ov.mask_outline(ov.blend_mask(ds.thumbnail(0, 32), ds.mask(0), 0.45), ds.mask(0)) * 255 + 0.5).astype(np.uint8)
    assert (drawn == want).all()


def test_mask_outline_marks_the_class_borders():
    mask = np.zeros((5, 6), np.uint8)
    mask[1:4, 2:5] = 1
    out = ov.mask_outline(np.zeros((5, 6, 3)), mask, colors=np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    on = out[..., 0] > 0.5
    inner = np.zeros((5, 6), bool)
    inner[1:4, 2:5] = True
    inner[2, 3] = False  # the centre pixel of the 3 x 3 square has no other neighbour
    assert (on == inner).all()
