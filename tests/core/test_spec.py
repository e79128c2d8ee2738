"""ModelSpec: JSON round trip, format version, validation messages that name the layer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexplorer.core.errors import SpecError
from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import (
    FORMAT_VERSION,
    LAYER_KINDS,
    CompileSpec,
    LayerSpec,
    ModelSpec,
    loss_for_labels,
    make_layer,
)


def _value(p):
    if p.type == "int":
        return st.integers(int(p.minimum or 1), min(int(p.maximum or 64), 64))
    if p.type == "float":
        return st.floats(float(p.minimum), float(p.maximum), allow_nan=False)
    if p.type in ("pair", "pair_or_none"):
        pairs = st.tuples(st.integers(1, 5), st.integers(1, 5)).map(list)
        return st.one_of(st.none(), pairs) if p.type == "pair_or_none" else pairs
    if p.type == "float_or_none":
        return st.one_of(st.none(), st.floats(float(p.minimum), 100.0, allow_nan=False))
    if p.type == "quad":
        return st.lists(st.integers(0, 3), min_size=4, max_size=4)
    if p.type == "shape":
        return st.lists(st.integers(1, 8), min_size=1, max_size=3)
    if p.type == "config":
        return st.one_of(st.none(), st.fixed_dictionaries({"units": st.integers(1, 9)}))
    if p.type == "choice":
        return st.sampled_from(p.choices)
    if p.type == "bool":
        return st.booleans()
    return st.text(alphabet="abc_", max_size=8)


@st.composite
def layer_specs(draw):
    kind = draw(st.sampled_from(sorted(LAYER_KINDS)))
    params = {p.name: draw(_value(p)) for p in LAYER_KINDS[kind].params}
    name = draw(st.sampled_from(["", "custom_name"]))
    return LayerSpec(kind, params, name)


@st.composite
def model_specs(draw):
    layers = draw(st.lists(layer_specs(), max_size=6))
    # some nodes read any earlier node (or the image) explicitly, at a canvas position: a graph
    for i, layer in enumerate(layers):
        if draw(st.booleans()):
            sources = ["input"] + [f"n{j + 1}" for j in range(i)]
            layer.inputs = [(src, 0) for src in draw(st.lists(st.sampled_from(sources), min_size=1, max_size=3))]
            layer.position = (draw(st.integers(-500, 500)), draw(st.integers(-500, 500)))
    shape = draw(st.tuples(st.integers(1, 300), st.integers(1, 300), st.sampled_from([1, 3])))
    comp = CompileSpec(
        draw(st.sampled_from(["rmsprop", "adam", "nadam", "sgd"])),
        draw(st.floats(1e-6, 1.0)),
        draw(st.floats(0.0, 0.99)),
        draw(st.sampled_from(["sparse_categorical_crossentropy", "binary_crossentropy"])),
        draw(st.lists(st.sampled_from(["accuracy", "auc"]), max_size=2, unique=True)),
    )
    return ModelSpec(draw(st.text(max_size=10)), shape, draw(st.integers(1, 100)), layers, comp, draw(st.text(max_size=5)))


@settings(max_examples=60, deadline=None)
@given(model_specs())
def test_json_round_trip_is_lossless(spec):
    text = spec.to_json()
    back = ModelSpec.from_json(text)
    assert back.to_dict() == spec.to_dict()
    assert json.loads(text)["format_version"] == FORMAT_VERSION
    assert back.layer_names() == spec.layer_names()


def test_every_preset_round_trips_and_validates():
    for name, spec in PRESETS.items():
        spec.validate()
        assert ModelSpec.from_json(spec.to_json()).to_dict() == spec.to_dict(), name


def test_preset_returns_an_independent_copy():
    a = preset("MNIST convnet")
    a.layers[0].params["filters"] = 7
    assert PRESETS["MNIST convnet"].layers[0].get("filters") == 32
    with pytest.raises(SpecError, match="unknown preset"):
        preset("nope")


def test_automatic_names_follow_keras_numbering():
    spec = ModelSpec(layers=[make_layer("Conv2D"), make_layer("MaxPooling2D"), make_layer("Conv2D", name="conv2d_1"),
                             make_layer("Conv2D"), make_layer("Dense"), make_layer("BatchNormalization")])
    # "conv2d_1" is taken by the user's own name, so the next automatic conv is conv2d_2
    assert spec.layer_names() == ["conv2d", "max_pooling2d", "conv2d_1", "conv2d_2", "dense", "batch_normalization"]


def test_missing_and_future_format_version_are_refused():
    d = PRESETS["LeNet-5"].to_dict()
    del d["format_version"]
    with pytest.raises(SpecError, match="format_version"):
        ModelSpec.from_dict(d)
    d["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(SpecError, match="newer ConvExplorer"):
        ModelSpec.from_dict(d)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["layers"].__setitem__(1, {"kind": "Conv3D"}), 'layer 2: unknown layer type "Conv3D"'),
        (lambda d: d["layers"][0]["params"].__setitem__("colour", 1), "layer 1 \\(Conv2D\\): unknown parameter 'colour'"),
        (lambda d: d.__setitem__("input_shape", [28, 28]), "input_shape must be \\[height, width, channels\\]"),
        (lambda d: d.__setitem__("layers", "conv"), '"layers" must be a list'),
    ],
)
def test_malformed_designs_say_what_is_wrong(mutate, message):
    d = PRESETS["MNIST convnet"].to_dict()
    mutate(d)
    with pytest.raises(SpecError, match=message):
        ModelSpec.from_dict(d)


def test_not_json_at_all():
    with pytest.raises(SpecError, match="not valid JSON"):
        ModelSpec.from_json("{oops")


@pytest.mark.parametrize(
    "layer, message",
    [
        (make_layer("Conv2D", filters=0), r"layer 2 \(Conv2D\): Filters must be at least 1, got 0"),
        (make_layer("Conv2D", kernel_size="big"), "Kernel size must be a whole number or a pair"),
        (make_layer("Conv2D", strides=2, dilation_rate=2), "strides and dilation cannot both be above 1"),
        (make_layer("Dropout", rate=1.5), "Rate must be at most 0.99, got 1.5"),
        (make_layer("Dense", activation="magic"), "Activation must be one of relu"),
        (make_layer("Pretrained", trainable="fine_tune"), "choose the layer of the base to fine-tune from"),
        (make_layer("Dense", name="bad name!"), "may only use letters"),
    ],
)
def test_validation_names_the_offending_layer(layer, message):
    spec = ModelSpec(input_shape=(28, 28, 1), layers=[make_layer("Flatten"), layer])
    with pytest.raises(SpecError, match=message):
        spec.validate()


def test_duplicate_names_and_bad_compile_settings():
    spec = ModelSpec(layers=[make_layer("Flatten", name="x"), make_layer("Dense", name="x")])
    with pytest.raises(SpecError, match='layer 2 \\(Dense .x.\\): the name "x" is used twice'):
        spec.validate()
    spec = ModelSpec(layers=[make_layer("Flatten")], compile=CompileSpec(optimizer="adagrad"))
    with pytest.raises(SpecError, match='unknown optimizer "adagrad"'):
        spec.validate()
    spec.compile = CompileSpec(learning_rate=0)
    with pytest.raises(SpecError, match="learning rate"):
        spec.validate()


def test_loss_follows_label_type():
    assert loss_for_labels("integer") == "sparse_categorical_crossentropy"
    assert loss_for_labels("one-hot") == "categorical_crossentropy"
    assert loss_for_labels("binary") == "binary_crossentropy"
    with pytest.raises(SpecError):
        loss_for_labels("text")


@settings(max_examples=30, deadline=None)
@given(model_specs())
def test_copy_is_equal_and_independent(spec):
    twin = spec.copy()
    assert twin.to_dict() == spec.to_dict()
    for layer in twin.layers:
        for key, value in layer.params.items():
            if isinstance(value, list):
                value.append(99)
        layer.params["extra"] = 1
    twin.compile.metrics.append("auc")
    assert ModelSpec.from_dict(spec.to_dict()).to_dict() == spec.to_dict()  # the original is untouched
    assert all("extra" not in layer.params for layer in spec.layers)


# --- graphs ------------------------------------------------------------------------------------
import pathlib  # noqa: E402

from convexplorer.core.spec import INPUT_ID, MAX_NODES, GroupSpec, HeadSpec  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


def _residual_graph() -> tuple[ModelSpec, dict[str, str]]:
    """input -> conv a -> conv b; add(a, b) -> global pool -> dense (tests/models.residual_graph)."""
    from tests.models import residual_graph

    return residual_graph()


def test_a_stack_is_a_chain_with_stable_ids():
    spec = preset("MNIST convnet")
    assert spec.is_chain() and all(layer.inputs is None for layer in spec.layers)
    ids = [layer.id for layer in spec.layers]
    assert len(set(ids)) == len(ids) and ModelSpec.from_json(spec.to_json()).to_dict() == spec.to_dict()
    edges = spec.edges()
    assert [(e.source, e.target) for e in edges] == list(zip([INPUT_ID] + ids[:-1], ids))
    assert [h.node for h in spec.output_heads()] == [ids[-1]]


def test_graph_edges_are_port_indexed_and_round_trip():
    g, n = _residual_graph()
    g.validate()
    assert not g.is_chain()
    into_add = [(e.source, e.target_port) for e in g.edges() if e.target == n["add"]]
    assert into_add == [(n["a"], 0), (n["b"], 1)]
    assert g.consumers()[n["a"]] == [n["b"], n["add"]]
    back = ModelSpec.from_json(g.to_json())
    assert back.to_dict() == g.to_dict() and back.edges() == g.edges()


def test_cycles_unconnected_inputs_and_dead_ends_are_refused_by_name():
    g, n = _residual_graph()
    with pytest.raises(SpecError, match=r"cycle \(add -> conv2d -> add\)"):
        g.connect(n["add"], n["a"])
    assert g.node(n["a"]).inputs == [(INPUT_ID, 0)]  # the refused edge is not kept
    lonely = g.copy()
    lonely.disconnect(n["add"], 1)
    with pytest.raises(SpecError, match=r'Add "add": Add needs two or more inputs; 1 is connected'):
        lonely.validate()
    dead = g.copy()
    dead.pin_heads()  # as the canvas does before its first edit: the output stays "dense"
    dead.add_node(make_layer("Conv2D", name="spare"), [(n["a"], 0)])
    dead.sort_topologically()
    with pytest.raises(SpecError, match=r'Conv2D "spare": a dead-end branch'):
        dead.validate()
    assert [h.node for h in dead.heads] == [n["out"]]
    dead.heads.append(HeadSpec("spare_head", dead.node_by_name("spare").id, "mean_squared_error", 0.5, []))
    dead.validate()  # a second head is not a dead end
    unplugged = g.copy()
    unplugged.node(n["b"]).inputs = []
    with pytest.raises(SpecError, match=r'Conv2D "conv2d_1": Conv2D needs 1 input; none is connected'):
        unplugged.validate()


def test_bad_graph_json_says_what_is_wrong():
    g, n = _residual_graph()
    d = g.to_dict()
    d["layers"][2]["inputs"] = [[n["a"], 0], ["ghost", 0]]
    with pytest.raises(SpecError, match=r'Add "add": input 2 comes from "ghost", which is not a node'):
        ModelSpec.from_dict(d)
    d = g.to_dict()
    d["layers"][1]["id"] = d["layers"][0]["id"]
    with pytest.raises(SpecError, match="is used twice"):
        ModelSpec.from_dict(d)
    d = g.to_dict()
    d["layers"][0]["inputs"] = [[d["layers"][2]["id"], 0]]
    spec = ModelSpec.from_dict(d)  # readable, but refused as a design
    with pytest.raises(SpecError, match="cycle"):
        spec.validate()
    d = g.to_dict()
    d["heads"] = [{"name": "h", "node": "nowhere"}]
    with pytest.raises(SpecError, match='head "h" reads "nowhere"'):
        ModelSpec.from_dict(d)
    d = g.to_dict()
    d["layers"] = [{"kind": "Dense", "params": {}}] * (MAX_NODES + 1)
    with pytest.raises(SpecError, match=f"up to {MAX_NODES:,}"):
        ModelSpec.from_dict(d)
    with pytest.raises(SpecError, match="nested too deeply"):
        ModelSpec.from_json("[" * 100_000 + "]" * 100_000)


def test_removing_nodes_drops_their_edges_heads_and_groups():
    g, n = _residual_graph()
    g.heads = [HeadSpec("classes", n["out"])]
    g.groups = [GroupSpec("unit", [n["a"], n["b"], n["add"]]), GroupSpec("only_b", [n["b"]])]
    g.remove_nodes([n["b"]])
    assert g.node(n["add"]).inputs == [(n["a"], 0)]
    assert [grp.name for grp in g.groups] == ["unit"] and g.groups[0].nodes == [n["a"], n["add"]]
    g.remove_nodes([n["out"]])
    assert g.heads == []


def test_design_files_of_the_release_before_graphs_open_unchanged():
    """Every preset as format 1 wrote it: read as a chain with the same layers, names and summary."""
    from convexplorer.core.summary import summarize

    data = json.loads((DATA / "presets-format1.json").read_text())
    assert len(data["presets"]) >= 14
    for name, entry in data["presets"].items():
        old = entry["design"]
        assert old["format_version"] == 1
        spec = ModelSpec.from_dict(old)
        assert spec.is_chain(), name
        assert len(spec.layers) == len(old["layers"]), name
        for layer, was in zip(spec.layers, old["layers"]):
            assert (layer.kind, layer.name) == (was["kind"], was.get("name", "")), name
            params = layer.to_dict()["params"]
            assert {k: params[k] for k in was["params"]} == was["params"], name
            added = set(params) - set(was["params"])  # parameters kinds gained since: at their defaults
            assert all(params[k] == LAYER_KINDS[layer.kind].param(k).default for k in added), (name, added)
        s = summarize(spec)
        assert (s.total, s.trainable, s.non_trainable) == tuple(entry["summary"][k] for k in ("total", "trainable", "non_trainable")), name
        rows = [[r.name, r.kind, list(r.output_shape) if r.output_shape else None, r.params] for r in s.rows]
        assert rows == entry["summary"]["rows"], name


def test_not_a_number_is_refused_as_a_parameter():
    for value in (float("nan"), float("inf")):
        with pytest.raises(SpecError, match=r"Rate must be a number"):
            ModelSpec(layers=[make_layer("Dropout", rate=value)]).validate()


def test_wiring_problems_lists_every_node_that_cannot_be_built_as_wired():
    g, n = _residual_graph()
    g.pin_heads()
    g.disconnect(n["add"], 1)  # an Add with one input
    g.add_node(make_layer("Conv2D", name="spare"), [(n["a"], 0)])  # a dead end
    g.sort_topologically()
    problems = g.wiring_problems()
    spare = g.node_by_name("spare").id
    assert problems == {
        n["add"]: "Add needs two or more inputs; 1 is connected",
        n["b"]: problems[n["b"]],  # conv b now feeds nothing: a dead end too
        spare: problems[spare],
    }
    assert "dead-end" in problems[n["b"]] and "dead-end" in problems[spare]
    with pytest.raises(SpecError, match=r'Add "add": Add needs two or more inputs; 1 is connected'):
        g.validate()  # a missing input before the dead ends it leaves upstream
