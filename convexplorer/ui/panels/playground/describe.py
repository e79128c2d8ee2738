"""The Playground's words: shapes and formulas, global pooling numbers, one step's multiply-add (no Qt).

Also for the transposed convolution (its size formula with the numbers, the
zero-inserted grid, one window) and upsampling.
"""

from __future__ import annotations

import numpy as np

from convexplorer.core.arithmetic import ConvGeometry
from convexplorer.core.conv import TransposedStep, WindowStep, global_pool

from .compute import PoolSettings
from .operations import TransposedResult, UpsampleResult


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _stage(head: str, geo: ConvGeometry, output: str, channels: int) -> list[str]:
    """One stage (convolution or pooling): its settings, the size formula of each axis, its output shape."""
    return [
        head,
        "&nbsp;height: " + _esc(geo.formula(0)),
        "&nbsp;width:&nbsp; " + _esc(geo.formula(1)),
        f"<b>{output}</b> {geo.output_hw[0]}×{geo.output_hw[1]}×{channels}",
    ]


def shapes_html(
    x: np.ndarray, mode: str, geo: ConvGeometry | None, pgeo: ConvGeometry | None, pool: PoolSettings | None
) -> str:
    """Input, kernel, feature-map and pooled-map shapes with the output-size formula of each axis."""
    c = x.shape[2] if x.ndim == 3 else 1
    lines = [f"<b>Input</b> {x.shape[0]}×{x.shape[1]}×{c}"]
    if geo is None:
        return "<br>".join(lines)
    (t, b), (l, r) = geo.padding
    kh, kw = geo.kernel_hw
    f = 1 if mode in ("gray", "conv2d") else c
    kshape = f"{kh}×{kw}×{c}×1" if mode == "conv2d" else f"{kh}×{kw}" + (" on each channel" if f > 1 else "")
    conv = (
        f"<b>Conv</b> kernel {kshape}, stride {geo.stride[0]}×{geo.stride[1]}, dilation {geo.dilation[0]}×{geo.dilation[1]}, "
        f"padding top {t}, bottom {b}, left {l}, right {r}"
    )
    lines += _stage(conv, geo, "Feature map", f)
    if pgeo is not None and pool is not None:
        head = (
            f"<b>Pool</b> {'max' if pool.mode == 'max' else 'average'} {pgeo.kernel_hw[0]}×{pgeo.kernel_hw[1]}, "
            f"stride {pgeo.stride[0]}×{pgeo.stride[1]}, {pool.padding}"
        )
        lines += _stage(head, pgeo, "Pooled map", f)
    return "<br>".join(lines)


def global_pool_text(fmap: np.ndarray) -> str:
    """Global average and max pooling of the feature map, one number a channel."""
    g_avg, g_max = global_pool(fmap, "avg"), global_pool(fmap, "max")
    scale = max(1e-30, float(np.max(np.abs(fmap))))

    def num(v: float) -> str:
        return "0" if abs(v) < 1e-6 * scale else f"{v:.4g}"  # float32 round-off is not a value

    return (
        "Global average pooling: " + ", ".join(num(v) for v in np.atleast_1d(g_avg))
        + "   ·   global max pooling: " + ", ".join(num(v) for v in np.atleast_1d(g_max))
        + "   (of the feature map)"
    )


def step_html(st: WindowStep, out_hw: tuple[int, int], relu: bool, cells: list[tuple[int, int]]) -> str:
    """Where the window of one step lies, its multiply-add, and the pooled cells its output feeds."""
    i, j = st.out_pos
    oh, ow = out_hw
    text = (
        f"<b>Output ({i}, {j})</b> of {oh}×{ow}: window rows {st.rows[0]}–{st.rows[-1]}, "
        f"columns {st.cols[0]}–{st.cols[-1]} of the padded input"
    )
    if st.inputs.ndim == 3:
        text += f" (all {st.inputs.shape[2]} channels)"
    text += "<br>" + st.expression(max_terms=9)
    if relu:
        text += f" → ReLU → {max(st.value, 0.0):.3f}"
    if np.any(st.in_padding):
        text += f"<br><i>{int(np.sum(st.in_padding))} of the taps fall on padding zeros.</i>"
    if cells:
        shown = ", ".join(f"({pi}, {pj})" for pi, pj in cells)
        text += f"<br>Then pooled into cell{'s' if len(cells) > 1 else ''} {shown} of the pooled map (dashed)."
    return text


# --- transposed convolution and upsampling ------------------------------------------------------
def _shape(a: np.ndarray) -> str:
    return "×".join(str(n) for n in a.shape)


def between(stride: tuple[int, int]) -> str:
    """How many zeros the stride puts between neighbouring pixels, in words."""
    sy, sx = stride
    if sy == sx:
        return f"{sy - 1} zero{'' if sy == 2 else 's'} between pixels"
    return f"{sy - 1} zero row{'' if sy == 2 else 's'} and {sx - 1} zero column{'' if sx == 2 else 's'} between pixels"


