"""Any functional Keras model opened as a graph design: same layers, edges, parameters and predictions."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import importer, modelio
from convexplorer.core.builder import build_model
from convexplorer.core.errors import SpecError
from convexplorer.core.spec import INPUT_ID

keras = pytest.importorskip("keras")
L = keras.layers


# --------------------------------------------------------------------------- helpers
def _edges(model) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Every layer's inbound connections by layer name, read from the model's own config (input renamed)."""
    config = model.get_config()
    inputs = {name for name, _, _ in importer._refs(config["input_layers"])}
    out = []
    for layer in config["layers"]:
        for node in layer.get("inbound_nodes", []):
            call = importer._parse_call(node)
            out.append((layer["name"], [("<input>" if n in inputs else n, k, t) for n, k, t in call.inputs]))
    return out


def _outputs(y) -> list[np.ndarray]:
    if isinstance(y, dict):
        return [np.asarray(y[k]) for k in sorted(y)]
    if isinstance(y, (list, tuple)):
        return [np.asarray(v) for v in y]
    return [np.asarray(y)]


def _round_trip(model, x, same_names: bool = True):
    """Import, rebuild, compare with Keras (classes, edges, parameters), put the weights back, compare predictions."""
    result = modelio.import_model(model)
    assert result.read_only is None, result.read_only
    rebuilt = build_model(result.spec, compile=False, load_weights=False)
    classes = [type(la).__name__ for la in model.layers]
    if classes[0] != "InputLayer":  # a Sequential model does not list its input layer
        classes.insert(0, "InputLayer")
    assert [type(la).__name__ for la in rebuilt.layers] == classes
    if same_names:
        assert _edges(rebuilt) == _edges(model)
    assert rebuilt.count_params() == model.count_params()
    applied = modelio.apply_weights(rebuilt, result.spec, result.weights)
    assert applied.fresh == []
    for a, b in zip(_outputs(rebuilt(x, training=False)), _outputs(model(x, training=False))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    return result, rebuilt


def _x(shape, seed=0):
    return np.random.default_rng(seed).random((2, *shape), dtype=np.float32)


# --------------------------------------------------------------------------- user graphs
def _residual():
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    y = L.Conv2D(8, 3, padding="same", activation="relu", name="res_a")(x)
    y = L.Conv2D(8, 3, padding="same", name="res_b")(y)
    x = L.Add(name="res_add")([x, y])
    x = L.Activation("relu", name="res_out")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, L.Dense(5, activation="softmax", name="predictions")(x), name="residual")


def _inception():
    inputs = keras.Input((12, 12, 3))
    a = L.Conv2D(4, 1, padding="same", name="b1x1")(inputs)
    b = L.Conv2D(4, 1, name="b3x3_reduce")(inputs)
    b = L.Conv2D(6, 3, padding="same", name="b3x3")(b)
    c = L.Conv2D(2, 5, padding="same", name="b5x5")(inputs)
    d = L.MaxPooling2D(3, strides=1, padding="same", name="pool")(inputs)
    d = L.Conv2D(3, 1, name="pool_proj")(d)
    x = L.Concatenate(name="mixed")([a, b, c, d])
    x = L.Flatten(name="flat")(x)
    return keras.Model(inputs, L.Dense(3, activation="softmax", name="out")(x), name="inception_like")


def _se():
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(16, 3, padding="same", activation="relu", name="conv")(inputs)
    s = L.GlobalAveragePooling2D(name="squeeze")(x)
    s = L.Reshape((1, 1, 16), name="se_reshape")(s)
    s = L.Dense(4, activation="relu", name="se_reduce")(s)
    s = L.Dense(16, activation="sigmoid", name="se_expand")(s)
    x = L.Multiply(name="excite")([x, s])
    x = L.GlobalMaxPooling2D(name="gmp")(x)
    return keras.Model(inputs, L.Dense(4, activation="softmax", name="out")(x), name="se_net")


