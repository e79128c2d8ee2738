"""Reference 2-D convolution and pooling in numpy, and the sliding-window steps.

The Playground calls these on every slider move, so they are fast and do not
need TensorFlow: stride-1 convolutions are banded matrix products on two
threads (:mod:`convexplorer.core.conv_engine`); strided ones a numpy/BLAS
shift-and-add over kernel taps, in row blocks that stay in cache, with a
separable fast path for low-rank kernels.
They compute what ``tf.nn.conv2d`` / ``tf.nn.max_pool2d`` /
``tf.nn.avg_pool2d`` compute (cross-correlation, like every deep-learning
library), and also the combination a Keras ``Conv2D`` layer refuses (stride > 1
together with dilation > 1), by the definition::

    out[i, j, f] = sum_{a, b, c} xpad[i*sy + a*dy, j*sx + b*dx, c] * k[a, b, c, f]

Shapes and padding amounts come from :mod:`convexplorer.core.arithmetic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import conv_engine
from .arithmetic import ConvGeometry, Padding, TransposeGeometry, as_pair, conv_geometry, conv_transpose_geometry
from .errors import ShapeError

#: Output rows computed per block (keeps the working set in cache).
_BLOCK_ROWS = 64
#: Stride-1 convolutions go to the matrix-product engine (tests turn it off to compare with the per-tap engine).
_GEMM_ENABLED = True
#: Channel x filter pairs up to which a full kernel goes to that engine (more: one tensordot per tap).
_GEMM_MAX_PAIRS = 16
#: Singular values below this fraction of the largest are treated as zero when
#: looking for a separable (low-rank) form of a 2-D kernel.
_RANK_TOL = 1e-6


# --- validation -------------------------------------------------------------------
def _as_image(x: object) -> np.ndarray:
    """Validated float32 H x W or H x W x C array."""
    try:
        arr = np.asarray(x)
    except Exception:  # noqa: BLE001 - anything numpy cannot read is "not numbers"
        raise ShapeError(f"the input must be an array of numbers, got {type(x).__name__}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ShapeError(f"the input must contain numbers, got values of type {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ShapeError(f"the input must be H x W or H x W x C, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"the input is empty: shape {arr.shape}")
    return np.asarray(arr, dtype=np.float32)


def _as_kernel(kernel: object) -> np.ndarray:
    """Validated float32 kh x kw or kh x kw x C x F kernel."""
    try:
        k = np.asarray(kernel)
    except Exception:  # noqa: BLE001
        raise ShapeError(f"the kernel must be an array of numbers, got {type(kernel).__name__}") from None
    if k.dtype == object or not (np.issubdtype(k.dtype, np.number) or k.dtype == bool):
        raise ShapeError(f"the kernel must contain numbers, got values of type {k.dtype}")
    if k.ndim not in (2, 4):
        raise ShapeError(
            f"the kernel must be kh x kw (one 2-D kernel) or kh x kw x C x F (like tf.nn.conv2d), got shape {k.shape}"
        )
    if k.size == 0:
        raise ShapeError(f"the kernel is empty: shape {k.shape}")
    k = np.asarray(k, dtype=np.float32)
    if not np.all(np.isfinite(k)):
        raise ShapeError("the kernel contains a value that is not a finite number (nan or inf)")
    return k


def pad_input(x: np.ndarray, padding: tuple[tuple[int, int], tuple[int, int]], value: float = 0.0) -> np.ndarray:
    """``x`` (H x W or H x W x C) padded with ``value`` by ``((top, bottom), (left, right))``."""
    arr = np.asarray(x, dtype=np.float32)
    (t, b), (l, r) = padding
    if t == b == l == r == 0:
        return arr
    pads = [(t, b), (l, r)] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, pads, mode="constant", constant_values=value)


def keras_refuses(stride: int | Sequence[int], dilation: int | Sequence[int]) -> bool:
    """True when a Keras ``Conv2D`` layer refuses this combination (stride > 1 together with dilation > 1).

    ``tf.nn.conv2d`` (2.16+) computes it, and so does :func:`conv2d`, by the definition.
    """
    s, d = as_pair(stride, "stride"), as_pair(dilation, "dilation")
    return max(s) > 1 and max(d) > 1


# --- the shift-and-add engine ----------------------------------------------------------
def _axpy():
    """BLAS ``saxpy`` from scipy (``y += a*x`` in one pass), or None without scipy."""
    global _SAXPY
    if _SAXPY is False:
        try:
            from scipy.linalg.blas import saxpy
        except ImportError:  # pragma: no cover - scipy ships with the app; numpy fallback below
            saxpy = None
        _SAXPY = saxpy
    return _SAXPY


_SAXPY = False  # not looked up yet
#: Elements per BLAS call. OpenBLAS runs axpy on one thread up to 10,000
#: elements; above that it wakes threads that spin for a core and, on a busy
#: 2-core machine, made some updates take seconds instead of milliseconds.
_AXPY_BLOCK = 9984


def _out_len(n: int, k: int, s: int, d: int) -> int:
    return (n - d * (k - 1) - 1) // s + 1


def _tap_slice(xp: np.ndarray, a: int, b: int, r0: int, r1: int, stride, dilation, ow: int) -> np.ndarray:
    """Output rows ``r0:r1`` as seen by kernel tap (a, b) on the padded input (strided view)."""
    sy, sx = stride
    dy, dx = dilation
    y0 = r0 * sy + a * dy
    x0 = b * dx
    return xp[y0 : y0 + (r1 - r0 - 1) * sy + 1 : sy, x0 : x0 + (ow - 1) * sx + 1 : sx]


def _correlate_numpy(xp: np.ndarray, k2: np.ndarray, stride, dilation) -> np.ndarray:
    """Fallback engine: numpy multiply-add per tap over blocks of output rows."""
    kh, kw = k2.shape
    oh = _out_len(xp.shape[0], kh, stride[0], dilation[0])
    ow = _out_len(xp.shape[1], kw, stride[1], dilation[1])
    c = xp.shape[2]
    out = np.zeros((oh, ow, c), np.float32)
    tmp = np.empty((min(_BLOCK_ROWS, oh), ow, c), np.float32)
    taps = [(a, b, float(k2[a, b])) for a in range(kh) for b in range(kw) if k2[a, b] != 0.0]
    for r0 in range(0, oh, _BLOCK_ROWS):
        r1 = min(oh, r0 + _BLOCK_ROWS)
        o = out[r0:r1]
        t = tmp[: r1 - r0]
        for a, b, w in taps:
            np.multiply(_tap_slice(xp, a, b, r0, r1, stride, dilation, ow), w, out=t)
            o += t
    return out


def _phase(x: np.ndarray, pads, py: int, px: int, sy: int, sx: int, rows: int, wq: int) -> np.ndarray:
    """Phase ``(py, px)`` of the zero-padded ``x`` (``pad(x)[py::sy, px::sx]``) in a zeroed ``rows x wq`` buffer.

    Built straight from the unpadded ``x``, so padding costs no extra copy.
    """
    (t, _), (l, _) = pads
    h, w, c = x.shape
    buf = np.zeros((rows, wq, c), np.float32)
    i0 = max(0, -(-(t - py) // sy))  # first phase row that lands on the image
    j0 = max(0, -(-(l - px) // sx))
    r0, c0 = py + i0 * sy - t, px + j0 * sx - l
    if r0 < h and c0 < w:
        src = x[r0::sy, c0::sx]
        buf[i0 : i0 + src.shape[0], j0 : j0 + src.shape[1]] = src
    return buf.reshape(-1)


def _correlate(
    x: np.ndarray,
    k2: np.ndarray,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
) -> np.ndarray:
    """Each channel of ``x`` (H x W x C), zero-padded by ``pads``, correlated with one 2-D kernel.

    Stride is handled by splitting the padded input into its ``sy x sx``
    phases (``xpad[py::sy, px::sx]``): every kernel tap then reads one phase
    at a fixed offset with unit stride, so in the flattened phase image each
    tap is a single contiguous ``y += w * x[offset:]`` (BLAS axpy). Columns
    that wrap around a row end are computed and cut off at the end.
    """
    saxpy = _axpy()
    if saxpy is None:
        return _correlate_numpy(pad_input(x, pads), k2, stride, dilation)
    (t, b), (l, r) = pads
    hp, wp, c = x.shape[0] + t + b, x.shape[1] + l + r, x.shape[2]
    kh, kw = k2.shape
    sy, sx = stride
    dy, dx = dilation
    oh, ow = _out_len(hp, kh, sy, dy), _out_len(wp, kw, sx, dx)
    hq, wq = -(-hp // sy), -(-wp // sx)
    rows = max(hq, oh + (kh - 1) * dy // sy) + 1  # one spare zero row: reads never run off the end
    phases: dict[tuple[int, int], np.ndarray] = {}
    taps = []
    for a in range(kh):
        for bb in range(kw):
            w = float(k2[a, bb])
            if w == 0.0:
                continue
            key = ((a * dy) % sy, (bb * dx) % sx)
            if key not in phases:
                phases[key] = _phase(x, pads, key[0], key[1], sy, sx, rows, wq)
            offset = (((a * dy) // sy) * wq + (bb * dx) // sx) * c
            taps.append((phases[key], offset, w))
    n_total = oh * wq * c
    out = np.zeros(n_total, np.float32)
    for n0 in range(0, n_total, _AXPY_BLOCK):
        nb = min(_AXPY_BLOCK, n_total - n0)
        for src, offset, w in taps:
            saxpy(src, out, n=nb, a=w, offx=n0 + offset, offy=n0)
    return out.reshape(oh, wq, c)[:, :ow]


def _separable_terms(k2: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """``k2`` as a sum of outer products ``col x row`` when that saves work, else None.

    Gaussian elimination with full pivoting (a rank-revealing cross
    decomposition): each term is a column of the residual times a row divided
    by the pivot, so integer kernels such as Sobel split into exact integer
    factors and the result is bit-for-bit what the direct sum gives.
    """
    kh, kw = k2.shape
    if kh == 1 or kw == 1:
        return None
    residual = k2.astype(np.float64)
    scale = float(np.max(np.abs(residual)))
    if scale == 0.0:
        return None
    max_rank = (kh * kw - 1) // (kh + kw)  # beyond this the direct sum is cheaper
    terms: list[tuple[np.ndarray, np.ndarray]] = []
    while float(np.max(np.abs(residual))) > scale * _RANK_TOL:
        if len(terms) >= max_rank:
            return None
        i, j = np.unravel_index(int(np.argmax(np.abs(residual))), residual.shape)
        col = residual[:, j].copy()
        row = residual[i, :] / residual[i, j]
        terms.append((col.astype(np.float32), row.astype(np.float32)))
        residual -= np.outer(col, row)
    return terms or None


def _gemm(x: np.ndarray, k: np.ndarray, geo: ConvGeometry, per_channel: bool) -> np.ndarray | None:
    """The stride-1 matrix-product engine's result, or None when it does not apply."""
    if not _GEMM_ENABLED or geo.stride != (1, 1):
        return None
    return conv_engine.correlate(x, k, geo.padding, geo.dilation, per_channel)


