"""One Playground run on plain arrays: the settings in, the maps and the notes about them out (no Qt).

The maths is :mod:`convexplorer.core.conv`; this module only chains it the way
the panel shows it (channel mode, convolution, bias, ReLU, pooling) and keeps
what the views and the step-through need afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convexplorer.core import kernels as K
from convexplorer.core.arithmetic import ConvGeometry, conv_geometry
from convexplorer.core.conv import conv2d, keras_refuses, pool2d, pool_geometry
from convexplorer.core.errors import ConvExplorerError

#: How a colour image's channels meet the 2-D kernel (data key -> what the user reads).
MODES = {
    "gray": "Grayscale: one channel",
    "depthwise": "Colour: kernel on each channel (depthwise)",
    "conv2d": "Colour: one filter summing the channels (Conv2D)",
}


@dataclass(frozen=True)
class ConvSettings:
    """The convolution the user set up: channel mode, stride, dilation, padding, bias and ReLU."""

    mode: str
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: str | tuple[tuple[int, int], tuple[int, int]]
    bias: float = 0.0
    relu: bool = False


@dataclass(frozen=True)
class PoolSettings:
    """The pooling after the convolution: window size, stride (None: = size), padding and max/avg."""

    size: int
    stride: int | None
    padding: str
    mode: str


@dataclass
class ConvResult:
    """What one run produced; ``fmap`` is None when the convolution was refused (``error`` says why)."""

    settings: ConvSettings
    x: np.ndarray  # the input as convolved (H x W or H x W x C)
    kernel2d: np.ndarray  # the 2-D kernel the user sees
    kernel: np.ndarray  # the kernel as applied (repeated over the channels for Conv2D)
    geo: ConvGeometry | None = None
    fmap: np.ndarray | None = None  # H' x W' x F after bias and ReLU
    pgeo: ConvGeometry | None = None
    pooled: np.ndarray | None = None
    error: str = ""
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def pooled_cells(self, i: int, j: int) -> list[tuple[int, int]]:
        """Pooled-map cells whose pooling window contains feature-map pixel (i, j)."""
        g = self.pgeo
        if g is None or self.pooled is None:
            return []

        def axis(v: int, ax: int) -> range:
            k, s, p0 = g.kernel_hw[ax], g.stride[ax], g.padding[ax][0]
            lo = max(0, -(-(v + p0 - k + 1) // s))
            hi = min(g.output_hw[ax] - 1, (v + p0) // s)
            return range(lo, hi + 1)

        return [(pi, pj) for pi in axis(i, 0) for pj in axis(j, 1)]


def convolve(source: np.ndarray, kernel2d: np.ndarray, conv: ConvSettings, pool: PoolSettings | None) -> ConvResult:
    """Convolve ``source`` (H x W x 1|3) with ``kernel2d`` as ``conv`` says, then pool unless ``pool`` is None."""
    if conv.mode == "gray":
        x, kernel = K.to_grayscale(source), kernel2d
    elif conv.mode == "depthwise":
        x, kernel = source, kernel2d
    else:
        x = source
        kernel = np.repeat(kernel2d[:, :, None, None], x.shape[2], axis=2)
    result = ConvResult(settings=conv, x=x, kernel2d=kernel2d, kernel=kernel)
    try:
        geo = conv_geometry(x.shape[:2], kernel2d.shape, conv.stride, conv.padding, conv.dilation)
        fmap = conv2d(x, kernel, stride=conv.stride, padding=geo.padding, dilation=conv.dilation)
    except ConvExplorerError as exc:
        result.error = f"{exc}. Try 'same' padding, a smaller kernel or less dilation."
        return result
    if fmap.ndim == 2:
        fmap = fmap[..., None]
    fmap = np.ascontiguousarray(fmap)  # our own copy: bias and ReLU work in place
    if conv.bias:
        fmap += np.float32(conv.bias)
    if conv.relu:
        np.maximum(fmap, np.float32(0.0), out=fmap)
    result.geo, result.fmap = geo, fmap
    result.notes = _notes(x, kernel2d, geo, conv)
    if pool is not None:
        try:
            result.pgeo = pool_geometry(fmap.shape[:2], pool.size, pool.stride, pool.padding)
            result.pooled = pool2d(fmap, pool.size, pool.stride, pool.padding, pool.mode)
        except ConvExplorerError as exc:
            result.messages.append(f"Pooling: {exc}")
    return result


def _notes(x: np.ndarray, k2: np.ndarray, geo: ConvGeometry, conv: ConvSettings) -> list[str]:
    """Remarks worth reading under the maps: Keras refusals, lines made by the zero padding."""
    notes = []
    if keras_refuses(conv.stride, conv.dilation):
        notes.append(
            "A Keras Conv2D layer refuses stride > 1 together with dilation > 1 (tf.nn.conv2d accepts it); "
            "the Playground computes it by the definition."
        )
    if geo.padding != ((0, 0), (0, 0)) and abs(float(k2.sum())) < 1e-6 * max(1.0, float(np.abs(k2).sum())):
        border = np.concatenate([np.ravel(x[0]), np.ravel(x[-1]), np.ravel(x[:, 0]), np.ravel(x[:, -1])])
        if float(np.abs(border).mean()) > 0.05:
            notes.append("Lines along the border come from the zero padding: the kernel sees a jump from the image to 0.")
    return notes
