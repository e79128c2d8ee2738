"""Opening .keras files safely (Lambda refused), atomic saves, and models back to designs."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import modelio
from convexplorer.core.builder import build_model
from convexplorer.core.errors import ModelFileError, SpecError
from convexplorer.core.presets import preset
from convexplorer.core.spec import ModelSpec, make_layer
from convexplorer.core.summary import summarize

keras = pytest.importorskip("keras")


def _tiny(name="tiny"):
    spec = ModelSpec(name, (8, 8, 1), 3, [make_layer("Conv2D", filters=4), make_layer("MaxPooling2D"),
                                          make_layer("Flatten"), make_layer("Dropout", rate=0.25),
                                          make_layer("Dense", units_from_classes=True, activation="softmax")])
    return spec, build_model(spec)


def _lambda_model():
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    return keras.Model(inputs, outputs)


def test_save_then_load_gives_the_same_model(tmp_path):
    spec, model = _tiny()
    path = modelio.save_keras_model(model, tmp_path / "net.keras")
    assert path.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["net.keras"]  # no temp file left
    loaded = modelio.load_keras_model(path)
    x = np.random.default_rng(1).random((2, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-6)
    assert loaded.count_params() == summarize(spec).total


def test_a_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    _, model = _tiny()
    path = modelio.save_keras_model(model, tmp_path / "net.keras")
    before = path.read_bytes()

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save", broken)
    with pytest.raises(ModelFileError, match="previous file is unchanged"):
        modelio.save_keras_model(model, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.keras"]
    with pytest.raises(ModelFileError, match="must end in .keras"):
        modelio.save_keras_model(model, tmp_path / "net.h5")


def test_lambda_models_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "lambda.keras"
    _lambda_model().save(path)
    with pytest.raises(ModelFileError, match="Lambda layer") as info:
        modelio.load_keras_model(path)
    assert "safe mode" in str(info.value) and "allow unsafe code" in str(info.value)
    model = modelio.load_keras_model(path, allow_unsafe=True)
    np.testing.assert_allclose(model(np.ones((1, 4), np.float32)), 2.0)


def test_corrupt_and_missing_files_give_clear_messages(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(ModelFileError, match="not a valid .keras file"):
        modelio.load_keras_model(junk)
    _, model = _tiny()
    good = modelio.save_keras_model(model, tmp_path / "good.keras")
    data = good.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cut.keras"):
        modelio.load_keras_model(cut)
    with pytest.raises(ModelFileError, match="model file not found"):
        modelio.load_keras_model(tmp_path / "nothere.keras")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="expected a Keras model file ending in .keras"):
        modelio.load_keras_model(text)


def test_a_saved_design_comes_back_as_the_same_design(tmp_path):
    spec = preset("Cats vs dogs: augmentation + dropout")
    spec.compile.learning_rate = 0.0005
    model = build_model(spec)
    loaded = modelio.load_keras_model(modelio.save_keras_model(model, tmp_path / "cd.keras"))
    back = modelio.spec_from_model(loaded)
    assert back.input_shape == spec.input_shape
    assert back.compile.loss == "binary_crossentropy" and back.compile.optimizer == "rmsprop"
    assert back.compile.learning_rate == pytest.approx(0.0005)
    a, b = summarize(spec), summarize(back)
    assert [(r.name, r.kind, r.output_shape, r.params) for r in a.rows] == [
        (r.name, r.kind, r.output_shape, r.params) for r in b.rows]


def test_pretrained_fine_tuning_is_recovered():
    spec = ModelSpec("t", (32, 32, 3), 5, [
        make_layer("Pretrained", application="VGG16", trainable="fine_tune", fine_tune_from="block5_conv2"),
        make_layer("Flatten"), make_layer("Dense", units_from_classes=True, activation="softmax")])
    back = modelio.spec_from_model(build_model(spec, load_weights=False))
    base = back.layers[0]
    assert (base.kind, base.get("application"), base.get("trainable"), base.get("fine_tune_from")) == (
        "Pretrained", "VGG16", "fine_tune", "block5_conv2")
    assert back.num_classes == 5 and summarize(back).trainable == summarize(spec).trainable


def test_branching_models_open_as_graphs_and_unknown_layers_as_read_only_nodes():
    # replaces "only straight stacks of layers can be edited": graphs open now (core.importer)
    spec = preset("Small residual net")
    model = build_model(spec, compile=False)
    back = modelio.spec_from_model(model)
    assert not back.is_chain() and build_model(back, compile=False).count_params() == model.count_params()
    result = modelio.import_model(_lambda_model_on_images())
    node = result.spec.layers[0]
    assert (node.kind, node.get("class_name"), node.editable) == ("KerasLayer", "Lambda", False)
    assert any('Lambda "' in note and "read-only" in note for note in result.notes)
    with pytest.raises(SpecError, match="Lambda"):  # designs build in safe mode: the design is read-only
        modelio.spec_from_model(_lambda_model_on_images())
    with pytest.raises(SpecError, match=r"\(height, width, channels\) inputs"):
        modelio.spec_from_model(_lambda_model())


def _lambda_model_on_images():
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Lambda(lambda t: t + 1.0)(inputs))
