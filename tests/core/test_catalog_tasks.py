"""Detection and segmentation sets of the tfds catalog: the snapshot's voc and oxford_iiit_pet entries, and tiny
generated sets with the same features prepared offline, read as objects and masks, fed to heads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from convexplorer.core.datasets import catalog  # noqa: E402
from convexplorer.core.datasets.catalog import CatalogTaskDataset, fit_fraction_boxes  # noqa: E402
from convexplorer.core.targets import HeadTarget, detection_head, head_dataset, target_tables  # noqa: E402
from tests.core import catalog_builders as cb  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _script():
    """scripts/make_tfds_catalog.py as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_tfds_catalog", ROOT / "scripts" / "make_tfds_catalog.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_tfds_catalog", module)
    spec.loader.exec_module(module)
    return module


def tiny_entries(tmp_dir: Path) -> dict[str, catalog.CatalogEntry]:
    """The tiny task sets described by the snapshot script, read back as the app reads the snapshot."""
    script = _script()
    out = {}
    for spec in cb.TINY_TASK_SETS:
        d = script.describe_task_set(spec, str(tmp_dir), None, False)
        assert d is not None, spec
        e = catalog._entry_from_json(d)
        out[e.name] = e
    return out


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds_tasks")
    entries = tiny_entries(tmp_path_factory.mktemp("describe"))
    voc = catalog.open_catalog_dataset(entries["tiny_voc"].key, data_dir, entry=entries["tiny_voc"])
    pets = catalog.open_catalog_dataset(entries["tiny_pets"].key, data_dir, entry=entries["tiny_pets"])
    return voc, pets, entries, data_dir


# --- independent references ---------------------------------------------------------------------------
_SOURCES: dict = {}


def generated(ds, i: int) -> tuple[str, int]:
    """(split, generator index) of sample ``i``: tfds shuffles records, so the record's own file name (read with tfds
    itself) says which generated example it is."""
    split, j = ds.record(i)
    key = (str(ds.folder), split)
    if key not in _SOURCES:
        _SOURCES[key] = tfds.builder_from_directory(str(ds.folder)).as_data_source(
            split=split, decoders={"image": tfds.decode.SkipDecoding()})
    ex = _SOURCES[key][j]
    name = ex["image/filename"] if "image/filename" in ex else ex["file_name"]
    stem = (name.decode() if isinstance(name, bytes) else str(name)).rsplit(".", 1)[0]
    s, n = stem.rsplit("-", 1)
    assert s == split
    return s, int(n)


def expected_objects(split: str, j: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The generated objects of a record in pixels [x0, y0, x1, y1] of an h x w image, boxes without area dropped."""
    boxes, classes = cb.voc_objects(split, j)
    rows, kept = [], []
    for (ymin, xmin, ymax, xmax), c in zip(boxes.astype(np.float64), classes):
        if ymax <= ymin or xmax <= xmin:
            continue
        rows.append([xmin * w, ymin * h, xmax * w, ymax * h])
        kept.append(int(c))
    return np.array(rows, np.float32).reshape(-1, 4), np.array(kept, np.int32)


def nearest(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest-neighbour resize by pixel centres, in numpy."""
    h0, w0 = mask.shape
    rows = np.minimum(((np.arange(h) + 0.5) * h0 / h).astype(int), h0 - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * w0 / w).astype(int), w0 - 1)
    return mask[rows][:, cols]


def expected_mask(split: str, j: int, h: int, w: int) -> np.ndarray:
    """The generated trimap as classes (2 -> 0 background, 1 -> 1 pet, 3 -> 2 border), resized to h x w."""
    stored = cb.pet_trimap(split, j)[..., 0]
    classes = np.select([stored == 2, stored == 1, stored == 3], [0, 1, 2], 255).astype(np.uint8)
    return nearest(classes, h, w)


