"""The summary (computed without Keras) equals Keras's own summary, digit for digit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.core.presets import PRESETS, preset
from convexplorer.core.spec import KNOWN_APPLICATIONS, ModelSpec, make_layer
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