def _correlate_2d_kernel(x: np.ndarray, k2: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """Per-channel correlation of the unpadded ``x``: matrix products at stride 1, else per tap (separable when cheaper)."""
    out = _gemm(x, k2, geo, per_channel=True)
    if out is not None:
        return out
    terms = _separable_terms(k2)
    if terms is None:
        return _correlate(x, k2, geo.stride, geo.dilation, geo.padding)
    (sy, sx), (dy, dx) = geo.stride, geo.dilation
    (t, b), (l, r) = geo.padding
    out = None
    for col, row in terms:
        rows_done = _correlate(x, row[None, :], (1, sx), (1, dx), ((t, b), (l, r)))
        part = _correlate(rows_done, col[:, None], (sy, 1), (dy, 1))
        out = part if out is None else out + part
    return out


def _correlate_full(x: np.ndarray, k4: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """``x`` (H x W x C, padded by ``geo.padding``) correlated with a kh x kw x C x F kernel: H' x W' x F."""
    oh, ow = geo.output_hw
    kh, kw, c, f = k4.shape
    if c * f <= _GEMM_MAX_PAIRS:
        fast = _gemm(x, k4, geo, per_channel=False)
        if fast is not None:
            return fast
    out = np.zeros((oh, ow, f), np.float32)
    if c * f <= 16:
        # few channel/filter pairs (the Playground's case): one per-plane correlation each
        for ci in range(c):
            plane = x[..., ci : ci + 1]
            for fi in range(f):
                if np.any(k4[:, :, ci, fi]):
                    out[..., fi] += _correlate_2d_kernel(plane, k4[:, :, ci, fi], geo)[..., 0]
        return out
    xp = pad_input(x, geo.padding)
    for r0 in range(0, oh, _BLOCK_ROWS):
        r1 = min(oh, r0 + _BLOCK_ROWS)
        o = out[r0:r1]
        for a in range(kh):
            for b in range(kw):
                w = k4[a, b]
                if np.any(w):
                    o += np.tensordot(_tap_slice(xp, a, b, r0, r1, geo.stride, geo.dilation, ow), w, axes=([2], [0]))
    return out


# --- public API -----------------------------------------------------------------------
def conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    stride: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation: int | Sequence[int] = 1,
) -> np.ndarray:
    """2-D cross-correlation as ``tf.nn.conv2d`` computes it, in numpy.

    ``x`` is H x W or H x W x C. ``kernel`` is kh x kw (applied to a 2-D
    ``x``, or to each channel of a 3-D one: a depthwise view) or
    kh x kw x C x F (like ``tf.nn.conv2d``; sums over the C channels).
    ``padding`` is "valid", "same", an int or ``((top, bottom), (left, right))``;
    ``stride`` and ``dilation`` an int or a ``(y, x)`` pair. Returns float32
    H' x W' for a 2-D kernel on a 2-D input, else H' x W' x F (F = C for a
    2-D kernel). Raises :class:`ShapeError` with a readable message when the
    shapes do not fit.
    """
    arr = _as_image(x)
    k = _as_kernel(kernel)
    geo = conv_geometry(arr.shape[:2], k.shape[:2], stride, padding, dilation)
    two_d = arr.ndim == 2
    x3 = arr[..., None] if two_d else arr
    if k.ndim == 4 and k.shape[2] != x3.shape[2]:
        raise ShapeError(
            f"the kernel expects {k.shape[2]} input channel(s) (shape {k.shape}) "
            f"but the input has {x3.shape[2]} (shape {arr.shape})"
        )
    if k.ndim == 2:
        out = _correlate_2d_kernel(x3, k, geo)
        return out[..., 0] if two_d else out
    return _correlate_full(x3, k, geo)


def pool_geometry(
    input_hw: tuple[int, int],
    size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: Padding = "valid",
) -> ConvGeometry:
    """Geometry of a pooling window; ``stride`` defaults to ``size`` as in Keras.

    Padded cells are ignored by the pooling (as TensorFlow's "SAME" pooling
    does), so each side's padding must be smaller than the pool size.
    """
    sz = as_pair(size, "pool size")
    try:
        geo = conv_geometry(input_hw, sz, sz if stride is None else stride, padding, 1)
    except ShapeError as exc:
        raise ShapeError(str(exc).replace("kernel larger than padded input", "pool window larger than its input")) from None
    (t, b), (l, r) = geo.padding
    if max(t, b) >= sz[0] or max(l, r) >= sz[1]:
        raise ShapeError(
            f"pooling padding must be smaller than the pool size on each side: "
            f"pool {sz[0]}x{sz[1]}, padding top/bottom {t}/{b}, left/right {l}/{r}"
        )
    return geo


def pool2d(
    x: np.ndarray,
    size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: Padding = "valid",
    mode: str = "max",
) -> np.ndarray:
    """Max or average pooling as ``tf.nn.max_pool2d`` / ``tf.nn.avg_pool2d`` compute it.

    ``x`` is H x W or H x W x C and the result has the same rank. ``stride``
    defaults to ``size``. Padded cells never win a max and are not counted
    in an average (TensorFlow's "SAME" behaviour, also used for explicit padding).
    """
    if mode not in ("max", "avg"):
        raise ShapeError(f'pooling mode must be "max" or "avg", got "{mode}"')
    arr = _as_image(x)
    geo = pool_geometry(arr.shape[:2], size, stride, padding)
    two_d = arr.ndim == 2
    x3 = arr[..., None] if two_d else arr
    kh, kw = geo.kernel_hw
    oh, ow = geo.output_hw
    padded = geo.padding != ((0, 0), (0, 0))
    if mode == "max":
        xp = pad_input(x3, geo.padding, value=-np.inf)
        out = np.full((oh, ow, x3.shape[2]), -np.inf, np.float32)
        for a in range(kh):
            for b in range(kw):
                np.maximum(out, _tap_slice(xp, a, b, 0, oh, geo.stride, geo.dilation, ow), out=out)
    else:
        xp = pad_input(x3, geo.padding, value=0.0)
        out = np.zeros((oh, ow, x3.shape[2]), np.float32)
        for a in range(kh):
            for b in range(kw):
                out += _tap_slice(xp, a, b, 0, oh, geo.stride, geo.dilation, ow)
        if padded:
            ones = pad_input(np.ones(x3.shape[:2] + (1,), np.float32), geo.padding)
            count = np.zeros((oh, ow, 1), np.float32)
            for a in range(kh):
                for b in range(kw):
                    count += _tap_slice(ones, a, b, 0, oh, geo.stride, geo.dilation, ow)
            out /= count
        else:
            out /= np.float32(kh * kw)
    return out[..., 0] if two_d else out


def global_pool(x: np.ndarray, mode: str = "avg") -> np.ndarray:
    """Global average or max pooling: one number per channel (shape (C,), or () for H x W)."""
    if mode not in ("max", "avg"):
        raise ShapeError(f'global pooling mode must be "max" or "avg", got "{mode}"')
    arr = _as_image(x)
    fn = np.max if mode == "max" else np.mean
    return np.asarray(fn(arr, axis=(0, 1)), dtype=np.float32)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), elementwise, as float32."""
    return np.maximum(np.asarray(x, dtype=np.float32), np.float32(0.0))


# --- sliding-window step-through -------------------------------------------------------
@dataclass(frozen=True)
class WindowStep:
    """One position of the sliding window: where it sits and the multiply-adds it makes."""

    #: Output position (row, col) this window produces.
    out_pos: tuple[int, int]
    #: Padded-input rows and columns under the kernel taps (dilation spreads them).
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    #: Values under the taps: kh x kw, or kh x kw x C when the kernel spans channels.
    inputs: np.ndarray
    #: The matching kernel weights (same shape as ``inputs``).
    weights: np.ndarray
    #: True where a tap lies in the padding (its input is the padding value 0).
    in_padding: np.ndarray
    bias: float
    #: ``sum(inputs * weights) + bias``: the output value at ``out_pos`` (before any ReLU).
    value: float

    @property
    def top_left(self) -> tuple[int, int]:
        """Top-left corner of the window on the padded input."""
        return self.rows[0], self.cols[0]

    @property
    def extent(self) -> tuple[int, int]:
        """Height and width the (dilated) window covers on the padded input."""
        return self.rows[-1] - self.rows[0] + 1, self.cols[-1] - self.cols[0] + 1

    @property
    def products(self) -> np.ndarray:
        """``inputs * weights``, term by term."""
        return self.inputs * self.weights

    def expression(self, max_terms: int = 9, digits: int = 2) -> str:
        """The multiply-add written out, e.g. ``1.00×0.50 + 0.00×(-1.00) + … = 0.35``.

        Zero weights are left out; with more than ``max_terms`` terms the middle
        ones are summarised as ``… (n more) …``.
        """
        w = self.weights.ravel()
        v = self.inputs.ravel()
        idx = [i for i in range(w.size) if w[i] != 0.0]

        def num(z: float) -> str:
            s = f"{z:.{digits}f}"
            if s.startswith("-") and float(s) == 0.0:
                s = s[1:]
            return f"({s})" if s.startswith("-") else s

        parts = [f"{num(float(w[i]))}×{num(float(v[i]))}" for i in idx]
        if len(parts) > max_terms:
            head = max_terms // 2
            tail = max_terms - head
            parts = parts[:head] + [f"… ({len(parts) - max_terms} more) …"] + parts[-tail:]
        text = " + ".join(parts) if parts else "0"
        if self.bias:
            text += f" + {num(self.bias)}"
        return f"{text} = {self.value:.{max(digits, 3)}f}"


def conv_step(
    x: np.ndarray,
    kernel: np.ndarray,
    out_pos: tuple[int, int],
    stride: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation: int | Sequence[int] = 1,
    bias: float = 0.0,
    channel: int = 0,
) -> WindowStep:
    """The window that makes output pixel ``out_pos`` of ``conv2d(x, kernel, ...) + bias``.

    ``channel`` picks the output channel: the input channel for a 2-D kernel
    on an H x W x C input, the filter for a kh x kw x C x F kernel (whose
    window then spans all C input channels).
    """
    arr = _as_image(x)
    k = _as_kernel(kernel)
    geo = conv_geometry(arr.shape[:2], k.shape[:2], stride, padding, dilation)
    i, j = int(out_pos[0]), int(out_pos[1])
    oh, ow = geo.output_hw
    if not (0 <= i < oh and 0 <= j < ow):
        raise ShapeError(f"output position ({i}, {j}) is outside the {oh}x{ow} output")
    x3 = arr[..., None] if arr.ndim == 2 else arr
    kh, kw = k.shape[:2]
    sy, sx = geo.stride
    dy, dx = geo.dilation
    rows = tuple(i * sy + a * dy for a in range(kh))
    cols = tuple(j * sx + b * dx for b in range(kw))
    xp = pad_input(x3, geo.padding)
    mask_in = pad_input(np.ones(x3.shape[:2], np.float32), geo.padding)
    window = xp[np.ix_(rows, cols)]  # kh x kw x C
    inside = mask_in[np.ix_(rows, cols)] > 0
    if k.ndim == 2:
        if not 0 <= channel < x3.shape[2]:
            raise ShapeError(f"channel {channel} does not exist: the input has {x3.shape[2]} channel(s)")
        inputs = window[..., channel]
        weights = k
        in_padding = ~inside
    else:
        if k.shape[2] != x3.shape[2]:
            raise ShapeError(
                f"the kernel expects {k.shape[2]} input channel(s) but the input has {x3.shape[2]}"
            )
        if not 0 <= channel < k.shape[3]:
            raise ShapeError(f"filter {channel} does not exist: the kernel has {k.shape[3]} filter(s)")
        inputs = window
        weights = k[..., channel]
        in_padding = np.repeat((~inside)[..., None], x3.shape[2], axis=2)
        if x3.shape[2] == 1:
            inputs, weights, in_padding = inputs[..., 0], weights[..., 0], in_padding[..., 0]
    value = float(np.sum(inputs.astype(np.float64) * weights.astype(np.float64)) + bias)
    return WindowStep((i, j), rows, cols, inputs.copy(), weights.copy(), in_padding, float(bias), value)


# --- transposed convolution ------------------------------------------------------------
def zero_insert(x: np.ndarray, geo: TransposeGeometry) -> np.ndarray:
    """The grid a transposed convolution slides over: ``x``'s pixels ``stride`` apart, zeros between, padded.

    ``x`` is H x W or H x W x C; the result has the same rank and
    ``geo.grid_hw`` rows and columns.
    """
    arr = np.asarray(x, dtype=np.float32)
    (t, b), (l, r) = geo.grid_padding
    gh, gw = geo.grid_hw
    grid = np.zeros((gh, gw) + arr.shape[2:], np.float32)
    sy, sx = geo.stride
    grid[t : gh - b : sy, l : gw - r : sx] = arr
    return grid


def flip_kernel(kernel: np.ndarray) -> np.ndarray:
    """A transposed convolution's kernel as it slides over the zero-inserted grid.

    Rotated by 180 degrees; a ``tf.nn.conv2d_transpose`` kernel (kh, kw, out, in)
    also swaps to (kh, kw, in, out), the layout of :func:`conv2d`.
    """
    k = np.asarray(kernel, dtype=np.float32)[::-1, ::-1]
    return np.ascontiguousarray(k if k.ndim == 2 else np.swapaxes(k, 2, 3))


def _transpose_inputs(x: object, kernel: object) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validated input (as H x W x C), kernel and whether the input was 2-D."""
    arr = _as_image(x)
    k = _as_kernel(kernel)
    x3 = arr[..., None] if arr.ndim == 2 else arr
    if k.ndim == 4 and k.shape[3] != x3.shape[2]:
        raise ShapeError(
            f"the kernel expects {k.shape[3]} input channel(s) (shape {k.shape}, laid out as "
            f"kh x kw x out x in like tf.nn.conv2d_transpose) but the input has {x3.shape[2]} (shape {arr.shape})"
        )
    return x3, k, arr.ndim == 2


