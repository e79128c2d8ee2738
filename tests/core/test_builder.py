"""build_model: a functional keras.Model with inputs/outputs, compiled as designed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from convexplorer.core import builder
from convexplorer.core.errors import Cancelled, SpecError
from convexplorer.core.presets import preset
from convexplorer.core.spec import CompileSpec, ModelSpec, make_layer
from convexplorer.core.summary import summarize

keras = pytest.importorskip("keras")


def test_model_has_inputs_outputs_and_the_spec_names():
    spec = preset("MNIST convnet")
    model = builder.build_model(spec)
    assert isinstance(model, keras.Model)
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert tuple(model.outputs[0].shape) == (None, 10)
    assert model.name == "mnist_convnet"
    assert [layer.name for layer in model.layers[1:]] == spec.layer_names()
    # the textbook architecture, layer by layer
    conv = model.get_layer("conv2d_1")
    assert (conv.filters, conv.kernel_size, conv.padding) == (64, (3, 3), "valid")
    assert model.get_layer("dense_1").activation.__name__ == "softmax"


@pytest.mark.parametrize(
    "settings, optimizer_cls",
    [
        (CompileSpec("rmsprop", 0.001, 0.0, "sparse_categorical_crossentropy", ["accuracy"]), "RMSprop"),
        (CompileSpec("adam", 0.0003, 0.0, "sparse_categorical_crossentropy", ["accuracy", "sparse_top_k_categorical_accuracy"]), "Adam"),
        (CompileSpec("nadam", 0.002, 0.0, "categorical_crossentropy", ["accuracy", "precision"]), "Nadam"),
        (CompileSpec("sgd", 0.01, 0.9, "sparse_categorical_crossentropy", []), "SGD"),
    ],
)
def test_compiled_with_the_spec_settings(settings, optimizer_cls):
    spec = ModelSpec("m", (8, 8, 1), 4, [make_layer("Conv2D", filters=2), make_layer("Flatten"),
                                         make_layer("Dense", units_from_classes=True, activation="softmax")], settings)
    model = builder.build_model(spec)
    opt = model.optimizer
    assert type(opt).__name__ == optimizer_cls
    assert float(opt.learning_rate.numpy()) == pytest.approx(settings.learning_rate)
    if settings.optimizer == "sgd":
        assert opt.momentum == pytest.approx(0.9)
    assert model.loss == settings.loss
    # one training step works and reports the chosen metrics
    x = np.random.default_rng(0).random((4, 8, 8, 1), dtype=np.float32)
    y = np.array([0, 1, 2, 3])
    if settings.loss == "categorical_crossentropy":
        y = np.eye(4, dtype=np.float32)[y]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    expected = {"accuracy": "accuracy", "precision": "precision", "sparse_top_k_categorical_accuracy": "top5_accuracy"}
    for m in settings.metrics:
        assert expected[m] in logs


def test_not_compiled_when_asked():
    model = builder.build_model(preset("LeNet-5"), compile=False)
    assert not model.compiled
    assert model.count_params() == 61_706


def test_fine_tuning_freezes_the_layers_before_the_chosen_one():
    spec = ModelSpec("t", (32, 32, 3), 2, [
        make_layer("Pretrained", application="VGG16", weights="imagenet", trainable="fine_tune",
                   fine_tune_from="block5_conv1"),
        make_layer("GlobalAveragePooling2D"), make_layer("Dense", units_from_classes=True, activation="softmax")])
    model = builder.build_model(spec, load_weights=False)  # random weights: no download in tests
    base = model.get_layer("vgg16")
    flags = {layer.name: layer.trainable for layer in base.layers}
    assert not flags["block4_conv3"] and not flags["block1_conv1"]
    assert flags["block5_conv1"] and flags["block5_conv3"]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == summarize(spec).trainable == 3 * 2_359_808 + 512 * 2 + 2


def test_pretrained_bases_come_from_the_zoo(monkeypatch):
    from convexplorer.core import zoo

    calls = []
    real = zoo.build_application

    def spy(name, **kw):
        calls.append((name, kw.get("weights"), kw.get("include_top"), tuple(kw.get("input_shape"))))
        return real(name, **kw)

    monkeypatch.setattr(zoo, "build_application", spy)
    spec = ModelSpec("t", (40, 40, 3), 2, [make_layer("Pretrained", weights="imagenet"), make_layer("Flatten")])
    builder.build_model(spec, compile=False, load_weights=False)
    assert calls == [("VGG16", None, False, (40, 40, 3))]


def test_invalid_design_raises_a_readable_error():
    spec = ModelSpec("t", (28, 28, 1), 10, [make_layer("Conv2D"), make_layer("Dense")])
    with pytest.raises(SpecError, match=r"layer 2 \(Dense\): Dense 'dense' receives a 4-D tensor"):
        builder.build_model(spec)
    with pytest.raises(SpecError, match="no layers"):
        builder.build_model(ModelSpec("t", (28, 28, 1), 10, []))


def test_cancel_stops_before_building():
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        builder.build_model(preset("MNIST convnet"), cancel=ev)


def test_progress_is_reported():
    seen = []
    builder.build_model(preset("LeNet-5"), compile=False, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1] == (8, 8) and len(seen) == 9


def test_model_names_are_made_keras_safe():
    assert builder.keras_model_name("My first net!") == "My_first_net"
    assert builder.keras_model_name("  ") == "model"
    spec = preset("LeNet-5")
    spec.name = "LeNet 5 / grey"
    assert builder.build_model(spec, compile=False).name == "LeNet_5_grey"


def test_build_measures_a_base_the_summary_does_not_know_yet():
    from convexplorer.core.summary import _MEASURED

    _MEASURED.pop(("MobileNetV2", (32, 32, 3)), None)
    spec = ModelSpec("d", (32, 32, 3), 2, [make_layer("Pretrained", application="MobileNetV2", trainable="trainable"),
                                           make_layer("Flatten")])
    assert summarize(spec).pending == [("MobileNetV2", (32, 32, 3))]
    model = builder.build_model(spec, compile=False, load_weights=False)
    s = summarize(spec)
    assert s.valid and s.total == model.count_params()
    assert s.non_trainable == sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) > 0  # BN statistics
