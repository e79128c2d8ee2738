"""Your own detection and segmentation data: image folders with mask PNGs, Pascal VOC XML boxes, COCO JSON.

Each reader lists the images and reads the annotations (never the image
pixels: only headers, as :func:`~convexplorer.core.datasets.folder.scan_folder`
does) and returns an :class:`AnnotatedDataset`, a
:class:`~convexplorer.core.datasets.folder.FolderDataset` whose samples also
carry objects (boxes and classes) or a class mask. What cannot be used is
skipped, never stopping the scan, and listed in ``skipped`` with the reason,
as bad image files are:

- malformed annotations (unreadable XML or JSON entries, missing fields,
  non-numeric coordinates, reversed corners, polygons of fewer than three
  points), unknown class names or category ids: that object is skipped;
- boxes entirely outside the image, or with no area: skipped. Boxes partly
  outside are clipped to the image and kept; how many were clipped is said in
  ``notes`` (annotation tools often let a box overhang by a pixel);
- masks whose size differs from their image's, masks that are not palette or
  grayscale PNGs, or that hold a class number beyond the classes: that image
  is skipped; images without a mask, or left with no object, too.

Coordinates are continuous pixels: pixel ``i`` spans ``[i, i + 1)``, so a box
covering a whole W x H image is ``[0, 0, W, H]`` (COCO's convention). Pascal
VOC numbers pixels from 1 and includes both corner pixels, so a VOC box
``xmin..xmax`` becomes ``[xmin - 1, xmax]`` (and likewise in y): VOC's
``1..W`` is ``[0, W]``.

Segmentation masks hold a class number a pixel: 0 is background and 255 is
"void" (Pascal VOC's object borders), left as 255 so that a loss or
:func:`~convexplorer.core.metrics.segmentation_iou` can ignore it
(``ignore_class=255``). COCO polygons are filled with Pillow (drawn five times
larger, a pixel kept when at least half covered), and RLE masks decoded
(uncompressed ``counts`` lists and COCO's compressed strings); the tests check
both against pycocotools.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import xml.etree.ElementTree as ET
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import DatasetError
from ..images import IMAGE_EXTENSIONS
from ..progress import ProgressFn, check_cancel, report
from .base import UNASSIGNED, SplitSpec
from .folder import DEFAULT_SIZE, FolderDataset, Skipped, display_name

#: The 20 Pascal VOC classes (the names its XML files use).
VOC_CLASSES: tuple[str, ...] = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
    "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
#: The mask value meaning "not labelled" (Pascal VOC's borders); never a class.
VOID = 255
_POLYGON_SUPERSAMPLE = 5


class _Bad(Exception):
    """One annotation (or image) cannot be used; the message is the reason."""


def _number(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise _Bad(f"{what} is not a number ({value!r})") from None
    if not np.isfinite(x):
        raise _Bad(f"{what} is not a finite number ({value!r})")
    return x


def _fit_box(box: Sequence[float], w: int, h: int, clipped: list[int]) -> np.ndarray:
    """Check a continuous ``[x1, y1, x2, y2]`` box against a W x H image: clip it if it overhangs; _Bad if unusable."""
    x1, y1, x2, y2 = (float(v) for v in box)
    shown = f"({x1:g}, {y1:g})-({x2:g}, {y2:g})"
    if x2 < x1 or y2 < y1:
        raise _Bad(f"box {shown} has its corners reversed")
    if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
        raise _Bad(f"box {shown} lies outside the {w}x{h} image")
    c = np.array([min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)], np.float32)
    if c[2] <= c[0] or c[3] <= c[1]:
        raise _Bad(f"box {shown} has no area")
    if not np.array_equal(c, np.array([x1, y1, x2, y2], np.float32)):
        clipped[0] += 1
    return c


def _largest(boxes: np.ndarray, classes: np.ndarray) -> int:
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return int(classes[int(np.argmax(area))])


def _image_size(path: str) -> tuple[int, int]:
    """(width, height) from the file's header (no decoding)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except Exception as exc:  # noqa: BLE001 - any unreadable image is skipped with the reason
        raise _Bad(f"is not an image Pillow can read ({exc.__class__.__name__})") from None


