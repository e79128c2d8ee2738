"""The Inspect panel driven offscreen with a tiny model (and MobileNetV2 with weights=None)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core import inspect as ins  # noqa: E402
from convexplorer.ui.panels.inspect import InspectPanel  # noqa: E402
from convexplorer.ui.state import AppState  # noqa: E402

TIMEOUT = 60_000


def _tiny():
    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(6, 3, activation="relu", padding="same", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inp, out, name="tiny")


def _wait(qtbot, panel, kind, timeout=TIMEOUT):
    return qtbot.waitSignal(panel.updated, timeout=timeout, check_params_cb=lambda k: k == kind)


@pytest.fixture()
def panel(qtbot):
    state = AppState()
    state.mark_tensorflow_ready()
    p = InspectPanel(state)
    qtbot.addWidget(p)
    p.resize(1100, 700)
    yield p
    p.shutdown()


@pytest.fixture()
def loaded(panel, qtbot):
    """The panel with the tiny model and a colour image, analysed."""
    model = _tiny()
    panel.state.set_model(model, "tiny")
    image = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    with _wait(qtbot, panel, "analysis"):
        panel.state.image_array_opened.emit(image, "noise")
    return panel, model, image


def test_banner_until_tensorflow_is_ready(qtbot):
    state = AppState()
    p = InspectPanel(state)
    qtbot.addWidget(p)
    assert not p.loading_banner.isHidden() and not p.load_app_button.isEnabled()
    state.mark_tensorflow_ready()
    assert p.loading_banner.isHidden() and p.load_app_button.isEnabled()
    p.shutdown()


def test_image_is_fitted_and_classified_at_once(loaded):
    panel, model, image = loaded
    x = ins.prepare_image(image, (16, 16, 1))
    assert panel._image.shape == (16, 16, 1)
    probs = model(x[None], training=False).numpy()[0]
    shown = panel.topk_chart.predictions()
    assert [i for i, _l, _p in shown] == list(np.argsort(-probs))
    assert [p for _i, _l, p in shown] == pytest.approx(sorted(probs, reverse=True), rel=1e-5)
    assert [panel.layer_combo.itemText(i) for i in range(panel.layer_combo.count())] == ["c1", "c2"]
    assert panel.maps_grid.count == 4  # the first layer's channels, one tile each
    assert "20 x 30" not in panel.image_label.text() and "30x20" in panel.image_label.text()


def test_layer_change_click_and_receptive_field(loaded, qtbot):
    panel, model, _image = loaded
    with _wait(qtbot, panel, "maps"):
        panel.layer_combo.setCurrentText("c2")
    assert panel.maps_grid.count == 6
    ref = keras.Model(model.inputs[0], model.get_layer("c2").output)(panel._image[None]).numpy()[0]
    np.testing.assert_allclose(panel._maps, ref, rtol=1e-5, atol=1e-6)
    # The grid maps image coordinates back to (tile, row, col).
    h, w = ref.shape[:2]
    pad, cols = max(1, min(h, w) // 8), panel.maps_grid.columns
    assert panel.maps_grid.tile_at(1 * (w + pad) + 5.5, 2.5) == (1, 2, 5)
    assert panel.maps_grid.tile_at(w + 0.5, 0) is None  # the gap between tiles
    panel.maps_grid.tile_clicked.emit(3, 4, 5)
    np.testing.assert_allclose(panel.enlarged_view.array(), ref[..., 3], rtol=1e-5, atol=1e-6)
    # c1 (3x3 valid) then c2 (3x3 same): cell (4, 5) sees rows 3..7 and columns 4..8 of the input.
    assert panel.rf_view.highlights()[0] == (3, 4, 5, 5)
    assert cols >= 1


def test_grad_cam_class_and_layer_pickers(loaded, qtbot):
    panel, model, _image = loaded
    with _wait(qtbot, panel, "cam"):
        panel.cam_class_combo.setCurrentIndex(2)  # class 1
    expected = ins.grad_cam(model, panel._x, class_index=1, layer_name="c2")
    np.testing.assert_allclose(panel.cam_view._heat, expected, atol=1e-5)
    assert "class 1" in panel.cam_info.text() and "c2" in panel.cam_info.text()
    with _wait(qtbot, panel, "cam"):
        panel.cam_layer_combo.setCurrentText("c1")
    np.testing.assert_allclose(panel.cam_view._heat, ins.grad_cam(model, panel._x, 1, "c1"), atol=1e-5)
    panel.cam_opacity.setValue(100)
    comp = panel.cam_view.composite()
    from convexplorer.ui.widgets.overlay_view import colorize

    np.testing.assert_allclose(comp, colorize(expected * 0 + panel.cam_view._heat, "inferno"), atol=1e-6)


def test_filter_patterns_worker_with_progress_and_cancel(loaded, qtbot):
    panel, _model, _image = loaded
    panel.pattern_layer_combo.setCurrentText("c2")
    panel.pattern_count.setValue(3)
    panel.pattern_steps.setValue(4)
    with _wait(qtbot, panel, "patterns"):
        panel.patterns_button.click()
    assert panel.pattern_grid.count == 3
    assert panel.pattern_progress.value() == panel.pattern_progress.maximum() == 12
    qtbot.waitUntil(panel.patterns_button.isEnabled, timeout=TIMEOUT)  # the worker has finished
    panel.pattern_steps.setValue(100000)
    panel.patterns_button.click()
    assert not panel.patterns_button.isEnabled()
    worker = panel._pattern_worker
    with qtbot.waitSignal(worker.finished, timeout=TIMEOUT):
        panel.pattern_cancel_button.click()
    assert panel.pattern_grid.caption.text() == "Cancelled."
    assert panel.patterns_button.isEnabled()
    # more patterns than the layer has filters: all of them, and the panel says so
    filters = int(_model.get_layer("c2").filters)
    panel.pattern_steps.setValue(2)
    panel.pattern_count.setValue(filters + 5)
    with _wait(qtbot, panel, "patterns"):
        panel.patterns_button.click()
    assert panel.pattern_grid.count == filters
    assert f"showing all {filters}" in panel.message.text()


def test_open_path_images_and_bad_files(panel, tmp_path):
    from PIL import Image

    good = tmp_path / "pic.png"
    Image.fromarray(np.full((5, 9, 4), 200, np.uint8), "RGBA").save(good)
    assert panel.open_path(good) is True
    assert panel._raw_image.shape == (5, 9, 3)
    assert "pic.png: 9x5" in panel.image_label.text()
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    assert panel.open_path(bad) is True
    assert panel.message.isVisibleTo(panel) and "not an image" in panel.message.text()
    assert panel.open_path(tmp_path / "model.keras") is False


def test_keras_file_and_export(panel, qtbot, tmp_path):
    path = tmp_path / "tiny.keras"
    _tiny().save(path)
    with _wait(qtbot, panel, "model"):
        panel.load_model_file(str(path))
    assert panel.model_label.text().startswith("tiny.keras")
    with _wait(qtbot, panel, "analysis"):
        panel.set_image(np.ones((16, 16, 1), np.float32) * 0.5, "grey")
    out = tmp_path / "view.png"
    assert panel.export_view(str(out))
    from PIL import Image

    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] > 100
    assert not panel.export_view(str(tmp_path / "missing" / "x.png"))


def test_pretrained_random_weights_and_errors_shown(panel, qtbot, tmp_path):
    with _wait(qtbot, panel, "model"):
        panel.load_application("MobileNetV2", None, include_top=False, input_shape=(64, 64, 3))
    assert "random weights" in panel.model_label.text() and "64x64x3" in panel.model_label.text()
    with _wait(qtbot, panel, "analysis"):
        panel.set_image(np.random.default_rng(1).random((40, 50, 3), dtype=np.float32), "noise")
    assert panel._image.shape == (64, 64, 3)
    assert panel.topk_chart.predictions() == []  # no classifier: the chart says why
    assert panel.layer_combo.count() > 50 and panel.layer_combo.itemText(0) == "Conv1"
    assert "classifier" in panel.cam_info.text()
    bad = tmp_path / "broken.keras"
    bad.write_text("not a zip")
    with _wait(qtbot, panel, "error"):
        panel.load_model_file(str(bad))
    assert "broken.keras is not a valid .keras file" in panel.message.text()
    assert "random weights" in panel.model_label.text()  # the previous model stays


def test_awkward_image_files_are_converted_or_refused(loaded, qtbot, tmp_path):
    """16-bit, palette, CMYK, alpha and 1-pixel images are converted; broken files get a message."""
    from PIL import Image

    panel, model, _image = loaded
    rng = np.random.default_rng(3)
    files = {
        "sixteen.png": Image.fromarray(rng.integers(0, 65535, (20, 24), dtype=np.uint16)),
        "palette.png": Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).convert("P"),
        "cmyk.jpg": Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).convert("CMYK"),
        "alpha.png": Image.fromarray(rng.integers(0, 255, (20, 24, 4), dtype=np.uint8), "RGBA"),
        "one.png": Image.fromarray(np.array([[[10, 200, 30]]], np.uint8)),
    }
    for name, img in files.items():
        img.save(tmp_path / name)
        with _wait(qtbot, panel, "analysis"):
            assert panel.open_path(tmp_path / name)
        assert panel._image.shape == (16, 16, 1), name
        assert not panel.message.isVisibleTo(panel), (name, panel.message.text())
        probs = model(panel._image[None]).numpy()[0]
        assert panel.topk_chart.predictions()[0][0] == int(np.argmax(probs)), name
    good = (tmp_path / "cmyk.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    assert panel.open_path(tmp_path / "cut.jpg")
    assert "damaged or truncated" in panel.message.text()


def test_class_names_come_from_the_data_set_when_they_fit(panel, qtbot):
    class _Data:
        class_names = ["cat", "dog", "bird"]

    panel.state.set_dataset(_Data())
    model = _tiny()
    panel.state.set_model(model, "tiny")
    x = np.random.default_rng(2).random((16, 16, 1), dtype=np.float32)
    with _wait(qtbot, panel, "analysis"):
        panel.set_image(x, "x")
    probs = model(x[None]).numpy()[0]
    assert [lab for _i, lab, _p in panel.topk_chart.predictions()] == [_Data.class_names[i] for i in np.argsort(-probs)]
    _Data.class_names = ["a", "b"]  # two names for three outputs: not used
    with _wait(qtbot, panel, "analysis"):
        panel.set_model(model, "tiny again")
    assert all(lab is None for _i, lab, _p in panel.topk_chart.predictions())


# --- a model with two heads --------------------------------------------------------------------------------------


def _two_heads():
    """A classes head (softmax) and a box head (four sigmoids) on one trunk, as the Builder makes graph designs."""
    keras.utils.set_random_seed(11)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(6, 3, activation="relu", padding="same", name="c2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = {"classes": keras.layers.Dense(3, activation="softmax", name="classes_out")(x),
           "box": keras.layers.Dense(4, activation="sigmoid", name="box_out")(x)}
    return keras.Model(inp, out, name="two_heads")


def test_one_output_hides_the_head_picker(loaded):
    panel, _model, _image = loaded
    assert panel.head_row.isHidden() and panel.chosen_head() is None
    assert not panel.topk_chart.isHidden() and panel.box_view.isHidden()


def test_the_head_picker_switches_top_k_to_the_box_and_grad_cam_to_box_coordinates(panel, qtbot):
    model = _two_heads()
    panel.state.set_model(model, "two heads")
    image = np.random.default_rng(1).random((16, 16, 3), dtype=np.float32)
    with _wait(qtbot, panel, "analysis"):
        panel.state.image_array_opened.emit(image, "noise")
    # the picker shows both heads, the classifier first chosen: top-k and Grad-CAM are its
    assert not panel.head_row.isHidden()
    assert [panel.head_combo.itemData(i) for i in range(panel.head_combo.count())] == ["classes", "box"]
    assert panel.chosen_head() == "classes" and panel.cam_tab.cam_class_label.text() == "Class"
    direct = model(image[None], training=False)
    probs = direct["classes"].numpy()[0]
    assert [i for i, _l, _p in panel.topk_chart.predictions()] == list(np.argsort(-probs))
    cam_classes = panel.subject.analysis["cam"]
    np.testing.assert_allclose(cam_classes.heatmap, ins.grad_cam(model, image, head="classes"), atol=1e-6)
    assert not panel.topk_chart.isHidden() and panel.box_view.isHidden()
    # the box head: its box instead of top-k, Grad-CAM of the sum of its coordinates
    with _wait(qtbot, panel, "analysis"):
        panel.head_combo.setCurrentIndex(1)
    assert panel.chosen_head() == "box"
    assert panel.topk_chart.isHidden() and not panel.box_view.isHidden()
    np.testing.assert_allclose(panel.box_view.box, direct["box"].numpy()[0], rtol=1e-5)
    assert "x0" in panel.box_view.caption.text() and "fractions of the image" in panel.box_view.caption.text()
    assert panel.cam_tab.cam_class_label.text() == "Box coordinate"
    assert panel.cam_class_combo.itemText(0) == "All four (sum)" and panel.cam_class_combo.count() == 5
    cam_box = panel.subject.analysis["cam"]
    assert cam_box.head == "box" and cam_box.class_index == -1
    np.testing.assert_allclose(cam_box.heatmap, ins.grad_cam(model, image, head="box"), atol=1e-6)
    assert not np.allclose(cam_box.heatmap, cam_classes.heatmap)
    assert "box head “box”" in panel.cam_info.text()
    # one coordinate: the map follows it
    with _wait(qtbot, panel, "cam"):
        panel.cam_class_combo.setCurrentIndex(3)  # x1 (right edge)
    np.testing.assert_allclose(panel.cam_view._heat, ins.grad_cam(model, image, class_index=2, head="box"), atol=1e-6)
    assert "x1 (right edge)" in panel.cam_info.text()
    # feature maps are the layers', whatever the head
    assert [panel.layer_combo.itemText(i) for i in range(panel.layer_combo.count())] == ["c1", "c2"]
    # back to the classifier: top-k again, classes in the picker
    with _wait(qtbot, panel, "analysis"):
        panel.head_combo.setCurrentIndex(0)
    assert not panel.topk_chart.isHidden() and panel.cam_tab.cam_class_label.text() == "Class"
    assert panel.cam_class_combo.itemText(0) == "Top class"
    # a one-output model afterwards hides the picker
    with _wait(qtbot, panel, "analysis"):
        panel.state.set_model(_tiny(), "tiny")
    assert panel.head_row.isHidden()


def test_a_long_message_wraps_and_scrolls_inside_the_column_without_covering_the_boxes(panel, qtbot):
    """An offline download's long message, with a long file name in it: wrapped to the column's width,
    at most a few lines tall (then it scrolls), below the boxes; the text reads as it was given."""
    from convexplorer.core import samples
    from convexplorer.ui.panels.inspect.side_column import MESSAGE_MAX_HEIGHT

    panel.resize(1300, 820)
    panel.show()
    panel.set_image(samples.scene(), "scene.png", analyse=False)
    text = ("could not get mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5: the network cannot be "
            "reached (no internet connection?). ImageNet weights for MobileNetV2 are not in the cache yet: "
            "connect once to download them (14 MB), or put the file in ~/.keras/models. ") * 3
    panel.side.set_message(text)
    qtbot.wait(20)
    area, label = panel.side.message_area, panel.message
    assert area.isVisible() and panel.message.text() == text
    assert area.height() <= MESSAGE_MAX_HEIGHT and area.verticalScrollBar().maximum() > 0  # it scrolls
    assert label.width() <= area.viewport().width()  # wrapped, the long file name too: nothing cut off
    top = area.geometry().top()
    for box in (panel.side.model_box, panel.side.image_box, panel.side.pred_box):
        assert box.geometry().bottom() < top, type(box).__name__
    panel.side.set_message("")
    assert not area.isVisible()
