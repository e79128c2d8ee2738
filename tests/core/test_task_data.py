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


# --- image folders with mask PNGs -----------------------------------------------------------------------------
def _rgb(path: Path, size=(16, 12), colour=(90, 120, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _palette_png(path: Path, arr: np.ndarray):
    img = Image.fromarray(arr.astype(np.uint8), "P")
    img.putpalette([v for k in range(256) for v in ((k * 40) % 256, (k * 90) % 256, (k * 150) % 256)])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def test_mask_folder_pairs_images_and_masks(tmp_path):
    root = tmp_path / "seg"
    rng = np.random.default_rng(0)
    (root / "masks").mkdir(parents=True)
    good = {}
    for k in range(4):
        _rgb(root / "images" / f"im{k}.jpg")
        m = rng.integers(0, 3, (12, 16)).astype(np.uint8)
        m[0, :3] = 255  # void
        if k % 2:
            _palette_png(root / "masks" / f"im{k}.png", m)
        else:
            Image.fromarray(m, "L").save(root / "masks" / f"im{k}.png")
        good[f"im{k}"] = m
    _rgb(root / "images" / "lonely.png")  # no mask
    _rgb(root / "images" / "wrong.png")
    Image.fromarray(np.zeros((5, 5), np.uint8), "L").save(root / "masks" / "wrong.png")  # wrong size
    _rgb(root / "images" / "colour.png")
    Image.new("RGB", (16, 12)).save(root / "masks" / "colour.png")  # RGB: not a class mask
    Image.fromarray(np.zeros((12, 16), np.uint8), "L").save(root / "masks" / "orphan.png")
    ds = D.scan_mask_folder(root)
    assert ds.task == "segmentation" and ds.has_masks() and not ds.has_objects()
    assert ds.class_names == ["background", "class 1", "class 2"]
    assert sorted(os.path.basename(p) for p in ds.paths) == [f"im{k}.jpg" for k in range(4)]
    reasons = {os.path.basename(s.path): s.reason for s in ds.skipped}
    assert reasons["lonely.png"] == "has no mask (expected lonely.png in masks/)"
    assert reasons["wrong.png"] == "is 5x5 pixels but its image is 16x12"
    assert reasons["colour.png"].startswith("is a RGB image: a mask must be a palette or grayscale PNG")
    assert any("1 masks have no image" in n for n in ds.notes)
    for i, p in enumerate(ds.paths):
        m = good[Path(p).stem]
        np.testing.assert_array_equal(ds.native_mask(i), m)
        counts = np.bincount(m[m != 255], minlength=3)
        assert ds.label(i) == 1 + int(np.argmax(counts[1:]))
    ds8 = ds.with_options(image_size=(6, 8))
    small = ds8.mask(0)
    assert small.shape == (6, 8) and set(np.unique(small)) <= set(np.unique(good[Path(ds.paths[0]).stem]))
    assert ds8.all_masks().shape == (4, 6, 8)
    # Given classes: a mask holding a larger class number is skipped.
    with pytest.raises(DatasetError, match=r"no usable annotated images .* 7 files or annotations were skipped, "
                                            r"the first because .*colour.png: is a RGB image"):
        D.scan_mask_folder(root / "images", root / "masks", class_names=["background", "thing"])
    strict = D.scan_mask_folder(root / "images", root / "masks", class_names=["background", "thing", "other"])
    assert len(strict) == 4
    Image.fromarray(np.full((12, 16), 3, np.uint8), "L").save(root / "masks" / "im0.png")
    strict = D.scan_mask_folder(root / "images", root / "masks", class_names=["background", "thing", "other"])
    assert ("im0.png", "holds class 3 but there are 3 classes (0 to 2; 255 is void)") in [
        (os.path.basename(s.path), s.reason) for s in strict.skipped]
    with pytest.raises(DatasetError, match="needs an images/ and a masks/ folder"):
        D.scan_mask_folder(root / "images")


# --- Pascal VOC --------------------------------------------------------------------------------------------------
def _voc_xml(filename, w, h, objects, size=True):
    objs = "".join(
        f"<object><name>{n}</name><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" if b is not None else f"<object><name>{n}</name></object>"
        for n, b in objects
    )
    sz = f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>" if size else ""
    return f"<annotation><folder>VOC</folder><filename>{filename}</filename>{sz}{objs}</annotation>"


def test_voc_boxes_conventions_and_bad_annotations(tmp_path):
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    _rgb(root / "JPEGImages" / "a.jpg", size=(50, 40))
    _rgb(root / "JPEGImages" / "b.jpg", size=(30, 20))
    _rgb(root / "JPEGImages" / "c.jpg", size=(30, 20))
    # a: a whole-image box (1..W) and a small one; b: one partly outside (clipped), one wholly outside,
    # one non-numeric, one with no box, one reversed; c: only an unknown class with the VOC names.
    (root / "Annotations" / "a.xml").write_text(_voc_xml("a.jpg", 50, 40, [("dog", (1, 1, 50, 40)), ("cat", (11, 6, 20, 15))]))
    (root / "Annotations" / "b.xml").write_text(_voc_xml("b.jpg", 30, 20, [
        ("cat", (21, 11, 35, 25)), ("dog", (40, 30, 45, 35)), ("dog", ("x", 1, 4, 4)), ("dog", None), ("cat", (9, 2, 5, 8)),
        ("cat", (2, 2, 6, 6))]))
    (root / "Annotations" / "c.xml").write_text(_voc_xml("c.jpg", 30, 20, [("unicorn", (1, 1, 5, 5))], size=False))
    (root / "Annotations" / "broken.xml").write_text("<annotation><object>")
    (root / "Annotations" / "gone.xml").write_text(_voc_xml("gone.jpg", 10, 10, [("dog", (1, 1, 5, 5))]))
    ds = D.load_voc(root, class_names=D.VOC_CLASSES, image_size=(40, 50))
    assert ds.task == "detection" and ds.has_objects() and ds.class_names == list(D.VOC_CLASSES)
    assert [os.path.basename(p) for p in ds.paths] == ["a.jpg", "b.jpg"]
    boxes, classes = ds.objects(0)  # delivered at the image's own size 50x40: pixels as stored
    np.testing.assert_array_equal(boxes, [[0, 0, 50, 40], [10, 5, 20, 15]])
    assert [ds.class_names[c] for c in classes] == ["dog", "cat"] and ds.label(0) == ds.class_names.index("dog")
    boxes, classes = ds.objects(1)  # 30x20 stretched to 50x40
    np.testing.assert_allclose(boxes, [[20 * 50 / 30, 10 * 2, 50, 40], [1 * 50 / 30, 2, 6 * 50 / 30, 12]], rtol=1e-6)
    assert any("1 boxes reached outside their image and were clipped" in n for n in ds.notes)
    reasons = [(os.path.basename(s.path), s.reason) for s in ds.skipped]
    assert ("b.xml", "object 2 ('dog'): box (39, 29)-(45, 35) lies outside the 30x20 image") in reasons
    assert ("b.xml", "object 3 ('dog'): <xmin> is not a number ('x')") in reasons
    assert ("b.xml", "object 4 ('dog') has no <bndbox>") in reasons
    assert ("b.xml", "object 5 ('cat'): box (8, 1)-(5, 8) has its corners reversed") in reasons
    assert any(n == "c.xml" and r.startswith("object 1 ('unicorn') is of an unknown class") for n, r in reasons)
    assert ("c.xml", "has no usable objects") in reasons
    assert any(n == "broken.xml" and r.startswith("is not valid XML") for n, r in reasons)
    assert ("gone.xml", "its image gone.jpg is not in JPEGImages/") in reasons
    # verify() drops an unreadable image together with its annotations.
    (root / "JPEGImages" / "a.jpg").write_bytes(b"not a jpeg")
    checked = ds.verify(deep=True)
    assert [os.path.basename(p) for p in checked.paths] == ["b.jpg"] and len(checked.object_fractions()) == 1
    np.testing.assert_array_equal(checked.objects(0)[0], ds.objects(1)[0])
    assert any(os.path.basename(s.path) == "a.jpg" for s in checked.skipped)
    _rgb(root / "JPEGImages" / "a.jpg", size=(50, 40))
    # Without given classes: the names found (sorted), and the unknown one is a class.
    free = D.load_voc(root)
    assert free.class_names == ["cat", "dog", "unicorn"] and len(free) == 3
    fr = free.object_fractions()
    np.testing.assert_allclose(fr[0][0][0], [0, 0, 1, 1])


# --- COCO --------------------------------------------------------------------------------------------------------
def _coco_files(tmp_path, annotations, images=None):
    img_dir = tmp_path / "coco" / "images"
    images = images or [{"id": 1, "file_name": "one.png", "width": 40, "height": 30},
                        {"id": 2, "file_name": "two.png", "width": 20, "height": 20},
                        {"id": 3, "file_name": "three.png", "width": 20, "height": 20},
                        {"id": 4, "file_name": "missing.png", "width": 20, "height": 20}]
    for im in images:
        if im["file_name"] != "missing.png":
            _rgb(img_dir / im["file_name"], size=(im["width"], im["height"]))
    data = {"images": images, "annotations": annotations,
            "categories": [{"id": 7, "name": "zebra"}, {"id": 3, "name": "ant"}]}
    path = tmp_path / "coco" / "instances.json"
    path.write_text(json.dumps(data))
    return path, img_dir


def test_coco_boxes_and_bad_annotations(tmp_path):
    anns = [
        {"id": 1, "image_id": 1, "category_id": 7, "bbox": [2.5, 3, 10, 5], "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 3, "bbox": [30, 20, 15, 15], "iscrowd": 0},  # overhangs: clipped
        {"id": 3, "image_id": 1, "category_id": 3, "bbox": [0, 0, 40, 30], "iscrowd": 1},  # crowd: not an object
        {"id": 4, "image_id": 2, "category_id": 99, "bbox": [1, 1, 2, 2]},
        {"id": 5, "image_id": 2, "category_id": 3, "bbox": [1, 1, "wide", 2]},
        {"id": 6, "image_id": 2, "category_id": 3},
        {"id": 7, "image_id": 2, "category_id": 3, "bbox": [25, 25, 3, 3]},
        {"id": 8, "image_id": 2, "category_id": 3, "bbox": [4, 4, 0, 3]},
        {"id": 9, "image_id": 42, "category_id": 3, "bbox": [1, 1, 2, 2]},
        {"id": 10, "image_id": 3, "category_id": 7, "bbox": [1, 2, 3, 4]},
        {"image_id": 4, "category_id": 7, "bbox": [1, 2, 3, 4]},
    ]
    path, img_dir = _coco_files(tmp_path, anns)
    ds = D.load_coco(path, img_dir, image_size=(30, 40))
    assert ds.class_names == ["ant", "zebra"]  # by category id: 3, 7
    assert [os.path.basename(p) for p in ds.paths] == ["one.png", "three.png"]
    boxes, classes = ds.objects(0)
    np.testing.assert_array_equal(boxes, [[2.5, 3, 12.5, 8], [30, 20, 40, 30]])
    assert classes.tolist() == [1, 0] and ds.label(0) == 0  # the larger box (clipped to 10x10) is the ant
    assert any("1 crowd regions" in n for n in ds.notes) and any("1 boxes reached outside" in n for n in ds.notes)
    reasons = [(os.path.basename(s.path), s.reason) for s in ds.skipped]
    assert ("instances.json", "annotation 4 has an unknown category id 99") in reasons
    assert ("instances.json", "annotation 5 a bbox value is not a number ('wide')") in reasons
    assert ("instances.json", "annotation 6 has no bbox [x, y, width, height]") in reasons
    assert ("instances.json", "annotation 7 box (25, 25)-(28, 28) lies outside the 20x20 image") in reasons
    assert ("instances.json", "annotation 8 box (4, 4)-(4, 7) has no area") in reasons
    assert ("instances.json", "annotation 9 belongs to image 42, which is not in the usable images") in reasons
    assert ("missing.png", "is listed in the annotations but not in the image folder") in reasons
    assert ("two.png", "has no usable annotations") in reasons
    with pytest.raises(DatasetError, match="not a COCO annotation file"):
        (tmp_path / "bad.json").write_text('{"images": []}')
        D.load_coco(tmp_path / "bad.json", img_dir)


def test_coco_polygons_and_rle_masks_match_pycocotools(tmp_path):
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(3)
    h, w = 30, 40
    # Polygons of many shapes: our Pillow fill agrees with pycocotools except along the outline.
    for _ in range(60):
        n = int(rng.integers(3, 12))
        c = rng.uniform(10, 30, 2)
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 1)
        rad = rng.uniform(4, 12) * rng.uniform(0.7, 1.3, n)
        pts = np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1)
        ref = mask_utils.decode(mask_utils.frPyObjects([pts.ravel().tolist()], h, w))[..., 0].astype(bool)
        ours = D.annotations.polygon_mask([pts.ravel().tolist()], h, w)
        perimeter = np.hypot(*np.diff(np.vstack([pts, pts[:1]]), axis=0).T).sum()
        assert (ours != ref).sum() <= 0.25 * perimeter
        assert (ours & ref).sum() / (ours | ref).sum() > 0.85
    # RLE, compressed (pycocotools' string) and uncompressed (run lengths), decode exactly.
    m = np.zeros((h, w), np.uint8, order="F")
    m[5:20, 8:30] = 1
    m[12:14, 2:35] = 1
    enc = mask_utils.encode(np.asfortranarray(m))
    np.testing.assert_array_equal(D.annotations.rle_mask({"size": enc["size"], "counts": enc["counts"].decode()}, h, w), m)
    flat = m.T.ravel()  # column-major, as COCO counts
    runs, value, count = [], 0, 0
    for v in flat:
        if v == value:
            count += 1
        else:
            runs.append(count)
            value, count = v, 1
    runs.append(count)
    np.testing.assert_array_equal(D.annotations.rle_mask({"size": [h, w], "counts": runs}, h, w), m)
    ref_runs = mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w)
    np.testing.assert_array_equal(mask_utils.decode(ref_runs), m)

    # A segmentation set: polygons and RLE painted largest first; wrong-size RLE and tiny polygons skipped.
    poly = [5, 5, 35, 5, 35, 25, 5, 25]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 3, "segmentation": [poly], "area": 600, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 7, "segmentation": {"size": [h, w], "counts": enc["counts"].decode()},
         "area": int(m.sum()), "iscrowd": 1},
        {"id": 3, "image_id": 2, "category_id": 7, "segmentation": {"size": [10, 10], "counts": [100]}, "iscrowd": 1},
        {"id": 4, "image_id": 2, "category_id": 7, "segmentation": [[1, 1, 2, 2]]},
        {"id": 5, "image_id": 3, "category_id": 3, "segmentation": [[1, 1, 8, 1, 8, 8]], "area": 24},
    ]
    path, img_dir = _coco_files(tmp_path, anns, images=[{"id": 1, "file_name": "one.png", "width": w, "height": h},
                                                         {"id": 2, "file_name": "two.png", "width": 20, "height": 20},
                                                         {"id": 3, "file_name": "three.png", "width": 20, "height": 20}])
    seg = D.load_coco(path, img_dir, task="segmentation")
    assert seg.class_names == ["background", "ant", "zebra"] and seg.has_masks()
    assert [os.path.basename(p) for p in seg.paths] == ["one.png", "three.png"]
    expected = np.zeros((h, w), np.uint8)
    expected[mask_utils.decode(mask_utils.frPyObjects([poly], h, w))[..., 0] > 0] = 1
    expected[m > 0] = 2
    got = seg.native_mask(0)
    assert (got != expected).sum() <= 0.25 * 2 * (30 + 20) and got[m > 0].tolist() == [2] * int(m.sum())
    assert seg.label(0) == 1  # the polygon's class covers the most
    reasons = {s.reason for s in seg.skipped}
    assert "annotation 3 its mask is 10x10 pixels but the image is 20x20" in reasons
    assert "annotation 4 has a polygon of fewer than three points" in reasons


