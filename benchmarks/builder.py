"""Builder speed: the summary after an edit, against building the model with Keras.

Prints, for a VGG16-sized design, a ResNet50-sized graph (176 nodes, bottleneck units) and every preset: our summary time (no TF),
the time Keras needs to build the same model and count its parameters, and
the ratio; then the panel's whole refresh after an edit (summary, table,
diagram, list, graph canvas) offscreen: a VGG16-sized stack edited in the form,
and the ResNet50-sized graph edited on the canvas (a filter count through the
undoable form edit, and an undo). Budget: < 50 ms after an edit.
Run:  python benchmarks/builder.py            (everything; builds every preset with Keras)
      python benchmarks/builder.py --panel    (the panel part only, no TensorFlow)
"""

from __future__ import annotations

import sys

# benchmarks/inspect.py would shadow the standard library's inspect: run from the repository root instead
_HERE = __import__("os").path.dirname(__import__("os").path.abspath(__file__))
sys.path[:] = [p for p in sys.path if __import__("os").path.abspath(p or ".") != _HERE]

import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(_HERE))

from convexplorer.core.presets import PRESETS  # noqa: E402
from convexplorer.core.spec import ModelSpec, make_layer  # noqa: E402
from convexplorer.core.summary import summarize  # noqa: E402


def vgg16_spec() -> ModelSpec:
    """VGG16 with its top, layer by layer (138,357,544 parameters)."""
    spec = ModelSpec("vgg16_like", (224, 224, 3), 1000)
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        spec.layers += [make_layer("Conv2D", filters=filters, padding="same") for _ in range(convs)]
        spec.layers.append(make_layer("MaxPooling2D"))
    spec.layers += [make_layer("Flatten"), make_layer("Dense", units=4096), make_layer("Dense", units=4096),
                    make_layer("Dense", units_from_classes=True, activation="softmax")]
    return spec


def resnet50_graph() -> ModelSpec:
    """ResNet50 as a graph design (176 nodes, keras.applications.ResNet50's 25,636,712 parameters): a stem, then 16 bottleneck units with projection shortcuts."""
    g = ModelSpec("resnet50_graph", (224, 224, 3), 1000)
    g.layers = []

    def add(kind: str, inputs: list[str], **params: object) -> str:
        return g.add_node(make_layer(kind, **params), [(i, 0) for i in inputs]).id

    x = add("ZeroPadding2D", ["input"], padding=3)
    x = add("Conv2D", [x], filters=64, kernel_size=7, strides=2, activation="linear")
    x = add("ReLU", [add("BatchNormalization", [x])])
    x = add("MaxPooling2D", [add("ZeroPadding2D", [x], padding=1)], pool_size=3, strides=2)
    for s, (filters, units) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3))):
        for u in range(units):
            stride = 2 if u == 0 and s > 0 else 1
            shortcut = x
            if u == 0:
                shortcut = add("BatchNormalization", [add("Conv2D", [x], filters=4 * filters, kernel_size=1,
                                                          strides=stride, activation="linear")])
            y = add("Conv2D", [x], filters=filters, kernel_size=1, strides=stride, activation="linear")
            y = add("ReLU", [add("BatchNormalization", [y])])
            y = add("Conv2D", [y], filters=filters, kernel_size=3, padding="same", activation="linear")
            y = add("ReLU", [add("BatchNormalization", [y])])
            y = add("BatchNormalization", [add("Conv2D", [y], filters=4 * filters, kernel_size=1, activation="linear")])
            x = add("ReLU", [add("Add", [shortcut, y])])
    add("Dense", [add("GlobalAveragePooling2D", [x])], units_from_classes=True, activation="softmax")
    return g


