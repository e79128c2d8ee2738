"""Auto-layout time of a ResNet50-like design (175+ nodes): budget < 1 s.

Run: ``PYTHONPATH=$PWD python3 benchmarks/layout.py`` (add ``--canvas`` for the graph canvas's
open, redraw and one undoable edit on the same design, offscreen; budget 50 ms an edit). Builds the graph with
ModelSpec's editing methods (stem, 16 bottleneck units of conv/BN/ReLU with
projection or identity shortcuts and an Add each, head), then times
``layered_layout`` with no pinned nodes and with a tenth of them pinned.
"""

from __future__ import annotations

import statistics
import sys
import time

from convexplorer.core.layout import count_crossings, layered_layout
from convexplorer.core.spec import INPUT_ID, HeadSpec, ModelSpec, make_layer


def resnet50_like() -> ModelSpec:
    """A ResNet50-shaped graph: 3-4-6-3 bottleneck units, every edge explicit."""
    spec = ModelSpec(name="resnet50_like", input_shape=(224, 224, 3), num_classes=1000)

    def add(kind: str, src: list[str], **params: object) -> str:
        return spec.add_node(make_layer(kind, **params), [(s, 0) for s in src]).id

    x = add("Conv2D", [INPUT_ID], filters=64, kernel_size=7, strides=2, padding="same")
    x = add("BatchNormalization", [x])
    x = add("ReLU", [x])
    x = add("MaxPooling2D", [x], pool_size=3, strides=2, padding="same")
    for stage, (units, filters) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        for unit in range(units):
            stride = 2 if unit == 0 and stage > 0 else 1
            shortcut = x
            if unit == 0:
                shortcut = add("Conv2D", [x], filters=4 * filters, kernel_size=1, strides=stride)
                shortcut = add("BatchNormalization", [shortcut])
            y = add("Conv2D", [x], filters=filters, kernel_size=1, strides=stride)
            y = add("BatchNormalization", [y])
            y = add("ReLU", [y])
            y = add("Conv2D", [y], filters=filters, kernel_size=3, padding="same")
            y = add("BatchNormalization", [y])
            y = add("ReLU", [y])
            y = add("Conv2D", [y], filters=4 * filters, kernel_size=1)
            y = add("BatchNormalization", [y])
            x = add("Add", [y, shortcut])
            x = add("ReLU", [x])
    x = add("GlobalAveragePooling2D", [x])
    x = add("Dropout", [x], rate=0.2)
    out = add("Dense", [x], units=1000, activation="softmax")
    spec.heads = [HeadSpec("predictions", out, spec.compile.loss, 1.0, list(spec.compile.metrics))]
    return spec


def main() -> None:
    """Print the layout time (median of 5) with and without pinned nodes."""
    spec = resnet50_like()
    spec.validate()
    n = len(spec.layers)
    edges = [(e.source, e.target) for e in spec.edges()]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        pos = layered_layout(spec)
        times.append(time.perf_counter() - t0)
    print(f"layered_layout, {n} nodes, {len(edges)} edges: median {statistics.median(times) * 1000:.0f} ms "
          f"(max {max(times) * 1000:.0f} ms; budget 1000 ms); crossings {count_crossings(pos, edges)}")
    for layer in spec.layers[::10]:
        layer.position = (pos[layer.id][0] + 300, pos[layer.id][1])
    keep = {layer.id for layer in spec.layers[::10]}
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        layered_layout(spec, keep)
        times.append(time.perf_counter() - t0)
    print(f"layered_layout, {len(keep)} of {n} nodes pinned: median {statistics.median(times) * 1000:.0f} ms")
    if "--canvas" in sys.argv:
        canvas_times(resnet50_like())


def canvas_times(spec: ModelSpec) -> None:
    """Print how long the graph canvas takes to open, redraw and edit ``spec`` (offscreen Qt)."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from convexplorer.ui.widgets.graph_canvas import GraphCanvas

    app = QApplication.instance() or QApplication([])
    canvas = GraphCanvas()
    canvas.resize(1000, 900)
    t0 = time.perf_counter()
    canvas.set_spec(spec)
    opened = time.perf_counter() - t0
    redraws, edits = [], []
    for k in range(5):
        t0 = time.perf_counter()
        canvas.refresh()
        redraws.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        canvas.set_params(spec.layers[4 + k].id, {"filters": 99})
        edits.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    canvas.auto_layout()
    layout_cmd = time.perf_counter() - t0
    print(f"graph canvas, {len(spec.layers)} nodes: open {opened * 1000:.0f} ms, redraw median "
          f"{statistics.median(redraws) * 1000:.0f} ms, one undoable edit median {statistics.median(edits) * 1000:.0f} ms, "
          f"auto-layout command {layout_cmd * 1000:.0f} ms")
    canvas.close()
    canvas.deleteLater()
    app.processEvents()


if __name__ == "__main__":
    main()
