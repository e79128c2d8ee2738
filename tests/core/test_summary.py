"""The summary (computed without Keras) equals Keras's own summary, digit for digit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import KNOWN_APPLICATIONS, HeadSpec, ModelSpec, make_layer
from convexplorer.core.summary import base_info, readable_memory_size, summarize

keras = pytest.importorskip("keras")


def _count(weights) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def keras_summary_lines(model) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lambda text, line_break=None: lines.extend(text.splitlines()))
    wanted = ("Total params", "Trainable params", "Non-trainable params")
    return [line.strip() for line in lines if line.strip().startswith(wanted)]


def assert_matches_keras(spec: ModelSpec, model=None) -> None:
    """Build the model with Keras (unless given) and compare every row and total of our summary."""
    from convexplorer.core.builder import build_model

    summary = summarize(spec)
    assert summary.valid, summary.error
    if model is None:
        model = build_model(spec, compile=False, load_weights=False)
    assert [r.name for r in summary.rows] == [layer.name for layer in model.layers]
    for row in summary.rows:
        layer = model.get_layer(row.name)
        assert row.kind == type(layer).__name__, row.name
        assert row.output_shape == tuple(layer.output.shape), row.name
        assert row.params == layer.count_params(), row.name
        assert row.trainable == _count(layer.trainable_weights), row.name
        assert row.non_trainable == _count(layer.non_trainable_weights), row.name
    assert summary.total == model.count_params()
    assert summary.trainable == _count(model.trainable_weights)
    assert summary.non_trainable == _count(model.non_trainable_weights)
    if isinstance(model.output, dict):  # several heads: one output per head name
        assert summary.outputs == {k: tuple(v.shape) for k, v in model.output.items()}
    else:
        assert summary.output_shape == tuple(model.output.shape)
    assert summary.totals_lines() == keras_summary_lines(model)


def test_textbook_counts_by_hand():
    # Deep Learning with Python: 320 + 18,496 + 36,928 = 55,744; + 36,928 + 650 = 93,322
    assert summarize(PRESETS["MNIST convnet: conv base only"]).total == 55_744
    mnist = summarize(PRESETS["MNIST convnet"])
    assert mnist.total == 93_322
    assert [r.params for r in mnist.rows] == [0, 320, 0, 18_496, 0, 36_928, 0, 36_928, 650]
    assert [r.shape_text for r in mnist.rows][1:6] == [
        "(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)", "(None, 5, 5, 64)", "(None, 3, 3, 64)"]
    assert mnist.totals_lines()[0] == "Total params: 93,322 (364.54 KB)"
    assert summarize(PRESETS["Cats vs dogs: small convnet"]).total == 3_453_121
    assert summarize(PRESETS["Cats vs dogs: augmentation + dropout"]).total == 3_453_121
    assert summarize(PRESETS["LeNet-5"]).total == 61_706
    vgg = summarize(PRESETS["VGG16 transfer: frozen base"])
    assert (vgg.total, vgg.trainable) == (17_992_001, 3_277_313)  # DLwP 2nd ed., ch. 8


@pytest.mark.parametrize("name", [n for n in PRESETS if not any(a in n for a in KNOWN_APPLICATIONS)])
def test_every_small_preset_matches_keras(name):
    assert_matches_keras(PRESETS[name])


@pytest.mark.parametrize("app", KNOWN_APPLICATIONS)
def test_transfer_presets_match_keras(app):
    """Fine-tuned, then frozen, then fully trainable: one build per base (they are slow)."""
    from convexplorer.core.builder import build_model

    tuned = preset(next(n for n in PRESETS if app in n and "fine-tune" in n))
    tuned.input_shape = (base_info(app).min_size,) * 2 + (3,)  # same parameters, a lighter build
    model = build_model(tuned, compile=False, load_weights=False)
    assert_matches_keras(tuned, model)
    base = model.get_layer(app.lower())
    frozen = tuned.copy()
    frozen.layers[3].params["trainable"] = "frozen"
    base.trainable = False
    assert_matches_keras(frozen, model)
    whole = tuned.copy()
    whole.layers[3].params["trainable"] = "trainable"
    base.trainable = True
    assert_matches_keras(whole, model)


@pytest.mark.parametrize("app", KNOWN_APPLICATIONS)
def test_base_table_and_output_sizes_match_keras(app):
    info = base_info(app)
    base = getattr(keras.applications, app)(weights=None, include_top=False, input_shape=(None, None, 3))
    weighted = [layer for layer in base.layers if layer.weights]
    assert len(info.layers) == len(weighted)
    for (name, t, n), layer in zip(info.layers, weighted):
        assert name in ("_", layer.name)
        assert (t, n) == (_count(layer.trainable_weights), _count(layer.non_trainable_weights))
    assert info.total == base.count_params()
    for size in (info.min_size, info.min_size + 1, 75, 99, 150, 151, 224, 299, 333):
        oh, ow = info.output_hw(size, size + 7)
        assert (None, oh, ow, info.output_channels) == tuple(base.compute_output_shape((None, size, size + 7, 3)))


def test_invalid_designs_flag_the_offending_row_with_a_reason():
    spec = preset("MNIST convnet")
    spec.input_shape = (12, 12, 1)  # 12 -> 10 -> 5 -> 3 -> 1 -> the third conv no longer fits
    s = summarize(spec)
    assert not s.valid and s.error_index == 4
    bad = [r for r in s.rows if r.error]
    assert len(bad) == 1 and bad[0].name == "conv2d_2"
    assert "kernel larger than padded input: 3x3 on 1x1" in bad[0].error
    assert "layer 5 (Conv2D)" in s.error
    assert all(r.output_shape is not None for r in s.rows[:5])
    assert all(r.output_shape is None for r in s.rows[6:])  # later rows have no shape
    # and Keras agrees that this design cannot be built
    from convexplorer.core.builder import _apply

    x = keras.Input(spec.input_shape)
    names = spec.layer_names()
    for i in range(4):
        x = _apply(spec.layers[i], names[i], x, spec, False, None, None)
    with pytest.raises(ValueError, match="zero or negative"):
        _apply(spec.layers[4], names[4], x, spec, False, None, None)

    dense_first = ModelSpec(input_shape=(28, 28, 1), layers=[make_layer("Conv2D"), make_layer("Dense")])
    s = summarize(dense_first)
    assert s.error_index == 1
    assert "receives a 4-D tensor (None, 26, 26, 32)" in s.rows[2].error
    assert "add a Flatten or GlobalAveragePooling2D" in s.rows[2].error

    zero = ModelSpec(input_shape=(28, 28, 1), layers=[make_layer("Conv2D", filters=0), make_layer("Flatten")])
    s = summarize(zero)
    assert s.error_index == 0 and "Filters must be at least 1, got 0" in s.rows[1].error

    conv_after_flatten = ModelSpec(layers=[make_layer("Flatten"), make_layer("Conv2D")])
    assert "needs an image-shaped input" in summarize(conv_after_flatten).rows[2].error

    grey_vgg = ModelSpec(input_shape=(64, 64, 1), layers=[make_layer("Pretrained", application="VGG16")])
    assert "needs colour images with 3 channels" in summarize(grey_vgg).rows[1].error
    small = ModelSpec(input_shape=(64, 64, 3), layers=[make_layer("Pretrained", application="Xception")])
    assert "at least 71x71" in summarize(small).rows[1].error
    bad_from = ModelSpec(input_shape=(64, 64, 3), layers=[
        make_layer("Pretrained", trainable="fine_tune", fine_tune_from="block9_conv1")])
    assert 'no layer with weights named "block9_conv1"' in summarize(bad_from).rows[1].error


def test_warnings_for_a_design_that_does_not_classify():
    s = summarize(PRESETS["MNIST convnet: conv base only"])
    assert s.valid and "end with Flatten" in s.warnings[0]
    spec = preset("MNIST convnet")
    spec.layers[-1].params["units_from_classes"] = False
    spec.layers[-1].params["units"] = 7
    assert "outputs 7 values but 10 are expected" in summarize(spec).warnings[0]
    spec.compile.loss = "binary_crossentropy"
    assert "binary cross-entropy tells two classes apart, but there are 10" in summarize(spec).warnings[0]


def test_units_from_classes_follow_the_data_and_loss():
    spec = preset("MNIST convnet")
    spec.num_classes = 3
    assert summarize(spec).rows[-1].output_shape == (None, 3)
    spec.compile.loss = "binary_crossentropy"
    assert summarize(spec).rows[-1].output_shape == (None, 1)


def test_readable_memory_size_matches_keras():
    from keras.src.utils.summary_utils import readable_memory_size as keras_readable

    for n in (0, 1, 1023, 1024, 93_322 * 4, 3_453_121 * 4, 10**13):
        assert readable_memory_size(n) == keras_readable(n)


def test_memory_estimate_counts_activations():
    s = summarize(PRESETS["MNIST convnet"])
    # outputs per image: 26*26*32 + 13*13*32 + 11*11*64 + 5*5*64 + 3*3*64 + 576 + 64 + 10
    assert s.activation_values == 21632 + 5408 + 7744 + 1600 + 576 + 576 + 64 + 10
    assert "per image" in s.memory_text()


_KINDS = ["Conv2D", "SeparableConv2D", "MaxPooling2D", "AveragePooling2D", "BatchNormalization", "Dropout",
          "ResidualBlock", "RandomFlip", "Activation", "Rescaling"]


@st.composite
def random_specs(draw):
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(_KINDS))
        if kind in ("Conv2D", "SeparableConv2D"):
            stride = draw(st.integers(1, 3))
            layer = make_layer(kind, filters=draw(st.integers(1, 9)),
                               kernel_size=[draw(st.integers(1, 4)), draw(st.integers(1, 4))],
                               strides=[stride, draw(st.integers(1, 3))] if stride > 1 else [1, 1],
                               dilation_rate=[1, 1] if stride > 1 else [draw(st.integers(1, 2))] * 2,
                               padding=draw(st.sampled_from(["valid", "same"])),
                               use_bias=draw(st.booleans()))
            if kind == "SeparableConv2D":
                layer.params["depth_multiplier"] = draw(st.integers(1, 3))
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            layer = make_layer(kind, pool_size=[draw(st.integers(1, 3))] * 2,
                               strides=draw(st.one_of(st.none(), st.just([2, 1]))),
                               padding=draw(st.sampled_from(["valid", "same"])))
        elif kind == "ResidualBlock":
            layer = make_layer(kind, filters=draw(st.integers(1, 6)), pooling=draw(st.booleans()))
        else:
            layer = make_layer(kind)
        layers.append(layer)
    layers.append(draw(st.sampled_from([make_layer("Flatten"), make_layer("GlobalAveragePooling2D"),
                                        make_layer("GlobalMaxPooling2D")])))
    if draw(st.booleans()):
        layers.append(make_layer("BatchNormalization"))
    layers.append(make_layer("Dense", units_from_classes=True, use_bias=draw(st.booleans())))
    shape = (draw(st.integers(1, 16)), draw(st.integers(1, 16)), draw(st.integers(1, 4)))
    return ModelSpec("random", shape, draw(st.integers(1, 12)), layers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_specs_match_keras_or_keras_refuses_them(spec):
    s = summarize(spec)
    if s.valid:
        assert_matches_keras(spec)
    else:
        # build the same layers with raw Keras, without our checks: Keras must refuse too
        from convexplorer.core.builder import _apply

        x = keras.Input(spec.input_shape)
        with pytest.raises(ValueError):
            for layer, name in zip(spec.layers, spec.layer_names()):
                x = _apply(layer, name, x, spec, False, None, None)


def test_summary_of_a_vgg16_sized_design_matches_the_paper():
    """VGG16 with its top, summarized without TensorFlow (its speed is measured by benchmarks/builder.py)."""
    spec = ModelSpec(input_shape=(224, 224, 3), layers=[])
    for block, (filters, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        spec.layers += [make_layer("Conv2D", filters=filters, padding="same") for _ in range(convs)]
        spec.layers.append(make_layer("MaxPooling2D"))
    spec.layers += [make_layer("Flatten"), make_layer("Dense", units=4096), make_layer("Dense", units=4096),
                    make_layer("Dense", units=1000, activation="softmax")]
    spec.num_classes = 1000
    s = summarize(spec)
    assert s.total == 138_357_544  # VGG16 with its top, as in the paper and keras.applications
    assert math.isclose(s.weight_bytes / 2**20, 527.79, abs_tol=0.01)


def test_other_bases_are_measured_once_then_match_keras():
    from convexplorer.core.builder import build_model, measure_base
    from convexplorer.core.summary import measured_base

    spec = ModelSpec("m", (64, 64, 3), 3, [
        make_layer("Pretrained", application="MobileNetV2", trainable="frozen"),
        make_layer("GlobalAveragePooling2D"), make_layer("Dense", units_from_classes=True, activation="softmax")])
    if measured_base("MobileNetV2", (64, 64, 3)) is None:
        s = summarize(spec)
        assert not s.valid and s.pending == [("MobileNetV2", (64, 64, 3))]
        assert s.rows[1].pending and "measuring MobileNetV2" in s.rows[1].error
    base = measure_base("MobileNetV2", (64, 64, 3))
    model = build_model(spec, compile=False, load_weights=False)
    assert model.get_layer("mobilenetv2").count_params() == base.total
    assert_matches_keras(spec, model)
    tuned = spec.copy()
    tuned.layers[0].params.update(trainable="fine_tune", fine_tune_from=base.tunable_layers()[-6])
    assert_matches_keras(tuned, build_model(tuned, compile=False, load_weights=False))


# --- graphs ---------------------------------------------------------------------------------


def _keras_tensors(obj) -> list[str]:
    """Every ``__keras_tensor__`` reference in a serialized inbound node, as Keras prints it: name[node][tensor]."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            layer, node, tensor = obj["config"]["keras_history"]
            return [f"{layer}[{node}][{tensor}]"]
        return [t for v in obj.values() for t in _keras_tensors(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _keras_tensors(v)]
    return []


def keras_table(model) -> tuple[list[list[str]], list[str]]:
    """The rows of ``model.summary()`` (cells joined over wrapped lines) and its total lines."""
    import os

    lines: list[str] = []
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "400"  # rich wraps the table at the console's width (80 when not a terminal)
    try:
        model.summary(line_length=320, print_fn=lambda text, line_break=None: lines.extend(text.splitlines()))
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    rows: list[list[str]] = []
    current: list[list[str]] | None = None
    for line in lines:
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if current is None:
                current = [[] for _ in cells]
            for part, cell in zip(current, cells):
                if cell:
                    part.append(cell)
        elif line.startswith(("├", "└")) and current is not None:
            rows.append([" ".join(" ".join(p).split()) for p in current])
            current = None
    totals = [line.strip() for line in lines if line.strip().startswith(("Total params", "Trainable params", "Non-trainable"))]
    return rows, totals


def assert_graph_matches_keras(spec: ModelSpec, model=None, text: bool = True) -> None:
    """Layer by layer against the built model: order, name, class, shape, parameters, inbound tensors; the text too."""
    from convexplorer.core.builder import build_model

    summary = summarize(spec)
    assert summary.valid, summary.error
    if model is None:
        model = build_model(spec, compile=False, load_weights=False)
    assert [r.name for r in summary.rows] == [layer.name for layer in model.layers]
    configs = model.get_config()["layers"]
    for row, layer, config in zip(summary.rows, model.layers, configs):
        assert config["name"] == row.name
        assert row.kind == type(layer).__name__, row.name
        out = layer.output if not isinstance(layer.output, (list, tuple)) else layer.output[0]
        assert row.output_shape == tuple(out.shape), row.name
        assert (row.params, row.trainable, row.non_trainable) == (
            layer.count_params(), _count(layer.trainable_weights), _count(layer.non_trainable_weights)), row.name
        assert row.connected_to == _keras_tensors(config["inbound_nodes"]), row.name
    assert summary.total == model.count_params()
    assert summary.trainable == _count(model.trainable_weights)
    assert summary.non_trainable == _count(model.non_trainable_weights)
    outputs = model.output if isinstance(model.output, dict) else {spec.output_heads()[0].name: model.output}
    assert summary.outputs == {k: tuple(v.shape) for k, v in outputs.items()}
    if text:
        rows, totals = keras_table(model)
        assert totals == summary.totals_lines()
        ours = [[f"{r.name} ({r.kind})", r.shape_text, f"{r.params:,}"] + ([] if summary.sequential_like else [r.connected_text])
                for r in summary.rows]
        assert rows == ours


def _graph(shape=(32, 32, 3), classes=4) -> ModelSpec:
    g = ModelSpec("graph", shape, classes)
    g.layers = []
    return g


def _add(g: ModelSpec, kind: str, inputs, **params):
    return g.add_node(make_layer(kind, **params), [(i if isinstance(i, str) else i.id, 0) for i in inputs]).id


def se_two_heads() -> ModelSpec:
    """The lead's example: a residual add, squeeze-and-excitation, a transposed conv, padding and two heads."""
    g = _graph()
    a = _add(g, "Conv2D", ["input"], padding="same")
    b = _add(g, "Conv2D", [a], padding="same")
    c = _add(g, "Add", [a, b])
    se = _add(g, "GlobalAveragePooling2D", [c], keepdims=True)
    m = _add(g, "Multiply", [c, se])
    up = _add(g, "Conv2DTranspose", [m], filters=8)
    zp = _add(g, "ZeroPadding2D", [up], padding=[0, 1, 0, 1])
    f = _add(g, "GlobalAveragePooling2D", [zp])
    o = _add(g, "Dense", [f], units_from_classes=True, activation="softmax")
    box = g.add_node(make_layer("Dense", units=4, activation="sigmoid", name="box"), [(f, 0)]).id
    g.heads = [HeadSpec("classes", o), HeadSpec("box", box, "mean_squared_error", 2.0, ["mean_absolute_error"])]
    return g


def bottleneck_resnet(stages=((64, 3), (128, 4), (256, 6), (512, 3)), size=224, classes=1000) -> ModelSpec:
    """ResNet50's graph: a stem, then bottleneck units (1x1, 3x3, 1x1 convs with batch norm, projection shortcuts)."""
    g = _graph((size, size, 3), classes)
    x = _add(g, "ZeroPadding2D", ["input"], padding=3)
    x = _add(g, "Conv2D", [x], filters=64, kernel_size=7, strides=2, activation="linear")
    x = _add(g, "BatchNormalization", [x])
    x = _add(g, "ReLU", [x])
    x = _add(g, "ZeroPadding2D", [x], padding=1)
    x = _add(g, "MaxPooling2D", [x], pool_size=3, strides=2)
    for s, (filters, units) in enumerate(stages):
        for u in range(units):
            stride = 2 if u == 0 and s > 0 else 1
            shortcut = x
            if u == 0:
                shortcut = _add(g, "Conv2D", [x], filters=4 * filters, kernel_size=1, strides=stride, activation="linear")
                shortcut = _add(g, "BatchNormalization", [shortcut])
            y = _add(g, "Conv2D", [x], filters=filters, kernel_size=1, strides=stride, activation="linear")
            y = _add(g, "BatchNormalization", [y])
            y = _add(g, "ReLU", [y])
            y = _add(g, "Conv2D", [y], filters=filters, kernel_size=3, padding="same", activation="linear")
            y = _add(g, "BatchNormalization", [y])
            y = _add(g, "ReLU", [y])
            y = _add(g, "Conv2D", [y], filters=4 * filters, kernel_size=1, activation="linear")
            y = _add(g, "BatchNormalization", [y])
            x = _add(g, "Add", [shortcut, y])
            x = _add(g, "ReLU", [x])
    x = _add(g, "GlobalAveragePooling2D", [x])
    _add(g, "Dense", [x], units_from_classes=True, activation="softmax")
    return g


def inception_block() -> ModelSpec:
    """Four branches joined in depth (GoogLeNet), then a classifier."""
    g = _graph((28, 28, 16), 10)
    b1 = _add(g, "Conv2D", ["input"], filters=8, kernel_size=1)
    b2 = _add(g, "Conv2D", [_add(g, "Conv2D", ["input"], filters=4, kernel_size=1)], filters=8, padding="same")
    b3 = _add(g, "Conv2D", [_add(g, "Conv2D", ["input"], filters=2, kernel_size=1)], filters=4, kernel_size=5, padding="same")
    b4 = _add(g, "Conv2D", [_add(g, "MaxPooling2D", ["input"], pool_size=3, strides=1, padding="same")], filters=4, kernel_size=1)
    cat = _add(g, "Concatenate", [b1, b2, b3, b4])
    _add(g, "Dense", [_add(g, "GlobalMaxPooling2D", [cat])], units_from_classes=True, activation="softmax")
    return g


def se_block_with_dense() -> ModelSpec:
    """Squeeze-and-excitation with Dense layers and a Reshape back to (1, 1, C), then an Average and a Maximum."""
    g = _graph((16, 16, 3), 5)
    x = _add(g, "Conv2D", ["input"], filters=12, padding="same")
    s = _add(g, "GlobalAveragePooling2D", [x])
    s = _add(g, "Dense", [s], units=3)
    s = _add(g, "Dense", [s], units=12, activation="sigmoid")
    s = _add(g, "Reshape", [s], target_shape=[1, 1, -1])
    m = _add(g, "Multiply", [x, s])
    a = _add(g, "Average", [m, x, _add(g, "DepthwiseConv2D", [x], padding="same")])
    mx = _add(g, "Maximum", [a, _add(g, "Subtract", [a, m])])
    ln = _add(g, "LayerNormalization", [mx], center=False)
    _add(g, "Dense", [_add(g, "Flatten", [ln])], units_from_classes=True, activation="softmax")
    return g


def unet_stage() -> ModelSpec:
    """One U-Net level: down, up by a transposed conv and by upsampling, skips joined, a per-pixel head."""
    g = _graph((24, 24, 1), 3)
    n = _add(g, "Normalization", ["input"])
    d1 = _add(g, "Conv2D", [n], filters=8, padding="same")
    p = _add(g, "MaxPooling2D", [d1])
    d2 = _add(g, "Conv2D", [p], filters=16, padding="same")
    u1 = _add(g, "Conv2DTranspose", [d2], filters=8, kernel_size=2)
    u2 = _add(g, "UpSampling2D", [_add(g, "Cropping2D", [_add(g, "ZeroPadding2D", [d2], padding=1)], cropping=1)])
    cat = _add(g, "Concatenate", [u1, d1, u2])
    bn = _add(g, "BatchNormalization", [cat], scale=False)
    mask = g.add_node(make_layer("Conv2D", name="mask", filters=3, kernel_size=1, activation="softmax"), [(bn, 0)]).id
    label = _add(g, "Dense", [_add(g, "GlobalAveragePooling2D", [bn])], units_from_classes=True, activation="softmax")
    g.heads = [HeadSpec("mask", mask, "sparse_categorical_crossentropy"), HeadSpec("label", label)]
    return g


GRAPHS = {"SE and two heads": se_two_heads, "inception block": inception_block, "SE block with Dense": se_block_with_dense,
          "U-Net stage": unet_stage, "small bottleneck ResNet": lambda: bottleneck_resnet(((4, 1), (8, 2)), 32, 10)}


@pytest.mark.parametrize("name", GRAPHS)
def test_graph_blocks_match_keras_with_the_connected_to_column(name):
    spec = GRAPHS[name]()
    spec.validate()
    s = summarize(spec)
    assert not s.sequential_like and all(r.connected_to for r in s.rows[1:]) and s.rows[0].connected_to == []
    assert_graph_matches_keras(spec)


def test_the_summary_of_resnet50_equals_keras_applications():
    """The ResNet50 graph (176 nodes) has keras.applications.ResNet50's parameters, without TensorFlow."""
    spec = bottleneck_resnet()
    assert len(spec.layers) >= 175
    s = summarize(spec)
    assert s.valid and s.total == 25_636_712 and s.non_trainable == 53_120
    assert s.output_shape == (None, 1000)


def test_row_order_is_keras_order_not_list_order():
    g = _graph((8, 8, 2), 3)
    a = _add(g, "Conv2D", ["input"], filters=3, padding="same")
    b = _add(g, "Conv2D", ["input"], filters=3, padding="same")
    a2 = _add(g, "Conv2D", [a], filters=3, padding="same")
    b2 = _add(g, "Conv2D", [b], filters=3, padding="same")
    add = _add(g, "Add", [b2, a2])  # Keras walks back from the output: b's branch first
    _add(g, "Dense", [_add(g, "Flatten", [add])], units=3)
    s = summarize(g)
    assert [r.name for r in s.rows] == ["input_layer", "conv2d_1", "conv2d", "conv2d_3", "conv2d_2", "add", "flatten", "dense"]
    assert [r.layer_index for r in s.rows] == [None, 1, 0, 3, 2, 4, 5, 6]
    assert s.rows[5].connected_to == ["conv2d_3[0][0]", "conv2d_2[0][0]"]
    assert_graph_matches_keras(g)


def test_rows_carry_their_node_ids():
    import json
    from pathlib import Path

    # the composite ResidualBlock of designs saved before graphs (the preset is now a real graph)
    saved = json.loads((Path(__file__).resolve().parent.parent / "data" / "presets-format1.json").read_text())
    spec = ModelSpec.from_dict(saved["presets"]["Small residual net"]["design"])
    s = summarize(spec)
    assert s.rows[0].node_id == "input"
    for r in s.rows[1:]:
        assert r.node_id == spec.layers[r.layer_index].id
    block = next(layer for layer in spec.layers if layer.kind == "ResidualBlock")
    assert len(s.rows_of(block.id)) >= 4
    vgg = preset("VGG16 transfer: frozen base")
    assert summarize(vgg).rows_of(vgg.layers[3].id)[0].name == "vgg16"


def test_a_merge_of_unequal_shapes_says_what_it_expected_and_received():
    g = _graph((28, 28, 3), 10)
    a = _add(g, "Conv2D", ["input"], filters=64, padding="same")
    b = _add(g, "Conv2D", [a], filters=64, strides=2, padding="same")
    add = _add(g, "Add", [a, b])
    head = _add(g, "Dense", [_add(g, "Flatten", [add])], units=10)
    side = g.add_node(make_layer("Dense", units=2, name="side"), [(_add(g, "GlobalAveragePooling2D", [a]), 0)]).id
    g.heads = [HeadSpec("main", head), HeadSpec("side", side)]
    s = summarize(g)
    assert not s.valid and s.node_errors() == {add: "Add needs equal shapes: (None, 28, 28, 64) and (None, 14, 14, 64)"}
    assert s.error == 'layer 3 (Add): Add needs equal shapes: (None, 28, 28, 64) and (None, 14, 14, 64)'
    assert s.error_index == 2
    assert s.node_shapes[head] is None and s.node_shapes[side] == (None, 2)  # the other branch still has shapes
    assert s.outputs == {"main": None, "side": (None, 2)}
    from convexplorer.core.builder import build_model
    from convexplorer.core.errors import SpecError

    with pytest.raises(SpecError, match=r"Add needs equal shapes"):  # ours, before Keras's
        build_model(g, compile=False)
    g.node(b).params["strides"] = [1, 1]
    assert_graph_matches_keras(g)


@pytest.mark.parametrize("kinds, error", [
    ([("Concatenate", {})], "Concatenate needs equal shapes except along axis -1: (None, 8, 8, 4) and (None, 4, 4, 4)"),
    ([("Concatenate", {"axis": 1})], "Concatenate needs equal shapes except along axis 1: (None, 8, 8, 4) and (None, 4, 4, 4)"),
    ([("Subtract", {})], "Subtract needs equal shapes: (None, 8, 8, 4) and (None, 4, 4, 4)"),
])
def test_merge_errors(kinds, error):
    g = _graph((8, 8, 1), 2)
    a = _add(g, "Conv2D", ["input"], filters=4, padding="same")
    b = _add(g, "MaxPooling2D", [a])
    kind, params = kinds[0]
    m = _add(g, kind, [a, b], **params)
    _add(g, "Dense", [_add(g, "Flatten", [m])], units=2)
    assert summarize(g).node_errors() == {m: error}


_SINGLE = [
    ("DepthwiseConv2D", dict(depth_multiplier=2, strides=2, dilation_rate=2, kernel_size=[3, 2])),
    ("DepthwiseConv2D", dict(padding="same", use_bias=False)),
    ("Conv2DTranspose", dict(filters=5, kernel_size=[3, 2], strides=[2, 3], padding="valid")),
    ("Conv2DTranspose", dict(filters=5, kernel_size=[1, 4], strides=[3, 2], padding="same", use_bias=False)),
    ("UpSampling2D", dict(size=[2, 3])),
    ("ZeroPadding2D", dict(padding=[1, 2, 3, 4])),
    ("Cropping2D", dict(cropping=[[1, 2], [0, 3]])),
    ("Reshape", dict(target_shape=[-1, 3])),
    ("ReLU", dict(max_value=6.0)),
    ("LayerNormalization", dict(scale=False)),
    ("LayerNormalization", dict(axis=1)),
    ("Normalization", dict()),
    ("Normalization", dict(axis=2)),
    ("BatchNormalization", dict(center=False)),
    ("BatchNormalization", dict(scale=False, center=False, axis=1)),
    ("GlobalAveragePooling2D", dict(keepdims=True)),
    ("GlobalMaxPooling2D", dict(keepdims=True)),
]


@pytest.mark.parametrize("kind, params", _SINGLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(_SINGLE)])
def test_every_new_kind_matches_keras(kind, params):
    spec = ModelSpec("one", (9, 10, 3), 4, [make_layer(kind, **params), make_layer("Flatten"),
                                             make_layer("Dense", units_from_classes=True)])
    assert_graph_matches_keras(spec, text=kind == "Normalization")