# --- masks -------------------------------------------------------------------------------------------
def read_mask(path: str) -> np.ndarray:
    """A mask PNG as an ``H x W`` uint8 array of class numbers (palette indices, or grey levels)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "L", "1"):
                arr = np.asarray(img)
            elif mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
                arr = np.asarray(img).astype(np.int64)
            else:
                raise _Bad(f"is a {mode} image: a mask must be a palette or grayscale PNG of class numbers")
    except _Bad:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _Bad(f"cannot be read as a mask ({exc.__class__.__name__}: {exc})") from None
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if arr.size and (arr.min() < 0 or arr.max() > VOID):
        raise _Bad(f"holds class {int(arr.max())}: mask classes must be 0 to 254 (255 is void)")
    return arr.astype(np.uint8)


def polygon_mask(polygons: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    """COCO polygons (lists ``[x1, y1, x2, y2, ...]``) filled into an ``H x W`` bool mask (Pillow, 5x supersampled)."""
    from PIL import Image, ImageDraw

    k = _POLYGON_SUPERSAMPLE
    out = np.zeros((height, width), bool)
    for poly in polygons:
        pts = np.asarray(poly, np.float64).reshape(-1, 2)
        x0, y0 = max(int(np.floor(pts[:, 0].min())) - 1, 0), max(int(np.floor(pts[:, 1].min())) - 1, 0)
        x1, y1 = min(int(np.ceil(pts[:, 0].max())) + 1, width), min(int(np.ceil(pts[:, 1].max())) + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        img = Image.new("L", ((x1 - x0) * k, (y1 - y0) * k), 0)
        ImageDraw.Draw(img).polygon([((x - x0) * k, (y - y0) * k) for x, y in pts], fill=255)
        out[y0:y1, x0:x1] |= np.asarray(img.resize((x1 - x0, y1 - y0), Image.BOX)) >= 128
    return out


def rle_counts_from_string(s: str) -> list[int]:
    """COCO's compressed RLE string (``maskApi.c`` rleFrString) as run lengths."""
    counts: list[int] = []
    p = 0
    data = s.encode("ascii") if isinstance(s, str) else bytes(s)
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            if p >= len(data):
                raise _Bad("its compressed RLE string ends in the middle of a number")
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_mask(rle: dict, height: int, width: int) -> np.ndarray:
    """A COCO RLE ``{"size": [h, w], "counts": list or compressed string}`` as an ``H x W`` bool mask."""
    size = rle.get("size")
    if not (isinstance(size, (list, tuple)) and len(size) == 2):
        raise _Bad("its RLE has no [height, width] size")
    h, w = int(_number(size[0], "RLE height")), int(_number(size[1], "RLE width"))
    if (h, w) != (height, width):
        raise _Bad(f"its mask is {w}x{h} pixels but the image is {width}x{height}")
    counts = rle.get("counts")
    if isinstance(counts, (str, bytes)):
        counts = rle_counts_from_string(counts)
    if not isinstance(counts, (list, tuple)) or not all(isinstance(c, (int, np.integer)) and c >= 0 for c in counts):
        raise _Bad("its RLE counts are neither a list of run lengths nor a compressed string")
    if sum(counts) != h * w:
        raise _Bad(f"its RLE runs cover {sum(counts)} pixels, not the image's {h * w}")
    values = np.repeat(np.arange(len(counts)) % 2, counts).astype(bool)
    return values.reshape(w, h).T  # column-major, as COCO stores it