def _two_heads():
    inputs = keras.Input((10, 10, 1))
    x = L.Conv2D(4, 3, activation="relu", name="trunk")(inputs)
    x = L.Flatten(name="flat")(x)
    cls = L.Dense(3, activation="softmax", name="cls_dense")(x)
    box = L.Dense(4, activation="linear", name="box_dense")(x)
    return keras.Model(inputs, {"label": cls, "box": box}, name="two_heads")


@pytest.mark.parametrize("make", [_residual, _inception, _se, _two_heads], ids=lambda f: f.__name__.strip("_"))
def test_user_graphs_round_trip(make):
    model = make()
    result, _ = _round_trip(model, _x(model.inputs[0].shape[1:]))
    spec = result.spec
    assert all(node.editable for node in spec.layers)
    assert [node.name for node in spec.layers] == [la.name for la in model.layers[1:]]
    assert not spec.is_chain()


def test_two_heads_become_named_heads():
    result = modelio.import_model(_two_heads())
    names = {h.name: result.spec.node(h.node).name for h in result.spec.heads}
    assert names == {"label": "cls_dense", "box": "box_dense"}


def test_a_sequential_model_opens_as_a_chain():
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3, name="c"), L.MaxPooling2D(name="p"),
                              L.Flatten(name="f"), L.Dense(3, activation="softmax", name="d")], name="stack")
    result, _ = _round_trip(model, _x((8, 8, 1)), same_names=False)
    assert result.spec.is_chain() and all(node.inputs is None for node in result.spec.layers)
    assert result.spec.num_classes == 3 and result.spec.layers[-1].get("units_from_classes")


# --------------------------------------------------------------------------- keras.applications
APPLICATIONS = {
    "VGG16": (32, 32, 3),
    "ResNet50": None,  # the full default, 224x224 with the classifier
    "MobileNetV2": None,
    "InceptionV3": (75, 75, 3),
    "DenseNet121": (32, 32, 3),
    "EfficientNetB0": (32, 32, 3),
    "Xception": (71, 71, 3),
}


@pytest.fixture(scope="module")
def application():
    """Each application built once (weights=None, with its classifier) for the module's tests."""
    built: dict[str, object] = {}

    def get(name):
        if name not in built:
            shape = APPLICATIONS[name]
            kwargs = {"input_shape": shape} if shape else {}
            built[name] = getattr(keras.applications, name)(weights=None, include_top=True, **kwargs)
        return built[name]

    yield get
    built.clear()


@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_applications_round_trip(application, name):
    model = application(name)
    result, _ = _round_trip(model, _x(model.inputs[0].shape[1:], seed=1)[:1])
    kept = [node for node in result.spec.layers if node.kind == "KerasLayer"]
    if name == "EfficientNetB0":  # stochastic depth: Dropout(noise_shape=(None, 1, 1, 1)) has no kind parameter yet
        assert kept and all(n.get("class_name") == "Dropout" and "noise_shape" in n.get("reason") for n in kept)
    else:
        assert kept == []
    assert result.spec.num_classes == 1000 and result.spec.layers[-1].get("units_from_classes")


# --------------------------------------------------------------------------- read-only parts
def test_a_lambda_opens_read_only_naming_it():
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, name="conv")(inputs)
    x = L.Lambda(lambda t: t * 2.0, name="double")(x)
    model = keras.Model(inputs, L.GlobalAveragePooling2D(name="gap")(x))
    result = modelio.import_model(model)
    node = result.spec.node_by_name("double")
    assert (node.kind, node.get("class_name"), node.editable) == ("KerasLayer", "Lambda", False)
    assert "Lambda" in node.get("reason")
    assert any('Lambda "double"' in note for note in result.notes)
    assert result.read_only and '"double" is a Lambda' in result.read_only and "safe mode" in result.read_only
    with pytest.raises(SpecError, match="double"):
        modelio.spec_from_model(model)
    assert result.spec.node_by_name("conv").kind == "Conv2D"
    with pytest.raises(SpecError, match="double"):  # safe mode: the design does not run the stored code
        build_model(result.spec, compile=False)


@keras.saving.register_keras_serializable(package="cxtest")
class Twice(keras.layers.Layer):
    """A custom layer: doubles its input."""

    def call(self, x):
        return x * 2.0


