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
