"""Data panel with detection and segmentation data: boxes and masks on thumbnails, in the sample view and in the
augmentation preview (moved by Keras's box- and mask-aware layers); annotated folders with their skipped list."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from convexplorer.core.datasets import (
    AugmentationSpec,
    ShapesDetectionDataset,
    ShapesSegmentationDataset,
)
from convexplorer.core.overlays import annotated_thumbnail
from convexplorer.ui.panels.data.jobs import preview_with_targets
from convexplorer.ui.widgets.thumbnail_grid import INDEX_ROLE
from tests.windows import qimage_to_array, shown_data_panel


@pytest.fixture
def panel(qtbot):
    with shown_data_panel(qtbot) as p:
        p.shapes_n_spin.setValue(100)
        yield p


def _load(panel, qtbot, key, kind):
    panel.load_source(key)
    qtbot.waitUntil(lambda: isinstance(panel.source, kind) and panel._load_worker is None, timeout=30_000)


def _first_thumbnail(panel, qtbot) -> tuple[int, np.ndarray]:
    model = panel.grid.thumb_model
    i = model.index(0).data(INDEX_ROLE)
    model.request_rows(0, 0)
    qtbot.waitUntil(lambda: i in model._cache, timeout=10_000)
    return i, qimage_to_array(model.index(0).data(Qt.ItemDataRole.DecorationRole))


def test_detection_thumbnails_and_sample_show_the_boxes(panel, qtbot):
    _load(panel, qtbot, "shapes_detection", ShapesDetectionDataset)
    src = panel.source
    assert "boxes (" in panel.message_label.text() and panel.browser.annotations_check.isVisible()
    i, got = _first_thumbnail(panel, qtbot)
    np.testing.assert_array_equal(got, annotated_thumbnail(src, i, 64))
    assert (got != src.thumbnail(i, 64)).any()  # the boxes are on it
    # the sample view draws the sample's objects, with their classes
    panel.sample_job.show_now(src, 3)
    boxes, classes = src.objects(3)
    assert np.allclose(panel.sample.drawn["boxes"], boxes) and list(panel.sample.drawn["classes"]) == list(classes)
    # switched off: plain thumbnails again
    panel.browser.annotations_check.setChecked(False)
    i, plain = _first_thumbnail(panel, qtbot)
    np.testing.assert_array_equal(plain, src.thumbnail(i, 64))


def test_segmentation_thumbnails_blend_the_masks(panel, qtbot):
    _load(panel, qtbot, "shapes_segmentation", ShapesSegmentationDataset)
    i, got = _first_thumbnail(panel, qtbot)
    np.testing.assert_array_equal(got, annotated_thumbnail(panel.source, i, 64))
    assert "a class mask each" in panel.message_label.text()
    assert "Masks move with the image" in panel.preview.targets_note


def test_augmentation_preview_moves_boxes_with_the_image(panel, qtbot):
    from convexplorer.ui.tfloader import load_tensorflow_now

    load_tensorflow_now(panel.state)
    _load(panel, qtbot, "shapes_detection", ShapesDetectionDataset)
    panel.show_sample(5)
    spec = AugmentationSpec(horizontal_flip=True)
    with qtbot.waitSignal(panel.preview_job.ready, timeout=30_000) as blocker:
        panel.set_augmentation(spec)
    variants = blocker.args[0]
    ds = panel.dataset
    # the caption says that the boxes move with the image, as they do in training (core.targets.head_dataset)
    assert "Boxes move with the image" in panel.aug_caption.text()
    want = preview_with_targets(ds, 5, spec, 9, 5, 160)
    np.testing.assert_allclose(variants, want, atol=1e-6)
    # every copy is the drawn original or its mirror: boxes flipped exactly with the pixels
    original = variants[0]
    mirrored = 0
    for v in variants[1:]:
        if np.allclose(v, original[:, ::-1], atol=1e-5):
            mirrored += 1
        else:
            np.testing.assert_allclose(v, original, atol=1e-5)
    assert mirrored >= 1


def _mask_folder(root):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for k in range(4):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(root / "images" / f"im{k}.png")
        m = np.zeros((20, 24), np.uint8)
        m[3:10, 4:12] = 1 + k % 2
        Image.fromarray(m).save(root / "masks" / f"im{k}.png")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(root / "masks" / "im3.png")  # wrong size: skipped
    Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(root / "images" / "lonely.png")


def test_an_annotated_mask_folder_opens_with_its_skipped_report(panel, qtbot, tmp_path):
    _mask_folder(tmp_path / "seg")
    panel.load_annotations("masks", tmp_path / "seg")
    qtbot.waitUntil(lambda: panel.source is not None and getattr(panel.source, "task", "") == "segmentation"
                    and panel._load_worker is None, timeout=30_000)
    assert len(panel.source) == 3
    assert panel.source_combo.currentText() == "Masks: seg" and panel.load_button.text() == "Rescan"
    assert panel.skipped_button.isVisible() and panel.skipped_button.text().startswith("2 files skipped")
    items = [panel.skipped_list.item(k).text() for k in range(panel.skipped_list.count())]
    assert any("lonely.png" in t and "has no mask" in t for t in items)
    assert any("im3.png" in t and "5x5 pixels" in t for t in items)
    i, got = _first_thumbnail(panel, qtbot)
    np.testing.assert_array_equal(got, annotated_thumbnail(panel.source, i, 64))


def test_a_coco_file_opens_with_boxes_and_its_skipped_annotations(panel, qtbot, tmp_path):
    import json

    rng = np.random.default_rng(1)
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(tmp_path / f"p{k}.png")
    coco = {
        "categories": [{"id": 7, "name": "cat"}, {"id": 9, "name": "dog"}],
        "images": [{"id": k, "file_name": f"p{k}.png", "width": 40, "height": 30} for k in range(3)]
        + [{"id": 5, "file_name": "missing.png", "width": 40, "height": 30}],
        "annotations": [
            {"id": 1, "image_id": 0, "category_id": 7, "bbox": [2, 3, 10, 8]},
            {"id": 2, "image_id": 1, "category_id": 9, "bbox": [5, 5, 20, 10]},
            {"id": 3, "image_id": 2, "category_id": 9, "bbox": [1, 1, "wide", 4]},  # not a number: skipped
            {"id": 4, "image_id": 2, "category_id": 7, "bbox": [30, 20, 8, 8]},
        ],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    panel.load_annotations("coco_boxes", tmp_path / "ann.json")
    qtbot.waitUntil(lambda: panel.source is not None and getattr(panel.source, "task", "") == "detection"
                    and panel._load_worker is None, timeout=30_000)
    src = panel.source
    assert len(src) == 3 and src.class_names == ["cat", "dog"]
    assert panel.source_combo.currentText() == "COCO boxes: ann.json"
    items = [panel.skipped_list.item(k).text() for k in range(panel.skipped_list.count())]
    assert any("missing.png" in t for t in items) and any("annotation 3" in t for t in items), items
    i, got = _first_thumbnail(panel, qtbot)
    np.testing.assert_array_equal(got, annotated_thumbnail(src, i, 64))
    assert (got != src.thumbnail(i, 64)).any()
