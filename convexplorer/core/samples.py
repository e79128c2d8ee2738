"""Built-in sample images, made by code (no bundled binaries).

Each sample is a ``float32`` ``H x W x C`` array in ``[0, 1]``; the Playground
offers them and the lessons use them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def bright_square(size: int = 64) -> np.ndarray:
    """A bright square on black: the textbook's first convolution input."""
    img = np.zeros((size, size, 1), np.float32)
    q = size // 4
    img[q : size - q, q : size - q] = 1.0
    return img


def checkerboard(size: int = 64, cells: int = 8) -> np.ndarray:
    """Black and white checkerboard with ``cells`` squares per side."""
    idx = (np.arange(size) * cells // size) % 2
    return (idx[:, None] ^ idx[None, :]).astype(np.float32)[..., None]


def digit(size: int = 28) -> np.ndarray:
    """A hand-drawn looking '7', MNIST-sized by default."""
    from PIL import Image, ImageDraw, ImageFilter

    s = 4 * size
    img = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(img)
    w = max(2, s // 9)
    draw.line([(0.22 * s, 0.22 * s), (0.78 * s, 0.2 * s)], fill=255, width=w)
    draw.line([(0.78 * s, 0.2 * s), (0.42 * s, 0.84 * s)], fill=255, width=w)
    draw.line([(0.38 * s, 0.52 * s), (0.7 * s, 0.52 * s)], fill=255, width=max(2, w // 2))
    img = img.filter(ImageFilter.GaussianBlur(s / 60)).resize((size, size), Image.LANCZOS)
    return (np.asarray(img, np.float32) / 255.0)[..., None]


def scene(size: int = 128, seed: int = 0) -> np.ndarray:
    """A photo-like colour scene: sky gradient, sun, hills, a house and noise."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    s = size
    yy = np.linspace(0, 1, s, dtype=np.float32)[:, None]
    sky = np.stack([0.35 + 0.3 * yy, 0.55 + 0.3 * yy, 0.95 - 0.1 * yy], -1) * np.ones((1, s, 1), np.float32)
    img = Image.fromarray((sky * 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([0.72 * s, 0.08 * s, 0.9 * s, 0.26 * s], fill=(255, 225, 90))
    d.polygon([(0, 0.75 * s), (0.35 * s, 0.5 * s), (0.7 * s, 0.72 * s), (s, 0.55 * s), (s, s), (0, s)], fill=(70, 140, 60))
    d.rectangle([0.18 * s, 0.55 * s, 0.42 * s, 0.8 * s], fill=(190, 80, 60))
    d.polygon([(0.14 * s, 0.56 * s), (0.3 * s, 0.4 * s), (0.46 * s, 0.56 * s)], fill=(110, 50, 40))
    d.rectangle([0.27 * s, 0.66 * s, 0.33 * s, 0.8 * s], fill=(60, 40, 30))
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    arr = np.asarray(img, np.float32) / 255.0
    arr = arr + rng.normal(0, 0.02, arr.shape).astype(np.float32)
    return np.clip(arr, 0, 1).astype(np.float32)


SAMPLES: dict[str, Callable[[], np.ndarray]] = {
    "Bright square": bright_square,
    "Checkerboard": checkerboard,
    "Digit 7": digit,
    "Scene (colour)": scene,
}
