"""The Data panel's catalog with detection and segmentation sets: the task filter and tag, opening a VOC-like and a
pet-like set (prepared offline from generated builders), and their boxes and masks on the samples."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from convexplorer.core.datasets import catalog  # noqa: E402
from convexplorer.core.datasets.catalog import CatalogTaskDataset  # noqa: E402
from convexplorer.core.overlays import annotated_thumbnail, sample_annotations  # noqa: E402
from convexplorer.ui.panels.data import catalog as catalog_box  # noqa: E402
from convexplorer.ui.panels.data.sources import CATALOG  # noqa: E402
from tests.core.test_catalog_tasks import expected_mask, expected_objects, generated, tiny_entries  # noqa: E402
from tests.windows import shown_data_panel  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    """A Data panel whose snapshot also lists the tiny VOC-like and pet-like sets."""
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    shipped = catalog.load_snapshot()
    tiny = tiny_entries(tmp_path / "describe")
    snap = dataclasses.replace(shipped, entries=shipped.entries + tuple(tiny.values()))
    monkeypatch.setattr(catalog, "load_snapshot", lambda path=None: snap)
    monkeypatch.setattr(catalog_box, "load_snapshot", lambda path=None: snap)
    with shown_data_panel(qtbot, (1280, 900)) as p:
        yield p


def _listed(box) -> list[str]:
    return [box.entry_list.item(i).text() for i in range(box.entry_list.count())]


def _open(panel, qtbot, key: str) -> CatalogTaskDataset:
    panel.catalog.select(key)
    assert panel.catalog.selected_name() == key
    with qtbot.waitSignal(panel.loader.loaded, timeout=120_000):
        panel.catalog.open_button.click()
    qtbot.waitUntil(lambda: panel._load_worker is None, timeout=30_000)
    assert isinstance(panel.source, CatalogTaskDataset)
    return panel.source


def test_the_task_filter_and_tags_show_detection_and_segmentation_sets(panel):
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(CATALOG))
    box = panel.catalog
    box.search_edit.clear()  # the box remembers the last search (another test's "flowers")
    everything = box.entry_list.count()
    box.task_combo.setCurrentIndex(box.task_combo.findData("detection"))
    shown = _listed(box)
    assert 3 <= len(shown) < everything and all("[detection]" in t for t in shown)
    assert any(t.startswith("voc/2007") for t in shown) and any(t.startswith("voc/2012") for t in shown)
    box.task_combo.setCurrentIndex(box.task_combo.findData("segmentation"))
    assert any(t.startswith("oxford_iiit_pet  [segmentation]") for t in _listed(box))
    box.select("oxford_iiit_pet:segmentation")
    details = box.details_label.text()
    assert "segmentation: a class a pixel" in details and "background, pet, border" in details and "trimap" in details
    # the classification entry of the same tfds set is still there, told apart by its task
    box.select("oxford_iiit_pet")
    assert box.task_combo.currentData() is None and "classification: a class an image" in box.details_label.text()
    assert box.selected_name() == "oxford_iiit_pet" and "37 classes" in box.details_label.text()


def test_open_a_detection_set_and_see_its_boxes(panel, qtbot):
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(CATALOG))
    ds = _open(panel, qtbot, "tiny_voc/2007:detection")
    assert ds.task == "detection" and "boxes" in panel.message_label.text()
    assert "objects skipped" in panel.message_label.text()
    shared = panel.state.dataset
    h, w = shared.image_shape[:2]
    for i in (0, 4, len(shared) - 1):
        ann = sample_annotations(shared, i)
        ref_boxes, ref_classes = expected_objects(*generated(shared, i), h, w)
        np.testing.assert_allclose(ann["boxes"], ref_boxes, rtol=1e-5, atol=1e-3)
        np.testing.assert_array_equal(ann["classes"], ref_classes)
        assert ann["mask"] is None
    assert panel.browser.annotations_check.isVisible()
    assert panel.grid.thumb_model.thumbnail_fn is annotated_thumbnail
    qtbot.waitUntil(lambda: panel.grid.thumb_model.cached_count() >= 8, timeout=20_000)
    # the drawn thumbnail differs from the bare one where the boxes are outlined
    assert not np.array_equal(annotated_thumbnail(shared, 0), shared.thumbnail(0))


def test_open_a_segmentation_set_and_see_its_masks(panel, qtbot):
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(CATALOG))
    ds = _open(panel, qtbot, "tiny_pets:segmentation")
    assert ds.task == "segmentation" and "a class mask each" in panel.message_label.text()
    shared = panel.state.dataset
    h, w = shared.image_shape[:2]
    for i in (0, 5):
        ann = sample_annotations(shared, i)
        np.testing.assert_array_equal(ann["mask"], expected_mask(*generated(shared, i), h, w))
        assert ann["boxes"] is None
    assert panel.browser.annotations_check.isVisible()