def test_a_custom_class_opens_as_a_read_only_node_and_still_builds():
    inputs = keras.Input((6, 6, 2))
    x = Twice(name="twice")(L.Conv2D(3, 3, name="conv")(inputs))
    model = keras.Model(inputs, L.Flatten(name="flat")(x))
    result = modelio.import_model(model)
    node = result.spec.node_by_name("twice")
    assert (node.kind, node.get("class_name")) == ("KerasLayer", "Twice")
    assert "cxtest>Twice" in node.get("reason")
    assert any('Twice "twice"' in note for note in result.notes)
    _round_trip(model, _x((6, 6, 2)))  # the registered class rebuilds: the model stays trainable


def test_settings_without_a_parameter_keep_the_layer_as_keras_config():
    inputs = keras.Input((6, 6, 1))
    x = L.Conv2D(2, 3, kernel_regularizer="l2", name="reg")(inputs)
    x = L.Conv2D(2, 1, name="frozen", trainable=False)(x)
    model = keras.Model(inputs, L.Flatten(name="flat")(x))
    result = modelio.import_model(model)
    reg, frozen = result.spec.node_by_name("reg"), result.spec.node_by_name("frozen")
    assert reg.kind == "KerasLayer" and "kernel_regularizer" in reg.get("reason")
    assert frozen.kind == "KerasLayer" and "frozen" in frozen.get("reason")
    rebuilt = build_model(result.spec, compile=False)
    assert rebuilt.get_layer("frozen").trainable is False
    assert rebuilt.get_layer("reg").kernel_regularizer is not None


def test_a_shared_layer_makes_the_design_read_only_naming_it():
    inputs = keras.Input((8, 8, 3))
    shared = L.Conv2D(4, 3, padding="same", name="shared_conv")
    a = shared(inputs)
    b = shared(L.Conv2D(3, 1, name="proj")(inputs))
    model = keras.Model(inputs, L.Flatten(name="flat")(L.Add(name="sum")([a, b])))
    result = modelio.import_model(model)
    assert result.read_only and '"shared_conv"' in result.read_only and "2 places" in result.read_only
    assert not result.editable and "inspected and trained" in result.message()
    kinds = [(n.name, n.kind) for n in result.spec.layers]
    assert ("shared_conv", "Conv2D") in kinds and ("shared_conv_1", "Conv2D") in kinds
    with pytest.raises(SpecError, match="shared_conv"):
        modelio.spec_from_model(model)


# --------------------------------------------------------------------------- nested models
def test_a_nested_base_is_one_collapsed_node_with_its_weights():
    augment = keras.Sequential([L.RandomFlip("horizontal"), L.RandomRotation(0.1)], name="augment")
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3))
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = augment(inputs)
    x = base(x, training=False)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, L.Dense(4, activation="softmax", name="out")(x), name="transfer")
    result = modelio.import_model(model)
    spec = result.spec
    assert [n.kind for n in spec.layers] == ["KerasLayer", "Pretrained", "GlobalAveragePooling2D", "Dense"]
    aug, pre = spec.layers[0], spec.layers[1]
    assert aug.get("class_name") == "Sequential" and not aug.editable
    assert (pre.get("application"), pre.get("trainable")) == ("MobileNetV2", "frozen")
    assert [(g.name, g.nodes, g.collapsed) for g in spec.groups] == [("augment", [aug.id], True),
                                                                      (base.name, [pre.id], True)]
    assert any("MobileNetV2 base" in note for note in result.notes)
    rebuilt = build_model(spec, compile=False, load_weights=False)
    assert rebuilt.count_params() == model.count_params()
    assert [type(la).__name__ for la in rebuilt.layers] == [type(la).__name__ for la in model.layers]
    applied = modelio.apply_weights(rebuilt, spec, result.weights)
    assert applied.fresh == [] and pre.id in applied.kept
    x = _x((32, 32, 3))
    np.testing.assert_allclose(rebuilt(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-5)


def test_fine_tuning_of_a_nested_base_is_read_from_the_config():
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    for layer in base.layers[: [la.name for la in base.layers].index("block5_conv2")]:
        layer.trainable = False
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, L.Dense(2, activation="softmax")(L.Flatten()(base(inputs))))
    node = modelio.import_model(model).spec.layers[0]
    assert (node.get("trainable"), node.get("fine_tune_from")) == ("fine_tune", "block5_conv2")