# --- feeding heads ----------------------------------------------------------------------------------------------
def test_heads_get_grid_targets_and_masks():
    from convexplorer.core import detection as det
    from convexplorer.core.targets import HeadTarget, TargetError, detection_head, head_dataset, target_tables

    ds = D.ShapesDetectionDataset(n=24, size=32, seed=0).with_split(0.25, 0.0, 0)
    head = detection_head("objects", ds, grid_size=4, num_anchors=3)
    assert head.target == "boxes" and head.grid_size == 4 and len(head.anchors) == 3
    tables = target_tables(ds, [HeadTarget("kind"), head])
    assert tables["objects"].shape == (24, 4, 4, 3, 9) and tables["kind"].tolist() == ds.labels().tolist()
    # Each image's grid decodes back to its objects (as fractions).
    for i in (0, 5):
        boxes, _, classes = det.decode_grid(tables["objects"][i], np.array(head.anchors), 0.5)
        want_boxes, want_classes = ds.object_fractions()[i]
        if len(boxes) == len(want_boxes):  # unless two objects shared a cell and an anchor
            order_a, order_b = np.lexsort(boxes.T[::-1]), np.lexsort(want_boxes.T[::-1])
            np.testing.assert_allclose(boxes[order_a], want_boxes[order_b], atol=1e-5)
            np.testing.assert_array_equal(classes[order_a], want_classes[order_b])
    with pytest.raises(TargetError, match="several objects an image: the head must be a detection grid"):
        target_tables(ds, [HeadTarget("objects", "boxes")])
    val = ds.subset_indices("validation")
    x, y = next(iter(head_dataset(ds, [HeadTarget("kind"), head], "validation", batch_size=64, shuffle=False)))
    assert x.shape == (len(val), 32, 32, 3)
    np.testing.assert_array_equal(y["objects"].numpy(), tables["objects"][val])

    seg = D.ShapesSegmentationDataset(n=12, size=32, seed=0).with_split(0.25, 0.0, 0).with_options(image_size=(24, 24))
    masks = target_tables(seg, [HeadTarget("pixels", "masks")])["pixels"]
    assert masks.shape == (12, 24, 24) and masks.dtype == np.uint8
    x, y = next(iter(head_dataset(seg, [HeadTarget("pixels", "masks")], "validation", batch_size=64, shuffle=False)))
    val = seg.subset_indices("validation")
    np.testing.assert_array_equal(y.numpy(), np.stack([seg.mask(i) for i in val]))
    assert x.shape == (len(val), 24, 24, 3)
