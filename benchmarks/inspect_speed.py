"""Inspect timings: feature maps, Grad-CAM, predictions and batched filter patterns.

After warm-up, best-of-N and median in ms (the load average is printed: on a
shared machine the best run is the fair figure):

* MNIST preset (28x28x1): feature maps of all layers (budget < 10 ms), Grad-CAM
  (budget < 30 ms), and one prediction through ``core.inspect.predict`` vs
  ``model.predict`` vs a direct ``model(x)`` call, measured in the same run.
* VGG16 at 224x224 (weights=None, with the classifier): Grad-CAM (budget < 1 s).
* Filter patterns of 16 filters: batched (one gradient-ascent pass for all 16)
  vs one filter at a time, printed as a ratio, for the MNIST preset's last conv
  (40 steps) and VGG16's block3_conv1 (``--steps``, ``--size``).
* Dataset examples (``core.examples``): one pass over ``--examples-n`` Shapes images
  drawn at 28x28 and delivered grayscale, through the MNIST preset, for its first
  and last conv layer (every filter's top 9 at once); the same images as an array
  (the model and the top-k alone); and another filter of the same layer from the cache.
* Attribution methods (``core.inspect.attribution``) with their defaults on both
  models: saliency, SmoothGrad (25 samples), Integrated Gradients (32 steps),
  Grad-CAM, Grad-CAM++, Score-CAM, occlusion; the batch size each loop used, and
  the IG completeness gap. On VGG16 each looping method runs once after a small
  warm-up (same batch shape), Score-CAM on the 64 most varying of 512 channels
  (``--scorecam-channels``), with the time per unit to extrapolate.
* Feature visualization (``core.featvis``), one batch of 8 filters: the "distill"
  preset (Fourier + decorrelated colour + jitter/scale/rotation, Adam) vs the
  "none" preset (the plain ascent of ``filter_patterns``), time per step and for
  each preset's own number of steps, on the MNIST preset's last conv (28x28) and
  VGG16's block3_conv1 at 128x128 (``--featvis-steps``; ``--only-featvis`` skips
  the rest).

    python benchmarks/inspect_speed.py [--repeat N] [--steps S] [--no-vgg] [--no-attr] [--scorecam-channels K]
        [--featvis-steps S] [--only-featvis] [--examples-n N]
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's ``inspect``: keep its folder off the
# import path, or ``import inspect`` (numpy, dataclasses) would find this script.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convexplorer.core import inspect as ins  # noqa: E402


def timeit(fn, repeat: int) -> tuple[float, float]:
    """Best and median wall time of ``fn()`` in ms, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), statistics.median(times)


def row(name: str, best: float, median: float, budget: float | None = None) -> None:
    """Print one line of figures."""
    verdict = "" if budget is None else ("  OK" if best < budget else "  OVER BUDGET")
    limit = "" if budget is None else f"  (budget < {budget:g} ms)"
    print(f"{name:<52} best {best:8.2f} ms  median {median:8.2f} ms{limit}{verdict}")