# --------------------------------------------------------------------------- weights
def test_changed_nodes_start_fresh_and_the_rest_keep_their_weights():
    model = _residual()
    result = modelio.import_model(model)
    spec = result.spec.copy()
    spec.node_by_name("res_a").params["filters"] = 6  # res_a changes, and res_b reads 6 channels now
    rebuilt = build_model(spec, compile=False)
    applied = modelio.apply_weights(rebuilt, spec, result.weights)
    fresh = {spec.node(i).name for i in applied.fresh}
    assert fresh == {"res_a", "res_b"}
    assert {spec.node(i).name for i in applied.kept} == {"stem", "stem_bn", "predictions"}
    np.testing.assert_array_equal(rebuilt.get_layer("stem").get_weights()[0], model.get_layer("stem").get_weights()[0])


def test_a_saved_keras_file_opens_with_its_trained_weights(tmp_path):
    model = _inception()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = _x((12, 12, 3))
    model.fit(x, np.array([0, 2]), epochs=1, verbose=0)  # weights that differ from any fresh build
    path = modelio.save_keras_model(model, tmp_path / "inception.keras")
    loaded = modelio.load_keras_model(path)
    result, _ = _round_trip(loaded, x)
    assert result.spec.compile.optimizer == "adam"


# --------------------------------------------------------------------------- configs and JSON
KERAS2_FUNCTIONAL = {
    "class_name": "Model",
    "config": {
        "name": "old_model",
        "layers": [
            {"class_name": "InputLayer", "name": "input_1",
             "config": {"batch_input_shape": [None, 8, 8, 3], "dtype": "float32", "sparse": False, "name": "input_1"},
             "inbound_nodes": []},
            {"class_name": "Conv2D", "name": "conv2d",
             "config": {"name": "conv2d", "trainable": True, "dtype": "float32", "filters": 4, "kernel_size": [3, 3],
                        "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
                        "groups": 1, "activation": "relu", "use_bias": True,
                        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                        "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
                        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None},
             "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"class_name": "BatchNormalization", "name": "bn",
             "config": {"name": "bn", "trainable": True, "dtype": "float32", "axis": [3], "momentum": 0.99,
                        "epsilon": 0.001, "center": True, "scale": True, "renorm": False, "renorm_clipping": None,
                        "renorm_momentum": 0.99, "fused": None, "virtual_batch_size": None, "adjustment": None},
             "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"class_name": "Conv2D", "name": "shortcut",
             "config": {"name": "shortcut", "trainable": True, "filters": 4, "kernel_size": [1, 1], "strides": [1, 1],
                        "padding": "valid", "dilation_rate": [1, 1], "activation": "linear", "use_bias": True},
             "inbound_nodes": [[["bn", 0, 0, {}]]]},
            {"class_name": "Add", "name": "add", "config": {"name": "add", "trainable": True, "dtype": "float32"},
             "inbound_nodes": [[["conv2d", 0, 0, {}], ["shortcut", 0, 0, {}]]]},
            {"class_name": "Flatten", "name": "flatten",
             "config": {"name": "flatten", "trainable": True, "data_format": "channels_last"},
             "inbound_nodes": [[["add", 0, 0, {}]]]},
            {"class_name": "Dense", "name": "dense",
             "config": {"name": "dense", "trainable": True, "units": 2, "activation": "softmax", "use_bias": True},
             "inbound_nodes": [[["flatten", 0, 0, {}]]]},
        ],
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [["dense", 0, 0]],
    },
    "keras_version": "2.13.1",
    "backend": "tensorflow",
}