# --- the data set ----------------------------------------------------------------------------------------
class AnnotatedDataset(FolderDataset):
    """Images on disk with objects (boxes and classes) or class masks; loaded one at a time.

    ``objects``: per image, (boxes M x 4 in the image's own pixels, classes M); ``masks``:
    per image, a mask source (a PNG path, or COCO segmentations to draw). ``sizes``: each
    image's own (width, height), to scale boxes and masks to the delivered size.
    """

    def __init__(
        self,
        root: str,
        class_names: list[str],
        paths: list[str],
        labels: np.ndarray,
        sizes: list[tuple[int, int]],
        task: str,
        objects: list[tuple[np.ndarray, np.ndarray]] | None = None,
        masks: list[Any] | None = None,
        image_size: tuple[int, int] = DEFAULT_SIZE,
        color_mode: str = "rgb",
        split: SplitSpec | None = None,
        skipped: list[Skipped] | None = None,
        notes: list[str] | None = None,
        layout: str = "annotations",
    ) -> None:
        super().__init__(
            root, class_names, paths, labels, np.full(len(paths), UNASSIGNED, np.int8),
            image_size=image_size, color_mode=color_mode, split=split, skipped=skipped, notes=notes, layout=layout,
        )
        self.task = task
        self._sizes = list(sizes)
        self._objects = objects
        self._masks = masks

    def has_objects(self) -> bool:
        """True for detection data (boxes and classes)."""
        return self._objects is not None

    def has_masks(self) -> bool:
        """True for segmentation data (class masks)."""
        return self._masks is not None

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (M x 4 float32, pixels of :attr:`image_shape`) and classes (M int32) of sample ``i``."""
        if self._objects is None:
            return super().objects(i)
        j = self._check_index(i)
        boxes, classes = self._objects[j]
        w0, h0 = self._sizes[j]
        h, w = self.image_shape[:2]
        scale = np.array([w / w0, h / h0, w / w0, h / h0], np.float32)
        return (np.asarray(boxes, np.float32) * scale).astype(np.float32), np.asarray(classes, np.int32).copy()

    def native_mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask at the image's own size (uint8; 0 background, 255 void)."""
        if self._masks is None:
            return super().mask(i)
        j = self._check_index(i)
        source = self._masks[j]
        w0, h0 = self._sizes[j]
        if isinstance(source, str):
            return read_mask(source)
        out = np.zeros((h0, w0), np.uint8)
        for cls, seg in source:  # largest first, so smaller objects stay visible
            out[_segmentation_mask(seg, h0, w0)] = cls
        return out

    def mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask (H x W uint8 at :attr:`image_shape`, nearest-neighbour resized)."""
        from .shapes import _resize_mask

        return _resize_mask(self.native_mask(i), self.image_shape[:2])

    def verify(
        self,
        deep: bool | None = None,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
    ) -> "AnnotatedDataset":
        """A copy without the image files that fail to read (their annotations go with them)."""
        checked = super().verify(deep=deep, progress=progress, cancel=cancel)
        kept = set(checked.paths)
        keep = [p in kept for p in self.paths]
        other = copy.copy(checked)
        other._sizes = [s for s, k in zip(self._sizes, keep) if k]
        other._objects = None if self._objects is None else [o for o, k in zip(self._objects, keep) if k]
        other._masks = None if self._masks is None else [m for m, k in zip(self._masks, keep) if k]
        return other  # type: ignore[return-value]

    def describe(self, i: int) -> str:
        """Relative path, stored size, and its objects or mask classes."""
        text = super().describe(i)
        if self._objects is not None:
            _, classes = self._objects[self._check_index(i)]
            return f"{text} · {len(classes)} objects"
        return text


def _segmentation_mask(seg: Any, h: int, w: int) -> np.ndarray:
    if isinstance(seg, dict):
        return rle_mask(seg, h, w)
    return polygon_mask(seg, h, w)


def _finish(
    root: str, task: str, class_names: list[str], rows: list[dict], skipped: list[Skipped], notes: list[str],
    clipped: int, image_size, color_mode, split, layout: str,
) -> AnnotatedDataset:
    if clipped:
        notes.append(f"{clipped} boxes reached outside their image and were clipped to its edges")
    if not rows:
        raise DatasetError(
            f"no usable annotated images in {display_name(root)}"
            + (f": {len(skipped)} files or annotations were skipped, the first because {skipped[0]}" if skipped else "")
        )
    return AnnotatedDataset(
        root, class_names, [r["path"] for r in rows], np.array([r["label"] for r in rows], np.int32),
        [r["size"] for r in rows], task,
        objects=[r["objects"] for r in rows] if task == "detection" else None,
        masks=[r["mask"] for r in rows] if task == "segmentation" else None,
        image_size=image_size, color_mode=color_mode, split=split, skipped=skipped, notes=notes, layout=layout,
    )


def _files(folder: str, extensions: tuple[str, ...]) -> dict[str, str]:
    """Files of a folder (not below) by stem, sorted by name."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if e.is_file() and not e.name.startswith(".")), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"cannot open the folder {display_name(folder)}: {exc.strerror or exc}") from None
    return {os.path.splitext(e.name)[0]: e.path for e in entries if e.name.lower().endswith(extensions)}


