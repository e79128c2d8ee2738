"""Kernel presets, Gabor filters and banks, and parsing of hand-typed kernels.

Every kernel is a ``float32`` ``kh x kw`` array used as a cross-correlation
kernel (what ``tf.nn.conv2d`` and :func:`convexplorer.core.conv.conv2d`
compute), so the numbers you see are the weights applied to the pixels in
the same places::

    from convexplorer.core import kernels
    k = kernels.preset("Sobel x")                       # 3x3
    g = kernels.gabor(11, frequency=0.2, theta=0.0, sigma=2.5)
    bank = kernels.gabor_bank(11, [0.1, 0.2], kernels.orientations(4), sigma=2.5)  # 2 x 4 x 11 x 11
    maps = kernels.apply_bank(gray_image, bank)         # 2 x 4 x H x W
    k = kernels.parse_kernel([["1", "0", "-1"], ["2", "0", "-2"], ["1", "0", "-1"]])
"""

from __future__ import annotations

import math
import re
import threading
from typing import Callable, Sequence

import numpy as np

from .errors import ShapeError
from .progress import ProgressFn, check_cancel, report

#: Largest kernel side the Playground edits.
MAX_KERNEL_SIZE = 11


def _k(rows: Sequence[Sequence[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32)


def identity(size: int = 3) -> np.ndarray:
    """A kernel that copies the input: 1 in the centre, 0 elsewhere."""
    k = np.zeros((size, size), np.float32)
    k[size // 2, size // 2] = 1.0
    return k


def box_blur(size: int = 3) -> np.ndarray:
    """Mean of a ``size x size`` neighbourhood (all weights 1/size²)."""
    return np.full((size, size), 1.0 / (size * size), np.float32)


def gaussian(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    """Normalised Gaussian blur kernel (weights sum to 1)."""
    if sigma <= 0:
        raise ShapeError(f"sigma must be positive, got {sigma}")
    r = (np.arange(size, dtype=np.float64) - (size - 1) / 2.0)
    g = np.exp(-0.5 * (r / sigma) ** 2)
    k = np.outer(g, g)
    return (k / k.sum()).astype(np.float32)


def sobel(axis: str = "x") -> np.ndarray:
    """Sobel derivative: ``"x"`` responds to vertical edges (dark→bright left to right), ``"y"`` to horizontal ones."""
    kx = _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    if axis == "x":
        return kx
    if axis == "y":
        return np.ascontiguousarray(kx.T)
    raise ShapeError(f'Sobel axis must be "x" or "y", got "{axis}"')


def _gabor_grid(size: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(size, (int, np.integer)):
        kh = kw = int(size)
    else:
        kh, kw = (int(v) for v in size)
    if not (1 <= kh <= MAX_KERNEL_SIZE * 4 and 1 <= kw <= MAX_KERNEL_SIZE * 4):
        raise ShapeError(f"Gabor kernel size must be between 1 and {MAX_KERNEL_SIZE * 4}, got {kh}x{kw}")
    y = np.arange(kh, dtype=np.float64) - (kh - 1) / 2.0
    x = np.arange(kw, dtype=np.float64) - (kw - 1) / 2.0
    return np.meshgrid(y, x, indexing="ij")


def gabor(
    size: int | Sequence[int] = 11,
    frequency: float = 0.2,
    theta: float = 0.0,
    sigma: float = 2.5,
    phase: float = 0.0,
    gamma: float = 1.0,
    zero_mean: bool = False,
) -> np.ndarray:
    """Real part of a Gabor filter, as ``skimage.filters.gabor_kernel`` defines it.

    ``frequency`` in cycles per pixel, ``theta`` the orientation in radians
    (0: the wave runs along x, so it answers vertical stripes and edges),
    ``sigma`` the Gaussian envelope's width in pixels along the wave,
    ``gamma`` the aspect ratio (envelope width across the wave is sigma/gamma),
    ``phase`` the cosine's offset (0: even/line detector, pi/2: odd/edge detector);
    ``zero_mean`` subtracts the mean so flat areas give 0 (as filter banks do)::

        g = exp(-(x'² / σ² + y'² γ² / σ²) / 2) / (2π σ²/γ) · cos(2π f x' + phase)
        x' = x cos θ + y sin θ,   y' = -x sin θ + y cos θ
    """
    if frequency < 0:
        raise ShapeError(f"Gabor frequency must be 0 or more (cycles per pixel), got {frequency}")
    if sigma <= 0 or gamma <= 0:
        raise ShapeError(f"Gabor sigma and gamma must be positive, got sigma={sigma}, gamma={gamma}")
    y, x = _gabor_grid(size)
    sx, sy = float(sigma), float(sigma) / float(gamma)
    ct, st = math.cos(theta), math.sin(theta)
    rx = x * ct + y * st
    ry = -x * st + y * ct
    g = np.exp(-0.5 * (rx**2 / sx**2 + ry**2 / sy**2)) / (2 * math.pi * sx * sy)
    g = g * np.cos(2 * math.pi * frequency * rx + phase)
    if zero_mean:
        g = g - g.mean()
    return g.astype(np.float32)


def orientations(n: int) -> list[float]:
    """``n`` evenly spaced orientations in [0, π) (radians)."""
    if n < 1:
        raise ShapeError(f"need at least 1 orientation, got {n}")
    return [math.pi * i / n for i in range(n)]


def gabor_bank(
    size: int | Sequence[int],
    frequencies: Sequence[float],
    thetas: Sequence[float],
    sigma: float = 2.5,
    phase: float = 0.0,
    gamma: float = 1.0,
    zero_mean: bool = False,
) -> np.ndarray:
    """Gabor kernels for every (frequency, theta): shape ``len(frequencies) x len(thetas) x kh x kw``."""
    if len(frequencies) == 0 or len(thetas) == 0:
        raise ShapeError("a Gabor bank needs at least one frequency and one orientation")
    return np.stack(
        [np.stack([gabor(size, f, t, sigma, phase, gamma, zero_mean) for t in thetas]) for f in frequencies]
    ).astype(np.float32)


def apply_bank(
    image: np.ndarray,
    bank: np.ndarray,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """Correlate a 2-D image (or H x W x 1) with every kernel of a bank ("same" padding).

    ``bank`` is ``R x C x kh x kw``; the result is ``R x C x H x W`` float32.
    """
    from .conv import conv2d

    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim != 2:
        raise ShapeError(f"the Gabor bank works on a grayscale H x W image, got shape {img.shape}")
    bank = np.asarray(bank, dtype=np.float32)
    if bank.ndim != 4:
        raise ShapeError(f"a kernel bank must be rows x cols x kh x kw, got shape {bank.shape}")
    nr, nc = bank.shape[:2]
    out = np.empty((nr, nc) + img.shape, np.float32)
    total = nr * nc
    for r in range(nr):
        for c in range(nc):
            check_cancel(cancel)
            out[r, c] = conv2d(img, bank[r, c], padding="same")
            report(progress, r * nc + c + 1, total, "Gabor bank")
    return out


def mosaic(maps: np.ndarray, gap: int = 1, fill: float = float("nan")) -> np.ndarray:
    """Tile ``R x C x h x w`` maps into one ``(R*h + (R-1)*gap) x (C*w + (C-1)*gap)`` array."""
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim != 4:
        raise ShapeError(f"mosaic needs rows x cols x h x w maps, got shape {m.shape}")
    nr, nc, h, w = m.shape
    out = np.full((nr * h + (nr - 1) * gap, nc * w + (nc - 1) * gap), fill, np.float32)
    for r in range(nr):
        for c in range(nc):
            y, x = r * (h + gap), c * (w + gap)
            out[y : y + h, x : x + w] = m[r, c]
    return out


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """H x W x C (or H x W) float image to H x W luminance (ITU-R 601 weights, as Pillow's "L")."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 2:
        return img
    if img.ndim == 3 and img.shape[-1] == 1:
        return img[..., 0]
    if img.ndim == 3 and img.shape[-1] >= 3:
        w = np.asarray([0.299, 0.587, 0.114], np.float32)
        return img[..., :3] @ w
    raise ShapeError(f"expected an H x W x C image, got shape {img.shape}")


#: The presets offered in the Playground: name -> kernel factory. Textbook
#: line and edge detectors first, then classic image-processing kernels.
PRESETS: dict[str, Callable[[], np.ndarray]] = {
    "Identity": lambda: identity(3),
    "Vertical edge [1, -1]": lambda: _k([[1, -1]]),
    "Horizontal line": lambda: _k([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]]),
    "Vertical line": lambda: _k([[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]]),
    "Diagonal line \\": lambda: _k([[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]),
    "Diagonal line /": lambda: _k([[-1, -1, 2], [-1, 2, -1], [2, -1, -1]]),
    "Horizontal edge": lambda: _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]),
    "Vertical edge": lambda: _k([[1, 0, -1], [1, 0, -1], [1, 0, -1]]),
    "Diagonal edge": lambda: _k([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]),
    "Sobel x": lambda: sobel("x"),
    "Sobel y": lambda: sobel("y"),
    "Laplacian": lambda: _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "Laplacian (8 neighbours)": lambda: _k([[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
    "Box blur 3x3": lambda: box_blur(3),
    "Box blur 5x5": lambda: box_blur(5),
    "Gaussian blur 5x5": lambda: gaussian(5, 1.0),
    "Sharpen": lambda: _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "Emboss": lambda: _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
    "Gabor": lambda: gabor(11, 0.2, 0.0, 2.5),
}

#: One sentence per preset: what it responds to.
PRESET_NOTES: dict[str, str] = {
    "Identity": "Copies the input unchanged.",
    "Vertical edge [1, -1]": "The textbook's 1x2 edge detector: +1 where bright turns dark left to right, -1 the other way.",
    "Horizontal line": "Answers thin horizontal lines one pixel thick.",
    "Vertical line": "Answers thin vertical lines one pixel thick.",
    "Diagonal line \\": "Answers thin lines running from top-left to bottom-right.",
    "Diagonal line /": "Answers thin lines running from bottom-left to top-right.",
    "Horizontal edge": "Prewitt: positive where bright is above dark.",
    "Vertical edge": "Prewitt: positive where bright is left of dark.",
    "Diagonal edge": "Positive where the upper-right side is brighter than the lower-left.",
    "Sobel x": "Horizontal gradient (vertical edges), smoothed across.",
    "Sobel y": "Vertical gradient (horizontal edges), smoothed across.",
    "Laplacian": "Second derivative: answers spots and both sides of every edge; 0 on flat areas.",
    "Laplacian (8 neighbours)": "Laplacian that also counts the diagonal neighbours.",
    "Box blur 3x3": "Mean of each 3x3 neighbourhood.",
    "Box blur 5x5": "Mean of each 5x5 neighbourhood.",
    "Gaussian blur 5x5": "Weighted mean, heavier in the centre (sigma 1).",
    "Sharpen": "Centre minus neighbours: boosts detail.",
    "Emboss": "Light from the top-left: a relief look.",
    "Gabor": "A striped patch: answers stripes and edges of one orientation and scale.",
}


def preset(name: str) -> np.ndarray:
    """The preset kernel called ``name`` (a fresh float32 array)."""
    try:
        return np.array(PRESETS[name](), dtype=np.float32)
    except KeyError:
        raise ShapeError(f'unknown kernel preset "{name}"; choose one of: {", ".join(PRESETS)}') from None


# --- hand-typed kernels ------------------------------------------------------------------
_FRACTION = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*/\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


def parse_cell(text: str) -> float:
    """A kernel cell's text as a number: ``"2"``, ``"-0.5"``, ``"1e-2"``, ``"1/9"``, ``"−1"``.

    Raises ``ValueError`` with a short reason ("empty", "not a number",
    "division by zero", "not finite").
    """
    t = str(text).strip().replace("\u2212", "-").replace(",", ".")
    if not t:
        raise ValueError("empty")
    m = _FRACTION.match(t)
    if m:
        num, den = float(m.group(1)), float(m.group(2))
        if den == 0:
            raise ValueError("division by zero")
        value = num / den
    else:
        try:
            value = float(t)
        except ValueError:
            raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def parse_kernel(cells: Sequence[Sequence[str]]) -> np.ndarray:
    """A kernel from rows of cell texts; ShapeError names every bad cell (1-based row, column)."""
    rows = [list(r) for r in cells]
    if not rows or not rows[0]:
        raise ShapeError("the kernel is empty: it needs at least 1 row and 1 column")
    kw = len(rows[0])
    if any(len(r) != kw for r in rows):
        raise ShapeError(f"every kernel row needs {kw} values; got rows of {sorted({len(r) for r in rows})}")
    if len(rows) > MAX_KERNEL_SIZE or kw > MAX_KERNEL_SIZE:
        raise ShapeError(f"kernels can be at most {MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE}, got {len(rows)}x{kw}")
    out = np.zeros((len(rows), kw), np.float32)
    problems = []
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            try:
                out[i, j] = parse_cell(text)
            except ValueError as exc:
                shown = str(text).strip()
                problems.append(f"row {i + 1}, column {j + 1}: " + (f'"{shown}" is {exc}' if shown else "is empty"))
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ShapeError("kernel entries must be numbers: " + "; ".join(problems[:3]) + more)
    return out


def format_cell(value: float) -> str:
    """How a kernel weight is written in the grid: short, exact for simple numbers."""
    v = float(value)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    s = f"{v:.4g}"
    return s