def test_keras2_configs_parse():
    result = importer.import_config(KERAS2_FUNCTIONAL)
    spec = result.spec
    assert result.notes == [] and result.read_only is None and result.weights == {}
    assert [(n.name, n.kind) for n in spec.layers] == [
        ("conv2d", "Conv2D"), ("bn", "BatchNormalization"), ("shortcut", "Conv2D"), ("add", "Add"),
        ("flatten", "Flatten"), ("dense", "Dense")]
    assert spec.node_by_name("bn").get("axis") == 3 and spec.node_by_name("conv2d").get("activation") == "relu"
    assert spec.node_by_name("add").inputs == [(spec.node_by_name("conv2d").id, 0), (spec.node_by_name("shortcut").id, 0)]
    assert spec.node_by_name("conv2d").inputs == [(INPUT_ID, 0)]
    # conv 3*3*3*4+4, bn 4*3, shortcut 3*4+4, dense 8*8*4*2+2
    assert build_model(spec, compile=False).count_params() == 112 + 12 + 16 + 514
    sequential = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [None, 6, 6, 1], "filters": 2,
                                             "kernel_size": [3, 3], "activation": "relu"}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 1, "activation": "sigmoid"}}]}}
    seq = importer.import_config(sequential).spec
    assert seq.input_shape == (6, 6, 1) and seq.is_chain() and seq.compile.loss == "binary_crossentropy"
    assert [n.kind for n in seq.layers] == ["Conv2D", "Flatten", "Dense"]


def test_configs_that_cannot_be_designs_say_why():
    with pytest.raises(SpecError, match="2 inputs"):
        a, b = keras.Input((4, 4, 1)), keras.Input((4, 4, 1))
        modelio.import_model(keras.Model([a, b], L.Add()([a, b])))
    with pytest.raises(SpecError, match="any size"):
        inputs = keras.Input((None, None, 3))
        modelio.import_model(keras.Model(inputs, L.Conv2D(2, 3)(inputs)))
    with pytest.raises(SpecError, match="not a Keras model configuration"):
        importer.import_config({"class_name": "Functional", "config": {"name": "x"}})


def test_keras_json_round_trip():
    model = _se()
    spec = modelio.spec_from_keras_json(model.to_json())
    assert [(n.name, n.kind) for n in spec.layers] == [(la.name, type(la).__name__) for la in model.layers[1:]]
    text = modelio.keras_json_from_spec(spec)
    again = modelio.spec_from_keras_json(text)
    assert [n.to_dict() for n in again.layers] == [n.to_dict() for n in spec.layers]
    assert build_model(again, compile=False).count_params() == model.count_params()
    with pytest.raises(SpecError, match="not valid JSON"):
        modelio.spec_from_keras_json("{not json")


def test_keras_json_with_a_lambda_opens_without_running_its_code():
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, L.Flatten(name="flat")(L.Lambda(lambda t: t + 1.0, name="plus_one")(inputs)))
    result = importer.import_keras_json(model.to_json())
    node = result.spec.node_by_name("plus_one")
    assert node.kind == "KerasLayer" and node.get("class_name") == "Lambda"
    assert "Keras could not rebuild" in result.notes[0] and any('Lambda "plus_one"' in n for n in result.notes)
    assert '"plus_one" is a Lambda' in result.read_only
    with pytest.raises(SpecError, match="not a Keras model configuration"):
        broken_call = {"args": [{"class_name": "__keras_tensor__", "config": {}}], "kwargs": {}}  # no keras_history
        importer.import_config({"class_name": "Functional", "config": {
            "layers": [{"class_name": "InputLayer", "name": "x", "config": {"batch_shape": [None, 4, 4, 1]},
                        "inbound_nodes": []},
                       {"class_name": "Conv2D", "name": "c", "config": {}, "inbound_nodes": [broken_call]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["c", 0, 0]]}})


def test_application_names_of_nested_bases():
    assert importer.application_of("mobilenetv2_1.00_224") == "MobileNetV2"
    assert importer.application_of("mobilenetv2_0.35_96") is None  # another width: not the base we build
    assert importer.application_of("inception_v3") == "InceptionV3"
    assert importer.application_of("efficientnetv2-b0") == "EfficientNetV2B0"
    assert importer.application_of("my_model") is None