@pytest.mark.parametrize("kind, params, error", [
    ("Cropping2D", dict(cropping=[2, 3, 0, 0]), "cropping 2+3 rows and 0+0 columns off 5x5 maps (None, 5, 5, 3) leaves nothing"),
    ("Reshape", dict(target_shape=[7, -1]), "Reshape cannot arrange the 75 values of (None, 5, 5, 3) as (7, -1)"),
    ("BatchNormalization", dict(axis=0), "cannot use axis 0 of (None, 5, 5, 3): it is the batch axis"),
    ("LayerNormalization", dict(axis=-4), "cannot use axis -4 of (None, 5, 5, 3): it is the batch axis"),
    ("DepthwiseConv2D", dict(kernel_size=6), "kernel larger than padded input: 6x6 on 5x5"),
])
def test_new_kinds_refuse_what_keras_refuses(kind, params, error):
    spec = ModelSpec("one", (5, 5, 3), 4, [make_layer(kind, **params), make_layer("Flatten")])
    s = summarize(spec)
    assert error in s.rows[1].error
    x = keras.Input(spec.input_shape)
    from convexplorer.core.builder import _apply

    with pytest.raises((ValueError, IndexError)):
        _apply(spec.layers[0], "x", x, spec, False, None, None)


def test_a_kept_keras_layer_is_pending_until_measured_then_matches_keras():
    from convexplorer.core.builder import build_model, measure_keras_layer

    g = _graph((6, 6, 2), 3)
    a = _add(g, "Conv2D", ["input"], filters=4)
    b = _add(g, "Conv2D", ["input"], filters=4)
    kept = g.add_node(make_layer("KerasLayer", class_name="Minimum", config={"name": "minimum", "trainable": True}),
                      [(a, 0), (b, 0)]).id
    flat = _add(g, "Flatten", [kept])
    dense_config = keras.layers.Dense(7, name="d").get_config()
    tail = g.add_node(make_layer("KerasLayer", class_name="Dense", config=dense_config), [(flat, 0)]).id
    _add(g, "Dense", [tail], units_from_classes=True)
    s = summarize(g)
    assert not s.valid and len(s.pending_layers) == 1 and s.pending_nodes() == {kept}
    assert s.rows_of(kept)[0].pending and "measuring Minimum" in s.rows_of(kept)[0].error
    assert s.node_errors() == {}
    m = measure_keras_layer(s.pending_layers[0])
    assert m.class_name == "Minimum" and m.output_shapes == ((None, 4, 4, 4),)
    s = summarize(g)
    assert s.pending_nodes() == {tail}
    measure_keras_layer(s.pending_layers[0])
    assert summarize(g).valid
    assert summarize(g).rows_of(tail)[0].params == 64 * 7 + 7
    assert_graph_matches_keras(g)
    g.node(tail).params["config"] = dict(dense_config, units=9)  # another config: measured again (build_model does it)
    assert summarize(g).pending_layers
    model = build_model(g, compile=False)
    assert_graph_matches_keras(g, model)