def _check_folder(path: str, what: str) -> str:
    p = os.fspath(path)
    if not os.path.isdir(p):
        raise DatasetError(f"{what} not found: {display_name(p)}")
    return p


# --- folders of images and mask PNGs --------------------------------------------------------------------
_MASK_FOLDER_PAIRS = (("images", "masks"), ("JPEGImages", "SegmentationClass"), ("images", "labels"))


def scan_mask_folder(
    images: str | os.PathLike[str],
    masks: str | os.PathLike[str] | None = None,
    class_names: Sequence[str] | None = None,
    image_size: tuple[int, int] = DEFAULT_SIZE,
    color_mode: str = "rgb",
    split: SplitSpec | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> AnnotatedDataset:
    """A segmentation set from a folder of images and a folder of mask PNGs paired by file stem.

    With ``masks`` None, ``images`` is a folder holding ``images/`` and ``masks/`` (or Pascal
    VOC's ``JPEGImages/`` and ``SegmentationClass/``). Masks are palette PNGs (the palette
    index is the class) or grayscale PNGs of class numbers; 0 is background, 255 void.
    ``class_names`` (background first) fixes the classes; without it they are numbered up
    to the largest class found. Every mask is decoded once here, to check its size and
    classes and to find the class covering most of it (the image's label).
    """
    if masks is None:
        root = _check_folder(os.fspath(images), "folder")
        for a, b in _MASK_FOLDER_PAIRS:
            if os.path.isdir(os.path.join(root, a)) and os.path.isdir(os.path.join(root, b)):
                images_dir, masks_dir = os.path.join(root, a), os.path.join(root, b)
                break
        else:
            raise DatasetError(
                f"{display_name(root)} needs an images/ and a masks/ folder (or VOC's JPEGImages/ and SegmentationClass/)"
            )
    else:
        images_dir, masks_dir = os.fspath(images), os.fspath(masks)
        root = os.path.dirname(os.path.normpath(images_dir)) or images_dir
    images_dir = _check_folder(images_dir, "image folder")
    masks_dir = _check_folder(masks_dir, "mask folder")
    image_files = _files(images_dir, IMAGE_EXTENSIONS)
    mask_files = _files(masks_dir, (".png",))
    skipped: list[Skipped] = []
    notes: list[str] = []
    n_given = None if class_names is None else len(class_names)
    rows: list[dict] = []
    hists: list[np.ndarray] = []
    total = len(image_files)
    for n, (stem, path) in enumerate(image_files.items()):
        if n % 20 == 0:
            check_cancel(cancel)
            report(progress, n, total, f"reading masks {n}/{total}")
        mpath = mask_files.get(stem)
        if mpath is None:
            skipped.append(Skipped(path, f"has no mask (expected {stem}.png in {display_name(os.path.basename(masks_dir))}/)"))
            continue
        try:
            w, h = _image_size(path)
        except _Bad as exc:
            skipped.append(Skipped(path, str(exc)))
            continue
        try:
            m = read_mask(mpath)
            if m.shape != (h, w):
                raise _Bad(f"is {m.shape[1]}x{m.shape[0]} pixels but its image is {w}x{h}")
            hist = np.bincount(m.ravel(), minlength=256)
            hist[VOID] = 0
            top = int(np.flatnonzero(hist).max()) if hist.any() else 0
            if n_given is not None and top >= n_given:
                raise _Bad(f"holds class {top} but there are {n_given} classes (0 to {n_given - 1}; 255 is void)")
        except _Bad as exc:
            skipped.append(Skipped(mpath, str(exc)))
            continue
        rows.append({"path": path, "size": (w, h), "mask": mpath})
        hists.append(hist)
    report(progress, total, total, f"read {len(rows)} masks")
    orphans = sorted(set(mask_files) - set(image_files))
    if orphans:
        notes.append(f"{len(orphans)} masks have no image of the same name and were ignored (first: {display_name(orphans[0])}.png)")
    if class_names is None:
        top = max((int(np.flatnonzero(h).max()) for h in hists if h.any()), default=0)
        class_names = ["background"] + [f"class {k}" for k in range(1, max(top, 1) + 1)]
    k = len(class_names)
    for r, hist in zip(rows, hists):
        fg = hist[1:k].copy()
        r["label"] = int(np.argmax(fg)) + 1 if fg.any() else 0
    return _finish(root, "segmentation", list(class_names), rows, skipped, notes, 0, image_size, color_mode, split,
                   "images and masks")


# --- Pascal VOC ---------------------------------------------------------------------------------------------
def _text(node: ET.Element | None, tag: str) -> str | None:
    found = None if node is None else node.find(tag)
    return None if found is None or found.text is None else found.text.strip()


def load_voc(
    root: str | os.PathLike[str],
    class_names: Sequence[str] | None = None,
    image_size: tuple[int, int] = DEFAULT_SIZE,
    color_mode: str = "rgb",
    split: SplitSpec | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> AnnotatedDataset:
    """A detection set from Pascal VOC XML files: ``Annotations/`` and ``JPEGImages/``, or XML beside the images.

    ``class_names`` (e.g. :data:`VOC_CLASSES`) fixes the classes and skips objects of other
    names; without it the classes are the names found, sorted. VOC's 1-based inclusive
    pixel corners become continuous coordinates (``xmin - 1`` to ``xmax``).
    """
    root_s = _check_folder(os.fspath(root), "folder")
    ann_dir = os.path.join(root_s, "Annotations")
    img_dir = os.path.join(root_s, "JPEGImages")
    if not os.path.isdir(ann_dir):
        ann_dir = img_dir = root_s
    elif not os.path.isdir(img_dir):
        img_dir = root_s
    xml_files = _files(ann_dir, (".xml",))
    if not xml_files:
        raise DatasetError(f"no Pascal VOC .xml annotation files in {display_name(ann_dir)}")
    image_files = _files(img_dir, IMAGE_EXTENSIONS)
    skipped: list[Skipped] = []
    clipped = [0]
    found: list[tuple[str, str, tuple[int, int], list[tuple[str, np.ndarray]]]] = []
    total = len(xml_files)
    for n, (stem, xml_path) in enumerate(xml_files.items()):
        if n % 50 == 0:
            check_cancel(cancel)
            report(progress, n, total, f"reading annotations {n}/{total}")
        try:
            tree = ET.parse(xml_path)  # expat >= 2.4.1 refuses entity expansion bombs
        except (ET.ParseError, OSError, ValueError) as exc:
            skipped.append(Skipped(xml_path, f"is not valid XML ({exc})"))
            continue
        ann = tree.getroot()
        filename = _text(ann, "filename")
        image_path = None
        if filename:
            candidate = os.path.join(img_dir, os.path.basename(filename))
            image_path = candidate if os.path.isfile(candidate) else None
        if image_path is None:
            image_path = image_files.get(stem)
        if image_path is None:
            skipped.append(Skipped(xml_path, f"its image {display_name(filename or stem)} is not in {display_name(os.path.basename(img_dir))}/"))
            continue
        try:
            size = ann.find("size")
            if size is not None and _text(size, "width") is not None:
                w = int(_number(_text(size, "width"), "<size><width>"))
                h = int(_number(_text(size, "height"), "<size><height>"))
                if w < 1 or h < 1:
                    raise _Bad(f"its <size> is {w}x{h}: an image has at least one pixel")
            else:
                w, h = _image_size(image_path)
        except _Bad as exc:
            skipped.append(Skipped(xml_path, str(exc)))
            continue
        objs: list[tuple[str, np.ndarray]] = []
        for k, obj in enumerate(ann.findall("object"), start=1):
            name = _text(obj, "name")
            label = f"object {k}" + (f" ({name!r})" if name else "")
            try:
                if not name:
                    raise _Bad("has no <name>")
                if class_names is not None and name not in class_names:
                    raise _Bad(f"is of an unknown class (expected one of {', '.join(class_names)})")
                bb = obj.find("bndbox")
                if bb is None:
                    raise _Bad("has no <bndbox>")
                vals = [_number(_text(bb, t), f"<{t}>") for t in ("xmin", "ymin", "xmax", "ymax")]
                box = _fit_box([vals[0] - 1, vals[1] - 1, vals[2], vals[3]], w, h, clipped)
            except _Bad as exc:
                skipped.append(Skipped(xml_path, f"{label} {exc}" if str(exc).startswith(("has", "is")) else f"{label}: {exc}"))
                continue
            objs.append((name, box))
        if not objs:
            skipped.append(Skipped(xml_path, "has no usable objects"))
            continue
        found.append((xml_path, image_path, (w, h), objs))
    report(progress, total, total, f"read {len(found)} annotation files")
    names = list(class_names) if class_names is not None else sorted({o[0] for f in found for o in f[3]})
    index = {c: i for i, c in enumerate(names)}
    rows = []
    for _, image_path, wh, objs in found:
        boxes = np.stack([b for _, b in objs]).astype(np.float32)
        classes = np.array([index[c] for c, _ in objs], np.int32)
        rows.append({"path": image_path, "size": wh, "objects": (boxes, classes), "label": _largest(boxes, classes)})
    return _finish(root_s, "detection", names, rows, skipped, [], clipped[0], image_size, color_mode, split, "Pascal VOC")


# --- COCO ---------------------------------------------------------------------------------------------------
def load_coco(
    annotations: str | os.PathLike[str],
    images: str | os.PathLike[str] | None = None,
    task: str = "detection",
    image_size: tuple[int, int] = DEFAULT_SIZE,
    color_mode: str = "rgb",
    split: SplitSpec | None = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[threading.Event] = None,
) -> AnnotatedDataset:
    """A detection or segmentation set from a COCO JSON file and its image folder (default: the JSON's folder).

    Detection: each annotation's ``bbox`` ``[x, y, width, height]``; crowd regions
    (``iscrowd`` 1) are not objects and are left out (counted in ``notes``). Segmentation:
    polygons and RLE masks painted into a class mask, largest first (0 background,
    category ``k`` of the sorted category ids is class ``k + 1``); crowd regions are painted
    too. Images without usable annotations are skipped.
    """
    if task not in ("detection", "segmentation"):
        raise DatasetError(f"a COCO set is read for 'detection' or 'segmentation', received {task!r}")
    path = os.fspath(annotations)
    if not os.path.isfile(path):
        raise DatasetError(f"annotation file not found: {display_name(path)}")
    img_dir = _check_folder(os.fspath(images) if images is not None else os.path.dirname(path) or ".", "image folder")
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{display_name(os.path.basename(path))} is not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
        raise DatasetError(
            f"{display_name(os.path.basename(path))} is not a COCO annotation file: expected lists "
            "'images', 'annotations' and 'categories'"
        )
    skipped: list[Skipped] = []
    notes: list[str] = []
    cats: dict[int, str] = {}
    for k, c in enumerate(data["categories"]):
        try:
            cats[int(_number(c["id"], "id"))] = str(c.get("name", c["id"]))
        except (KeyError, TypeError, _Bad) as exc:
            skipped.append(Skipped(path, f"category entry {k} has no usable id ({exc})"))
    cat_ids = sorted(cats)
    cat_index = {c: i for i, c in enumerate(cat_ids)}
    images_by_id: dict[int, dict] = {}
    for k, im in enumerate(data["images"]):
        try:
            if not isinstance(im, dict):
                raise _Bad("is not an object")
            for key in ("id", "file_name", "width", "height"):
                if key not in im:
                    raise _Bad(f"has no {key!r}")
            iid = int(_number(im["id"], "its id"))
            w, h = int(_number(im["width"], "its width")), int(_number(im["height"], "its height"))
            if w < 1 or h < 1:
                raise _Bad(f"is {w}x{h}: an image has at least one pixel")
            file = os.path.join(img_dir, str(im["file_name"]))
            if not os.path.isfile(file):
                skipped.append(Skipped(file, "is listed in the annotations but not in the image folder"))
                continue
            images_by_id[iid] = {"path": file, "size": (w, h), "anns": []}
        except _Bad as exc:
            skipped.append(Skipped(path, f"image entry {k} {exc}"))
    clipped = [0]
    crowd = 0
    total = len(data["annotations"])
    for k, a in enumerate(data["annotations"]):
        if k % 500 == 0:
            check_cancel(cancel)
            report(progress, k, total, f"reading annotations {k}/{total}")
        label = f"annotation {a.get('id', k) if isinstance(a, dict) else k}"
        try:
            if not isinstance(a, dict):
                raise _Bad("is not an object")
            for key in ("image_id", "category_id"):
                if key not in a:
                    raise _Bad(f"has no {key!r}")
            iid = int(_number(a["image_id"], "its image_id"))
            if iid not in images_by_id:
                raise _Bad(f"belongs to image {iid}, which is not in the usable images")
            cid = int(_number(a["category_id"], "its category_id"))
            if cid not in cat_index:
                raise _Bad(f"has an unknown category id {cid}")
            im = images_by_id[iid]
            w, h = im["size"]
            is_crowd = bool(a.get("iscrowd", 0))
            if task == "detection":
                if is_crowd:
                    crowd += 1
                    continue
                bb = a.get("bbox")
                if not isinstance(bb, (list, tuple)) or len(bb) != 4:
                    raise _Bad("has no bbox [x, y, width, height]")
                x, y, bw, bh = (_number(v, "a bbox value") for v in bb)
                if bw < 0 or bh < 0:
                    raise _Bad(f"has a negative bbox width or height ({bw:g} x {bh:g})")
                box = _fit_box([x, y, x + bw, y + bh], w, h, clipped)
                im["anns"].append((cat_index[cid], box))
            else:
                seg = a.get("segmentation")
                if isinstance(seg, dict):
                    mask = rle_mask(seg, h, w)  # checks size and runs now; drawn again when shown
                elif isinstance(seg, list) and seg:
                    polys = []
                    for poly in seg:
                        if not isinstance(poly, (list, tuple)) or len(poly) < 6 or len(poly) % 2:
                            raise _Bad("has a polygon of fewer than three points")
                        polys.append([_number(v, "a polygon coordinate") for v in poly])
                    seg = polys
                    pts = np.concatenate([np.reshape(p, (-1, 2)) for p in polys])
                    if pts[:, 0].max() <= 0 or pts[:, 1].max() <= 0 or pts[:, 0].min() >= w or pts[:, 1].min() >= h:
                        raise _Bad(f"has a polygon outside the {w}x{h} image")
                    mask = None
                else:
                    raise _Bad("has no segmentation (polygons or RLE)")
                area = float(mask.sum()) if mask is not None else float(_number(a.get("area", 0), "its area"))
                im["anns"].append((cat_index[cid] + 1, seg, area))
        except _Bad as exc:
            skipped.append(Skipped(path, f"{label} {exc}"))
    report(progress, total, total, f"read {total} annotations")
    if crowd:
        notes.append(f"{crowd} crowd regions (iscrowd 1) mark groups, not single objects, and are not used as boxes")
    rows = []
    for iid in sorted(images_by_id):
        im = images_by_id[iid]
        if not im["anns"]:
            skipped.append(Skipped(im["path"], "has no usable annotations"))
            continue
        if task == "detection":
            boxes = np.stack([b for _, b in im["anns"]]).astype(np.float32)
            classes = np.array([c for c, _ in im["anns"]], np.int32)
            rows.append({"path": im["path"], "size": im["size"], "objects": (boxes, classes), "label": _largest(boxes, classes)})
        else:
            anns = sorted(im["anns"], key=lambda t: -t[2])
            rows.append({"path": im["path"], "size": im["size"], "mask": [(c, s) for c, s, _ in anns], "label": anns[0][0]})
    names = [cats[c] for c in cat_ids]
    if task == "segmentation":
        names = ["background"] + names
    return _finish(img_dir, task, names, rows, skipped, notes, clipped[0], image_size, color_mode, split, "COCO")
