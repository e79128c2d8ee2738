"""The Builder as a graph editor: presets as graphs, palette/blocks/connections with undo, groups, red nodes,
models opened as graphs (weights kept, read-only), Keras JSON, bad design files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from convexplorer.core.presets import PRESETS
from convexplorer.core.spec import INPUT_ID, ModelSpec
from convexplorer.core.summary import summarize
from convexplorer.ui.panels.builder import BuilderPanel
from convexplorer.ui.state import AppState


@pytest.fixture
def panel(qtbot):
    p = BuilderPanel(AppState())
    qtbot.addWidget(p)
    p.resize(1280, 800)
    yield p
    p.shutdown()


def _boxes(panel):
    return panel.canvas.scene.node_items


@pytest.mark.parametrize("name", ["Small residual net", "ResNet-34"])
def test_graph_presets_are_drawn_node_by_node_with_the_summary_totals(panel, name):
    panel.load_preset(name)
    spec = PRESETS[name]
    collapsed = {n for g in spec.groups if g.collapsed for n in g.nodes}
    assert set(_boxes(panel)) >= {INPUT_ID} | {layer.id for layer in spec.layers if layer.id not in collapsed}
    assert panel.summary.total == summarize(spec).total
    assert f"Total params: {summarize(spec).total:,}" in panel.totals_label.text()
    assert panel.canvas.spec is panel.spec and panel.layer_list.count() == len(spec.layers)
    add = next(layer for layer in panel.spec.layers if layer.kind == "Add")
    look = _boxes(panel)[add.id].look
    assert look.shape == "×".join(map(str, panel.summary.node_shapes[add.id][1:])) and not look.error
    assert panel.canvas.view.zoom() >= 0.59  # opened at a readable zoom, not shrunk to fit 100+ boxes


def test_palette_connect_block_then_undo_and_redo_to_the_same_design(panel, qtbot):
    panel.load_preset("Small residual net")
    start = panel.spec.to_dict()
    first_add = next(layer for layer in panel.spec.layers if layer.kind == "Add")
    readers = [layer.id for layer in panel.spec.layers if (first_add.id, 0) in (layer.inputs or [])]
    panel.canvas.select([first_add.id])
    qtbot.mouseClick(panel.palette_buttons["BatchNormalization"], Qt.MouseButton.LeftButton)
    bn = panel.spec.layers[panel.selected_index()]
    assert bn.kind == "BatchNormalization" and bn.inputs == [(first_add.id, 0)]
    assert all((bn.id, 0) in panel.spec.node(r).inputs for r in readers)  # spliced in after the Add
    assert panel.canvas.selected_ids() == [bn.id] and panel.props_box.title().endswith("BatchNormalization")
    states = [start, panel.spec.to_dict()]
    dense = panel.spec.layers[-1]
    gap = panel.spec.layers[-2]
    assert panel.canvas.add_node("Dropout", inputs=[(gap.id, 0)])  # a second branch, a dead end: red
    drop = panel.spec.layers[-1] if panel.spec.layers[-1].kind == "Dropout" else next(
        layer for layer in panel.spec.layers if layer.kind == "Dropout")
    assert "dead-end" in _boxes(panel)[drop.id].look.error
    states.append(panel.spec.to_dict())
    assert panel.canvas.connect_nodes(drop.id, dense.id)  # Dense takes one input: the new edge replaces the old
    assert panel.spec.node(dense.id).inputs == [(drop.id, 0)] and panel.summary.valid
    states.append(panel.spec.to_dict())
    panel.canvas.select([gap.id])
    before = len(panel.spec.layers)
    qtbot.mouseClick(panel.block_buttons["SE block"], Qt.MouseButton.LeftButton)
    assert len(panel.spec.layers) > before and panel.spec.groups[-1].name.startswith("SE block")
    states.append(panel.spec.to_dict())
    assert panel.summary.total == summarize(panel.spec).total
    for expected in reversed(states[:-1]):
        qtbot.mouseClick(panel.undo_button, Qt.MouseButton.LeftButton)
        assert panel.spec.to_dict() == expected
        assert panel.summary.total == summarize(ModelSpec.from_dict(expected)).total
    assert not panel.undo_button.isEnabled()
    for expected in states[1:]:
        panel.redo()
        assert panel.spec.to_dict() == expected
    assert panel.state.spec.to_dict() == states[-1]  # the Training panel gets every state


def test_form_edits_on_a_graph_node_are_undoable_and_keep_the_form(panel):
    panel.load_preset("Small residual net")
    conv = next(layer for layer in panel.spec.layers if layer.kind == "Conv2D")
    panel.canvas.select([conv.id])
    spin = panel._editors["filters"]
    total = panel.summary.total
    spin.setValue(40)
    spin.setValue(48)
    assert panel.spec.node(conv.id).params["filters"] == 48 and panel._editors["filters"] is spin
    assert panel.summary.total != total
    panel.undo()  # the two steps of one spin box are one edit
    assert panel.spec.node(conv.id).params["filters"] == 32 and panel.summary.total == total
    assert panel._editors["filters"].value() == 32


def test_group_collapse_expand(panel):
    panel.load_preset("MNIST convnet")
    ids = [layer.id for layer in panel.spec.layers[:3]]
    panel.canvas.select(ids)
    assert panel.canvas.group_selection("stem")
    panel.canvas.select([ids[0]])
    assert panel.toggle_group()
    assert "group:stem" in _boxes(panel) and ids[0] not in _boxes(panel)
    assert _boxes(panel)["group:stem"].look.members == 3
    assert panel.summary.total == 93_322
    assert panel.toggle_group()
    assert ids[0] in _boxes(panel) and "group:stem" not in _boxes(panel)


def test_a_bad_add_is_drawn_red_with_the_summary_message(panel):
    panel.show_invalid_graph_example()
    add = next(layer for layer in panel.spec.layers if layer.kind == "Add")
    message = panel.summary.node_errors()[add.id]
    assert "Add needs equal shapes" in message
    assert _boxes(panel)[add.id].look.error == message
    assert "Add needs equal shapes" in panel.problem_label.text()
    assert panel.props_box.title() == f"Layer {panel.spec.index_of(add.id) + 1}: Add"


def test_stack_edits_stay_stack_edits(panel):
    panel.add_layer("Dropout", 6)  # the lessons' call
    assert [layer.kind for layer in panel.spec.layers][5:8] == ["Flatten", "Dropout", "Dense"]
    assert all(layer.inputs is None for layer in panel.spec.layers)
    panel.undo()
    assert len(panel.spec.layers) == 8 and panel.summary.total == 93_322
    panel.layer_list.setCurrentRow(7)
    panel.add_layer("Dropout")  # after the last layer: the new last layer is the output
    assert panel.spec.layers[-1].kind == "Dropout" and panel.summary.valid


def test_heads_make_a_second_output_and_change_its_weight(panel):
    panel.load_preset("Small residual net")
    gap = next(layer for layer in panel.spec.layers if layer.kind == "GlobalAveragePooling2D")
    panel.canvas.select([gap.id])
    assert panel.make_selected_head()
    assert [h.node for h in panel.spec.heads][-1] == gap.id and len(panel.spec.heads) == 2
    assert panel.heads_editor.head_list.count() == 2 and panel.heads_editor.form_box.isVisibleTo(panel)
    panel.heads_editor.head_list.setCurrentRow(1)
    panel.heads_editor.weight_spin.setValue(0.25)
    panel.heads_editor.loss_combo.setCurrentText("mean_squared_error")
    assert (panel.spec.heads[1].loss_weight, panel.spec.heads[1].loss) == (0.25, "mean_squared_error")
    assert panel.summary.outputs[panel.spec.heads[1].name] == (None, 128)
    panel.undo()
    panel.undo()
    assert panel.spec.heads[1].loss_weight == 1.0


def _wait_opened(panel, qtbot, count):
    qtbot.waitUntil(lambda: panel.layer_list.count() == count and not panel.busy_bar.isVisible(), timeout=60_000)


def test_a_functional_model_opens_as_a_graph_and_keeps_its_weights(panel, qtbot, tmp_path):
    keras = pytest.importorskip("keras")
    from convexplorer.core.builder import build_model

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    a = keras.layers.Conv2D(8, 3, padding="same", name="left")(x)
    b = keras.layers.Conv2D(8, 1, name="right")(x)
    y = keras.layers.Add(name="join")([a, b])
    y = keras.layers.GlobalAveragePooling2D(name="gap")(y)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(y))
    path = tmp_path / "branchy.keras"
    model.save(path)
    with qtbot.waitSignal(panel.state.model_changed, timeout=60_000):
        assert panel.open_path(path)
    _wait_opened(panel, qtbot, 6)
    assert not panel.spec.is_chain() and panel.canvas.read_only == ""
    assert {"stem", "left", "right", "join"} <= set(panel.spec.layer_names())
    assert "editable graph" in panel.message_label.text() and panel.summary.total == model.count_params()
    assert set(panel.design.initial_weights) and getattr(panel.state.spec, "initial_weights", None)
    rebuilt = build_model(panel.spec, compile=False, initial_weights=panel.design.initial_weights)
    x_in = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(rebuilt(x_in)), np.asarray(model(x_in)), rtol=1e-5, atol=1e-6)
    stem = panel.spec.node_by_name("stem")
    panel.canvas.set_params(stem.id, {"filters": 4})  # a changed node starts fresh, the unchanged Dense keeps its own
    from convexplorer.core.builder import build_model
    from convexplorer.core.modelio import apply_weights

    changed = build_model(panel.spec, compile=False, load_weights=False)
    applied = apply_weights(changed, panel.spec, panel.design.initial_weights)
    assert stem.id in applied.fresh and panel.spec.node_by_name("out").id in applied.kept


def test_a_lambda_model_opens_read_only_and_stays_inspectable(panel, qtbot, tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, name="c")(inputs)
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0, name="double")(x)).save(tmp_path / "lam.keras")
    panel.confirm_unsafe = lambda text: True
    with qtbot.waitSignal(panel.state.model_changed, timeout=60_000):
        panel.open_path(tmp_path / "lam.keras")
    _wait_opened(panel, qtbot, 2)
    assert '"double"' in panel.message_label.text() and "cannot be edited" in panel.message_label.text()
    assert panel.canvas.read_only and panel.graph_view.banner.isVisibleTo(panel)
    assert "double" in panel.graph_view.banner.text()
    before = panel.spec.to_dict()
    panel.canvas.select([panel.spec.layers[0].id])
    panel.add_layer("Dropout")
    assert not panel.canvas.add_node("Dense")
    assert panel.spec.to_dict() == before and "cannot be edited" in panel.message_label.text()
    assert not panel.palette_buttons["Dense"].isEnabled() and not panel.remove_button.isEnabled()
    assert panel.state.model is not None  # Inspect has the model
    qtbot.waitUntil(lambda: not panel.busy_bar.isVisible(), timeout=60_000)


def test_keras_json_export_then_open(panel, qtbot, tmp_path):
    pytest.importorskip("keras")
    panel.load_preset("Small residual net")
    path = tmp_path / "net.json"
    worker = panel.export_keras_json(path)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        pass
    data = json.loads(path.read_text())
    assert data["class_name"] == "Functional" and "format_version" not in data
    panel.load_preset("MNIST convnet")
    assert panel.open_path(path)
    _wait_opened(panel, qtbot, len(PRESETS["Small residual net"].layers))
    assert panel.summary.total == summarize(PRESETS["Small residual net"]).total
    assert not panel.spec.is_chain() and not panel.canvas.read_only


def _design_json(layers, **extra):
    return json.dumps({"format_version": 2, "name": "bad", "input_shape": [8, 8, 1], "num_classes": 2,
                       "layers": layers, **extra})


def test_bad_design_files_are_refused_and_the_design_is_kept(panel, tmp_path):
    panel.load_preset("Small residual net")
    kept = panel.spec.to_dict()
    huge = [{"kind": "ReLU", "id": f"n{i}", "inputs": [["input" if i == 0 else f"n{i - 1}", 0]]} for i in range(5000)]
    cases = {
        "huge.json": (_design_json(huge), "5,000 layers"),
        "unknown.json": (_design_json([{"kind": "Teleport"}]), "Teleport"),
        "missing.json": (_design_json([{"kind": "ReLU", "id": "a", "inputs": [["ghost", 0]]}]), "ghost"),
        "cycle.json": (_design_json([{"kind": "ReLU", "id": "a", "inputs": [["b", 0]]},
                                     {"kind": "ReLU", "id": "b", "inputs": [["a", 0]]}]), "cycle"),
    }
    for name, (text, words) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert panel.open_path(path)
        assert words in panel.message_label.text(), (name, panel.message_label.text())
        assert panel.spec.to_dict() == kept, name
    panel.undo()  # nothing the user made was lost: the undo history is there too