def test_a_kept_layer_keras_refuses_shows_keras_reason():
    from convexplorer.core.builder import measure_keras_layer

    spec = ModelSpec("k", (6, 6, 2), 3, [make_layer("KerasLayer", class_name="Conv3D",
                                                     config={"filters": 2, "kernel_size": 2}), make_layer("Flatten")])
    measure_keras_layer(summarize(spec).pending_layers[0])
    s = summarize(spec)
    assert not s.pending_layers and "Keras refused this Conv3D on its inputs" in s.rows[1].error
    assert s.node_errors() == {spec.layers[0].id: s.rows[1].error}


def test_several_heads_total_the_whole_model():
    spec = se_two_heads()
    s = summarize(spec)
    assert list(s.outputs) == ["classes", "box"] and s.outputs["box"] == (None, 4)
    assert [r.name for r in s.rows][-2:] == ["box", "dense"]  # Keras flattens dict outputs in key order
    assert s.total == sum(r.params for r in s.rows) and not s.warnings


# Random graphs: convs, pools, merges (mostly of fitting shapes), sometimes several heads.
_MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Concatenate"]


def _fits(kind: str, a: tuple, b: tuple) -> bool:
    if kind == "Concatenate":
        return a[:-1] == b[:-1]
    return a == b or (b[1:3] == (1, 1) and b[3] == a[3]) or (a[1:3] == (1, 1) and a[3] == b[3])


