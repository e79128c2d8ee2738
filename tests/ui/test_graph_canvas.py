"""The graph canvas driven offscreen: add, connect by dragging, refuse cycles, undo/redo, delete, copy/paste,
groups, auto-layout, red nodes, zoom, and pictures of a residual and an inception-like graph."""

from __future__ import annotations

import itertools
import json
import os
import shutil

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGraphicsPathItem

from convexplorer.core.layout import NODE_SIZE
from convexplorer.core.presets import preset
from convexplorer.core.spec import INPUT_ID, HeadSpec, ModelSpec, make_layer
from convexplorer.core.summary import Summary, SummaryRow
from convexplorer.ui.widgets.graph_canvas import KIND_MIME_TYPE, EdgeItem, GraphCanvas

W, H = NODE_SIZE


@pytest.fixture
def canvas(qtbot):
    c = GraphCanvas()
    qtbot.addWidget(c)
    c.resize(900, 700)
    yield c


def residual() -> tuple[ModelSpec, dict[str, str]]:
    """A residual unit by hand (tests/models.residual_graph)."""
    from tests.models import residual_graph

    return residual_graph()


def inception() -> ModelSpec:
    """A stem, two inception-like blocks (four branches concatenated) and two heads."""
    g = ModelSpec(input_shape=(64, 64, 3), num_classes=10)

    def add(kind: str, src: list[str], name: str = "", **params: object) -> str:
        return g.add_node(make_layer(kind, name, **params), [(s, 0) for s in src]).id

    x = add("Conv2D", [INPUT_ID], filters=32, strides=2, padding="same")
    x = add("MaxPooling2D", [x])
    for k in range(2):
        b1 = add("Conv2D", [x], f"b{k}_1x1", filters=16, kernel_size=1)
        b2 = add("Conv2D", [add("Conv2D", [x], f"b{k}_3x3_reduce", filters=16, kernel_size=1)], f"b{k}_3x3",
                 filters=24, padding="same")
        b3 = add("Conv2D", [add("Conv2D", [x], f"b{k}_5x5_reduce", filters=8, kernel_size=1)], f"b{k}_5x5",
                 filters=8, kernel_size=5, padding="same")
        b4 = add("Conv2D", [add("MaxPooling2D", [x], f"b{k}_pool", pool_size=3, strides=1, padding="same")],
                 f"b{k}_pool_proj", filters=8, kernel_size=1)
        x = add("Concatenate", [b1, b2, b3, b4], f"mixed{k}")
    x = add("GlobalAveragePooling2D", [x])
    out = add("Dense", [x], "classes", units=10, activation="softmax")
    box = add("Dense", [x], "box", units=4)
    g.heads = [HeadSpec("classes", out), HeadSpec("box", box, "mean_squared_error")]
    g.validate()
    return g


def fake_summary(spec: ModelSpec) -> Summary:
    """Plausible rows keyed by node id (the graph-aware summarize lands separately)."""
    rows = [SummaryRow("input_layer", "InputLayer", None, (None, *spec.input_shape))]
    names = spec.layer_names()
    for i, layer in enumerate(spec.layers):
        shape = (None, 10) if layer.kind == "Dense" else (None, 64) if "Global" in layer.kind else (None, 16, 16, 64)
        row = SummaryRow(names[i], layer.kind, i, shape, params=0 if layer.kind in ("Add", "Concatenate") else 4_640)
        row.node_id = layer.id  # type: ignore[attr-defined]
        rows.append(row)
    return Summary(rows=rows)


def _centre(canvas: GraphCanvas, scene_point: QPointF) -> QPoint:
    return canvas.view.mapFromScene(scene_point)


def drag_wire(qtbot, canvas: GraphCanvas, source: str, target: str, port: int) -> None:
    """Press on ``source``'s output port, move, release on input ``port`` of ``target`` (real mouse events)."""
    src = canvas.scene.node_items[source]
    dst = canvas.scene.node_items[target]
    start = _centre(canvas, src.out_port.scene_centre())
    end = _centre(canvas, dst.in_ports[port].scene_centre())
    vp = canvas.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, pos=(start + end) / 2)
    qtbot.mouseMove(vp, pos=end)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=end)


