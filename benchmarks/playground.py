"""Playground update time: 512x512 RGB image, 5x5 and 11x11 kernels, paddings x strides.

One "update" is what the Playground computes on every slider move:
conv2d -> + bias -> ReLU -> 2x2 max pooling -> global average. Printed in
milliseconds, next to the same convolution done by
``scipy.ndimage.correlate`` (a C implementation) measured in the same run,
and optionally ``tf.nn.conv2d`` (``--tf``; TensorFlow is never loaded by the
Playground itself). Budget: < 16 ms (one frame at 60 Hz) for 5x5. Times are
best-of-N and median in ms, with the load average printed: on a shared
machine the best run is the fair figure.

    python benchmarks/playground.py [--repeat N] [--tf] [--panel]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from convexplorer.core import kernels  # noqa: E402
from convexplorer.core.conv import conv2d, global_pool, pool2d, relu  # noqa: E402

BUDGET_MS = 16.0


def timed_ms(fn, repeat: int) -> tuple[float, float]:
    """Best and median wall time of ``fn()`` in ms after one warm-up call.

    On a shared 2-core machine the median carries other people's load; the
    best run is the closest to the time on an idle machine.
    """
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return min(times), statistics.median(times)


def update(x, k, stride, padding):
    """One Playground update (core part)."""
    fmap = relu(conv2d(x, k, stride=stride, padding=padding) + 0.1)
    pooled = pool2d(fmap, 2, padding="same")
    return global_pool(pooled, "avg")


def main() -> int:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--tf", action="store_true", help="also time tf.nn.conv2d (imports TensorFlow)")
    ap.add_argument("--panel", action="store_true", help="also time a full panel update with drawing (offscreen Qt)")
    args = ap.parse_args()

    from scipy import ndimage

    rng = np.random.default_rng(0)
    x = rng.random((512, 512, 3), dtype=np.float32)
    tf = None
    if args.tf:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf  # noqa: F811

    kernels_to_try = {
        "5x5 random (per channel)": rng.standard_normal((5, 5)).astype(np.float32),
        "5x5 Gaussian (separable)": kernels.gaussian(5, 1.0),
        "5x5x3x1 (sum over channels)": rng.standard_normal((5, 5, 3, 1)).astype(np.float32),
        "11x11 random (per channel)": rng.standard_normal((11, 11)).astype(np.float32),
        "11x11 Gabor (per channel)": kernels.gabor(11, 0.2, 0.5, 2.5),
        "11x11x3x1 (sum over channels)": rng.standard_normal((11, 11, 3, 1)).astype(np.float32),
    }
    cases = [("valid", 1), ("same", 1), (((2, 2), (2, 2)), 1), ("valid", 2), ("same", 2)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"512x512x3 float32 input, {args.repeat} runs each, {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"times in ms as best/median; budget {BUDGET_MS:.0f} ms per update for 5x5 kernels")
    header = f"{'kernel':30s} {'padding':>7s} {'s':>2s} {'update':>13s} {'conv':>13s} {'scipy.ndimage':>14s} {'x faster':>8s}"
    if tf is not None:
        header += f" {'tf.nn':>13s}"
    print(header)
    worst_5x5 = 0.0
    for name, k in kernels_to_try.items():
        k2 = k if k.ndim == 2 else k[:, :, 0, 0]
        for padding, stride in cases:
            t_update = timed_ms(lambda: update(x, k, stride, padding), args.repeat)
            t_conv = timed_ms(lambda: conv2d(x, k, stride=stride, padding=padding), args.repeat)
            # scipy reference: full-size correlation per channel, then subsample (its natural use)
            weights = k2[:, :, None] if k.ndim == 2 else k[:, :, :, 0]
            t_scipy = timed_ms(lambda: ndimage.correlate(x, weights, mode="constant")[::stride, ::stride], max(3, args.repeat // 2))
            pad_name = padding if isinstance(padding, str) else "2 each"

            def fmt(t):
                return f"{t[0]:6.1f}/{t[1]:6.1f}"

            line = f"{name:30s} {pad_name:>7s} {stride:>2d} {fmt(t_update)} {fmt(t_conv)} {fmt(t_scipy):>14s} {t_scipy[0] / t_conv[0]:8.1f}"
            if tf is not None:
                k4 = k2[:, :, None, None] if k.ndim == 2 else k
                xin = x[None] if k.ndim == 4 else np.transpose(x, (2, 0, 1))[..., None]
                pad_tf = padding.upper() if isinstance(padding, str) else [[0, 0], [2, 2], [2, 2], [0, 0]]
                t_tf = timed_ms(lambda: tf.nn.conv2d(xin, k4, stride, pad_tf).numpy(), args.repeat)
                line += f" {fmt(t_tf)}"
            print(line, flush=True)
            if name.startswith("5x5"):
                worst_5x5 = max(worst_5x5, t_update[0])
    verdict = "within" if worst_5x5 < BUDGET_MS else "OVER"
    print(f"worst 5x5 update (best run): {worst_5x5:.2f} ms ({verdict} the {BUDGET_MS:.0f} ms budget)")

    if args.panel:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtWidgets import QApplication

        from convexplorer.ui.panels.playground import PlaygroundPanel
        from convexplorer.ui.state import AppState

        app = QApplication.instance() or QApplication([])
        panel = PlaygroundPanel(AppState())
        panel.resize(1280, 800)
        panel.show()
        panel.set_image(x, "random 512x512")
        panel.set_kernel(rng.standard_normal((5, 5)).astype(np.float32))
        app.processEvents()
        t = timed_ms(lambda: (panel.recompute(), app.processEvents()), args.repeat)
        print(f"full panel update with drawing (5x5, 512x512 RGB, offscreen): best {t[0]:.1f} ms, median {t[1]:.1f} ms")
        panel.shutdown()
        panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