def conv2d_transpose(
    x: np.ndarray,
    kernel: np.ndarray,
    stride: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    method: str = "auto",
) -> np.ndarray:
    """Transposed convolution as ``tf.nn.conv2d_transpose`` computes it, with Keras ``Conv2DTranspose``'s output size.

    ``x`` is H x W or H x W x C. ``kernel`` is kh x kw x F x C (TensorFlow's
    transposed layout: out channels, then in channels), or kh x kw (applied to
    each channel). ``padding`` is "valid" or "same"; ``output_padding`` None, an
    int or a (y, x) pair, each smaller than the stride. ``method``: "zeros"
    inserts ``stride - 1`` zeros between the input pixels, pads the grid and
    convolves it with the rotated kernel (how the Playground shows it); "scatter"
    adds each input pixel times the kernel into the output, ``stride`` apart;
    "auto" is "zeros", which runs on the stride-1 matrix-product engine and
    measured faster for strides 1 to 3 (``benchmarks/playground.py``). Returns float32 H' x W' x F (H' x W' for a 2-D
    kernel on a 2-D input).
    """
    x3, k, two_d = _transpose_inputs(x, kernel)
    geo = conv_transpose_geometry(x3.shape[:2], k.shape[:2], stride, padding, output_padding)
    if method == "auto":
        method = "zeros"
    if method == "zeros":
        out = conv2d(zero_insert(x3, geo), flip_kernel(k), stride=1, padding="valid")
    elif method == "scatter":
        out = _scatter_transpose(x3, k, geo)
    else:
        raise ShapeError(f'method must be "auto", "zeros" or "scatter", got "{method}"')
    return out[..., 0] if two_d and k.ndim == 2 else out


