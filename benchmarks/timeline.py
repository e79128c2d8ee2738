"""Training throughput with and without the timeline recorder (default settings), as a ratio.

Two identical tiny convnets train on the same shapes data (64x64, 1,024
images, batch 32). After one warm-up epoch each (the train step is traced),
they take turns epoch by epoch (A B, B A, ...): model A trains plain, model B
with a TimelineRecorder of 4 probes (one per class) at its defaults (a
snapshot before training and after every epoch: predictions, Grad-CAM, maps
of two layers, kernels). The ratio of median epoch times resists the noise of
a shared machine; the time spent inside the recorder is also printed as a
share of training time (a direct figure, nearly noise-free). ``--control``
runs both models without the recorder (the noise floor of the ratio).

    python benchmarks/timeline.py [--turns 8] [--n 1024] [--every-n-batches N] [--control]

Target: recording costs at most 10 % of throughput (ratio >= 0.90).
"""

from __future__ import annotations

import os
import sys

# Keep this folder off the import path (a script here must never shadow a standard module) and put the repo on it.
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
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--every-n-batches", type=int, default=None)
    ap.add_argument("--control", action="store_true", help="A/A run: model B trains without the recorder too (noise floor)")
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
    plain_s: list[float] = []
    rec_s: list[float] = []
    epoch = 1

    def one_epoch(model, callbacks, out):
        t = time.perf_counter()
        model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=32, verbose=0, callbacks=callbacks)
        out.append(time.perf_counter() - t)

    record_cbs = [] if args.control else [rec]
    for turn in range(args.turns):  # A B, B A, A B... so neither always runs second
        if turn % 2 == 0:
            one_epoch(plain, [], plain_s)
            one_epoch(recorded, record_cbs, rec_s)
        else:
            one_epoch(recorded, record_cbs, rec_s)
            one_epoch(plain, [], plain_s)
        epoch += 1
    med_plain, med_rec = float(np.median(plain_s)), float(np.median(rec_s))
    print(f"data: shapes {args.size}x{args.size}, {len(x)} images, batch 32, {args.turns} timed epochs per model, "
          f"{len(probes)} probes, every_n_batches={args.every_n_batches}")
    print(f"plain model.fit:        median {med_plain:.3f} s/epoch ({len(x) / med_plain:.0f} samples/s)")
    print(f"{'control (no recorder)' if args.control else 'with TimelineRecorder'}:  median {med_rec:.3f} s/epoch "
          f"({len(x) / med_rec:.0f} samples/s)")
    print(f"throughput ratio, median epochs (with / without): {med_plain / med_rec:.3f}  (target >= 0.90)")
    print(f"throughput ratio, all epochs: {sum(plain_s) / sum(rec_s):.3f} (noisy on a shared machine)")
    if args.control:
        return 0
    if rec.error:
        print("recorder error:", rec.error)
        return 1
    snaps = rec.timeline.snapshots()
    first, rest = snaps[0].record_s, [s.record_s for s in snaps[1:]]
    train_only = sum(rec_s) - rec.record_s
    print(f"time inside the recorder: {rec.record_s:.2f} s of {sum(rec_s):.2f} s = "
          f"{100 * rec.record_s / train_only:.1f} % on top of training "
          f"(without the one-time first snapshot: {100 * (rec.record_s - first) / train_only:.1f} %)")
    print(f"snapshots: {len(snaps)}; first (builds and traces the extractors) {first * 1000:.0f} ms; "
          f"later ones median {np.median(rest) * 1000:.0f} ms")
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **rec.timeline.to_arrays())
    print(f"saved timeline: {buf.tell() / 1024:.0f} kB for {len(snaps)} snapshots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
