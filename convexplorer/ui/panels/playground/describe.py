"""The Playground's words: shapes and formulas, global pooling numbers, one step's multiply-add (no Qt)."""

from __future__ import annotations

import numpy as np

from convexplorer.core.arithmetic import ConvGeometry
from convexplorer.core.conv import WindowStep, global_pool

from .compute import PoolSettings


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