# --- the shipped snapshot ------------------------------------------------------------------------------------
def test_snapshot_lists_voc_and_the_pets_for_their_tasks():
    voc07, voc12 = catalog.catalog_entry("voc/2007:detection"), catalog.catalog_entry("voc/2012:detection")
    assert voc07 is not None and voc12 is not None and voc07.config == "2007" and voc12.config == "2012"
    assert catalog.catalog_entry("voc/2012") is voc12 and catalog.catalog_entry("voc/2007") is voc07
    ref = tfds.builder("voc/2007").info.features["objects"].feature["label"].names  # tfds' own code, offline
    for e in (voc07, voc12):
        assert e.task == "detection" and list(e.class_names) == list(ref) and e.num_classes == 20
        assert (e.objects_key, e.bbox_key, e.object_label_key) == ("objects", "bbox", "label")
        assert "PASCAL" in e.description and e.citation and e.homepage.startswith("http")
    assert voc07.splits == {"train": 2501, "validation": 2510, "test": 4952} and voc07.num_examples == 9963
    assert voc07.download_size == 451_020_800 + 460_032_000  # its own two tars of voc's checksums.tsv
    assert voc12.splits["test"] == 10991 and voc12.download_size == 1_850_626_560 + 1_999_639_040
    assert "no public annotations" in voc12.target_note
    cls_pets, seg_pets = catalog.catalog_entry("oxford_iiit_pet"), catalog.catalog_entry("oxford_iiit_pet:segmentation")
    assert cls_pets.task == "classification" and cls_pets.num_classes == 37 and cls_pets.key == "oxford_iiit_pet"
    assert seg_pets.task == "segmentation" and seg_pets.key == "oxford_iiit_pet:segmentation"
    assert seg_pets.class_names == ("background", "pet", "border") and seg_pets.mask_values == (2, 1, 3)
    assert seg_pets.mask_key == "segmentation_mask" and seg_pets.splits == cls_pets.splits
    mask_feature = tfds.builder("oxford_iiit_pet").info.features[seg_pets.mask_key]
    assert isinstance(mask_feature, tfds.features.Image) and mask_feature.shape[-1] == 1
    keys = [e.key for e in catalog.catalog_entries()]
    assert len(keys) == len(set(keys))
    assert {e.key for e in catalog.search_catalog("segmentation")} >= {"oxford_iiit_pet:segmentation"}


def test_the_script_reads_the_real_builders_features_offline(tmp_path):
    script = _script()
    got = {(e["name"], e["config"]): e for e in script.task_set_entries(str(tmp_path), None, False)}
    assert set(got) == {("voc", "2007"), ("voc", "2012"), ("oxford_iiit_pet", None)}
    assert got[("voc", "2012")]["class_names"] == list(tfds.builder("voc/2012").info.features["objects"]
                                                       .feature["label"].names)
    pets = got[("oxford_iiit_pet", None)]
    assert pets["task"] == "segmentation" and pets["num_classes"] == 3
    assert pets["splits"] == {"train": 3680, "test": 3669}
    # the shipped snapshot holds what the script writes
    shipped = catalog.catalog_entry("voc/2012:detection")
    assert catalog._entry_from_json(got[("voc", "2012")]) == shipped


# --- boxes ------------------------------------------------------------------------------------------------------
def test_fraction_boxes_are_clipped_or_skipped_as_annotations_are():
    yxyx = np.array([
        [0.1, 0.2, 0.5, 0.6],    # kept as it is
        [-0.1, 0.5, 0.4, 1.2],   # partly outside: clipped
        [0.3, 0.3, 0.3, 0.8],    # no area
        [0.5, 0.6, 0.2, 0.9],    # corners reversed
        [1.1, 0.1, 1.4, 0.5],    # entirely outside
        [0.2, np.nan, 0.4, 0.5],  # not a number
    ], np.float32)
    boxes, keep, clipped = fit_fraction_boxes(yxyx)
    assert keep.tolist() == [True, True, False, False, False, False] and clipped == 1
    np.testing.assert_allclose(boxes, [[0.2, 0.1, 0.6, 0.5], [0.5, 0.0, 1.0, 0.4]], atol=1e-7)


def test_detection_objects_are_the_generated_boxes_at_any_size(prepared):
    voc = prepared[0]
    assert isinstance(voc, CatalogTaskDataset) and voc.task == "detection" and voc.has_objects() and not voc.has_masks()
    assert voc.class_names == cb.TINY_VOC_CLASSES and voc.split_names == ["train", "validation", "test"]
    assert len(voc) == 22 - len(cb.VOC_EMPTY) and voc.skipped_images == 1
    assert voc.skipped_objects == len(cb.VOC_FLAT_BOX)
    assert any("2 objects skipped" in n for n in voc.notes)
    assert any("1 image without usable objects" in n for n in voc.notes)
    assert voc.has_fixed("validation") and voc.has_fixed("test")
    seen = set()
    for size in (None, (40, 60)):
        ds = voc if size is None else voc.with_options(size)
        h, w = ds.image_shape[:2]
        assert (h, w) == ((150, 150) if size is None else size)
        fractions = ds.object_fractions()
        for i in range(len(ds)):
            split, j = generated(ds, i)
            seen.add((split, j))
            boxes, classes = ds.objects(i)
            ref_boxes, ref_classes = expected_objects(split, j, h, w)
            np.testing.assert_allclose(boxes, ref_boxes, rtol=1e-5, atol=1e-3)
            np.testing.assert_array_equal(classes, ref_classes)
            np.testing.assert_allclose(fractions[i][0], ref_boxes / np.array([w, h, w, h], np.float32), atol=1e-5)
            area = (ref_boxes[:, 2] - ref_boxes[:, 0]) * (ref_boxes[:, 3] - ref_boxes[:, 1])
            assert ds.label(i) == ref_classes[int(np.argmax(area))]
    assert ("train", 5) not in seen and len(seen) == len(voc)
    # the images are the records' own (PNG: exact), and the describe line counts the objects
    i = 7
    split, j = generated(voc, i)
    np.testing.assert_array_equal(np.round(voc.native_image(i) * 255).astype(np.uint8), cb.voc_image(split, j))
    assert voc.describe(i).endswith(f"· {len(voc.objects(i)[1])} objects")
    counts = voc.object_counts()
    assert counts.sum() == sum(len(voc.objects(i)[1]) for i in range(len(voc)))


