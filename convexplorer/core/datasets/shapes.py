"""Shapes: a procedural data set that needs no download (the offline default).

Circles, squares, triangles and crosses in colour, with random size, position,
rotation, background gradient and noise. Every sample is reproducible from
``seed`` and its index, and stores the bounding box of its object, so
class-activation maps can be scored against it. A small convnet learns it to
high accuracy in well under a minute on a CPU.
"""

from __future__ import annotations

import threading
from typing import Optional, Sequence

import numpy as np

from ..errors import DatasetError
from ..progress import ProgressFn, check_cancel, report
from .base import ArrayDataset, SplitSpec

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
_LUMA = np.array([0.299, 0.587, 0.114])
_SUPERSAMPLE = 2


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Vertices (K x 2, x/y) of a shape of 'radius' ``r`` rotated by ``angle`` radians."""
    if kind == "square":
        t = angle + np.pi / 4 + np.arange(4) * np.pi / 2
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif kind == "triangle":
        t = angle + np.arange(3) * 2 * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif kind == "cross":
        a, w = r, r * 0.34
        pts = np.array(
            [(-w, -a), (w, -a), (w, -w), (a, -w), (a, w), (w, w), (w, a), (-w, a), (-w, w), (-a, w), (-a, -w), (-w, -w)],
            float,
        )
        c, s = np.cos(angle), np.sin(angle)
        pts = pts @ np.array([[c, s], [-s, c]])
    else:  # circle: a many-sided polygon, used only for the bounding box
        t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    return pts + np.array([cx, cy])


def _check_shape_arguments(n: int, size: int, classes: Sequence[str], fewest_classes: int) -> None:
    """The checks every Shapes set makes of its size and classes (a clear DatasetError each)."""
    if n < 1:
        raise DatasetError(f"the shapes set needs at least 1 sample, received n={n}")
    if not 16 <= size <= 512:
        raise DatasetError(f"shape images must be 16 to 512 pixels wide, received size={size}")
    unknown = [c for c in classes if c not in SHAPE_CLASSES]
    if unknown or len(classes) < fewest_classes or len(set(classes)) != len(classes):
        how_many = "some" if fewest_classes == 1 else f"at least {'two' if fewest_classes == 2 else fewest_classes}"
        raise DatasetError(f"shape classes must be {how_many} of {', '.join(SHAPE_CLASSES)}; received {list(classes)}")


class ShapesDataset(ArrayDataset):
    """Procedural coloured shapes with bounding boxes; reproducible by ``seed``."""

    task = "localization"

    def __init__(
        self,
        n: int = 2000,
        size: int = 64,
        seed: int = 0,
        classes: Sequence[str] = SHAPE_CLASSES,
        noise: float = 0.04,
        min_radius: float = 0.2,
        max_radius: float = 0.4,
        split: SplitSpec | None = None,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
    ) -> None:
        _check_shape_arguments(n, size, classes, fewest_classes=2)
        if not 0 < min_radius <= max_radius <= 0.5:
            raise DatasetError(f"radii must satisfy 0 < min <= max <= 0.5, received {min_radius}, {max_radius}")
        self.size, self.seed, self.noise = int(size), int(seed), float(noise)
        rng = np.random.default_rng(seed)
        labels = np.arange(n) % len(classes)
        labels = labels[rng.permutation(n)].astype(np.int32)
        radius = rng.uniform(min_radius, max_radius, n) * size
        cx = rng.uniform(radius, size - radius)
        cy = rng.uniform(radius, size - radius)
        angle = rng.uniform(0, 2 * np.pi, n)
        bg1 = rng.uniform(0, 1, (n, 3))
        bg2 = np.clip(bg1 + rng.normal(0, 0.15, (n, 3)), 0, 1)
        bg_angle = rng.uniform(0, 2 * np.pi, n)
        # Shape colour: the first of 32 random candidates whose brightness differs from the background's.
        luma_bg = (bg1 + bg2) @ _LUMA / 2
        candidates = rng.uniform(0, 1, (n, 32, 3))
        ok = np.abs(candidates @ _LUMA - luma_bg[:, None]) > 0.3
        pick = np.argmax(ok, axis=1)
        fg = candidates[np.arange(n), pick]
        none_ok = ~ok.any(axis=1)
        fg[none_ok] = np.where(luma_bg[none_ok, None] > 0.5, 0.0, 1.0)
        self._params = dict(cx=cx, cy=cy, r=radius, angle=angle, bg1=bg1, bg2=bg2, bg_angle=bg_angle, fg=fg)
        self._kinds = tuple(classes)
        boxes = np.empty((n, 4), np.float32)
        for i in range(n):
            pts = _polygon(self._kinds[labels[i]], cx[i], cy[i], radius[i], angle[i])
            boxes[i] = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
        self._boxes = np.clip(boxes, 0, size)
        super().__init__(
            f"Shapes ({n} samples, seed {seed})",
            list(classes),
            np.zeros((n, 1, 1, 3), np.uint8),  # placeholder: drawn lazily (render/materialize)
            labels,
            split=split,
        )
        self._native_shape = (self.size, self.size, 3)
        self._channels = 3
        # Shared by the configured copies (with_options/with_split), so drawing happens once.
        self._rendered: dict[str, np.ndarray] = {}
        self._render_lock = threading.Lock()
        report(progress, 0, 1, "shapes ready")
        check_cancel(cancel)
        report(progress, 1, 1, "shapes ready")

    # --- rendering ------------------------------------------------------------------
    def render(self, i: int) -> np.ndarray:
        """Draw sample ``i`` as ``uint8`` ``size x size x 3`` (deterministic)."""
        from PIL import Image, ImageDraw

        p, s, k = self._params, self.size, _SUPERSAMPLE
        S = s * k
        axis = np.arange(S, dtype=np.float32) / S
        t = axis[None, :] * np.float32(np.cos(p["bg_angle"][i])) + axis[:, None] * np.float32(np.sin(p["bg_angle"][i]))
        t = ((t - t.min()) / max(float(t.max() - t.min()), 1e-6))[..., None]
        c1, c2 = (p["bg1"][i] * 255).astype(np.float32), (p["bg2"][i] * 255).astype(np.float32)
        img = Image.fromarray((c1 + (c2 - c1) * t).astype(np.uint8), "RGB")
        draw = ImageDraw.Draw(img)
        colour = tuple(int(v * 255) for v in p["fg"][i])
        kind = self._kinds[self._labels[i]]
        cx, cy, r = p["cx"][i] * k, p["cy"][i] * k, p["r"][i] * k
        if kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            pts = _polygon(kind, cx, cy, r, p["angle"][i])
            draw.polygon([tuple(v) for v in pts], fill=colour)
        img = img.resize((s, s), Image.BOX)
        arr = np.asarray(img, np.float32) / 255.0
        if self.noise > 0:
            noise_rng = np.random.default_rng([self.seed, int(i)])
            arr = arr + noise_rng.normal(0, self.noise, arr.shape).astype(np.float32)
        return (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)

    def materialize(self, progress: Optional[ProgressFn] = None, cancel: Optional[threading.Event] = None) -> np.ndarray:
        """Render every sample once (for training) and keep them: ``N x size x size x 3`` uint8."""
        with self._render_lock:
            if "images" not in self._rendered:
                n = len(self)
                out = np.empty((n, self.size, self.size, 3), np.uint8)
                for i in range(n):
                    if i % 64 == 0:
                        check_cancel(cancel)
                        report(progress, i, n, f"drawing shapes {i}/{n}")
                    out[i] = self.render(i)
                report(progress, n, n, "shapes drawn")
                self._rendered["images"] = out
            return self._rendered["images"]

    def _raw_image(self, i: int) -> np.ndarray:
        images = self._rendered.get("images")
        x = images[i] if images is not None else self.render(i)
        return x.astype(np.float32) / 255.0

    def _tf_source(self, idx: np.ndarray, shuffle: bool, seed: int):
        self._images = self.materialize()
        return super()._tf_source(idx, shuffle, seed)

    # --- boxes -----------------------------------------------------------------------
    def boxes(self, i: int) -> np.ndarray:
        """Bounding box ``[x0, y0, x1, y1]`` of sample ``i``'s shape, in pixels of :attr:`image_shape`."""
        j = self._check_index(i)
        h, w = self.image_shape[:2]
        scale = np.array([w / self.size, h / self.size, w / self.size, h / self.size], np.float32)
        return (self._boxes[j] * scale).astype(np.float32)

    def all_boxes(self) -> np.ndarray:
        """Boxes of every sample (N x 4, pixels of :attr:`image_shape`)."""
        h, w = self.image_shape[:2]
        scale = np.array([w / self.size, h / self.size, w / self.size, h / self.size], np.float32)
        return self._boxes * scale

    def describe(self, i: int) -> str:
        """Sample number, size and bounding box."""
        x0, y0, x1, y1 = self.boxes(i)
        return f"#{i} · {self.size}x{self.size} drawn · box ({x0:.0f}, {y0:.0f})–({x1:.0f}, {y1:.0f})"


