"""Compare panel screenshots: two checkpoints of a small shapes convnet, their confusion matrices and timeline."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from convexplorer.ui.panels.compare import ComparePanel, cams_for, compare_models, evaluate_pair
from convexplorer.ui.panels.compare.panel import CONFUSION_TAB, MODELS_TAB, TIMELINE_TAB


def prepare(panel: ComparePanel) -> None:
    """Two checkpoints of a small shapes convnet (epoch 1 and epoch 6) on one shapes image."""
    from convexplorer.core.compare import ModelSource, load_source
    from convexplorer.ui.tfloader import load_tensorflow_now

    load_tensorflow_now(panel.state)
    demo = demo_session()
    early = ModelSource("model", label="shapes convnet · epoch 1", model=demo["early"], class_names=demo["names"])
    late = ModelSource("model", label="shapes convnet · epoch 6", model=demo["late"], class_names=demo["names"])
    panel.add_source(early)
    panel.add_source(late)
    panel.set_sources(1, 0)
    ds = demo["dataset"]
    i = int(demo["indices"][-1])
    panel.set_image(ds.image(i), f"shapes #{i} ({ds.class_names[ds.label(i)]})")
    image = panel.models_tab.image_row.image
    panel.show_comparison(compare_models(load_source(early), load_source(late), image, demo["names"]))
    panel.pair_combo.setCurrentIndex(0)
    panel.set_evaluation(demo["early"], demo["late"], evaluate_pair(demo["early"], demo["late"], ds), ds,
                         "epoch 1", "epoch 6")
    panel.confusion_tab.set_runs([])  # the demo checkpoints are no kept runs
    for combo, text in ((panel.run_a_combo, "demo: shapes convnet · epoch 1"), (panel.run_b_combo, "demo: shapes convnet · epoch 6")):
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(text)
        combo.blockSignals(False)
    panel.show_timeline(demo["timeline"], label="demo: shapes convnet, 6 epochs")
    panel.timeline_view.set_index(len(demo["timeline"]) - 2)
    panel.tabs.setCurrentIndex(MODELS_TAB)


def variants(panel: ComparePanel) -> list[tuple[str, Callable[[], None]]]:
    """The confusion-matrix tab with a cell opened, and the timeline tab."""

    def confusion() -> None:
        panel.tabs.setCurrentIndex(CONFUSION_TAB)
        _open_a_changed_cell(panel)

    def timeline() -> None:
        panel.tabs.setCurrentIndex(TIMELINE_TAB)

    return [("confusion", confusion), ("timeline", timeline)]


def _open_a_changed_cell(panel: ComparePanel) -> None:
    """Open the first off-diagonal cell that changed from A to B, with its first image's Grad-CAMs (computed here)."""
    tab = panel.confusion_tab
    diff = tab.evaluation["diff"] if tab.evaluation else None
    if diff is None or not diff.changed:
        return
    t, p, _d = next((c for c in diff.changed if c[0] != c[1]), diff.changed[0])
    if not (panel.show_cell("b", t, p) or panel.show_cell("a", t, p)):
        return
    model, image, true, pred, _idx = tab.cell_image(0)
    c = cams_for(model, [image], true, pred)[0]
    panel.cell_list.blockSignals(True)
    panel.cell_list.setCurrentRow(0)
    panel.cell_list.blockSignals(False)
    names = tab.class_names()
    for view, heat, cls, what in ((panel.cam_pred_view, c.cam_pred, c.pred_class, "predicted"),
                                  (panel.cam_true_view, c.cam_true, c.true_class, "true")):
        view.set_base(c.image)
        view.set_heat(heat)
        view.set_title(f"{what}: {names[cls]}")


def demo_session(epochs: int = 6, n: int = 600, size: int = 32, seed: int = 0,
                 classes: Sequence[str] = ("circle", "square", "cross")) -> dict[str, Any]:
    """A small shapes convnet trained for ``epochs`` with a timeline: its epoch-1 copy, the final model, the data."""
    import keras

    from convexplorer.core import timeline as T
    from convexplorer.core.datasets.shapes import ShapesDataset

    ds = ShapesDataset(n=n, size=size, seed=seed, classes=tuple(classes))
    x = ds.materialize().astype(np.float32) / 255.0
    y = ds.labels()
    test = ds.subset_indices("test")
    train = np.setdiff1d(np.arange(n), test)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2"),
        keras.layers.MaxPooling2D(name="pool2"),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv3"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="dense"),
        keras.layers.Dense(len(ds.class_names), activation="softmax", name="classes"),
    ], name="shapes_convnet")
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    probes = T.pick_probes(y[test], per_class=1)
    idx = test[probes]
    rec = T.TimelineRecorder(x[idx], probe_labels=y[idx], class_names=ds.class_names,
                             probe_names=[f"#{int(i)}" for i in idx])
    model.fit(x[train], y[train], epochs=1, batch_size=16, verbose=0, callbacks=[rec])
    early = keras.models.clone_model(model)
    early.set_weights(model.get_weights())
    model.fit(x[train], y[train], epochs=epochs, initial_epoch=1, batch_size=16, verbose=0,
              validation_data=(x[test], y[test]), callbacks=[rec])
    return {"early": early, "late": model, "dataset": ds, "names": list(ds.class_names), "indices": idx,
            "timeline": rec.timeline}
