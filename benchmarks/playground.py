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

from convexplorer.core import kernels  # noqa: E402
from convexplorer.core.conv import conv2d, global_pool, pool2d  # noqa: E402

BUDGET_MS = 16.0


def timed_ms(fn, repeat: int) -> tuple[float, float, float]:
    """Best wall, median wall and best CPU time of ``fn()`` in ms after one warm-up call.

    On a shared 2-core machine the wall times carry other people's load; the
    process CPU time of a single-threaded call is the closest to the time on an
    idle machine.
    """
    fn()
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1e3)
        times.append((time.perf_counter() - t0) * 1e3)
    return min(times), statistics.median(times), min(cpu)


def update(x, k, stride, padding):
    """One Playground update (core part)."""
    fmap = np.ascontiguousarray(conv2d(x, k, stride=stride, padding=padding))
    fmap += np.float32(0.1)
    np.maximum(fmap, np.float32(0.0), out=fmap)  # ReLU, in place as the panel does
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
    print(f"times in ms: best wall / median wall / best CPU; budget {BUDGET_MS:.0f} ms per update for 5x5 kernels")
    header = f"{'kernel':30s} {'padding':>7s} {'s':>2s} {'update':>20s} {'conv':>20s} {'scipy.ndimage':>20s} {'x faster':>8s}"
    if tf is not None:
        header += f" {'tf.nn':>13s}"
    print(header)
    worst_5x5 = worst_5x5_cpu = 0.0
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
                return f"{t[0]:6.1f}/{t[1]:6.1f}/{t[2]:6.1f}"

            line = f"{name:30s} {pad_name:>7s} {stride:>2d} {fmt(t_update)} {fmt(t_conv)} {fmt(t_scipy)} {t_scipy[2] / t_conv[2]:8.1f}"
            if tf is not None:
                k4 = k2[:, :, None, None] if k.ndim == 2 else k
                xin = x[None] if k.ndim == 4 else np.transpose(x, (2, 0, 1))[..., None]
                pad_tf = padding.upper() if isinstance(padding, str) else [[0, 0], [2, 2], [2, 2], [0, 0]]
                t_tf = timed_ms(lambda: tf.nn.conv2d(xin, k4, stride, pad_tf).numpy(), args.repeat)
                line += f" {fmt(t_tf)}"
            print(line, flush=True)
            if name.startswith("5x5"):
                worst_5x5 = max(worst_5x5, t_update[0])
                worst_5x5_cpu = max(worst_5x5_cpu, t_update[2])
    verdict = "within" if worst_5x5_cpu < BUDGET_MS else "OVER"
    print(
        f"worst 5x5 update: {worst_5x5_cpu:.2f} ms CPU ({verdict} the {BUDGET_MS:.0f} ms budget), "
        f"{worst_5x5:.2f} ms best wall at load {load:.1f}"
    )

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
        print(f"full panel update with drawing (5x5, 512x512 RGB, offscreen): best wall {t[0]:.1f} ms, median {t[1]:.1f} ms, CPU {t[2]:.1f} ms")
        panel.shutdown()
        panel.close()
        panel.deleteLater()
        app.processEvents()
        del panel
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