def _scatter_transpose(x3: np.ndarray, k: np.ndarray, geo: TransposeGeometry) -> np.ndarray:
    """Each input pixel times the kernel, added into the output at ``stride`` spacing (the gradient of a convolution)."""
    h, w, c = x3.shape
    kh, kw = k.shape[:2]
    sy, sx = geo.stride
    oh, ow = geo.output_hw
    (t, _), (l, _) = geo.grid_padding
    # input pixel i lands at (i * s + a) - crop, where crop = kernel - 1 - (zeros before)
    cy, cx = kh - 1 - t, kw - 1 - l
    full_h, full_w = max((h - 1) * sy + kh, cy + oh), max((w - 1) * sx + kw, cx + ow)
    f = c if k.ndim == 2 else k.shape[2]
    full = np.zeros((full_h, full_w, f), np.float32)
    span_y, span_x = (h - 1) * sy + 1, (w - 1) * sx + 1
    tmp = np.empty((h, w, f), np.float32)
    for a in range(kh):
        for b in range(kw):
            if k.ndim == 2:
                if k[a, b] == 0.0:
                    continue
                np.multiply(x3, k[a, b], out=tmp)
            else:
                if not np.any(k[a, b]):
                    continue
                np.matmul(x3, k[a, b].T, out=tmp)  # (h, w, c) @ (c, f)
            full[a : a + span_y : sy, b : b + span_x : sx] += tmp
    return np.ascontiguousarray(full[cy : cy + oh, cx : cx + ow])


