"""Task figures on the Shapes sets (CPU, seeded): localization IoU, segmentation mean IoU, detection AP.

    python benchmarks/tasks.py [--task all|localization|fcn|unet|detection] [--samples N] [--epochs E] [--quick]

Each task trains its preset (``core.presets``) on its Shapes set through the
app's own path (``core.targets.head_dataset``, ``TrainingSession`` with the
per-epoch task-metrics callback on the validation split), then measures the
held-out test split with ``core.taskmetrics.task_metrics``:

- localization ("Shapes: class + box" on ShapesDataset): test box IoU (target >= 0.75);
- segmentation ("Shapes: FCN segmenter", "Shapes: U-Net segmenter" on ShapesSegmentationDataset):
  test mean IoU over background + 4 shapes (target >= 0.85);
- detection ("Shapes: YOLO-style detector" on ShapesDetectionDataset, anchors by k-means):
  test AP@0.5 (target >= 0.8) and AP@[.5:.95], per class too.

Each line gives the training time (seconds of ``fit``, validation metrics included).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

#: task -> (preset, data set kind, samples, epochs, batch size, learning rate, target key, target value)
TASKS = {
    "localization": ("Shapes: class + box", "classification", 4000, 20, 32, 0.001, "iou", 0.75),
    "fcn": ("Shapes: FCN segmenter", "segmentation", 4000, 15, 16, 0.002, "mean_iou", 0.85),
    "unet": ("Shapes: U-Net segmenter", "segmentation", 4000, 15, 16, 0.002, "mean_iou", 0.85),
    "detection": ("Shapes: YOLO-style detector", "detection", 8000, 20, 32, 0.002, "ap50", 0.8),
}


def make_dataset(kind: str, n: int, seed: int) -> object:
    """The Shapes set of a task: one shape with its box, scenes with objects, or scenes with masks."""
    from convexplorer.core.datasets.shapes import ShapesDataset, ShapesDetectionDataset, ShapesSegmentationDataset

    if kind == "classification":
        return ShapesDataset(n=n, size=64, seed=seed)
    if kind == "segmentation":
        return ShapesSegmentationDataset(n=n, size=64, seed=seed)
    return ShapesDetectionDataset(n=n, size=64, seed=seed)


def run_task(task: str, samples: int | None = None, epochs: int | None = None, seed: int = 0,
             box_loss: str | None = None, verbose: bool = True) -> dict:
    """Train one task's preset on its Shapes set; returns its test figures, training time and history."""
    import keras

    from convexplorer.core.builder import build_model
    from convexplorer.core.presets import preset
    from convexplorer.core.targets import head_dataset, heads_for_training, with_grids
    from convexplorer.core.taskmetrics import task_metrics, task_metrics_callback
    from convexplorer.core.training import TrainingSession, TrainingSettings

    name, kind, n, e, bs, lr, key, target = TASKS[task]
    n = samples or n
    e = epochs or e
    keras.utils.set_random_seed(seed)
    ds = make_dataset(kind, n, seed)
    spec = preset(name)
    spec.compile.learning_rate = lr
    if box_loss:
        for h in spec.heads:
            if h.target == "boxes" and h.loss != "yolo":
                h.loss = box_loss
    model = build_model(spec, load_weights=False)
    heads = with_grids(model, heads_for_training(model, spec), ds, seed=seed)
    train = head_dataset(ds, heads, "train", batch_size=bs, shuffle=True, seed=seed)
    val = head_dataset(ds, heads, "validation", batch_size=64, shuffle=False)
    test = head_dataset(ds, heads, "test", batch_size=64, shuffle=False)
    cb = task_metrics_callback(val, heads, ds.class_names, per_class=False)
    # the learning rate halves when the validation loss stalls for 2 epochs (Keras's ReduceLROnPlateau)
    settings = TrainingSettings(epochs=e, batch_size=bs, reduce_lr=True, reduce_lr_patience=2)

    def show(ev: object) -> None:
        logs = getattr(ev, "logs", None)
        if verbose and logs is not None and type(ev).__name__ == "EpochEvent":
            vals = ", ".join(f"{k} {v:.4f}" for k, v in logs.items() if k in ("loss", "val_loss") or k.startswith("val_") and "." not in k)
            print(f"  [{task}] epoch {ev.epoch + 1}/{e}: {vals}", flush=True)

    session = TrainingSession(model, train, val, settings, on_event=show, num_samples=len(ds.subset_indices("train")),
                              metric_callbacks=[cb])
    t0 = time.perf_counter()
    result = session.run()
    seconds = time.perf_counter() - t0
    figures = task_metrics(model, test, heads, ds.class_names)
    return {"task": task, "preset": name, "samples": n, "epochs": e, "batch_size": bs, "learning_rate": lr,
            "train_s": seconds, "figures": figures, "key": key, "target": target, "result": result.reason,
            "history": result.history}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="all", choices=["all", *TASKS])
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--box-loss", choices=["mean_squared_error", "huber"], default=None)
    args = parser.parse_args(argv)
    import tensorflow as tf

    print(f"TensorFlow {tf.__version__}, CPU, {os.cpu_count()} cores; seed {args.seed}", flush=True)
    failed = 0
    for task in (TASKS if args.task == "all" else [args.task]):
        r = run_task(task, args.samples, args.epochs, args.seed, args.box_loss)
        f = r["figures"]
        value = f.get(r["key"], float("nan"))
        ok = value >= r["target"]
        failed += not ok
        main_figs = ", ".join(f"{k} {v:.3f}" for k, v in f.items() if "." not in k)
        per_class = ", ".join(f"{k} {v:.3f}" for k, v in f.items() if "." in k)
        print(f"{task}: {r['preset']}, {r['samples']} samples (70 % train, 20 % val, 10 % test), {r['epochs']} epochs, "
              f"batch {r['batch_size']}, lr {r['learning_rate']}: test {main_figs} "
              f"(target {r['key']} >= {r['target']}: {'met' if ok else 'NOT met'}); training {r['train_s']:.0f} s", flush=True)
        if per_class:
            print(f"  per class: {per_class}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