@st.composite
def random_graphs(draw):
    g = _graph((draw(st.integers(4, 12)), draw(st.integers(4, 12)), draw(st.integers(1, 3))), draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(1, 7))):
        shapes = {"input": (None, *g.input_shape), **summarize(g).node_shapes}
        images = [n for n, s in shapes.items() if s is not None and len(s) == 4]
        if not images:
            break
        src = draw(st.sampled_from(images))
        op = draw(st.sampled_from(["conv", "conv", "pool", "merge", "merge", "merge", "other"]))
        if op == "conv":
            kind = draw(st.sampled_from(["Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"]))
            params = dict(kernel_size=[draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                          padding=draw(st.sampled_from(["same", "valid"])), strides=[draw(st.integers(1, 2))] * 2)
            if kind != "DepthwiseConv2D":
                params["filters"] = draw(st.integers(1, 6))
            _add(g, kind, [src], **params)
        elif op == "pool":
            kind = draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "UpSampling2D"]))
            _add(g, kind, [src], **({"keepdims": True} if kind.startswith("Global") else {}))
        elif op == "other":
            kind = draw(st.sampled_from(["BatchNormalization", "ReLU", "ZeroPadding2D", "LayerNormalization"]))
            _add(g, kind, [src])
        else:
            kind = draw(st.sampled_from(_MERGES))
            count = 2 if kind == "Subtract" else draw(st.sampled_from([2, 2, 3]))
            inputs = [src]
            for _ in range(count - 1):
                fitting = [n for n in images if _fits(kind, shapes[src], shapes[n])]
                inputs.append(draw(st.sampled_from(fitting if fitting and draw(st.integers(0, 5)) else images)))
            _add(g, kind, inputs)
    readers = {src for i in range(len(g.layers)) for src, _ in g.inputs_of(i)}
    sinks = [layer.id for layer in g.layers if layer.id not in readers] or ["input"]
    heads = []
    for k, sink in enumerate(sinks):
        shape = summarize(g).node_shapes.get(sink)
        x = _add(g, draw(st.sampled_from(["Flatten", "GlobalMaxPooling2D"])), [sink]) if shape is None or len(shape) == 4 \
            else sink
        heads.append(HeadSpec(draw(st.sampled_from("abcdefgh")) + str(k), _add(g, "Dense", [x], units_from_classes=True)))
    if len(heads) > 1 or draw(st.booleans()):
        g.heads = heads
    return g


