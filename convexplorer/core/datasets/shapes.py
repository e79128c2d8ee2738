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


class ShapesDataset(ArrayDataset):
    """Procedural coloured shapes with bounding boxes; reproducible by ``seed``."""

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
        if n < 1:
            raise DatasetError(f"the shapes set needs at least 1 sample, received n={n}")
        if not 16 <= size <= 512:
            raise DatasetError(f"shape images must be 16 to 512 pixels wide, received size={size}")
        unknown = [c for c in classes if c not in SHAPE_CLASSES]
        if unknown or len(classes) < 2:
            raise DatasetError(
                f"shape classes must be at least two of {', '.join(SHAPE_CLASSES)}; received {list(classes)}"
            )
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
