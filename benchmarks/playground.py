"""Playground update time: 512x512 RGB image, kernels 3x3 to 11x11, paddings x strides; transposed conv; upsampling.

One "update" is what the Playground computes on every slider move:
conv2d -> + bias -> ReLU -> 2x2 max pooling -> global average. Each row times
it three ways in the same run, round-robin so that the load of a shared
machine falls on all three alike: as the Playground runs it now (stride 1:
the matrix-product engine on two threads), the same on one thread, and the
per-tap engine the Playground used before (``conv._GEMM_ENABLED = False``);
``scipy.ndimage.correlate`` (a C implementation) is the outside reference, and
``tf.nn.conv2d`` with ``--tf`` (TensorFlow is never loaded by the Playground
itself). Then the transposed convolution (zero insertion vs scatter-add) and
UpSampling2D (nearest, bilinear) on the sizes the Playground gives them.
Budget: < 16 ms (one frame at 60 Hz) for every kernel up to 11x11. Times are
medians in ms (best CPU time where shown), with the load average printed.

    python benchmarks/playground.py [--repeat N] [--tf] [--panel] [--quick]
"""

from __future__ import annotations

import os
import sys

# Run as a script, Python puts benchmarks/ first on sys.path, where another
# script's name (inspect.py) would shadow the standard library: drop it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from convexplorer.core import conv as conv_module  # noqa: E402
from convexplorer.core import conv_engine, kernels  # noqa: E402
from convexplorer.core.conv import conv2d, conv2d_transpose, global_pool, pool2d, upsample2d  # noqa: E402

BUDGET_MS = 16.0


def load_average() -> float:
    """The 1-minute load average (nan where the platform has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed_ms(fn, repeat: int) -> tuple[float, float, float]:
    """Best wall, median wall and best CPU time of ``fn()`` in ms after one warm-up call."""
    return timed_round_robin([fn], repeat)[0]


def timed_round_robin(fns, repeat: int) -> list[tuple[float, float, float]]:
    """Best wall, median wall and best CPU time (ms) of each function, run in turn ``repeat`` times.

    Taking turns spreads a shared machine's changing load evenly over the
    variants, so their ratio is fair even when the absolute times are not. The
    CPU time counts all threads of the process.
    """
    for fn in fns:
        fn()
    walls: list[list[float]] = [[] for _ in fns]
    cpus: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpus[i].append((time.process_time() - c0) * 1e3)
            walls[i].append((time.perf_counter() - t0) * 1e3)
    return [(min(w), statistics.median(w), min(c)) for w, c in zip(walls, cpus)]


class engine:
    """Context: the Playground's engines as they were before (``"per-tap"``) or now on one thread (``"1 thread"``)."""

    def __init__(self, which: str) -> None:
        self.which = which

    def __enter__(self) -> None:
        self.saved = conv_module._GEMM_ENABLED, conv_engine.WORKERS
        if self.which == "per-tap":
            conv_module._GEMM_ENABLED = False
        elif self.which == "1 thread":
            conv_engine.WORKERS = 1

    def __exit__(self, *exc: object) -> None:
        conv_module._GEMM_ENABLED, conv_engine.WORKERS = self.saved


def with_engine(which: str, fn):
    """``fn`` run under :class:`engine` ``which``."""

    def run():
        with engine(which):
            return fn()

    return run


def update(x, k, stride, padding):
    """One Playground update (core part)."""
    fmap = np.ascontiguousarray(conv2d(x, k, stride=stride, padding=padding))
    fmap += np.float32(0.1)
    np.maximum(fmap, np.float32(0.0), out=fmap)  # ReLU, in place as the panel does
    pooled = pool2d(fmap, 2, padding="same")
    return global_pool(pooled, "avg")