def featvis_figures(model, layer: str, size: int | None, steps: int, label: str) -> None:
    """Print the time per step of one batch of 8 filters: regularized ("distill") vs plain ("none") ascent.

    Per step = (time of ``steps`` steps - time of 1 step) / (steps - 1), so the fixed cost of a
    call (start image, final evaluation, look-ups) is printed apart; both after a traced warm-up.
    """
    from convexplorer.core import featvis as fv

    objectives = fv.Objective.filters(layer, 8)
    per_step = {}

    def run(name: str, n: int) -> float:
        t = time.perf_counter()
        fv.feature_visualization(model, objectives, fv.FeatureVisSettings.preset(name, steps=n, size=size), batch_size=8)
        return time.perf_counter() - t

    for name in ("none", "distill"):
        run(name, 1)  # warm-up: trace the step
        one = min(run(name, 1) for _ in range(3))
        many = run(name, steps)
        per_step[name] = sec = max(0.0, (many - one) / max(1, steps - 1))
        own = fv.PRESETS[name].steps
        print(
            f"{label} {layer}, featvis {name:<7} 8 filters: {sec * 1000:8.1f} ms/step, fixed {(one - sec) * 1000:6.1f} ms"
            f"  -> the preset's {own} steps: {one - sec + sec * own:6.2f} s"
        )
    print(f"  -> a distill step costs {per_step['distill'] / per_step['none']:.2f} plain steps")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--steps", type=int, default=5, help="gradient-ascent steps for the filter patterns")
    ap.add_argument("--size", type=int, default=96, help="filter pattern size in pixels")
    ap.add_argument("--no-vgg", action="store_true", help="skip the VGG16 figures")
    ap.add_argument("--examples-n", type=int, default=10_000, help="Shapes images for the dataset examples (0: skip)")
    ap.add_argument("--no-attr", action="store_true", help="skip the attribution-method figures")
    ap.add_argument("--scorecam-channels", type=int, default=64, help="Score-CAM channels on VGG16 (0: all 512)")
    ap.add_argument("--featvis-steps", type=int, default=20, help="timed steps for the feature visualization")
    ap.add_argument("--only-featvis", action="store_true", help="print only the feature visualization figures")
    args = ap.parse_args()

    import keras
    import tensorflow as tf

    from convexplorer.core.builder import build_model
    from convexplorer.core.presets import preset

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, load average {os.getloadavg()[0]:.2f}")
    model = build_model(preset("MNIST convnet"), compile=False)
    if args.only_featvis:
        featvis_figures(model, ins.default_conv_layer(model), None, args.featvis_steps, "MNIST preset")
        if not args.no_vgg:
            vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=(128, 128, 3))
            featvis_figures(vgg, "block3_conv1", 128, args.featvis_steps, "VGG16 128x128")
        return 0
    x = np.random.default_rng(0).random((28, 28, 1), dtype=np.float32)
    n_maps = len(ins.feature_maps(model, x))
    row(f"MNIST preset: feature maps of all {n_maps} spatial layers", *timeit(lambda: ins.feature_maps(model, x), args.repeat), 10)
    row("MNIST preset: Grad-CAM (last conv, top class)", *timeit(lambda: ins.grad_cam(model, x), args.repeat), 30)
    best_p, med_p = timeit(lambda: ins.predict(model, x), args.repeat)
    row("MNIST preset: core.inspect.predict (cached tf.function)", best_p, med_p)
    best_d, med_d = timeit(lambda: model(x[None], training=False), args.repeat)
    row("MNIST preset: direct model(x) call", best_d, med_d)
    best_k, med_k = timeit(lambda: model.predict(x[None], verbose=0), max(5, args.repeat // 3))
    row("MNIST preset: model.predict (reference)", best_k, med_k)
    print(f"  -> predict is {best_k / best_p:.0f}x faster than model.predict, {best_d / best_p:.1f}x faster than a direct call")

    conv = ins.default_conv_layer(model)
    times = {}
    for bs in (16, 1):
        ins.filter_patterns(model, conv, bs, steps=1, batch_size=bs)  # warm-up (trace)
        t = time.perf_counter()
        ins.filter_patterns(model, conv, 16, steps=40, batch_size=bs)
        times[bs] = time.perf_counter() - t
    print(
        f"MNIST preset {conv}, 16 filters, 40 steps: batch 16: {times[16]:.2f} s, one at a time: {times[1]:.2f} s "
        f"-> batched is {times[1] / times[16]:.1f}x faster"
    )

    if args.examples_n > 0:
        dataset_examples_figures(model, args.examples_n)
    if not args.no_attr:
        attribution_rows("MNIST preset", model, x, args.repeat)
    featvis_figures(model, conv, None, args.featvis_steps, "MNIST preset")

    if args.no_vgg:
        return 0
    vgg = keras.applications.VGG16(weights=None, include_top=True, input_shape=(224, 224, 3))
    img = np.random.default_rng(1).random((224, 224, 3), dtype=np.float32) * 255 - 120
    n = max(5, args.repeat // 5)
    best_f, med_f = timeit(lambda: ins.predict(vgg, img), n)
    row("VGG16 224x224: one forward pass (reference)", best_f, med_f)
    best_c, med_c = timeit(lambda: ins.grad_cam(vgg, img), n)
    row("VGG16 224x224: Grad-CAM (block5_conv3)", best_c, med_c, 1000)
    print(f"  -> Grad-CAM costs {best_c / best_f:.2f} forward passes")

    filters = list(range(16))
    times = {}
    for bs in (16, 4, 1):
        ins.filter_patterns(vgg, "block3_conv1", filters[:bs], steps=1, size=args.size, batch_size=bs)  # warm-up
        t = time.perf_counter()
        ins.filter_patterns(vgg, "block3_conv1", filters, steps=args.steps, size=args.size, batch_size=bs)
        times[bs] = time.perf_counter() - t
    print(
        f"VGG16 block3_conv1, 16 filters, {args.steps} steps, {args.size}x{args.size}: "
        + ", ".join(f"batch {bs}: {t:.2f} s" for bs, t in times.items())
        + f" -> batched (16) vs one at a time: {times[1] / times[16]:.2f}x"
    )
    trace = ins._get_trace(vgg, (args.size, args.size, 3), stop_at="block3_conv1")
    print(f"  (batch_size=None picks {ins.auto_batch_size(trace, trace.index('block3_conv1'), 16)} here on this machine)")
    if not args.no_attr:
        attribution_rows("VGG16 224x224", vgg, img, 0, scorecam_channels=args.scorecam_channels or None)

    featvis_figures(vgg, "block3_conv1", 128, args.featvis_steps, "VGG16 128x128")
    return 0


def dataset_examples_figures(model, n: int) -> None:
    """Dataset examples over ``n`` Shapes images (28x28 grayscale) with the MNIST preset: pass, array pass, cache."""
    from convexplorer.core import examples as ex
    from convexplorer.core.datasets import ShapesDataset

    convs = [info.name for info in ins.layers(model) if info.is_conv]
    first, last = convs[0], convs[-1]
    warm = np.random.default_rng(2).random((300, 28, 28, 1), dtype=np.float32)
    for layer in (first, last):  # trace the extractors (full and partial batches)
        ex.top_examples_for_layer(model, layer, warm, k=9)
    ds = ShapesDataset(n=n, size=28, seed=0).with_options(color_mode="grayscale")
    for layer in (first, last):
        ex.clear_examples_cache()
        t = time.perf_counter()
        res = ex.top_examples_for_layer(model, layer, ds, k=9)
        took = time.perf_counter() - t
        print(
            f"Dataset examples, MNIST preset {layer} ({res.num_filters} filters, top 9 each), {n} Shapes 28x28 gray "
            f"(drawn on demand): {took:.2f} s = {took / n * 1e6:.0f} us/image; running state {res.peak_items} entries"
        )
    t = time.perf_counter()
    arr = np.stack([ds.image(i) for i in range(len(ds))])
    drawn = time.perf_counter() - t
    for layer in (first, last):
        ex.clear_examples_cache()
        t = time.perf_counter()
        ex.top_examples_for_layer(model, layer, arr, k=9)
        took = time.perf_counter() - t
        print(f"  same {n} images as an array (model + top-k only), {layer}: {took:.2f} s (drawing them: {drawn:.2f} s)")
    ex.clear_examples_cache()
    ex.top_activating_examples(model, last, 0, ds, k=9)
    best, med = timeit(lambda: ex.top_activating_examples(model, last, 5, ds, k=9), 10)
    row(f"  another filter of {last} (cache hit, data fingerprint)", best, med)
    best, med = timeit(lambda: ex.top_activating_examples(model, last, 5, arr, k=9), 10)
    row(f"  the same from the array ({arr.nbytes >> 20} MB hashed each call)", best, med)
#: Looping methods: the option that counts their units, its default, and the unit's name.
_UNITS = {"smoothgrad": ("samples", 25, "sample"), "integrated_gradients": ("steps", 32, "step"),
          "scorecam": ("channels", None, "channel"), "occlusion": (None, None, "patch")}
_PLURAL = {"patch": "patches"}


def attribution_rows(label: str, model, x, repeat: int, scorecam_channels: int | None = None) -> None:
    """One line per attribution method with its defaults; ``repeat`` 0: one timed run after a small warm-up."""
    from convexplorer.core import attribution as at

    trace = ins._get_trace(model, x.shape)
    h, w = x.shape[:2]
    patch = max(1, min(h, w) // 8)
    n_patches = len(at._positions(h, patch, max(1, patch // 2))) * len(at._positions(w, patch, max(1, patch // 2)))
    conv = ins.default_conv_layer(model)
    n_channels = int(trace.records[trace.index(conv)].tensor.shape[-1])
    for method in at.METHODS:
        opts: dict = {}
        units = {"smoothgrad": 25, "integrated_gradients": 32, "occlusion": n_patches, "scorecam": n_channels}.get(method)
        if method == "scorecam" and scorecam_channels:
            opts["channels"] = units = min(scorecam_channels, n_channels)
        name = f"{label}: {method}" + (f" ({units} {_PLURAL.get(_UNITS[method][2], _UNITS[method][2] + 's')})" if units else "")
        if repeat > 0:
            best, med = timeit(lambda: ins.attribution(model, x, method, **opts), max(3, repeat // 6))
        else:
            small = {"smoothgrad": {"samples": 1}, "integrated_gradients": {"steps": 1}, "scorecam": {"channels": 1},
                     "occlusion": {"patch": h}}.get(method, {})
            ins.attribution(model, x, method, **small)  # warm-up: traces the same batch shape
            t = time.perf_counter()
            ins.attribution(model, x, method, **opts)
            best = med = (time.perf_counter() - t) * 1000
        row(name, best, med)
        if units:
            bs = at.auto_batch_size(trace, units)
            extra = ""
            if method == "scorecam" and units < n_channels:
                extra = f", all {n_channels}: ~{best / units * n_channels / 1000:.1f} s"
            print(f"  -> {best / units:.2f} ms per {_UNITS[method][2]}, batches of {bs}{extra}")
    res = at.integrated_gradients(model, x, steps=32)
    print(f"  IG completeness (32 steps): sum {res.total:+.4f} vs f(x) - f(baseline) {res.delta:+.4f}, gap {res.gap:.2e}")


if __name__ == "__main__":
    raise SystemExit(main())