def transposed_html(r: TransposedResult, mode: str) -> str:
    """Input, settings, the size formula with its numbers for each axis, the zero-inserted grid and the output."""
    c = r.x.shape[2]
    lines = [f"<b>Input</b> {_shape(r.x)}"]
    geo = r.geo
    if geo is None:
        return "<br>".join(lines)
    kh, kw = geo.kernel_hw
    kshape = f"{kh}×{kw}×1×{c} (one filter summing the channels)" if mode == "conv2d" else f"{kh}×{kw}" + (" on each channel" if c > 1 else "")
    op = "Keras default" if geo.output_padding is None else f"{geo.output_padding[0]}×{geo.output_padding[1]}"
    lines.append(
        f"<b>Transposed conv</b> kernel {kshape}, stride {geo.stride[0]}×{geo.stride[1]}, padding {geo.padding}, output padding {op}"
    )
    lines.append("&nbsp;out = (in − 1)·stride − 2·pad + kernel + output_padding")
    lines.append("&nbsp;height: " + _esc(geo.formula(0)))
    lines.append("&nbsp;width:&nbsp; " + _esc(geo.formula(1)))
    (t, b), (l, rr) = geo.grid_padding
    gh, gw = geo.grid_hw
    lines.append(f"&nbsp;grid: {between(geo.stride)}; around: top {t}, bottom {b}, left {l}, right {rr}")
    lines.append(f"&nbsp;→ {gh}×{gw}, where a {kh}×{kw} window fits {gh - kh + 1}×{gw - kw + 1} times")
    lines.append(f"<b>Output</b> {_shape(r.out)}")
    return "<br>".join(lines)


def transposed_step_html(st: TransposedStep, out_hw: tuple[int, int]) -> str:
    """Where the window of one output pixel lies on the grid, what its taps read, and its multiply-add."""
    i, j = st.out_pos
    taps = st.inserted.shape[0] * st.inserted.shape[1]
    inserted = int(np.sum(st.inserted if st.inserted.ndim == 2 else st.inserted[..., 0]))
    padding = int(np.sum(st.in_padding if st.in_padding.ndim == 2 else st.in_padding[..., 0]))
    pixels = ", ".join(f"({a}, {b})" for a, b in st.input_pixels[:6]) + (" …" if len(st.sources) > 6 else "")
    text = (
        f"<b>Output ({i}, {j})</b> of {out_hw[0]}×{out_hw[1]}: window rows {st.rows[0]}–{st.rows[-1]}, "
        f"columns {st.cols[0]}–{st.cols[-1]} of the zero-inserted grid"
    )
    if st.inputs.ndim == 3:
        text += f" (all {st.inputs.shape[2]} channels)"
    text += "<br>" + st.expression(max_terms=9)
    text += (
        f"<br><i>{len(st.sources)} of the {taps} taps on input pixels {pixels or ''}; "
        f"{inserted} on inserted zeros, {padding} on padding.</i>"
    )
    return text


def upsample_html(r: UpsampleResult) -> str:
    """Input, factor, the size formula of each axis and the output."""
    (sy, sx), (h, w) = r.settings.size, r.x.shape[:2]
    return "<br>".join(
        [
            f"<b>Input</b> {_shape(r.x)}",
            f"<b>Upsampling</b> size {sy}×{sx}: out = in · size",
            f"&nbsp;height: out = {h}·{sy} = {h * sy}",
            f"&nbsp;width:&nbsp; out = {w}·{sx} = {w * sx}",
            f"<b>Output</b> {_shape(r.nearest)}, nearest (left) and bilinear (right)",
        ]
    )


def upsample_step_html(out_pos: tuple[int, int], interpolation: str, sources: list[tuple[int, int, float]], x: np.ndarray, value: np.ndarray) -> str:
    """Which input pixels make one upsampled pixel, with their weights."""
    i, j = out_pos
    plane = x[..., 0] if x.shape[2] == 1 else None
    terms = []
    for r, c, wgt in sources:
        v = f"{float(plane[r, c]):.2f}" if plane is not None else f"pixel ({r}, {c})"
        terms.append(f"{wgt:.4g}×{v}" if interpolation == "bilinear" else v)
    shown = f"{float(value.ravel()[0]):.3f}" if value.size == 1 else ", ".join(f"{float(v):.3f}" for v in value.ravel())
    where = ", ".join(f"({r}, {c})" for r, c, _ in sources)
    return (
        f"<b>Output ({i}, {j})</b>, {interpolation}: from input pixel{'s' if len(sources) > 1 else ''} {where}"
        f"<br>{' + '.join(terms)} = {shown}"
    )