def conv_table(x, rng, args, tf) -> dict[str, list[tuple[float, float]]]:
    """The convolution rows; returns, per kernel, (before, now) median update times of the stride-1 rows."""
    from scipy import ndimage

    kernels_to_try = {
        "3x3 random (per channel)": rng.standard_normal((3, 3)).astype(np.float32),
        "5x5 random (per channel)": rng.standard_normal((5, 5)).astype(np.float32),
        "5x5 Gaussian (separable)": kernels.gaussian(5, 1.0),
        "5x5x3x1 (sum over channels)": rng.standard_normal((5, 5, 3, 1)).astype(np.float32),
        "7x7 random (per channel)": rng.standard_normal((7, 7)).astype(np.float32),
        "9x9 random (per channel)": rng.standard_normal((9, 9)).astype(np.float32),
        "11x11 random (per channel)": rng.standard_normal((11, 11)).astype(np.float32),
        "11x11 Gabor (per channel)": kernels.gabor(11, 0.2, 0.5, 2.5),
        "11x11x3x1 (sum over channels)": rng.standard_normal((11, 11, 3, 1)).astype(np.float32),
    }
    cases = [("valid", 1), ("same", 1), (((2, 2), (2, 2)), 1), ("valid", 2), ("same", 2)]
    if args.quick:
        cases = [("same", 1), ("valid", 2)]
    print("update = conv2d + bias + ReLU + 2x2 max pool + global average; medians in ms over round-robin runs")
    header = f"{'kernel':30s} {'padding':>7s} {'s':>2s} {'now':>6s} {'1 thread':>8s} {'before':>7s} {'x faster':>8s} {'scipy':>6s}"
    if tf is not None:
        header += f" {'tf.nn':>6s}"
    print(header)
    summary: dict[str, list[tuple[float, float]]] = {}
    for name, k in kernels_to_try.items():
        k2 = k if k.ndim == 2 else k[:, :, 0, 0]
        for padding, stride in cases:
            run = lambda: update(x, k, stride, padding)  # noqa: E731
            now, one, before = timed_round_robin([run, with_engine("1 thread", run), with_engine("per-tap", run)], args.repeat)
            weights = k2[:, :, None] if k.ndim == 2 else k[:, :, :, 0]
            scipy_t = timed_ms(lambda: ndimage.correlate(x, weights, mode="constant")[::stride, ::stride], max(3, args.repeat // 3))
            pad_name = padding if isinstance(padding, str) else "2 each"
            line = (
                f"{name:30s} {pad_name:>7s} {stride:>2d} {now[1]:6.1f} {one[1]:8.1f} {before[1]:7.1f} "
                f"{before[1] / now[1]:8.1f} {scipy_t[1]:6.1f}"
            )
            if tf is not None:
                k4 = k2[:, :, None, None] if k.ndim == 2 else k
                xin = x[None] if k.ndim == 4 else np.transpose(x, (2, 0, 1))[..., None]
                pad_tf = padding.upper() if isinstance(padding, str) else [[0, 0], [2, 2], [2, 2], [0, 0]]
                line += f" {timed_ms(lambda: tf.nn.conv2d(xin, k4, stride, pad_tf).numpy(), args.repeat)[1]:6.1f}"
            print(line, flush=True)
            if stride == 1:
                summary.setdefault(name, []).append((before[1], now[1]))
    return summary


def transpose_table(rng, args, tf) -> None:
    """Transposed convolution on the sizes the Playground gives it (the output stays about 512 px)."""
    print()
    print("transposed convolution, 'same' padding, kernel on each of 3 channels; + global average; medians in ms")
    header = f"{'input':>11s} {'kernel':>7s} {'s':>2s} {'output':>11s} {'zeros (auto)':>12s} {'scatter':>8s}"
    if tf is not None:
        header += f" {'tf.nn':>6s}"
    print(header)
    for side, stride in ((512, 1), (256, 2), (171, 3)):
        x = rng.random((side, side, 3), dtype=np.float32)
        for size in (3, 5, 11):
            k = rng.standard_normal((size, size)).astype(np.float32)
            runs = [
                lambda m=m: global_pool(conv2d_transpose(x, k, stride, "same", method=m), "avg") for m in ("zeros", "scatter")
            ]
            zeros_t, scatter_t = timed_round_robin(runs, args.repeat)
            out = conv2d_transpose(x, k, stride, "same").shape
            line = (
                f"{f'{side}x{side}x3':>11s} {f'{size}x{size}':>7s} {stride:>2d} {f'{out[0]}x{out[1]}x3':>11s} "
                f"{zeros_t[1]:12.1f} {scatter_t[1]:8.1f}"
            )
            if tf is not None:
                planes = np.transpose(x, (2, 0, 1))[..., None]
                shape = [3, out[0], out[1], 1]
                line += f" {timed_ms(lambda: tf.nn.conv2d_transpose(planes, k[:, :, None, None], shape, stride, 'SAME').numpy(), args.repeat)[1]:6.1f}"
            print(line, flush=True)


def upsample_table(rng, args, tf) -> None:
    """UpSampling2D, nearest and bilinear."""
    print()
    print("UpSampling2D; medians in ms")
    header = f"{'input':>11s} {'size':>4s} {'nearest':>8s} {'bilinear':>8s}"
    if tf is not None:
        header += f" {'tf bilinear':>11s}"
    print(header)
    for side, size in ((256, 2), (128, 4), (512, 2)):
        x = rng.random((side, side, 3), dtype=np.float32)
        near, bil = timed_round_robin([lambda: upsample2d(x, size, "nearest"), lambda: upsample2d(x, size, "bilinear")], args.repeat)
        line = f"{f'{side}x{side}x3':>11s} {size:>4d} {near[1]:8.1f} {bil[1]:8.1f}"
        if tf is not None:
            line += f" {timed_ms(lambda: tf.image.resize(x[None], (side * size, side * size)).numpy(), args.repeat)[1]:11.1f}"
        print(line, flush=True)


def main() -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--tf", action="store_true", help="also time TensorFlow's ops (imports TensorFlow)")
    ap.add_argument("--panel", action="store_true", help="also time full panel updates with drawing (offscreen Qt)")
    ap.add_argument("--quick", action="store_true", help="two padding/stride cases per kernel instead of five")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((512, 512, 3), dtype=np.float32)
    tf = None
    if args.tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf  # noqa: F811

    load = load_average()
    print(
        f"512x512x3 float32 input, {args.repeat} runs each, {os.cpu_count()} CPUs, "
        f"{conv_engine.WORKERS} engine threads, load average {load:.1f}"
    )
    summary = conv_table(x, rng, args, tf)
    print()
    print(f"worst stride-1 update per kernel (median ms; budget {BUDGET_MS:.0f}):")
    worst_now = 0.0
    for name, rows in summary.items():
        before, now = max(r[0] for r in rows), max(r[1] for r in rows)
        worst_now = max(worst_now, now)
        print(f"  {name:30s} before {before:6.1f}   now {now:6.1f}   {'within' if now < BUDGET_MS else 'OVER'}")
    print(
        f"worst stride-1 update: {worst_now:.1f} ms median ({'within' if worst_now < BUDGET_MS else 'OVER'} "
        f"the {BUDGET_MS:.0f} ms budget); load average {load:.1f} at the start, {load_average():.1f} now"
    )
    transpose_table(rng, args, tf)
    upsample_table(rng, args, tf)
    if args.panel:
        panel_times(x, rng, args)
    print(f"load average at the end: {load_average():.1f}")
    return 0


def panel_times(x, rng, args) -> None:
    """Full panel updates with drawing, offscreen: convolution, transposed convolution, upsampling."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from convexplorer.ui.panels.playground import PlaygroundPanel
    from convexplorer.ui.state import AppState

    app = QApplication.instance() or QApplication([])
    panel = PlaygroundPanel(AppState())
    panel.resize(1280, 800)
    panel.show()
    panel.set_image(x, "random 512x512")
    app.processEvents()
    print()
    for size in (5, 11):
        panel.set_kernel(rng.standard_normal((size, size)).astype(np.float32))
        app.processEvents()
        for op in getattr(panel, "OPERATIONS", ("conv",)):
            if hasattr(panel, "set_operation"):
                panel.set_operation(op)
            app.processEvents()
            t = timed_ms(lambda: (panel.recompute(), app.processEvents()), args.repeat)
            print(f"full panel update with drawing ({op}, {size}x{size}, 512x512 RGB, offscreen): median {t[1]:.1f} ms, best {t[0]:.1f} ms")
    panel.shutdown()
    panel.close()
    panel.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    raise SystemExit(main())