def _keras_verdict(spec: ModelSpec) -> None:
    """Build the graph with raw Keras, without our checks: it must refuse."""
    from convexplorer.core.builder import MERGE_LAYERS, _apply

    tensors = {"input": keras.Input(spec.input_shape)}
    names = spec.layer_names()
    with pytest.raises((ValueError, IndexError)):
        for i, layer in enumerate(spec.layers):
            xs = [tensors[src] for src, _ in spec.inputs_of(i)]
            tensors[layer.id] = _apply(layer, names[i], xs if layer.kind in MERGE_LAYERS else xs[0], spec, False, None, None)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_graphs())
def test_random_graphs_match_keras_or_keras_refuses_them(spec):
    spec.validate()
    s = summarize(spec)
    if s.valid:
        assert_graph_matches_keras(spec, text=len(spec.layers) % 4 == 0)
    else:
        assert s.node_errors() and " and (None" in s.error or "kernel" in s.error or "shrink" in s.error, s.error
        _keras_verdict(spec)


@pytest.mark.parametrize("name", [n for n in PRESETS if not any(a in n for a in KNOWN_APPLICATIONS)] + ["VGG16 transfer: frozen base"])
def test_presets_print_as_keras_prints_them(name):
    """The whole table (Connected to where Keras shows it) and the totals, for every preset."""
    spec = preset(name)
    if "VGG16" in name:
        spec.input_shape = (32, 32, 3)
    s = summarize(spec)
    assert s.sequential_like == spec.is_chain() or any(layer.kind == "ResidualBlock" for layer in spec.layers)
    assert_graph_matches_keras(spec)


def test_a_segmenter_output_follows_the_number_of_classes():
    """The U-Net's 1x1 per-pixel classifier has filters_from_classes: 3 classes -> 3 maps, as Keras builds it."""
    spec = preset("U-Net (masks)")
    spec.num_classes = 3
    s = summarize(spec)
    assert s.output_shape == (None, *spec.input_shape[:2], 3)
    assert_matches_keras(spec)
    from convexplorer.core.export import script_text

    assert "layers.Conv2D(NUM_CLASSES, (1, 1)" in script_text(spec, "train.py").replace("[1, 1]", "(1, 1)")
