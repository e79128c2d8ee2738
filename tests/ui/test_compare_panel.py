"""Compare panel offscreen: two models on one image, two runs' confusion matrices, cell images and Grad-CAMs, timeline."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from PySide6.QtCore import QPoint, Qt  # noqa: E402

from convexplorer.core.datasets.shapes import ShapesDataset  # noqa: E402
from convexplorer.ui.panels.compare import ComparePanel, DiffMatrixView, evaluate_pair  # noqa: E402
from convexplorer.ui.state import AppState  # noqa: E402
from convexplorer.ui.tfloader import load_tensorflow_now  # noqa: E402

TIMEOUT_MS = 60_000


def _model(seed, size=16, classes=3):
    import keras

    keras.utils.set_random_seed(seed)
    m = keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(12, 3, activation="relu", padding="same", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(classes, activation="softmax", name="classes"),
    ])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture(scope="module")
def world():
    """A small shapes set and two different models on it (as two runs or two checkpoints would be)."""
    ds = ShapesDataset(n=90, size=16, seed=0, classes=("circle", "square", "cross"))
    a, b = _model(1), _model(2)
    x = ds.materialize().astype(np.float32) / 255.0
    b.fit(x, ds.labels(), epochs=2, batch_size=16, verbose=0)
    return {"ds": ds, "a": a, "b": b}


@pytest.fixture
def panel(qtbot, world):
    state = AppState()
    load_tensorflow_now(state)
    state.set_dataset(world["ds"])
    p = ComparePanel(state)
    qtbot.addWidget(p)
    p.resize(1280, 800)
    yield p
    p.shutdown()


def _wait(qtbot, panel, kind, trigger, timeout=TIMEOUT_MS):
    with qtbot.waitSignal(panel.updated, timeout=timeout, check_params_cb=lambda k: k in (kind, "error")) as sig:
        assert trigger() is not False
    assert sig.args == [kind], panel.message.text()


def test_sources_list_the_current_model_files_and_applications(panel, world, tmp_path):
    labels = panel.source_labels()
    assert any(lbl.startswith("MobileNetV2 (random") for lbl in labels)
    assert any("ImageNet" in lbl for lbl in labels)
    assert not any(lbl.startswith("current:") for lbl in labels)
    panel.state.set_model(world["a"], "my net")
    assert panel.source_labels()[0] == "current: my net"
    path = tmp_path / "other.keras"
    world["b"].save(str(path))
    assert panel.open_path(path)
    assert panel.source_b_combo.currentText() == "other.keras"
    assert panel.source_a_combo.currentText() == "current: my net"
    panel.refresh_sources()  # an added file survives a refresh
    assert "other.keras" in panel.source_labels()


def test_compare_two_models_on_one_image(qtbot, panel, world, tmp_path):
    ds = world["ds"]
    panel.state.set_model(world["a"], "A net")
    path = tmp_path / "b.keras"
    world["b"].save(str(path))
    panel.add_source_file(str(path))
    image = ds.image(5)
    panel.state.image_array_opened.emit(image, "sample 5")  # as the Data panel does
    assert "sample 5" in panel.image_label.text()
    _wait(qtbot, panel, "comparison", panel.compare)
    cmp = panel._comparison
    assert cmp.pairs == [("conv1", "conv1"), ("conv2", "conv2")]
    assert [panel.pair_combo.itemText(i) for i in range(panel.pair_combo.count())] == ["conv1  ↔  conv1", "conv2  ↔  conv2"]
    # bars against Keras: each model's own output on the image, with the data set's class names
    for chart, model in ((panel.column_a.topk_chart, world["a"]), (panel.column_b.topk_chart, world["b"])):
        ref = np.asarray(model(image[None], training=False))[0]
        preds = chart.predictions()
        assert [p[0] for p in preds] == list(np.argsort(-ref, kind="stable"))
        assert preds[0][1] == ds.class_names[int(ref.argmax())]
        assert preds[0][2] == pytest.approx(float(ref.max()), abs=1e-5)
    same = int(np.argmax(world["a"](image[None]))) == int(np.argmax(world["b"](image[None])))
    assert panel.verdict_label.text() == ("both predict the same class" if same else "they disagree")
    assert panel.column_a.cam_view.composite().shape == (16, 16, 3)
    assert panel.maps_a_grid.count == 8 and panel.maps_b_grid.count == 8
    panel.pair_combo.setCurrentIndex(1)
    assert panel.maps_a_grid.count == 12 and "conv2" in panel.maps_b_grid.caption.text()
    # the maps of the two models differ (different weights)
    assert np.abs(cmp.a.maps[0][1] - cmp.b.maps[0][1]).max() > 1e-3


def test_errors_are_shown_inline(qtbot, panel, tmp_path):
    assert panel.compare() is False
    assert "no image" in panel.message.text()
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert panel.load_image_file(str(bad)) is False
    assert not panel.message.isHidden() and "notes.png" in panel.message.text()
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"nope")
    panel.add_source_file(str(broken))
    panel.set_image(np.zeros((16, 16, 3), np.float32), "black")
    _wait(qtbot, panel, "error", panel.compare)
    assert "broken.keras" in panel.message.text()
    qtbot.waitUntil(panel.compare_button.isEnabled, timeout=5000)  # usable again once the worker ended
    assert not panel.busy()


def _click(qtbot, view, true, pred):
    x, y = view.cell_center(true, pred)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))


def test_confusion_matrices_difference_cells_and_cams(qtbot, panel, world):
    ds, a, b = world["ds"], world["a"], world["b"]
    ev = evaluate_pair(a, b, ds)
    panel.set_evaluation(a, b, ev, ds, "run 1", "run 2")
    # reference: the confusion matrices by hand from the models' outputs on the test images
    idx = ds.subset_indices("test")
    x = np.stack([ds.image(int(i)) for i in idx])
    y = np.array([ds.label(int(i)) for i in idx])
    refs = []
    for m in (a, b):
        pred = np.argmax(np.asarray(m(x, training=False)), axis=1)
        cm = np.zeros((3, 3), int)
        for t, p in zip(y, pred):
            cm[t, p] += 1
        refs.append((cm, pred))
    np.testing.assert_array_equal(panel.confusion_a_view.matrix(), refs[0][0])
    np.testing.assert_array_equal(panel.confusion_b_view.matrix(), refs[1][0])
    np.testing.assert_array_equal(panel.difference_view.difference(), refs[1][0] - refs[0][0])
    assert panel.confusion_a_title.text().startswith("A: run 1 · accuracy")
    # click the fullest cell of B: its images are listed
    cm_b, pred_b = refs[1]
    t, p = np.unravel_index(np.argmax(cm_b), cm_b.shape)
    with qtbot.waitSignal(panel.updated, check_params_cb=lambda k: k == "cell"):
        _click(qtbot, panel.confusion_b_view, int(t), int(p))
    expected = idx[(y == t) & (pred_b == p)]
    assert panel.cell_list.count() == min(len(expected), 60)
    assert [panel.cell_list.item(i).text() for i in range(panel.cell_list.count())] == [f"#{int(i)}" for i in expected[:60]]
    # one more click: that image's Grad-CAM for the predicted and the true class
    with qtbot.waitSignal(panel.updated, timeout=TIMEOUT_MS, check_params_cb=lambda k: k in ("cams", "error")) as sig:
        panel.cell_list.setCurrentRow(0)
    assert sig.args == ["cams"], panel.message.text()
    assert panel.cam_pred_view.composite() is not None and panel.cam_true_view.composite() is not None
    assert panel.cam_pred_view.title_label.text().startswith(f"predicted: {ds.class_names[p]}")
    assert panel.cam_true_view.title_label.text().startswith(f"true: {ds.class_names[t]}")


def test_difference_view_colours_improvements(qtbot):
    view = DiffMatrixView()
    qtbot.addWidget(view)
    view.resize(300, 300)
    view.set_difference(np.array([[2, -2], [1, -1]]), ["x", "y"])
    assert DiffMatrixView.better(0, 0, 2) and DiffMatrixView.better(0, 1, -2)
    assert not DiffMatrixView.better(1, 0, 1) and not DiffMatrixView.better(1, 1, -1)
    img = view.grab().toImage()
    def colour(t, p):
        x, y = view.cell_center(t, p)
        c = img.pixelColor(int(x) + 8, int(y) + 8)  # off the text
        return c.red(), c.green()
    r, g = colour(0, 0)
    assert g > r  # better: green
    r, g = colour(1, 0)
    assert r > g  # worse: red
    clicked = []
    view.cell_clicked.connect(lambda t, p: clicked.append((t, p)))
    _click(qtbot, view, 1, 0)
    assert clicked == [(1, 0)]


@pytest.fixture
def run_paths():
    """Run folders made by a test, deleted afterwards (the runs folder is shared by the test session)."""
    import shutil

    paths = []
    yield paths
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)


def test_runs_are_listed_evaluated_and_their_timelines_replayed(qtbot, panel, world, run_paths):
    from convexplorer.core import timeline as T
    from convexplorer.core.runs import new_run_dir, save_run
    from convexplorer.core.training import History, TrainingSettings

    ds = world["ds"]
    paths = run_paths
    for label, model in (("cmp-first", world["a"]), ("cmp-second", world["b"])):
        path = new_run_dir(label)
        save_run(path, History(), TrainingSettings(), model=model, label=label)
        paths.append(path)
    x = ds.image(0)[None]
    rec = T.TimelineRecorder(x, probe_labels=[ds.label(0)], class_names=ds.class_names, save_to=paths[1] / T.TIMELINE_FILE)
    world["b"].fit(ds.materialize()[:16].astype(np.float32) / 255.0, ds.labels()[:16], epochs=1, verbose=0, callbacks=[rec])
    panel.refresh_sources()
    assert any(lbl == "cmp-second · final model" for lbl in panel.source_labels())
    titles_a = [panel.run_a_combo.itemText(i) for i in range(panel.run_a_combo.count())]
    panel.run_a_combo.setCurrentIndex(next(i for i, s in enumerate(titles_a) if "cmp-first" in s))
    panel.run_b_combo.setCurrentIndex(next(i for i, s in enumerate(titles_a) if "cmp-second" in s))
    assert "no stored evaluation" in panel.confusion_summary.text()
    _wait(qtbot, panel, "confusion", panel.evaluate_runs)
    n_test = len(ds.subset_indices("test"))
    assert panel.confusion_a_view.matrix().sum() == n_test == panel.confusion_b_view.matrix().sum()
    # the second run's timeline is offered and replays
    tl_titles = [panel.timeline_run_combo.itemText(i) for i in range(panel.timeline_run_combo.count())]
    assert any("cmp-second" in t for t in tl_titles)
    with qtbot.waitSignal(panel.updated, check_params_cb=lambda k: k == "timeline"):
        assert panel.open_path(paths[1])
    assert panel.tabs.currentIndex() == 2 and panel.timeline_view.count() == 2
    assert not panel.open_timeline(paths[0])  # no timeline there: said inline
    assert "no timeline recorded" in panel.message.text()