def transpose_refusal(geo: TransposeGeometry) -> str:
    """Why TensorFlow refuses these settings ('' when it accepts them), in words a student understands."""
    if not geo.tf_refuses:
        return ""
    return (
        "TensorFlow's Conv2DTranspose refuses an even kernel with 'same' padding and output padding 0 "
        "(the output would be one stride short of what 'same' promises); the Playground computes it by the definition."
    )


@dataclass(frozen=True)
class TransposedStep(WindowStep):
    """One window of a transposed convolution, over the zero-inserted, padded grid.

    ``rows``/``cols`` are grid coordinates, ``weights`` the rotated kernel and
    ``in_padding`` marks the border zeros; :attr:`inserted` marks the zeros the
    stride put between pixels and :attr:`sources` lists the input pixels the
    other taps read.
    """

    #: True where a tap lies on a zero inserted between input pixels.
    inserted: np.ndarray = None  # type: ignore[assignment]
    #: (tap row, tap col, input row, input col) for each tap on a real input pixel.
    sources: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def input_pixels(self) -> list[tuple[int, int]]:
        """The input pixels (row, col) this output pixel is made of."""
        return [(i, j) for _, _, i, j in self.sources]

    def expression(self, max_terms: int = 9, digits: int = 2) -> str:
        """The multiply-add over the taps on input pixels (zeros add nothing), e.g. ``0.50×1.00 + … = 0.75``."""
        if self.inputs.ndim == 3:
            return super().expression(max_terms, digits)
        keep = np.zeros(self.weights.shape, bool)
        for a, b, _, _ in self.sources:
            keep[a, b] = True
        only = WindowStep(
            self.out_pos, self.rows, self.cols, self.inputs[keep], self.weights[keep], self.in_padding[keep], self.bias, self.value
        )
        return only.expression(max_terms, digits) if keep.any() else f"no input pixel under the window: {self.value:.3f}"