def timed(fn, repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    if "--panel" in sys.argv:
        panel_part(resnet50_graph())
        return
    resnet = resnet50_graph()
    designs = {"VGG16 (layer by layer, with top)": vgg16_spec(), f"ResNet50 graph ({len(resnet.layers)} nodes)": resnet,
               **PRESETS}
    ours = {name: timed(lambda s=spec: summarize(s), 50) for name, spec in designs.items()}


    import keras  # noqa: F401 - imported before timing Keras

    from convexplorer.core.builder import build_model

    print(f"{'design':45s} {'params':>12s} {'summary ms':>11s} {'Keras build ms':>15s} {'ratio':>7s}")
    worst = 0.0
    for name, spec in designs.items():
        s = summarize(spec)
        t_keras = timed(lambda sp=spec: build_model(sp, compile=False, load_weights=False).count_params(), 2)
        print(f"{name:45s} {s.total:>12,} {ours[name]:>11.3f} {t_keras:>15.1f} {t_keras / ours[name]:>6.0f}x")
        worst = max(worst, ours[name])
    print(f"slowest summary: {worst:.3f} ms (budget 50 ms)")
    conv = next(layer for layer in resnet.layers[40:] if layer.kind == "Conv2D")
    original = conv.params["filters"]
    widths = iter(range(10_000))

    def edit_resnet() -> None:  # one edit on the graph (a filter count), then shapes and summary again
        conv.params["filters"] = original + next(widths) % 2
        summarize(resnet)

    t_graph_edit = timed(edit_resnet, 50)
    conv.params["filters"] = original
    print(f"ResNet50 graph ({len(resnet.layers)} nodes): an edit, then shapes and summary: {t_graph_edit:.2f} ms "
          f"(budget 50 ms)")
    panel_part(resnet)


def panel_part(resnet: ModelSpec) -> None:
    """The Builder panel offscreen: an edit of a VGG16-sized stack, then of the ResNet50-sized graph on the canvas."""
    from PySide6.QtWidgets import QApplication

    from convexplorer.ui.panels.builder import BuilderPanel
    from convexplorer.ui.state import AppState

    app = QApplication.instance() or QApplication([])
    panel = BuilderPanel(AppState())
    panel.resize(1280, 800)
    panel.show()
    panel.set_spec(vgg16_spec())
    app.processEvents()
    panel.layer_list.setCurrentRow(0)
    filters = panel._editors["filters"]

    values = iter(range(10_000))

    def edit() -> None:
        filters.setValue(32 + next(values) % 64)  # one edit: summary, table, diagram, list, set_spec
        app.processEvents()

    def edit_only() -> None:
        filters.setValue(32 + next(values) % 64)

    t_edit = timed(edit, 30)
    t_update = timed(edit_only, 30)
    app.processEvents()
    print(f"panel after an edit, VGG16-sized design: update {t_update:.1f} ms; with the repaint of the whole "
          f"1280x800 panel (offscreen) {t_edit:.1f} ms (budget 50 ms)")

    panel.set_spec(resnet)
    app.processEvents()
    conv = [layer for layer in panel.spec.layers if layer.kind == "Conv2D"][20]
    panel.canvas.select([conv.id])
    app.processEvents()
    spin = panel._editors["filters"]
    base = int(conv.params["filters"])

    def graph_edit() -> None:  # the form's edit: canvas.set_params (undoable), summary, every part, the canvas
        spin.setValue(base + next(values) % 2)

    def graph_edit_painted() -> None:
        graph_edit()
        app.processEvents()

    def undo() -> None:
        panel.undo()
        panel.redo()

    t_graph = timed(graph_edit, 30)
    t_graph_painted = timed(graph_edit_painted, 30)
    t_undo = timed(undo, 15) / 2
    print(f"panel after a graph edit on the canvas, ResNet50-sized graph ({len(panel.spec.layers)} nodes): update "
          f"{t_graph:.1f} ms; with the repaint {t_graph_painted:.1f} ms; an undo or redo {t_undo:.1f} ms (budget 50 ms)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    panel.shutdown()
    panel.close()


if __name__ == "__main__":
    main()
