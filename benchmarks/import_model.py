"""Opening a Keras model as a graph design: ResNet50 (weights=None, with its classifier).

Prints the time :func:`convexplorer.core.modelio.import_model` takes once TensorFlow
is ready and the model is in memory (reading ``get_config()``, mapping every layer,
copying its weights by node), the node count, and the time to put the weights back
on the model built from the design. Budget (graphs issue): under 2 s.
Run:  python benchmarks/import_model.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(_HERE))


def main() -> None:
    """Time the import of ResNet50 (first call and steady state) and the weights copy back."""
    import keras

    from convexplorer.core import importer, modelio
    from convexplorer.core.builder import build_model

    model = keras.applications.ResNet50(weights=None)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = modelio.import_model(model)
        times.append(time.perf_counter() - t0)
        importer._REFERENCE_CONFIGS.clear()  # every run pays for the config comparisons, as a fresh process does
    spec = result.spec
    kept = sum(node.kind == "KerasLayer" for node in spec.layers)
    print(f"ResNet50 opened as a graph: {len(spec.layers)} nodes ({len(spec.edges())} edges, {kept} kept as Keras config), "
          f"{len(result.weights)} with weights")
    print(f"  import: first {times[0]:.2f} s, median {statistics.median(times):.2f} s (budget 2 s)")
    rebuilt = build_model(spec, compile=False, load_weights=False)
    t0 = time.perf_counter()
    applied = modelio.apply_weights(rebuilt, spec, result.weights)
    print(f"  weights put back on the rebuilt model: {time.perf_counter() - t0:.2f} s "
          f"({len(applied.kept)} nodes kept, {len(applied.fresh)} fresh)")


if __name__ == "__main__":
    main()