def conv_transpose_step(
    x: np.ndarray,
    kernel: np.ndarray,
    out_pos: tuple[int, int],
    stride: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    bias: float = 0.0,
    channel: int = 0,
) -> TransposedStep:
    """The window that makes output pixel ``out_pos`` of ``conv2d_transpose(x, kernel, ...) + bias``.

    ``channel`` picks the output channel: the input channel for a 2-D kernel on
    an H x W x C input, the filter (kernel axis 2) for a kh x kw x F x C kernel
    (whose window then spans all C input channels).
    """
    x3, k, _ = _transpose_inputs(x, kernel)
    geo = conv_transpose_geometry(x3.shape[:2], k.shape[:2], stride, padding, output_padding)
    i, j = int(out_pos[0]), int(out_pos[1])
    oh, ow = geo.output_hw
    if not (0 <= i < oh and 0 <= j < ow):
        raise ShapeError(f"output position ({i}, {j}) is outside the {oh}x{ow} output")
    kh, kw = k.shape[:2]
    sy, sx = geo.stride
    (t, _), (l, _) = geo.grid_padding
    h, w = x3.shape[:2]
    rows, cols = tuple(range(i, i + kh)), tuple(range(j, j + kw))
    window = np.zeros((kh, kw, x3.shape[2]), np.float32)  # the grid under the window (zeros but for sources)
    flipped = flip_kernel(k)
    in_padding = np.zeros((kh, kw), bool)
    inserted = np.zeros((kh, kw), bool)
    sources = []
    for a, r in enumerate(rows):
        for b, col in enumerate(cols):
            dy, dx = r - t, col - l
            if not (0 <= dy <= (h - 1) * sy and 0 <= dx <= (w - 1) * sx):
                in_padding[a, b] = True
            elif dy % sy or dx % sx:
                inserted[a, b] = True
            else:
                sources.append((a, b, dy // sy, dx // sx))
                window[a, b] = x3[dy // sy, dx // sx]
    if k.ndim == 2:
        if not 0 <= channel < x3.shape[2]:
            raise ShapeError(f"channel {channel} does not exist: the input has {x3.shape[2]} channel(s)")
        inputs, weights = window[..., channel], flipped
    else:
        if not 0 <= channel < k.shape[2]:
            raise ShapeError(f"filter {channel} does not exist: the kernel has {k.shape[2]} filter(s)")
        inputs, weights = window, flipped[..., channel]
        if x3.shape[2] == 1:
            inputs, weights = inputs[..., 0], weights[..., 0]
        else:
            in_padding = np.repeat(in_padding[..., None], x3.shape[2], axis=2)
            inserted = np.repeat(inserted[..., None], x3.shape[2], axis=2)
    value = float(np.sum(inputs.astype(np.float64) * weights.astype(np.float64)) + bias)
    return TransposedStep(
        (i, j), rows, cols, inputs.copy(), weights.copy(), in_padding, float(bias), value, inserted, tuple(sources)
    )


# --- upsampling ---------------------------------------------------------------------------
def upsample2d(x: np.ndarray, size: int | Sequence[int] = 2, interpolation: str = "nearest") -> np.ndarray:
    """Upsampling as Keras's ``UpSampling2D(size, interpolation=...)`` computes it.

    "nearest" repeats each pixel ``size`` times on each axis; "bilinear" is
    ``tf.image.resize(..., "bilinear")``: half-pixel centres (output pixel
    ``i`` samples the input at ``(i + 0.5) / size - 0.5``, clamped at the
    border) and linear weights between the two nearest input pixels.
    ``x`` is H x W or H x W x C; the result has the same rank.
    """
    arr = _as_image(x)
    sy, sx = as_pair(size, "upsampling size")
    if interpolation not in ("nearest", "bilinear"):
        raise ShapeError(f'interpolation must be "nearest" or "bilinear", got "{interpolation}"')
    x3 = arr[..., None] if arr.ndim == 2 else arr
    h, w, c = x3.shape
    if interpolation == "nearest":
        out = np.empty((h, sy, w, sx, c), np.float32)
        out[...] = x3[:, None, :, None, :]  # one pass over the output
    else:
        rows_done = _bilinear_axis(x3, sx, axis=1)
        out = _bilinear_axis(rows_done, sy, axis=0)
    out = out.reshape(h * sy, w * sx, c)
    return out[..., 0] if arr.ndim == 2 else out


def _bilinear_axis(x3: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``x3`` (H x W x C) stretched ``size`` times along ``axis`` (0 or 1) by TensorFlow's half-pixel bilinear rule.

    Output pixel ``q*size + r`` mixes input pixels ``q + lo_r`` and ``q + lo_r + 1``
    (clamped at the border) with the same weight for every ``q``: one slice
    operation per phase ``r`` instead of a gather per pixel. Computed as
    ``a + (b - a) * w``, as TensorFlow does, on contiguous rows (the columns'
    phases are interleaved by one copy at the end).
    """
    h, w, c = x3.shape
    n = x3.shape[axis]
    # edge-padded by one pixel on each side (input pixel i is at i + 1), as rows of numbers
    edge = np.concatenate([np.take(x3, [0], axis), x3, np.take(x3, [n - 1], axis)], axis=axis)
    if axis == 1:
        edge, unit, rows = edge.reshape(h, (w + 2) * c), c, h  # a pixel is c numbers along a row
        out = np.empty((h, w, size, c), np.float32)
        phase = np.empty((h, w * c), np.float32)
    else:
        edge, unit, rows = edge.reshape(h + 2, w * c), 1, h
        out = np.empty((h, size, w * c), np.float32)
    for r in range(size):
        d = (r + 0.5) / size - 0.5  # where phase r samples, relative to pixel q
        lo = -1 if d < 0 else 0
        weight = np.float32(d - lo)
        if axis == 1:
            a, b = edge[:, (1 + lo) * unit : (1 + lo + w) * unit], edge[:, (2 + lo) * unit : (2 + lo + w) * unit]
            dst = phase
        else:
            a, b = edge[1 + lo : 1 + lo + rows], edge[2 + lo : 2 + lo + rows]
            dst = out[:, r]
        if weight == 0.0:
            dst[...] = a
        else:
            np.subtract(b, a, out=dst)
            dst *= weight
            dst += a
        if axis == 1:
            out[:, :, r] = phase.reshape(h, w, c)
    return out.reshape((h, w * size, c) if axis == 1 else (h * size, w, c))


def bilinear_taps(n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of the ``n * size`` outputs on one axis: the lower and upper input pixel and the upper one's weight.

    The arithmetic is TensorFlow's (float32 ``(i + 0.5) * (n / out) - 0.5``), so
    the weights match ``tf.image.resize`` bit for bit.
    """
    out = n * size
    scale = np.float32(n) / np.float32(out)
    pos = (np.arange(out, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(pos)
    lo = np.maximum(floor, 0).astype(np.intp)
    hi = np.minimum(np.ceil(pos), n - 1).astype(np.intp)
    return lo, hi, (pos - floor).astype(np.float32)


def upsample_sources(
    input_hw: tuple[int, int], size: int | Sequence[int], out_pos: tuple[int, int], interpolation: str = "nearest"
) -> list[tuple[int, int, float]]:
    """The input pixels (row, col, weight) that make output pixel ``out_pos`` of :func:`upsample2d`.

    One pixel with weight 1 for "nearest"; for "bilinear" the (up to) four
    neighbours and their weights, which add up to 1 (pixels counted twice at
    the border are merged).
    """
    sy, sx = as_pair(size, "upsampling size")
    h, w = int(input_hw[0]), int(input_hw[1])
    i, j = int(out_pos[0]), int(out_pos[1])
    if not (0 <= i < h * sy and 0 <= j < w * sx):
        raise ShapeError(f"output position ({i}, {j}) is outside the {h * sy}x{w * sx} output")
    if interpolation == "nearest":
        return [(i // sy, j // sx, 1.0)]
    if interpolation != "bilinear":
        raise ShapeError(f'interpolation must be "nearest" or "bilinear", got "{interpolation}"')
    lo_y, hi_y, wy = (v[i] for v in bilinear_taps(h, sy))
    lo_x, hi_x, wx = (v[j] for v in bilinear_taps(w, sx))
    weights: dict[tuple[int, int], float] = {}
    for r, fy in ((lo_y, 1.0 - float(wy)), (hi_y, float(wy))):
        for c, fx in ((lo_x, 1.0 - float(wx)), (hi_x, float(wx))):
            weights[(int(r), int(c))] = weights.get((int(r), int(c)), 0.0) + fy * fx
    return [(r, c, wgt) for (r, c), wgt in weights.items() if wgt > 0.0]
