"""Training throughput: one device vs MirroredStrategy over two logical CPU devices (and GPUs if any).

    python benchmarks/scale.py [--samples 2048] [--epochs 1] [--repeat 3] [--batch 64]

Same model (a small MNIST-sized convnet), same synthetic data; the per-device
batch is fixed and the global batch scaled with ``scaled_batch_size`` (how the
app uses a strategy). Prints samples/s for each setup and the ratio to one
device measured in the same run (best of ``--repeat`` timed fits, to damp
the noise of a shared machine). Logical CPU devices share the same cores, so
on a CPU the ratio shows the overhead of mirroring, not a speed-up; real
speed-ups need several GPUs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# the repository instead of this folder: a benchmarks/inspect.py would shadow the standard library's inspect
sys.path[0] = str(Path(__file__).resolve().parents[1])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convexplorer.core import distribute as ds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed fit")
    parser.add_argument("--repeat", type=int, default=3, help="timed fits per setup; the best one counts")
    parser.add_argument("--batch", type=int, default=64, help="per-device batch")
    args = parser.parse_args(argv)

    logical = ds.configure_logical_cpus(2)  # before any TensorFlow op
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, args.samples).astype("int32")

    def build():
        keras.utils.set_random_seed(0)
        return keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ])

    def compile_(model):
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    def measure(strategy) -> tuple[float, int]:
        batch = ds.scaled_batch_size(args.batch, strategy)
        model = ds.build_in_scope(strategy, build, compile=compile_)
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(tf.data.AUTOTUNE)
        model.fit(data, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing, first allocations
        best = 0.0
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            model.fit(data, epochs=args.epochs, verbose=0, shuffle=False)
            best = max(best, args.samples * args.epochs / (time.perf_counter() - t0))
        return best, batch

    setups = [
        ("one device (CPU:0)", lambda: tf.distribute.OneDeviceStrategy("/cpu:0")),
        (f"mirrored, {len(logical)} logical CPUs", lambda: ds.make_strategy("mirrored", devices=logical)),
    ]
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        setups.append(("one GPU (GPU:0)", lambda: tf.distribute.OneDeviceStrategy(gpus[0].name)))
        setups.append((f"mirrored, {len(gpus)} GPU(s)", lambda: ds.make_strategy("mirrored")))

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {args.samples} samples x {args.epochs} epochs, "
          f"best of {args.repeat}, per-device batch {args.batch}; {os.cpu_count()} CPU cores, {len(gpus)} GPU(s)")
    print(f"{'setup':32s} {'global batch':>12s} {'samples/s':>10s} {'ratio':>7s}")
    results: dict[str, float] = {}
    reference = {"CPU": None, "GPU": None}
    for name, make in setups:
        rate, batch = measure(make())
        kind = "GPU" if "GPU" in name else "CPU"
        if reference[kind] is None:
            reference[kind] = rate
        results[name] = rate
        print(f"{name:32s} {batch:12d} {rate:10.0f} {rate / reference[kind]:7.2f}")
    print("ratio: samples/s divided by one device of the same kind, measured in this run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
