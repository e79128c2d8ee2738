"""The Playground's other operations on plain arrays: transposed convolution and upsampling (no Qt).

Like :mod:`.compute` for the convolution, this only chains
:mod:`convexplorer.core.conv` the way the panel shows it and keeps what the
views and the step-through need afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convexplorer.core import kernels as K
from convexplorer.core.arithmetic import TransposeGeometry, conv_transpose_geometry
from convexplorer.core.conv import conv2d_transpose, flip_kernel, transpose_refusal, upsample2d, zero_insert
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.images import resize

#: What the panel computes (data key -> what the user reads).
OPERATIONS = {
    "conv": "Convolution (+ pooling)",
    "transposed": "Transposed convolution",
    "upsample": "Upsampling (nearest / bilinear)",
}
INTERPOLATIONS = ("nearest", "bilinear")


@dataclass(frozen=True)
class TransposeSettings:
    """Stride, "valid"/"same" padding and output padding (None: Keras's default) of a transposed convolution."""

    stride: tuple[int, int]
    padding: str
    output_padding: tuple[int, int] | None


@dataclass(frozen=True)
class UpsampleSettings:
    """Upsampling factor (y, x) and the interpolation the step-through follows (both are shown)."""

    size: tuple[int, int]
    interpolation: str


def fit_input(source: np.ndarray, factor: int, max_side: int) -> tuple[np.ndarray, str]:
    """``source`` scaled down so that ``factor`` times its longest side stays within ``max_side``; and a note."""
    h, w = source.shape[:2]
    if factor <= 1 or max(h, w) * factor <= max_side:
        return source, ""
    scale = (max_side // factor) / max(h, w)
    nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
    small = resize(source, (nh, nw))
    return np.ascontiguousarray(small, dtype=np.float32), (
        f"scaled down to {nw}×{nh} for this operation, so that its {factor}× larger output stays within {max_side} px"
    )


def _channels(source: np.ndarray, mode: str) -> np.ndarray:
    """The input as the channel mode takes it: one gray channel, or the colour channels."""
    return K.to_grayscale(source)[..., None] if mode == "gray" else source


#: The last inputs made by :func:`_prepared` (a resize costs milliseconds; slider moves reuse it).
_PREPARED: dict[tuple, tuple[np.ndarray, np.ndarray, str]] = {}


def _prepared(source: np.ndarray, mode: str, factor: int, max_side: int) -> tuple[np.ndarray, str]:
    """:func:`fit_input` of the channel mode's input, remembered for the same ``source`` array."""
    key = (id(source), mode == "gray", factor, max_side)
    hit = _PREPARED.get(key)
    if hit is not None and hit[0] is source:
        return hit[1], hit[2]
    x, note = fit_input(_channels(source, mode), factor, max_side)
    if len(_PREPARED) >= 4:
        _PREPARED.clear()
    _PREPARED[key] = (source, x, note)
    return x, note


@dataclass
class TransposedResult:
    """One transposed convolution; ``out`` is None when it was refused (``error`` says why)."""

    settings: TransposeSettings
    x: np.ndarray  # H x W x C, as transposed (after the channel mode and any scaling down)
    kernel2d: np.ndarray  # the 2-D kernel the user edits
    kernel: np.ndarray  # as applied: kh x kw (each channel) or kh x kw x 1 x C (one filter summing the channels)
    geo: TransposeGeometry | None = None
    grid: np.ndarray | None = None  # the zero-inserted, padded input the rotated kernel slides over
    out: np.ndarray | None = None  # H' x W' x F
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def flipped(self) -> np.ndarray:
        """The 2-D kernel as it slides over the grid (rotated by 180 degrees)."""
        return flip_kernel(self.kernel2d)


def transpose(
    source: np.ndarray, kernel2d: np.ndarray, mode: str, settings: TransposeSettings, max_side: int
) -> TransposedResult:
    """Transposed convolution of ``source`` (H x W x 1|3) with ``kernel2d`` in the channel ``mode``."""
    x, note = _prepared(source, mode, max(settings.stride), max_side)
    kernel = np.repeat(kernel2d[:, :, None, None], x.shape[2], axis=3) if mode == "conv2d" else kernel2d
    result = TransposedResult(settings, x, kernel2d, kernel)
    if note:
        result.notes.append(f"Input {note}.")
    try:
        geo = conv_transpose_geometry(x.shape[:2], kernel2d.shape, settings.stride, settings.padding, settings.output_padding)
        out = conv2d_transpose(x, kernel, settings.stride, settings.padding, settings.output_padding)
    except ConvExplorerError as exc:
        result.error = f"{exc}."
        return result
    result.geo, result.grid = geo, zero_insert(x, geo)
    result.out = np.ascontiguousarray(out if out.ndim == 3 else out[..., None])
    refusal = transpose_refusal(geo)
    if refusal:
        result.notes.append(refusal)
    return result


@dataclass
class UpsampleResult:
    """Nearest and bilinear upsampling of the same input; ``out`` is the one the step-through follows."""

    settings: UpsampleSettings
    x: np.ndarray  # H x W x C, as upsampled
    nearest: np.ndarray
    bilinear: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def out(self) -> np.ndarray:
        """The result of the chosen interpolation."""
        return self.bilinear if self.settings.interpolation == "bilinear" else self.nearest


def upsample(source: np.ndarray, mode: str, settings: UpsampleSettings, max_side: int) -> UpsampleResult:
    """Both interpolations of ``source`` (gray in the "gray" channel mode, else in colour)."""
    x, note = _prepared(source, mode, max(settings.size), max_side)
    result = UpsampleResult(settings, x, upsample2d(x, settings.size, "nearest"), upsample2d(x, settings.size, "bilinear"))
    if note:
        result.notes.append(f"Input {note}.")
    return result