# --- several objects an image: detection and segmentation ----------------------------------------
#: Shape masks are drawn this many times larger, then a pixel belongs to the shape when at least half of it is covered.
_MASK_SUPERSAMPLE = 4
#: An object is placed again (up to _PLACEMENT_TRIES times) if it would hide more than this share of an earlier one.
_MAX_HIDDEN = 0.6
_PLACEMENT_TRIES = 20


def shape_mask(kind: str, cx: float, cy: float, r: float, angle: float, size: int) -> np.ndarray:
    """The pixels (``size x size`` bool) of one shape drawn alone: those at least half covered by it."""
    from PIL import Image, ImageDraw

    k = _MASK_SUPERSAMPLE
    out = np.zeros((size, size), bool)
    # Drawn in the window of whole pixels around the shape only (the rest stays empty).
    x0, y0 = max(int(np.floor(cx - r)) - 1, 0), max(int(np.floor(cy - r)) - 1, 0)
    x1, y1 = min(int(np.ceil(cx + r)) + 1, size), min(int(np.ceil(cy + r)) + 1, size)
    if x1 <= x0 or y1 <= y0:
        return out
    img = Image.new("L", ((x1 - x0) * k, (y1 - y0) * k), 0)
    draw = ImageDraw.Draw(img)
    lx, ly = (cx - x0) * k, (cy - y0) * k
    if kind == "circle":
        draw.ellipse([lx - r * k, ly - r * k, lx + r * k, ly + r * k], fill=255)
    else:
        draw.polygon([tuple(v) for v in _polygon(kind, lx, ly, r * k, angle)], fill=255)
    out[y0:y1, x0:x1] = np.asarray(img.resize((x1 - x0, y1 - y0), Image.BOX)) >= 128
    return out


