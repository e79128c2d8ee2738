"""Training throughput with and without the timeline recorder (default settings), as a ratio.

Two identical tiny convnets train on the same shapes data (64x64, 1,024
images, batch 32). After one warm-up epoch each (the train step is traced),
they take turns: model A trains plain, model B with a TimelineRecorder of 4
probes (one per class) at its defaults (a snapshot before training and after
every epoch: predictions, Grad-CAM, maps of two layers, kernels). Taking turns
spreads the noise of a shared machine over both. The recorder's first
snapshot (which builds and traces its extractors) is included in B's time.

    python benchmarks/timeline.py [--epochs-per-turn 2] [--turns 3] [--n 1024]

Target: recording costs at most 10 % of throughput (ratio >= 0.90).
"""

from __future__ import annotations

import os
import sys

# benchmarks/inspect.py would shadow the standard library's inspect module: drop this folder from the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def main() -> int:
    """Run the comparison and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs-per-turn", type=int, default=2)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--every-n-batches", type=int, default=None)
    args = ap.parse_args()

    from convexplorer.core import timeline as T
    from convexplorer.core.datasets.shapes import ShapesDataset
    from convexplorer.core.training import tiny_convnet

    ds = ShapesDataset(n=args.n, size=args.size, seed=0)
    x = ds.materialize().astype(np.float32) / 255.0
    y = ds.labels()
    probes = T.pick_probes(y, per_class=1)
    shape = (args.size, args.size, 3)
    plain = tiny_convnet(shape, len(ds.class_names), seed=0)
    recorded = tiny_convnet(shape, len(ds.class_names), seed=0)
    for m in (plain, recorded):  # trace the train step outside the timings
        m.fit(x, y, epochs=1, batch_size=32, verbose=0)
    rec = T.TimelineRecorder(x[probes], probe_labels=y[probes], class_names=ds.class_names,
                             every_n_batches=args.every_n_batches)
    t_plain = t_rec = 0.0
    epochs_done = 1
    for _turn in range(args.turns):
        e0, e1 = epochs_done, epochs_done + args.epochs_per_turn
        t = time.perf_counter()
        plain.fit(x, y, epochs=e1, initial_epoch=e0, batch_size=32, verbose=0)
        t_plain += time.perf_counter() - t
        t = time.perf_counter()
        recorded.fit(x, y, epochs=e1, initial_epoch=e0, batch_size=32, verbose=0, callbacks=[rec])
        t_rec += time.perf_counter() - t
        epochs_done = e1
    if rec.error:
        print("recorder error:", rec.error)
        return 1
    epochs = args.turns * args.epochs_per_turn
    samples = epochs * len(x)
    snaps = rec.timeline.snapshots()
    first, rest = snaps[0].record_s, [s.record_s for s in snaps[1:]]
    print(f"data: shapes {args.size}x{args.size}, {len(x)} images, batch 32, {epochs} timed epochs per model, 4 probes")
    print(f"plain model.fit:        {samples / t_plain:8.0f} samples/s ({t_plain / epochs:.2f} s/epoch)")
    print(f"with TimelineRecorder:  {samples / t_rec:8.0f} samples/s ({t_rec / epochs:.2f} s/epoch)")
    print(f"throughput ratio (with / without): {t_plain / t_rec:.3f}  (target >= 0.90)")
    print(f"snapshots: {len(snaps)}; first (builds the extractors) {first * 1000:.0f} ms; "
          f"later ones median {np.median(rest) * 1000:.0f} ms")
    steady = (t_rec - first) / epochs
    print(f"steady-state ratio (first snapshot excluded): {t_plain / epochs / steady:.3f}")
    size = len(rec.timeline.to_arrays())
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **rec.timeline.to_arrays())
    print(f"saved timeline: {buf.tell() / 1024:.0f} kB for {len(snaps)} snapshots ({size} arrays)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
