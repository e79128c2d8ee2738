"""Drawings over images, in numpy: class masks blended with a palette, box outlines, annotated thumbnails.

Everything here works on plain arrays (no Qt), so that the Data panel's
thumbnails, its preview and Inspect's overlays all compose the same pixels and
a test can check them by hand:

- :func:`blend_mask`: ``out = (1 - opacity) * image + opacity * colour`` on the
  pixels of each *visible* class, the image elsewhere (class 0, the
  background, and 255, "void", are hidden unless asked for);
- :func:`draw_boxes`: one-pixel (or thicker) outlines of ``[x0, y0, x1, y1]``
  boxes in continuous pixel coordinates (pixel ``i`` spans ``[i, i + 1)``), so a
  box ``[2, 3, 6, 8]`` outlines columns 2..5 and rows 3..7;
- :func:`annotated_thumbnail`: a data set's thumbnail with its boxes or mask.

Labels (class name and score beside a box) are text: the Qt views draw them
over these pixels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import ConvExplorerError

#: Twenty colours that stay apart (Tableau 10, then its lighter half), as uint8 RGB.
PALETTE: np.ndarray = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
        (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
        (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
    ],
    np.uint8,
)
#: Mask value meaning "not labelled" (Pascal VOC's object borders): never drawn as a class.
VOID = 255


class OverlayError(ConvExplorerError):
    """An overlay cannot be drawn (image and mask of different sizes, a bad box array)."""


def class_color(k: int) -> tuple[int, int, int]:
    """The palette colour of class ``k`` (uint8 RGB; the palette repeats after 20 classes)."""
    c = PALETTE[int(k) % len(PALETTE)]
    return int(c[0]), int(c[1]), int(c[2])


def palette(n: int) -> np.ndarray:
    """``n x 3`` uint8 colours, class ``k`` in row ``k``."""
    return PALETTE[np.arange(int(n)) % len(PALETTE)].copy()


def as_rgb(image: Any) -> np.ndarray:
    """A float32 ``H x W x 3`` copy of an image (uint8 or float in [0, 1]; grayscale repeated)."""
    a = np.asarray(image)
    a = a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise OverlayError(f"expected an image H x W x C with 1, 3 or 4 channels, received shape {np.shape(image)}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return np.clip(a[..., :3], 0.0, 1.0).copy()


def visible_classes(num_classes: int, hidden: Iterable[int] = (0,)) -> np.ndarray:
    """A bool per class, True except for ``hidden`` (by default class 0, the background)."""
    out = np.ones(int(num_classes), bool)
    for k in hidden:
        if 0 <= int(k) < len(out):
            out[int(k)] = False
    return out


def blend_mask(
    image: Any,
    mask: Any,
    opacity: float = 0.5,
    visible: Sequence[bool] | np.ndarray | None = None,
    colors: np.ndarray | None = None,
) -> np.ndarray:
    """``image`` with each visible class of ``mask`` (H x W ints) tinted by its colour, as float32 ``H x W x 3``.

    ``visible``: a bool per class (None: every class but 0); pixels of a hidden class, or
    of a value beyond the classes (255, void), keep the image. ``colors``: ``K x 3`` uint8
    (None: :data:`PALETTE`).
    """
    rgb = as_rgb(image)
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != rgb.shape[:2]:
        raise OverlayError(f"the mask is {m.shape[1]}x{m.shape[0]} but the image is {rgb.shape[1]}x{rgb.shape[0]}")
    a = float(np.clip(opacity, 0.0, 1.0))
    m = m.astype(np.int64)
    n = int(m.max()) + 1 if m.size else 1
    vis = visible_classes(n) if visible is None else np.asarray(visible, bool)
    cols = (palette(max(len(vis), 1)) if colors is None else np.asarray(colors, np.uint8)).astype(np.float32) / 255.0
    k = min(len(vis), len(cols))
    on = (m >= 0) & (m < k)
    on[on] = vis[m[on]]
    out = rgb
    out[on] = (1.0 - a) * rgb[on] + a * cols[m[on]]
    return out


def mask_outline(image: Any, mask: Any, visible: Sequence[bool] | np.ndarray | None = None,
                 colors: np.ndarray | None = None) -> np.ndarray:
    """``image`` (float32 ``H x W x 3`` copy) with the border pixels of each visible class of ``mask`` in its colour:
    a pixel of class k whose right or lower neighbour (inside the image) has another value, or the mirror of that."""
    out = as_rgb(image)
    m = np.asarray(mask).astype(np.int64)
    if m.ndim == 3:
        m = m[..., 0]
    n = int(m.max()) + 1 if m.size else 1
    vis = visible_classes(n) if visible is None else np.asarray(visible, bool)
    cols = (palette(max(len(vis), 1)) if colors is None else np.asarray(colors, np.uint8)).astype(np.float32) / 255.0
    edge = np.zeros(m.shape, bool)
    dx = m[:, 1:] != m[:, :-1]
    dy = m[1:, :] != m[:-1, :]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    k = min(len(vis), len(cols))
    on = edge & (m >= 0) & (m < k)
    on[on] = vis[m[on]]
    out[on] = cols[m[on]]
    return out


def box_pixels(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int] | None:
    """The pixel columns ``c0..c1`` and rows ``r0..r1`` (inclusive) a box ``[x0, y0, x1, y1]`` covers, clipped; None if outside."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    c0, r0 = int(np.floor(x0)), int(np.floor(y0))
    c1, r1 = int(np.ceil(x1)) - 1, int(np.ceil(y1)) - 1
    c1, r1 = max(c1, c0), max(r1, r0)
    if c1 < 0 or r1 < 0 or c0 >= width or r0 >= height:
        return None
    return max(c0, 0), max(r0, 0), min(c1, width - 1), min(r1, height - 1)