def _mask_box(mask: np.ndarray) -> np.ndarray:
    """``[x0, y0, x1, y1]`` enclosing a mask's pixels (pixel ``i`` spans ``[i, i + 1)``)."""
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A class mask resized to ``shape`` (H, W) by nearest neighbour (classes are never blended)."""
    if tuple(mask.shape) == tuple(shape):
        return mask
    from PIL import Image

    return np.asarray(Image.fromarray(mask).resize((int(shape[1]), int(shape[0])), Image.NEAREST))


class ShapeScenes(ArrayDataset):
    """Scenes of 1 to 5 coloured shapes (overlapping allowed), reproducible by ``seed``.

    Every object keeps its class, its pixels and its box, the exact extent of its
    pixels drawn alone (hidden parts included). Objects drawn later cover earlier
    ones; a placement that would hide more than 60 % of an earlier object is
    drawn again. The image is exactly its mask: each object's pixels in its colour
    over a gradient background, then noise. :class:`ShapesDetectionDataset` and
    :class:`ShapesSegmentationDataset` serve these scenes as objects or as masks.
    """

    task = "detection"

    def __init__(
        self,
        n: int = 1000,
        size: int = 64,
        seed: int = 0,
        classes: Sequence[str] = SHAPE_CLASSES,
        noise: float = 0.04,
        min_objects: int = 1,
        max_objects: int = 5,
        min_radius: float = 0.08,
        max_radius: float = 0.22,
        split: SplitSpec | None = None,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[threading.Event] = None,
    ) -> None:
        _check_shape_arguments(n, size, classes, fewest_classes=1)
        if not 1 <= min_objects <= max_objects <= 20:
            raise DatasetError(
                f"objects per image must satisfy 1 <= min <= max <= 20, received {min_objects} and {max_objects}"
            )
        if not 0 < min_radius <= max_radius <= 0.5 or min_radius * size < 2:
            raise DatasetError(
                f"radii must satisfy 0 < min <= max <= 0.5 and be at least 2 pixels, received {min_radius}, {max_radius}"
            )
        self.size, self.seed, self.noise = int(size), int(seed), float(noise)
        self._kinds = tuple(classes)
        self._scene_args = (float(min_radius), float(max_radius), int(min_objects), int(max_objects))
        self._instances = np.zeros((n, size, size), np.uint8)  # 0 background, j + 1 for object j
        self._object_class: list[np.ndarray] = []
        self._object_boxes: list[np.ndarray] = []
        self._object_area: list[np.ndarray] = []
        self._scene: list[dict] = []
        for i in range(n):
            if i % 64 == 0:
                check_cancel(cancel)
                report(progress, i, n, f"placing shapes {i}/{n}")
            self._make_scene(i)
        report(progress, n, n, "shapes ready")
        super().__init__(
            f"Shapes {self.task} ({n} samples, seed {seed})",
            self._scene_class_names(),
            np.zeros((n, 1, 1, 3), np.uint8),  # placeholder: drawn lazily (render/materialize)
            self._scene_labels(),
            split=split,
        )
        self._native_shape = (self.size, self.size, 3)
        self._channels = 3
        self._rendered: dict[str, np.ndarray] = {}
        self._render_lock = threading.Lock()

    # --- making scenes ------------------------------------------------------------------
    def _make_scene(self, i: int) -> None:
        s = self.size
        min_r, max_r, min_obj, max_obj = self._scene_args
        rng = np.random.default_rng([self.seed, i, 0])
        bg1 = rng.uniform(0, 1, 3)
        bg2 = np.clip(bg1 + rng.normal(0, 0.15, 3), 0, 1)
        bg_angle = rng.uniform(0, 2 * np.pi)
        luma_bg = float((bg1 + bg2) @ _LUMA / 2)
        count = int(rng.integers(min_obj, max_obj + 1))
        inst = np.zeros((s, s), np.uint8)
        own: list[np.ndarray] = []
        params, colours, kinds = [], [], []
        for j in range(count):
            k = int(rng.integers(len(self._kinds)))
            # Colour: differs in brightness from the background and in hue from the objects before it.
            cands = rng.uniform(0, 1, (32, 3))
            ok = np.abs(cands @ _LUMA - luma_bg) > 0.3
            for c in colours:
                ok &= np.abs(cands - c).sum(axis=1) > 0.45
            colour = cands[int(np.argmax(ok))] if ok.any() else (np.zeros(3) if luma_bg > 0.5 else np.ones(3))
            for _ in range(_PLACEMENT_TRIES):
                r = rng.uniform(min_r, max_r) * s
                cx, cy = rng.uniform(r, s - r, 2)
                angle = rng.uniform(0, 2 * np.pi)
                m = shape_mask(self._kinds[k], cx, cy, r, angle, s)
                if not m.any():
                    continue
                hidden_ok = all(
                    np.count_nonzero((inst == q + 1) & ~m) >= (1 - _MAX_HIDDEN) * np.count_nonzero(own[q]) for q in range(j)
                )
                if hidden_ok:
                    break
            else:
                break  # no room left for another object: the scene keeps those it has (at least one)
            inst[m] = j + 1
            own.append(m)
            params.append((cx, cy, r, angle))
            colours.append(colour)
            kinds.append(k)
        self._instances[i] = inst
        self._object_class.append(np.array(kinds, np.int32))
        self._object_boxes.append(np.stack([_mask_box(m) for m in own]).astype(np.float32))
        self._object_area.append(np.array([np.count_nonzero(m) for m in own], np.int64))
        self._scene.append(dict(bg1=bg1, bg2=bg2, bg_angle=bg_angle, colours=np.array(colours), params=params))

    def _scene_class_names(self) -> list[str]:
        return list(self._kinds)

    def _scene_labels(self) -> np.ndarray:
        """A label an image (for stratified splits and browsing): the class of its largest object."""
        return np.array([cls[int(np.argmax(area))] for cls, area in zip(self._object_class, self._object_area)], np.int32)

    # --- rendering ------------------------------------------------------------------
    def object_mask(self, i: int, j: int) -> np.ndarray:
        """Object ``j`` of sample ``i`` drawn alone (native ``size x size`` bool), hidden parts included."""
        i = self._check_index(i)
        cx, cy, r, angle = self._scene[i]["params"][j]
        return shape_mask(self._kinds[self._object_class[i][j]], cx, cy, r, angle, self.size)

    def instance_map(self, i: int) -> np.ndarray:
        """Sample ``i``'s visible objects at native size: 0 background, ``j + 1`` where object ``j`` shows."""
        return self._instances[self._check_index(i)].copy()

    def render(self, i: int) -> np.ndarray:
        """Draw sample ``i`` as ``uint8`` ``size x size x 3`` (deterministic): each object's pixels in its colour."""
        sc, s = self._scene[i], self.size
        axis = np.arange(s, dtype=np.float32) / s
        t = axis[None, :] * np.float32(np.cos(sc["bg_angle"])) + axis[:, None] * np.float32(np.sin(sc["bg_angle"]))
        t = ((t - t.min()) / max(float(t.max() - t.min()), 1e-6))[..., None]
        arr = (sc["bg1"] + (sc["bg2"] - sc["bg1"]) * t).astype(np.float32)
        inst = self._instances[i]
        for j, colour in enumerate(sc["colours"]):
            arr[inst == j + 1] = colour
        if self.noise > 0:
            arr = arr + np.random.default_rng([self.seed, int(i), 1]).normal(0, self.noise, arr.shape).astype(np.float32)
        return (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)

    materialize = ShapesDataset.materialize
    _raw_image = ShapesDataset._raw_image

    def _tf_source(self, idx: np.ndarray, shuffle: bool, seed: int):
        self._images = self.materialize()
        return ArrayDataset._tf_source(self, idx, shuffle, seed)

    def _scale(self) -> np.ndarray:
        h, w = self.image_shape[:2]
        return np.array([w / self.size, h / self.size, w / self.size, h / self.size], np.float32)

    def _objects_native(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self._object_boxes[i], self._object_class[i]

    def _class_mask_native(self, i: int) -> np.ndarray:
        """Class mask at native size: 0 background, ``k + 1`` where an object of class ``k`` shows."""
        lut = np.concatenate([[0], self._object_class[i] + 1]).astype(np.uint8)
        return lut[self._instances[i]]

    def describe(self, i: int) -> str:
        """Sample number, size and its objects."""
        j = self._check_index(i)
        names = [self._kinds[k] for k in self._object_class[j]]
        return f"#{i} · {self.size}x{self.size} drawn · {len(names)} objects: {', '.join(names)}"


class ShapesDetectionDataset(ShapeScenes):
    """Shape scenes for detection: each image's objects, a box and a class each (1 to 5 an image)."""

    task = "detection"

    def has_objects(self) -> bool:
        """Always: every image has 1 to 5 objects."""
        return True

    def objects(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``[x0, y0, x1, y1]`` (M x 4 float32, pixels of :attr:`image_shape`) and classes (M int32) of sample ``i``."""
        j = self._check_index(i)
        boxes, classes = self._objects_native(j)
        return (boxes * self._scale()).astype(np.float32), classes.copy()


class ShapesSegmentationDataset(ShapeScenes):
    """Shape scenes for semantic segmentation: a class a pixel (0 background, ``k + 1`` for shape class ``k``)."""

    task = "segmentation"

    def _scene_class_names(self) -> list[str]:
        return ["background"] + list(self._kinds)

    def _scene_labels(self) -> np.ndarray:
        """A label an image: the class (1..K) covering most pixels."""
        labels = np.empty(len(self._instances), np.int32)
        for i in range(len(labels)):
            counts = np.bincount(self._class_mask_native(i).ravel(), minlength=len(self._kinds) + 1)
            counts[0] = 0
            labels[i] = int(np.argmax(counts))
        return labels

    def has_masks(self) -> bool:
        """Always."""
        return True

    def mask(self, i: int) -> np.ndarray:
        """Sample ``i``'s class mask (H x W uint8 at :attr:`image_shape`, nearest-neighbour resized)."""
        return _resize_mask(self._class_mask_native(self._check_index(i)), self.image_shape[:2])