def _wires_left(canvas: GraphCanvas) -> list:
    return [i for i in canvas.scene.items() if type(i) is QGraphicsPathItem]


def _overlapping(canvas: GraphCanvas) -> list:
    pos = {sid: (it.pos().x(), it.pos().y()) for sid, it in canvas.scene.node_items.items()}
    return [(a, b) for (a, (ax, ay)), (b, (bx, by)) in itertools.combinations(pos.items(), 2)
            if ax < bx + W and bx < ax + W and ay < by + H and by < ay + H]


# --- drawing ---------------------------------------------------------------------------------

def test_a_design_is_drawn_as_boxes_ports_and_edges(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    items = canvas.scene.node_items
    assert set(items) == {INPUT_ID, *n.values()}
    assert len(canvas.scene.edge_items) == len(spec.edges()) == 6
    assert len(items[n["add"]].in_ports) == 3  # two connected and a free one for a third input
    assert [p.connected for p in items[n["add"]].in_ports] == [True, True, False]
    assert len(items[n["a"]].in_ports) == 1 and items[INPUT_ID].in_ports == []
    assert items[n["out"]].look.heads == ["output"]
    assert _overlapping(canvas) == []
    for e in canvas.scene.edge_items:  # edges point down
        assert e.path().pointAtPercent(1).y() > e.path().pointAtPercent(0).y()
    assert {"paint", "shape"} <= set(EdgeItem.__dict__)  # drawn as our arrows, picked with a wide margin


def test_a_chain_opens_as_a_column_and_the_spec_keeps_no_positions(canvas):
    spec = preset("MNIST convnet")
    before = spec.to_dict()
    canvas.set_spec(spec)
    xs = {round(it.pos().x(), 2) for it in canvas.scene.node_items.values()}
    assert len(xs) == 1
    assert spec.to_dict() == before  # opening a design does not change it


def test_summary_shapes_and_parameters_show_by_node_id_or_layer_index(canvas):
    spec = preset("MNIST convnet")
    canvas.set_spec(spec)
    from convexplorer.core.summary import summarize

    canvas.set_summary(summarize(spec))  # rows with layer_index only (before node_id lands) also work
    first = canvas.scene.node_items[spec.layers[0].id].look
    assert first.shape == "26×26×32" and first.params == 320
    assert canvas.scene.node_items[INPUT_ID].look.shape == "28×28×1"
    spec2, n = residual()
    canvas.set_spec(spec2)
    canvas.set_summary(fake_summary(spec2))
    assert canvas.scene.node_items[n["pool"]].look.shape == "64"


# --- editing ------------------------------------------------------------------------------------

def test_add_from_the_palette_then_connect_by_dragging(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    spec = ModelSpec(input_shape=(28, 28, 1))
    canvas.set_spec(spec)
    conv = canvas.add_node("Conv2D")
    assert spec.node(conv).inputs == [(INPUT_ID, 0)]  # an empty design: the first layer reads the image
    canvas.select([])
    dense = canvas.add_node("Dense", position=(400.0, 300.0))
    assert spec.node(dense).inputs == [] and spec.node(dense).position == (400.0, 300.0)
    assert "needs 1 input" in canvas.scene.node_items[dense].look.error
    canvas.fit()
    with qtbot.waitSignal(canvas.spec_changed):
        drag_wire(qtbot, canvas, conv, dense, 0)
    assert spec.node(dense).inputs == [(conv, 0)]
    assert not canvas.scene.node_items[dense].look.error
    assert [(h.name, h.node) for h in spec.heads] == [("dense", dense)]  # extending the output moves the head
    assert _wires_left(canvas) == []
    # with one node selected, a new node is fed by it
    canvas.select([dense])
    third = canvas.add_node("Dropout")
    assert spec.node(third).inputs == [(dense, 0)] and spec.heads[0].node == third


def test_a_dropped_palette_entry_lands_where_it_was_dropped(canvas):
    spec, _ = residual()
    canvas.set_spec(spec)
    mime = QMimeData()
    mime.setData(KIND_MIME_TYPE, b"BatchNormalization")
    canvas.view.dropped.emit(mime, QPointF(500, 600))
    node = spec.layers[-1]
    assert node.kind == "BatchNormalization" and node.inputs == []
    assert node.position == (500 - W / 2, 600 - H / 2)


def test_cycles_and_self_loops_are_refused_with_the_reason_and_nothing_left(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.fit()
    before = spec.to_dict()
    messages: list[str] = []
    canvas.message.connect(messages.append)
    drag_wire(qtbot, canvas, n["add"], n["a"], 0)
    assert messages and "cycle" in messages[-1] and "add -> conv2d -> add" in messages[-1]
    assert spec.to_dict() == before and canvas.undo_stack.count() == 0
    assert _wires_left(canvas) == [] and len(canvas.scene.edge_items) == 6
    assert not canvas.connect_nodes(n["b"], n["b"])
    assert "itself" in messages[-1] and spec.to_dict() == before
    assert not canvas.connect_nodes(n["a"], INPUT_ID)
    # a wire dropped on empty space does nothing
    vp = canvas.view.viewport()
    start = canvas.view.mapFromScene(canvas.scene.node_items[n["out"]].out_port.scene_centre())
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(5, 60))
    assert spec.to_dict() == before and _wires_left(canvas) == []


def test_a_one_input_layer_swaps_its_input_and_subtract_refuses_a_third(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    assert canvas.connect_nodes(INPUT_ID, n["b"])  # dropped on the box: replaces a
    assert spec.node(n["b"]).inputs == [(INPUT_ID, 0)]
    sub = canvas.add_node("Subtract", inputs=[(n["a"], 0), (n["b"], 0)])
    messages: list[str] = []
    canvas.message.connect(messages.append)
    assert not canvas.connect_nodes(n["pool"], sub)
    assert "takes 2 inputs" in messages[-1]


def _edits(canvas: GraphCanvas, n: dict[str, str]) -> list:
    spec = canvas.spec
    return [
        ("add", lambda: canvas.add_node("Dropout", inputs=[(n["pool"], 0)])),
        ("connect", lambda: canvas.connect_nodes(n["b"], n["add"])),
        ("disconnect", lambda: canvas.disconnect_input(n["add"], 2)),
        ("move", lambda: canvas.move_nodes({n["a"]: (700.0, 20.0)})),
        ("params", lambda: canvas.set_params(n["a"], {"filters": 64}, name="first")),
        ("group", lambda: (canvas.select([n["a"], n["b"], n["add"]]), canvas.group_selection("unit"))[1]),
        ("collapse", lambda: canvas.set_collapsed("unit", True)),
        ("expand", lambda: canvas.set_collapsed("unit", False)),
        ("ungroup", lambda: (canvas.select([n["b"]]), canvas.ungroup_selection())[1]),
        ("copy+paste", lambda: (canvas.select([n["a"], n["b"]]), canvas.copy_selection(), canvas.paste())[2]),
        ("delete", lambda: (canvas.select([n["b"]]), canvas.delete_selection())[1]),
        ("cut", lambda: (canvas.select([spec.layers[-1].id]), canvas.cut_selection())[1]),
        ("layout", lambda: canvas.auto_layout()),
        ("layout all", lambda: canvas.auto_layout(keep_user_positions=False)),
    ]


def test_every_edit_undoes_and_redoes_to_the_exact_same_design(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    history = []
    for name, edit in _edits(canvas, n):
        before = (json.dumps(spec.to_dict()), dict(canvas._auto))
        assert edit(), name
        after = (json.dumps(spec.to_dict()), dict(canvas._auto))
        assert after != before, name
        canvas.undo_stack.undo()
        assert (json.dumps(spec.to_dict()), dict(canvas._auto)) == before, name
        canvas.undo_stack.redo()
        assert (json.dumps(spec.to_dict()), dict(canvas._auto)) == after, name
        history.append(before)
    # and all the way back to the start, then forward again
    end = json.dumps(spec.to_dict())
    for before in reversed(history):
        canvas.undo_stack.undo()
        assert json.dumps(spec.to_dict()) == before[0]
    assert spec.to_dict() == residual()[0].to_dict()
    while canvas.undo_stack.canRedo():
        canvas.undo_stack.redo()
    assert json.dumps(spec.to_dict()) == end


def test_undo_and_redo_make_a_chain_a_chain_again(canvas):
    spec = preset("MNIST convnet")
    before = spec.to_dict()
    canvas.set_spec(spec)
    canvas.connect_nodes(INPUT_ID, spec.layers[2].id)
    assert not spec.is_chain()
    canvas.undo_stack.undo()
    assert spec.to_dict() == before and spec.is_chain()


def test_consecutive_moves_of_the_same_nodes_are_one_undo_step(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.move_nodes({n["a"]: (300.0, 0.0)})
    canvas.move_nodes({n["a"]: (320.0, 10.0)})
    canvas.move_nodes({n["b"]: (320.0, 200.0)})
    assert canvas.undo_stack.count() == 2
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert spec.node(n["a"]).position is None
    # a real mouse drag moves a box and pins it where it was dropped
    item = canvas.scene.node_items[n["pool"]]
    start = canvas.view.mapFromScene(item.pos() + QPointF(W / 2, H / 2))
    vp = canvas.view.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(vp, pos=start + QPoint(20, 5))
    qtbot.mouseMove(vp, pos=start + QPoint(60, 10))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=start + QPoint(60, 10))
    assert spec.node(n["pool"]).position is not None
    assert canvas.undo_stack.undoText().startswith("move")


def test_delete_removes_nodes_with_their_edges_and_single_edges(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.select([n["b"]])
    assert canvas.edit_actions["delete"].isEnabled()
    canvas.edit_actions["delete"].trigger()
    assert n["b"] not in {layer.id for layer in spec.layers}
    assert spec.node(n["add"]).inputs == [(n["a"], 0)]
    assert len(canvas.scene.edge_items) == 4
    assert "needs two or more inputs; 1 is connected" in canvas.scene.node_items[n["add"]].look.error
    canvas.undo_stack.undo()
    assert spec.to_dict() == residual()[0].to_dict()
    # an edge selected and deleted: a disconnect
    canvas.scene.clearSelection()
    edge = next(e for e in canvas.scene.edge_items if e.key[2] == n["add"] and e.key[3] == 0)
    assert isinstance(edge, EdgeItem)
    edge.setSelected(True)
    canvas.delete_selection()
    assert spec.node(n["add"]).inputs == [(n["b"], 0)]
    canvas.select([INPUT_ID])
    assert not canvas.delete_selection()  # the image input stays


def test_copy_paste_remaps_ids_and_keeps_internal_edges(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.select([n["a"], n["b"], n["add"]])
    text = canvas.copy_selection()
    payload = json.loads(text)
    assert [d["id"] for d in payload["layers"]] == [n["a"], n["b"], n["add"]]
    assert QGuiApplication.clipboard().text() == text
    new = canvas.paste()
    assert len(new) == 3 and not set(new) & set(n.values())
    a2, b2, add2 = (spec.node(i) for i in new)
    assert a2.inputs == [] and b2.inputs == [(a2.id, 0)] and add2.inputs == [(a2.id, 0), (b2.id, 0)]
    assert canvas.selected_ids() == new
    ax, ay = canvas.display_position(n["a"])
    assert a2.position == (ax + 40, ay + 40)
    again = canvas.paste()
    assert spec.node(again[0]).position == (ax + 80, ay + 80)
    assert len(set(spec.layer_names())) == len(spec.layers)
    canvas.select([new[0]])
    canvas.cut_selection()
    assert new[0] not in {layer.id for layer in spec.layers}
    messages: list[str] = []
    canvas.message.connect(messages.append)
    assert canvas.paste("not json") == [] and "clipboard" in messages[-1]


def test_group_collapse_expand_and_ungroup(canvas, qtbot):
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.select([n["a"], n["b"], n["add"]])
    canvas.edit_actions["group"].trigger()
    assert [(g.name, g.nodes, g.collapsed) for g in spec.groups] == [("block", [n["a"], n["b"], n["add"]], False)]
    assert set(canvas.scene.frames) == {"block"}
    canvas.set_collapsed("block", True)
    items = canvas.scene.node_items
    assert "group:block" in items and not {n["a"], n["b"], n["add"]} & set(items)
    box = items["group:block"]
    assert box.look.members == 3 and "block" in box.toolTip()
    assert sorted((e.source.node_id, e.target.node_id) for e in canvas.scene.edge_items) == sorted(
        [(INPUT_ID, "group:block"), ("group:block", n["pool"]), (n["pool"], n["out"])])
    canvas.select([n["b"]])  # a member selects its box
    assert canvas.selected_ids() == [n["a"], n["b"], n["add"]]
    messages: list[str] = []
    canvas.message.connect(messages.append)
    assert not canvas.connect_nodes(INPUT_ID, "group:block") and "expand" in messages[-1]
    # moving the box moves its members together
    ax, ay = canvas.display_position(n["a"])
    bx, by = canvas.display_position(n["b"])
    canvas.scene.nodes_moved.emit({"group:block": (box.pos().x() + 100, box.pos().y())})
    assert spec.node(n["a"]).position == (ax + 100, ay) and spec.node(n["b"]).position == (bx + 100, by)
    # double-click the box to expand
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.fit()
    centre = canvas.view.mapFromScene(box.pos() + QPointF(W / 2, H / 2))
    qtbot.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert not spec.groups[0].collapsed and n["a"] in canvas.scene.node_items
    canvas.select([n["pool"]])
    assert canvas.group_selection("block") is False and "already named" in messages[-1]
    canvas.select([n["a"]])
    canvas.edit_actions["ungroup"].trigger()
    assert spec.groups == []


def test_auto_layout_keeps_the_positions_the_user_set(canvas):
    spec = inception()
    canvas.set_spec(spec)
    pinned = spec.layers[5].id
    canvas.move_nodes({pinned: (1200.0, 40.0)})
    others = {sid: it.pos() for sid, it in canvas.scene.node_items.items()}
    canvas.edit_actions["layout"].trigger()
    assert spec.node(pinned).position == (1200.0, 40.0)
    assert canvas.scene.node_items[pinned].pos() == QPointF(1200.0, 40.0)
    assert _overlapping(canvas) == []
    assert others != {sid: it.pos() for sid, it in canvas.scene.node_items.items()}
    canvas.auto_layout(keep_user_positions=False)
    assert all(layer.position is None for layer in spec.layers) and _overlapping(canvas) == []


def test_a_node_that_cannot_be_built_is_red_with_the_message(canvas):
    spec, n = residual()
    canvas.set_spec(spec)
    why = "Add needs inputs of the same shape; received (None, 32, 32, 32) and (None, 16, 16, 32)"
    canvas.set_node_errors({n["add"]: why})
    item = canvas.scene.node_items[n["add"]]
    assert item.look.error == why and "received (None, 32, 32, 32)" in item.toolTip()
    assert not canvas.scene.node_items[n["a"]].look.error
    canvas.set_node_errors({})
    rows = fake_summary(spec).rows
    rows[3].error, rows[3].output_shape = "expected 2 inputs of one shape, received 3", None
    canvas.set_summary(Summary(rows=rows, error="x", error_index=2))
    assert canvas.scene.node_items[n["add"]].look.error == "expected 2 inputs of one shape, received 3"
    # wiring that cannot be built is red too: a dead end
    canvas.add_node("Conv2D", inputs=[(n["a"], 0)], name="spare")
    spare = spec.node_by_name("spare").id
    assert "dead-end" in canvas.scene.node_items[spare].look.error


def test_keyboard_shortcuts_reach_the_canvas(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.activateWindow()
    canvas.view.setFocus()
    from PySide6.QtWidgets import QApplication

    qtbot.waitUntil(lambda: QApplication.activeWindow() is canvas and canvas.view.hasFocus())
    spec, n = residual()
    canvas.set_spec(spec)
    canvas.select([n["b"]])
    qtbot.keyClick(canvas.view, Qt.Key.Key_Delete)
    assert n["b"] not in {layer.id for layer in spec.layers}
    qtbot.keyClick(canvas.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert spec.to_dict() == residual()[0].to_dict()
    qtbot.keyClick(canvas.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert n["b"] not in {layer.id for layer in spec.layers}
    shortcuts = {k: [s.toString() for s in a.shortcuts()] for k, a in canvas.edit_actions.items()}
    assert "Ctrl+G" in shortcuts["group"] and "Ctrl+Shift+G" in shortcuts["ungroup"]
    assert "F" in shortcuts["fit"] and "L" in shortcuts["layout"] and "Ctrl+Shift+Z" in shortcuts["redo"]


def test_wheel_zoom_pan_and_fit(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_spec(inception())
    canvas.view.set_zoom(1.0)
    from PySide6.QtCore import QPoint as P
    from PySide6.QtGui import QWheelEvent

    vp = canvas.view.viewport()
    ev = QWheelEvent(QPointF(200, 200), vp.mapToGlobal(QPointF(200, 200)), P(0, 0), P(0, 240),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    canvas.view.wheelEvent(ev)
    assert canvas.view.zoom() == pytest.approx(1.15 ** 2)
    bar = canvas.view.verticalScrollBar()
    before = bar.value()
    qtbot.mousePress(vp, Qt.MouseButton.MiddleButton, pos=P(300, 300))
    qtbot.mouseMove(vp, pos=P(300, 200))
    qtbot.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=P(300, 200))
    assert bar.value() != before
    canvas.fit()
    visible = canvas.view.mapToScene(vp.rect()).boundingRect()
    assert visible.contains(canvas.scene.itemsBoundingRect().adjusted(5, 5, -5, -5))


def test_pictures_of_a_residual_and_an_inception_graph(canvas, tmp_path):
    keep = os.environ.get("CONVEXPLORER_CANVAS_PNG")
    for name, spec in (("residual", residual()[0]), ("inception", inception())):
        canvas.resize(1000, 900 if name == "inception" else 700)
        canvas.set_spec(spec)
        canvas.set_summary(fake_summary(spec))
        if name == "residual":
            canvas.set_node_errors({spec.layers[2].id: "Add needs inputs of one shape; received 32x32x32 and 16x16x32"})
            canvas.select([spec.layers[0].id])
        else:
            canvas.select([layer.id for layer in spec.layers[2:11]])
            canvas.group_selection("inception_a")
        canvas.fit()
        path = tmp_path / f"graph_canvas_{name}.png"
        assert canvas.grab().save(str(path))
        assert path.stat().st_size > 5_000
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(path, keep)


def test_copying_nodes_leaves_an_interpreter_that_exits_cleanly(tmp_path):
    """A clipboard object made in Python was deleted by Qt after Python had finalized: a segfault at exit."""
    import subprocess
    import sys

    script = (
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from convexplorer.core.presets import preset\n"
        "from convexplorer.ui.widgets.graph_canvas import GraphCanvas\n"
        "canvas = GraphCanvas()\n"
        "spec = preset('Small residual net')\n"
        "canvas.set_spec(spec)\n"
        "canvas.select([spec.layers[1].id, spec.layers[2].id])\n"
        "assert canvas.copy_selection()\n"
        "print('copied')\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "copied" in done.stdout, (done.returncode, done.stderr[-2000:])