def test_a_detection_grid_head_learns_the_catalog_objects(prepared):
    from convexplorer.core.detection import encode_batch

    voc = prepared[0].with_options((32, 32))
    head = detection_head("boxes", voc, grid_size=4, num_anchors=2)
    table = target_tables(voc, [head])["boxes"]
    assert table.shape == (len(voc), 4, 4, 2, 5 + 3)
    reference = [expected_objects(*generated(voc, i), 1, 1) for i in range(len(voc))]
    ref_table, _dropped = encode_batch(reference, 4, np.asarray(head.anchors), 3)
    np.testing.assert_allclose(table, ref_table, atol=1e-5)
    assert table[..., 0].sum() >= len(voc)  # every image has at least one object in the grid


# --- masks -------------------------------------------------------------------------------------------------------
def test_segmentation_masks_are_the_generated_trimaps_at_any_size(prepared):
    pets = prepared[1]
    assert isinstance(pets, CatalogTaskDataset) and pets.task == "segmentation" and pets.has_masks()
    assert not pets.has_objects() and pets.object_fractions() is None
    assert pets.class_names == ["background", "pet", "border"]
    assert len(pets) == 11 - 1 and pets.skipped_images == 1
    assert any("differs in size" in n for n in pets.notes)
    assert cb.PET_BAD_MASK not in {generated(pets, i) for i in range(len(pets))}
    assert pets.labels().tolist() == [1] * len(pets)  # the pet covers more pixels than its border
    for size in (None, (24, 40), (9, 7)):
        ds = pets if size is None else pets.with_options(size)
        h, w = ds.image_shape[:2]
        for i in range(len(ds)):
            m = ds.mask(i)
            assert m.shape == (h, w) and m.dtype == np.uint8
            np.testing.assert_array_equal(m, expected_mask(*generated(ds, i), h, w))
    split, j = generated(pets, 3)
    stored = cb.pet_trimap(split, j)[..., 0]
    np.testing.assert_array_equal(pets.native_mask(3), expected_mask(split, j, *stored.shape))


def test_a_masks_head_learns_the_catalog_masks(prepared):
    pets = prepared[1].with_options((16, 20))
    table = target_tables(pets, [HeadTarget("masks", "masks")])["masks"]
    expected = np.stack([expected_mask(*generated(pets, i), 16, 20) for i in range(len(pets))])
    np.testing.assert_array_equal(table, expected)
    messages = []
    np.testing.assert_array_equal(pets.all_masks(progress=lambda d, t, m: messages.append(m)), expected)
    assert messages and "masks" in messages[-1]
    # through tf.data: the images and masks of a batch belong together
    idx = pets.subset_indices("test")
    x, y = next(iter(head_dataset(pets, [HeadTarget("masks", "masks")], "test", batch_size=8, shuffle=False)))
    assert x.shape == (len(idx), 16, 20, 3)
    np.testing.assert_array_equal(y.numpy(), expected[idx])


def test_a_prepared_task_set_opens_again_from_its_caches(prepared, monkeypatch):
    voc, pets, entries, data_dir = prepared

    def refuse(*_a, **_k):
        raise AssertionError("read the records again")

    monkeypatch.setattr(catalog, "decode_mask", refuse)
    again = catalog.open_catalog_dataset(entries["tiny_pets"].key, data_dir, entry=entries["tiny_pets"])
    assert len(again) == len(pets) and again.labels().tolist() == pets.labels().tolist()
    voc_again = catalog.open_catalog_dataset(entries["tiny_voc"].key, data_dir, entry=entries["tiny_voc"])
    assert [len(c) for _b, c in voc_again.object_fractions()] == [len(c) for _b, c in voc.object_fractions()]
