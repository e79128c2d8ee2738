"""The Builder panel: edit by clicks, live Keras-equal summary, invalid rows, files and workers."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt

from convexplorer.core.presets import PRESETS
from convexplorer.core.spec import ModelSpec
from convexplorer.core.summary import summarize
from convexplorer.ui.panels.builder import BuilderPanel
from convexplorer.ui.screenshots import prepare_panel
from convexplorer.ui.state import AppState


@pytest.fixture
def panel(qtbot):
    state = AppState()
    p = BuilderPanel(state)
    qtbot.addWidget(p)
    p.resize(1280, 800)
    yield p
    p.shutdown()


def _table_column(p, col):
    return [p.summary_table.item(r, col).text() for r in range(p.summary_table.rowCount())]


def test_panel_module_imports_without_tensorflow():
    code = ("import sys, convexplorer.ui.panels.builder, convexplorer.ui.widgets.layer_table; "
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_preset_fills_the_table_with_the_summary_numbers(panel, qtbot):
    with qtbot.waitSignal(panel.state.spec_changed) as blocker:
        panel.load_preset("Cats vs dogs: small convnet")
    spec = blocker.args[0]
    assert isinstance(spec, ModelSpec) and spec is not panel.spec  # a snapshot for the Training panel
    s = summarize(PRESETS["Cats vs dogs: small convnet"])
    assert _table_column(panel, 2) == [f"{r.params:,}" for r in s.rows]
    assert _table_column(panel, 1)[-1] == "(None, 1)"
    assert "Total params: 3,453,121 (13.17 MB)" in panel.totals_label.text()
    assert panel.layer_list.count() == len(PRESETS["Cats vs dogs: small convnet"].layers)
    assert panel.diagram.blocks[-1].subtitle == "1"


def test_palette_clicks_add_remove_duplicate_and_move(panel, qtbot):
    panel.layer_list.setCurrentRow(5)  # Flatten in the MNIST convnet
    qtbot.mouseClick(panel.palette_buttons["Dropout"], Qt.MouseButton.LeftButton)
    kinds = [layer.kind for layer in panel.spec.layers]
    assert kinds[5:8] == ["Flatten", "Dropout", "Dense"]
    assert panel.selected_index() == 6
    assert [layer.kind for layer in panel.state.spec.layers] == kinds
    qtbot.mouseClick(panel.duplicate_button, Qt.MouseButton.LeftButton)
    assert [layer.kind for layer in panel.spec.layers][6:8] == ["Dropout", "Dropout"]
    assert panel.selected_index() == 7  # the copy
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert panel.selected_index() == 7 and panel.spec.layers[7].kind == "Dense"  # the next layer is selected
    panel.layer_list.setCurrentRow(6)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert [layer.kind for layer in panel.spec.layers] == [layer.kind for layer in PRESETS["MNIST convnet"].layers]
    panel.layer_list.setCurrentRow(0)
    qtbot.mouseClick(panel.down_button, Qt.MouseButton.LeftButton)
    assert [layer.kind for layer in panel.spec.layers][:2] == ["MaxPooling2D", "Conv2D"]
    assert panel.selected_index() == 1
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    assert panel.summary.total == 93_322


def test_drag_reorder_moves_the_layer(panel):
    # what a drop does inside the list: the view's model moves the row
    model = panel.layer_list.model()
    panel.layer_list.setCurrentRow(1)
    assert model.moveRow(QModelIndex(), 1, QModelIndex(), 5)  # the first MaxPooling2D to just before Flatten
    kinds = [layer.kind for layer in panel.spec.layers]
    assert kinds[:5] == ["Conv2D", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D"]
    assert panel.layer_list.count() == 8
    assert panel.summary.rows[2].output_shape == (None, 24, 24, 64)


def test_zero_filters_flag_the_row_and_keep_the_last_valid_totals(panel, qtbot):
    panel.layer_list.setCurrentRow(0)
    filters = panel._editors["filters"]
    filters.setValue(0)
    assert panel.summary_table.error_rows() == [1]
    assert "Filters must be at least 1, got 0" in panel.summary_table.item(1, 1).text()
    assert "Last valid design" in panel.totals_label.text() and "93,322" in panel.totals_label.text()
    assert panel.diagram.blocks[1].error
    assert panel.layer_list.item(0).background().color().name() == "#fde2e1"
    filters.setValue(16)
    assert panel.summary.valid and panel.summary.rows[1].params == 160
    assert "Total params: 83,946" in panel.totals_label.text()  # 93,322 - 320 + 160 - 18,496 + 9,280


def test_invalid_example_for_screenshots(panel):
    panel.show_invalid_example()
    assert panel.summary_table.error_rows() == [5]
    assert "7x7 on 5x5" in panel.problem_label.text()
    assert panel.selected_index() == 4 and panel.props_box.title() == "Layer 5: Conv2D"
    assert panel._editors["kernel_size"].spins[0].value() == 7


def test_dense_before_flatten_is_explained(panel, qtbot):
    panel.layer_list.setCurrentRow(5)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)  # remove Flatten
    assert "add a Flatten or GlobalAveragePooling2D" in panel.problem_label.text()


def test_input_and_classes_follow_the_data_set(panel, qtbot):
    ds = SimpleNamespace(name="shapes", image_shape=(32, 32, 3), class_names=["a", "b", "c", "d", "e"])
    panel.state.set_dataset(ds)
    assert panel.spec.input_shape == (32, 32, 3) and panel.spec.num_classes == 5
    assert panel.summary.output_shape == (None, 5)
    assert not panel.height_spin.isEnabled()
    assert "shapes" in panel.dataset_label.text()
    panel.follow_dataset_check.setChecked(False)
    panel.height_spin.setValue(40)
    assert panel.spec.input_shape == (40, 32, 3)
    panel.state.set_dataset(SimpleNamespace(name="x", image_shape=(8, 8, 1), class_names=["a"]))
    assert panel.spec.input_shape == (40, 32, 3)  # not following any more


def test_compile_settings_edit_the_spec(panel):
    panel.optimizer_combo.setCurrentText("sgd")
    assert panel.momentum_spin.isEnabled()
    panel.momentum_spin.setValue(0.9)
    panel.lr_spin.setValue(0.01)
    panel.labels_combo.setCurrentIndex(panel.labels_combo.findData("binary"))
    panel.metric_checks["auc"].setChecked(True)
    panel.metric_checks["top5"].setChecked(True)
    c = panel.state.spec.compile
    assert (c.optimizer, c.momentum, c.learning_rate, c.loss) == ("sgd", 0.9, 0.01, "binary_crossentropy")
    assert c.metrics == ["accuracy", "top_k_categorical_accuracy", "auc"]
    assert panel.summary.output_shape == (None, 1)  # 'Units = classes' with binary cross-entropy
    panel.optimizer_combo.setCurrentText("adam")
    assert not panel.momentum_spin.isEnabled()


def test_pretrained_fine_tuning_in_the_form(panel):
    panel.state.set_dataset(SimpleNamespace(name="c", image_shape=(64, 64, 3), class_names=["a", "b"]))
    panel.new_design()
    panel.add_layer("Pretrained")
    panel.add_layer("GlobalAveragePooling2D")
    panel.layer_list.setCurrentRow(0)
    combo = panel._editors["trainable"]
    combo.setCurrentIndex(combo.findData("fine_tune"))
    assert panel.spec.layers[0].get("fine_tune_from") == "block5_conv3"
    assert panel._editors["fine_tune_from"].isEnabled()
    tune = panel._editors["fine_tune_from"]
    tune.setCurrentIndex(tune.findData("block5_conv1"))
    assert panel.summary.trainable == 3 * 2_359_808
    app = panel._editors["application"]
    app.setCurrentIndex(app.findData("ResNet50"))
    assert panel.spec.layers[0].get("fine_tune_from") == "conv5_block3_3_bn"
    assert panel.summary.rows[1].output_shape == (None, 2, 2, 2048)


def test_diagram_click_selects_the_layer(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    slot, index = panel.diagram._rects[3]
    qtbot.mouseClick(panel.diagram, Qt.MouseButton.LeftButton, pos=QPoint(int(slot.center().x()), 60))
    assert panel.selected_index() == index == 2
    panel.hide()


def test_save_and_open_a_json_design(panel, tmp_path):
    panel.load_preset("LeNet-5")
    panel.spec.layers[0].name = "c1"
    path = tmp_path / "lenet.json"
    panel.save_design(path)
    assert json.loads(path.read_text())["format_version"] == 2  # graph designs (format 1: stacks)
    panel.new_design()
    assert panel.open_path(path)
    assert panel.spec.to_dict() == ModelSpec.from_json(path.read_text()).to_dict()
    assert panel.spec.layer_names()[0] == "c1" and panel.summary.total == 61_706
    bad = tmp_path / "bad.json"
    bad.write_text('{"layers": []}')
    assert panel.open_path(bad)
    assert "format_version" in panel.message_label.text() and panel.summary.total == 61_706
    assert not panel.open_path(tmp_path / "picture.png")


def test_export_script_on_a_worker(panel, qtbot, tmp_path):
    path = tmp_path / "train.py"
    worker = panel.export_script(path)
    with qtbot.waitSignal(worker.finished, timeout=20_000):
        pass
    assert "93,322 parameters" in path.read_text()
    assert "Script written" in panel.message_label.text()


def test_export_refuses_an_invalid_design(panel, tmp_path):
    panel.show_invalid_example()
    assert panel.export_script(tmp_path / "x.py") is None
    assert "Fix the design first" in panel.message_label.text()


def test_export_keras_then_open_it_again(panel, qtbot, tmp_path):
    pytest.importorskip("keras")
    panel.load_preset("LeNet-5")
    path = tmp_path / "lenet.keras"
    worker = panel.export_keras(path)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    assert path.is_file(), panel.message_label.text()
    panel.new_design()
    with qtbot.waitSignal(panel.state.model_changed, timeout=60_000) as blocker:
        assert panel.open_path(path)
    model, label = blocker.args
    assert label == "lenet.keras" and model.count_params() == 61_706
    qtbot.waitUntil(lambda: panel.layer_list.count() == 8)
    assert panel.summary.total == 61_706
    qtbot.waitUntil(lambda: not panel.busy_bar.isVisible())


def test_lambda_model_asks_before_opening_unsafely(panel, qtbot, tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(tmp_path / "lam.keras")
    asked = []
    panel.confirm_unsafe = lambda text: asked.append(text) or False
    panel.open_path(tmp_path / "lam.keras")
    qtbot.waitUntil(lambda: "Lambda" in panel.message_label.text(), timeout=60_000)
    assert asked and "safe mode" in asked[0]
    assert panel.state.model is None
    panel.confirm_unsafe = lambda text: True
    with qtbot.waitSignal(panel.state.model_changed, timeout=60_000):
        panel.open_path(tmp_path / "lam.keras")
    qtbot.waitUntil(lambda: "cannot be edited" in panel.message_label.text())
    qtbot.waitUntil(lambda: not panel.busy_bar.isVisible())


def test_presets_adapt_to_the_data_set_and_say_so(panel):
    panel.state.set_dataset(SimpleNamespace(name="s", image_shape=(64, 64, 3), class_names=list("abcd")))
    panel.load_preset("MNIST convnet")
    assert panel.spec.input_shape == (64, 64, 3) and panel.summary.total == 646_468
    text = panel.message_label.text()
    assert "adapted to the data set (64×64×3, 4 classes): 646,468 parameters" in text and "93,322" in text
    prepare_panel(panel)
    assert not panel.follow_dataset_check.isChecked()
    assert panel.spec.input_shape == (28, 28, 1) and panel.summary.total == 93_322


def test_binary_presets_switch_to_softmax_for_more_classes(panel):
    panel.state.set_dataset(SimpleNamespace(name="s", image_shape=(64, 64, 3), class_names=list("abcd")))
    panel.load_preset("VGG16 transfer: frozen base")
    assert panel.spec.compile.loss == "sparse_categorical_crossentropy"
    assert panel.spec.layers[-1].get("activation") == "softmax"
    assert panel.summary.output_shape == (None, 4) and not panel.summary.warnings
    panel.labels_combo.setCurrentIndex(panel.labels_combo.findData("binary"))
    assert "there are 4" in panel.problem_label.text()


def test_choosing_another_base_measures_it_on_a_worker(panel, qtbot):
    pytest.importorskip("keras")
    panel.state.set_dataset(SimpleNamespace(name="c", image_shape=(48, 48, 3), class_names=["a", "b", "c"]))
    panel.new_design()
    panel.add_layer("Pretrained")
    panel.add_layer("GlobalAveragePooling2D")
    panel.layer_list.setCurrentRow(0)
    trainable = panel._editors["trainable"]
    trainable.setCurrentIndex(trainable.findData("fine_tune"))
    app = panel._editors["application"]
    app.setCurrentIndex(app.findData("MobileNetV2"))
    from convexplorer.core.summary import measured_base

    if measured_base("MobileNetV2", (48, 48, 3)) is None:
        assert panel.summary.pending and "measuring MobileNetV2" in panel.problem_label.text()
        assert panel.summary_table.error_rows() == []  # waiting is not an error
    qtbot.waitUntil(lambda: panel.summary.valid, timeout=60_000)
    assert panel.spec.layers[0].get("fine_tune_from") == "Conv_1_bn"  # the last layer with weights
    assert panel.summary.rows[1].name == "mobilenetv2" and panel.summary.rows[1].output_shape == (None, 2, 2, 1280)
    assert panel._editors["fine_tune_from"].count() > 50
    qtbot.waitUntil(lambda: not panel.busy_bar.isVisible())


def test_keyboard_shortcuts_on_the_layer_list(panel, qtbot):
    panel.show()
    panel.activateWindow()
    qtbot.waitActive(panel)
    panel.layer_list.setFocus()
    qtbot.waitUntil(panel.layer_list.hasFocus)
    panel.layer_list.setCurrentRow(6)
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert [layer.kind for layer in panel.spec.layers][6:8] == ["Dense", "Dense"] and len(panel.spec.layers) == 9
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Delete)
    assert len(panel.spec.layers) == 8
    panel.layer_list.setCurrentRow(5)
    qtbot.keyClick(panel.layer_list, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert panel.spec.layers[4].kind == "Flatten" and panel.selected_index() == 4
    panel.hide()


def test_every_parameter_of_every_kind_has_an_editor_that_shows_and_sets_its_value(qapp):
    """Editors for the graph kinds: a negative axis, a none-able number, four paddings, a shape."""
    from convexplorer.core.spec import LAYER_KINDS, make_layer
    from convexplorer.ui.panels.builder.editors import make_editor

    for kind, info in LAYER_KINDS.items():
        layer = make_layer(kind)
        for p in info.params:
            make_editor(layer, p, lambda _v: None).deleteLater()  # every type has one
    got = []
    axis = make_editor(make_layer("Concatenate"), LAYER_KINDS["Concatenate"].param("axis"), got.append)
    assert axis.value() == -1
    axis.setValue(1)
    pad = make_editor(make_layer("ZeroPadding2D", padding=[0, 1, 0, 1]), LAYER_KINDS["ZeroPadding2D"].param("padding"), got.append)
    assert [s.value() for s in pad.spins] == [0, 1, 0, 1]
    pad.spins[2].setValue(2)
    cap = make_editor(make_layer("ReLU"), LAYER_KINDS["ReLU"].param("max_value"), got.append)
    assert cap.none.isChecked() and not cap.spin.isEnabled()
    cap.none.setChecked(False)
    shape = make_editor(make_layer("Reshape"), LAYER_KINDS["Reshape"].param("target_shape"), got.append)
    assert shape.text() == "1, 1, -1"
    shape.setText("7, 7, 64")
    shape.editingFinished.emit()
    assert got == [1, [0, 1, 2, 1], 6.0, [7, 7, 64]]
    for w in (axis, pad, cap, shape):
        w.deleteLater()