def draw_boxes(
    image: Any,
    boxes: Any,
    classes: Any = None,
    colors: np.ndarray | None = None,
    thickness: int = 1,
) -> np.ndarray:
    """``image`` (float32 ``H x W x 3`` copy) with the outline of each box (pixels, ``[x0, y0, x1, y1]``) in its class colour.

    The outline is drawn inside the box's pixels: the first and last covered row and
    column, ``thickness`` pixels deep. Boxes partly outside are clipped.
    """
    out = as_rgb(image)
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    k = np.zeros(len(b), np.int64) if classes is None else np.asarray(classes, np.int64).reshape(-1)
    if len(k) != len(b):
        raise OverlayError(f"{len(b)} boxes but {len(k)} classes")
    cols = (PALETTE if colors is None else np.asarray(colors, np.uint8)).astype(np.float32) / 255.0
    h, w = out.shape[:2]
    t = max(1, int(thickness))
    for box, cls in zip(b, k):
        span = box_pixels(box, h, w)
        if span is None:
            continue
        c0, r0, c1, r1 = span
        colour = cols[int(cls) % len(cols)]
        out[r0 : min(r0 + t, r1 + 1), c0 : c1 + 1] = colour
        out[max(r1 - t + 1, r0) : r1 + 1, c0 : c1 + 1] = colour
        out[r0 : r1 + 1, c0 : min(c0 + t, c1 + 1)] = colour
        out[r0 : r1 + 1, max(c1 - t + 1, c0) : c1 + 1] = colour
    return out


def resize_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """A class mask at ``shape`` (H, W) by nearest neighbour (pixel centres), never mixing classes."""
    m = np.asarray(mask)
    h0, w0 = m.shape[:2]
    h, w = int(shape[0]), int(shape[1])
    if (h0, w0) == (h, w):
        return m.copy()
    rows = np.minimum(((np.arange(h) + 0.5) * h0 / h).astype(np.int64), h0 - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * w0 / w).astype(np.int64), w0 - 1)
    return m[rows][:, cols]


def sample_annotations(dataset: Any, i: int) -> dict[str, Any]:
    """Sample ``i``'s targets in pixels of the data set's :attr:`image_shape`: ``{"boxes", "classes", "mask"}`` (None where absent).

    Detection sets give their objects, localization sets (``boxes(i)``) one box of the
    image's label, segmentation sets their class mask.
    """
    out: dict[str, Any] = {"boxes": None, "classes": None, "mask": None}
    if dataset.has_objects():
        out["boxes"], out["classes"] = dataset.objects(i)
    elif callable(getattr(dataset, "boxes", None)):
        out["boxes"] = np.asarray(dataset.boxes(i), np.float32).reshape(1, 4)
        out["classes"] = np.array([dataset.label(i)], np.int32)
    if dataset.has_masks():
        out["mask"] = dataset.mask(i)
    return out


def annotate(image: Any, annotations: dict[str, Any], shape: tuple[int, int], opacity: float = 0.45,
             thickness: int = 1, outline: bool = True) -> np.ndarray:
    """``image`` with ``annotations`` (in pixels of an image of ``shape`` (H, W)) drawn: the mask blended (and its
    class borders outlined), then the boxes."""
    rgb = as_rgb(image)
    h, w = rgb.shape[:2]
    if annotations.get("mask") is not None:
        m = resize_mask(annotations["mask"], (h, w))
        rgb = blend_mask(rgb, m, opacity)
        if outline:
            rgb = mask_outline(rgb, m)
    if annotations.get("boxes") is not None and len(annotations["boxes"]):
        scale = np.array([w / shape[1], h / shape[0], w / shape[1], h / shape[0]], np.float64)
        boxes = np.asarray(annotations["boxes"], np.float64).reshape(-1, 4) * scale
        rgb = draw_boxes(rgb, boxes, annotations.get("classes"), thickness=thickness)
    return rgb


def annotated_thumbnail(dataset: Any, i: int, size: int = 64) -> np.ndarray:
    """Sample ``i``'s thumbnail (uint8 RGB) with its boxes outlined or its mask blended."""
    thumb = dataset.thumbnail(i, size)
    ann = sample_annotations(dataset, i)
    if ann["boxes"] is None and ann["mask"] is None:
        return thumb
    rgb = annotate(thumb, ann, dataset.image_shape[:2], thickness=1)
    return (rgb * 255.0 + 0.5).astype(np.uint8)


def has_annotations(dataset: Any) -> bool:
    """Whether a data set's samples carry boxes or masks to draw."""
    return bool(dataset.has_objects() or dataset.has_masks() or callable(getattr(dataset, "boxes", None)))
