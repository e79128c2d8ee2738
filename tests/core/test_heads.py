"""Graph designs with several heads: their data, their training (also mirrored) and their inspection.

A seeded two-head model (classes + box) on a small Shapes set (200 images, 24x24):
the targets pipeline against the data set's own labels and boxes, the history
against Keras's own History, the box loss going down, and every Inspect view per
head against an independent computation written here.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from convexplorer.core import inspect as ins  # noqa: E402
from convexplorer.core.builder import build_model  # noqa: E402
from convexplorer.core.datasets.augmentation import AugmentationSpec  # noqa: E402
from convexplorer.core.datasets.base import ArrayDataset  # noqa: E402
from convexplorer.core.datasets.shapes import ShapesDataset  # noqa: E402
from convexplorer.core.spec import HeadSpec, ModelSpec, make_layer  # noqa: E402
from convexplorer.core.targets import (  # noqa: E402
    HeadTarget,
    TargetError,
    head_dataset,
    heads_for_training,
)
from convexplorer.core.training import (  # noqa: E402
    History,
    TrainingSession,
    TrainingSettings,
    head_names_of,
    split_head_key,
)

SIZE = 24
HEADS = [HeadTarget("classes", "labels"), HeadTarget("box", "boxes")]


@pytest.fixture(scope="module")
def shapes():
    """200 Shapes of 24x24, four classes: 140 train, 40 validation, 20 test."""
    return ShapesDataset(n=200, size=SIZE, seed=0)


def two_head_spec(classes: int = 4, lr: float = 3e-3) -> ModelSpec:
    """Conv, pool, conv, global pooling, then a softmax "classes" head and a sigmoid "box" head."""
    g = ModelSpec(name="two_heads", input_shape=(SIZE, SIZE, 3), num_classes=classes)
    g.compile.optimizer, g.compile.learning_rate = "adam", lr
    a = g.add_node(make_layer("Conv2D", filters=16, padding="same", activation="relu"), [("input", 0)])
    p = g.add_node(make_layer("MaxPooling2D"), [(a.id, 0)])
    b = g.add_node(make_layer("Conv2D", filters=16, padding="same", activation="relu", name="last_conv"), [(p.id, 0)])
    f = g.add_node(make_layer("GlobalAveragePooling2D"), [(b.id, 0)])
    o = g.add_node(make_layer("Dense", units_from_classes=True, activation="softmax", name="classes_out"), [(f.id, 0)])
    box = g.add_node(make_layer("Dense", units=4, activation="sigmoid", name="box_out"), [(f.id, 0)])
    g.heads = [HeadSpec("classes", o.id), HeadSpec("box", box.id, "mean_squared_error", 4.0, ["mean_absolute_error"], "boxes")]
    return g


def two_head_model(seed: int = 0, lr: float = 3e-3):
    keras.utils.set_random_seed(seed)
    return build_model(two_head_spec(lr=lr))


# --- targets ----------------------------------------------------------------------------------------------------


def test_heads_come_from_the_design_or_the_model_and_one_output_has_none(shapes):
    spec = two_head_spec()
    model = two_head_model()
    assert heads_for_training(model, spec) == HEADS
    assert heads_for_training(model) == HEADS  # read from the model: softmax -> labels, 4 sigmoids -> boxes
    from convexplorer.core.training import tiny_convnet

    assert heads_for_training(tiny_convnet((SIZE, SIZE, 3), 4)) == []


def test_head_dataset_yields_each_heads_targets_in_the_same_order_as_the_labels(shapes):
    plain = head_dataset(shapes, [], "validation", batch_size=16, shuffle=True, seed=3)
    multi = head_dataset(shapes, HEADS, "validation", batch_size=16, shuffle=True, seed=3)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in plain])
    xm, ym = zip(*[(x.numpy(), {k: v.numpy() for k, v in y.items()}) for x, y in multi])
    np.testing.assert_array_equal(np.concatenate(xs), np.concatenate(xm))  # same images, same order
    labels = np.concatenate([y["classes"] for y in ym])
    np.testing.assert_array_equal(labels, np.concatenate(ys))
    boxes = np.concatenate([y["box"] for y in ym])
    assert boxes.shape == (40, 4) and boxes.dtype == np.float32
    # each box is the data set's own box of that image, as fractions of the image
    images = np.concatenate(xm)
    idx = shapes.subset_indices("validation")
    by_image = {shapes.image(int(i)).tobytes(): int(i) for i in idx}
    for img, box in zip(images, boxes):
        i = by_image[img.tobytes()]
        np.testing.assert_allclose(box, shapes.boxes(i) / SIZE, rtol=1e-6)
    assert np.all((boxes >= 0) & (boxes <= 1)) and np.all(boxes[:, 2] > boxes[:, 0])


def test_a_data_set_without_boxes_or_masks_is_refused_naming_the_head():
    ds = ArrayDataset("digits", ["0", "1"], np.zeros((10, 8, 8, 1), np.uint8), np.arange(10) % 2)
    with pytest.raises(TargetError, match=r'head "box" learns boxes, but digits has no boxes'):
        head_dataset(ds, HEADS, "train", batch_size=4)
    with pytest.raises(TargetError, match="this data set has no masks"):
        head_dataset(ds, [HeadTarget("classes"), HeadTarget("seg", "masks")], "train", batch_size=4)


def test_augmentation_moves_a_box_head_in_train_only_and_brightness_keeps_the_boxes(shapes):
    moved = shapes.with_augmentation(AugmentationSpec(rotation=20, horizontal_flip=True, brightness=0.2))
    val = shapes.subset_indices("validation")
    # the validation subset is never augmented: its boxes are the data set's own
    _x, y = next(iter(head_dataset(moved, HEADS, "validation", batch_size=64, shuffle=False)))
    np.testing.assert_allclose(y["box"].numpy(), shapes.box_fractions()[val], atol=1e-6)
    train = shapes.subset_indices("train")
    _x, y = next(iter(head_dataset(moved, HEADS, "train", batch_size=256, shuffle=False, seed=2)))
    np.testing.assert_array_equal(y["classes"].numpy(), shapes.labels()[train])  # labels never move
    assert not np.allclose(y["box"].numpy(), shapes.box_fractions()[train], atol=1e-3)  # boxes moved with pixels
    bright = shapes.with_augmentation(AugmentationSpec(brightness=0.3))
    x, y = next(iter(head_dataset(bright, HEADS, "train", batch_size=8, seed=1)))
    x0, y0 = next(iter(head_dataset(shapes, HEADS, "train", batch_size=8, seed=1)))
    np.testing.assert_array_equal(y["box"].numpy(), y0["box"].numpy())  # boxes untouched
    assert not np.allclose(x.numpy(), x0.numpy())  # brightness applied


def test_head_keys_are_split_by_the_longest_head_name():
    assert head_names_of(["loss", "classes_loss", "box_loss", "classes_accuracy", "val_box_loss"]) == ["classes", "box"]
    heads = ["box", "box_2"]
    assert split_head_key("box_2_mae", heads) == ("box_2", "mae")
    assert split_head_key("val_box_loss", heads) == ("box", "val_loss")
    assert split_head_key("loss", heads) == (None, "loss")
    assert split_head_key("accuracy", []) == (None, "accuracy")


# --- training ---------------------------------------------------------------------------------------------------


def test_two_heads_train_together_with_per_head_history_equal_to_keras_and_the_box_loss_falls(shapes):
    model = two_head_model(seed=0)
    train = head_dataset(shapes, HEADS, "train", batch_size=16, shuffle=True, seed=0)
    val = head_dataset(shapes, HEADS, "validation", batch_size=16, shuffle=False)
    before = model.evaluate(val, verbose=0, return_dict=True)["box_loss"]
    events: list = []
    s = TrainingSession(model, train, val, TrainingSettings(epochs=3, batch_size=16), on_event=events.append,
                        num_samples=len(shapes.subset_indices("train")))
    r = s.run()
    assert r.reason == "completed" and r.epochs_done == 3
    keras_hist = model.history.history
    per_head = {"classes_loss", "classes_accuracy", "box_loss", "box_mae"}
    assert per_head | {"loss"} <= set(keras_hist) and per_head | {"loss"} <= set(r.history.epoch)
    for key, col in keras_hist.items():
        np.testing.assert_allclose(r.history.epoch[key], col, rtol=1e-6, err_msg=key)
    assert sorted(r.history.head_names()) == ["box", "classes"]  # in the order Keras logs them
    assert {"classes_loss", "box_mae"} <= set(r.history.batch)
    # the total loss is the weighted sum of the heads' losses (box weight 4), up to how Keras averages
    # its running means over the last, smaller batch of an epoch
    e = r.history.epoch
    np.testing.assert_allclose(e["loss"], np.add(e["classes_loss"], np.multiply(4.0, e["box_loss"])), rtol=1e-2)
    # the box head learns: seeded, its validation loss falls from 0.086 untrained to 0.020 after 3 epochs
    # here (seeds 0-2, learning rates 3e-3 and 1e-2, batches of 8 and 16: 0.020-0.027), so half is a wide margin
    assert e["val_box_loss"][-1] < 0.5 * before, (before, e["val_box_loss"])
    assert e["box_loss"][-1] < e["box_loss"][0]
    # and the history survives a save and reopen with its per-head columns
    again = History.from_dict(r.history.to_dict())
    assert sorted(again.head_names()) == ["box", "classes"] and again.epoch["box_mae"] == pytest.approx(e["box_mae"])


def test_two_heads_train_under_the_mirrored_strategy(shapes):
    from convexplorer.core import distribute

    strategy = distribute.make_strategy("mirrored")
    keras.utils.set_random_seed(1)
    model = distribute.build_spec_in_scope(two_head_spec(), strategy)
    bs = distribute.scaled_batch_size(16, strategy)
    train = head_dataset(shapes, HEADS, "train", batch_size=bs, seed=0)
    r = TrainingSession(model, train, settings=TrainingSettings(epochs=1, batch_size=bs)).run()
    assert r.reason == "completed", r.message
    assert {"classes_loss", "box_loss", "box_mae", "classes_accuracy"} <= set(r.history.epoch)
    assert np.isfinite(r.history.epoch["loss"][0])
    # a two-head model made elsewhere is copied into the strategy and trains too
    copy = distribute.rebuild_in_scope(two_head_model(seed=2), strategy)
    r2 = TrainingSession(copy, train, settings=TrainingSettings(epochs=1, batch_size=bs)).run()
    assert r2.reason == "completed" and "box_loss" in r2.history.epoch


def test_arrays_with_a_dict_of_targets_train_and_split(shapes):
    model = two_head_model(seed=3)
    idx = shapes.subset_indices("train")[:64]
    x = np.stack([shapes.image(int(i)) for i in idx])
    y = {"classes": shapes.labels()[idx], "box": shapes.box_fractions()[idx]}
    r = TrainingSession(model, (x, y), settings=TrainingSettings(epochs=1, batch_size=16, validation_split=0.25)).run()
    assert r.reason == "completed" and "val_box_loss" in r.history.epoch


# --- inspect ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(shapes):
    """The two-head model after one seeded epoch (so that the heads say something), and a test image."""
    model = two_head_model(seed=4)
    model.fit(head_dataset(shapes, HEADS, "train", batch_size=16, seed=0), epochs=1, verbose=0)
    image = shapes.image(int(shapes.subset_indices("test")[0]))
    return model, image


def _single_output(model, head):
    """The one head as an ordinary one-output Keras model (same layers, same weights)."""
    return keras.Model(model.inputs, model.output[head])


def test_output_heads_names_kinds_and_default(trained):
    model, _ = trained
    heads = ins.output_heads(model)
    assert [(h.name, h.kind, h.output_shape) for h in heads] == [("classes", "classes", (None, 4)), ("box", "boxes", (None, 4))]
    assert ins.default_head(model) == "classes"


def test_predictions_per_head_match_the_model_called_directly(trained):
    model, image = trained
    direct = model(image[None], training=False)
    outs = ins.predict_outputs(model, image)
    for name in ("classes", "box"):
        np.testing.assert_allclose(outs[name], direct[name].numpy()[0], rtol=1e-5, atol=1e-7)
    top = ins.predict_topk(model, image, k=4, head="classes")
    assert [i for i, _l, _p in top] == list(np.argsort(-direct["classes"].numpy()[0]))
    assert ins.predict_topk(model, image, k=4) == top  # the default head is the classifier
    np.testing.assert_allclose(ins.predict_box(model, image, "box"), direct["box"].numpy()[0], rtol=1e-5)
    with pytest.raises(ins.InspectError, match="head 'box' predicts a box"):
        ins.predict_topk(model, image, head="box")
    with pytest.raises(ins.InspectError, match="no output .* named 'nope'.*classes, box"):
        ins.predict(model, image, head="nope")


def _ref_cam(model, x, head, layer, pick):
    """Grad-CAM written out with a GradientTape on a two-output sub-model: conv maps and the chosen score."""
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.output[head]])
    with tf.GradientTape() as tape:
        conv, out = sub(tf.constant(x[None]), training=False)
        score = pick(out)
    grads = tape.gradient(score, conv).numpy()[0]
    conv = conv.numpy()[0]
    cam = np.maximum((conv * grads.mean(axis=(0, 1))).sum(-1), 0)
    return cam / cam.max() if cam.max() > 0 else cam


def _ref_saliency(model, x, head, pick):
    sub = _single_output(model, head)
    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        score = pick(sub(xt, training=False))
    g = np.abs(tape.gradient(score, xt).numpy()[0]).max(-1)
    return g / g.max()


def test_grad_cam_and_saliency_per_head_match_a_gradient_tape_written_here(trained):
    model, image = trained
    # classifier head: the class's pre-softmax score (the logits, from the dense layer before its softmax)
    dense = model.get_layer("classes_out")
    feats = keras.Model(model.inputs, dense.input)

    top = int(np.argmax(model(image[None], training=False)["classes"][0]))
    cam = ins.grad_cam_details(model, image, class_index=top, layer_name="last_conv", head="classes")
    sub = keras.Model(model.inputs, [model.get_layer("last_conv").output, feats.output])
    with tf.GradientTape() as tape:
        conv, h = sub(tf.constant(image[None]), training=False)
        score = (tf.matmul(h, dense.kernel) + dense.bias)[0, top]
    grads = tape.gradient(score, conv).numpy()[0]
    ref = np.maximum((conv.numpy()[0] * grads.mean(axis=(0, 1))).sum(-1), 0)
    assert ref.max() > 0
    ref = ref / ref.max()
    np.testing.assert_allclose(cam.coarse, ref, atol=1e-4)
    assert cam.head == "classes" and cam.kind == "classes" and cam.target == f"class {top}"
    # box head: one coordinate, and the sum of the four
    for index, pick, words in ((2, lambda o: o[0, 2], "x1 (right edge)"), (None, lambda o: tf.reduce_sum(o[0]), "sum")):
        cam = ins.grad_cam_details(model, image, class_index=index, layer_name="last_conv", head="box")
        np.testing.assert_allclose(cam.coarse, _ref_cam(model, image, "box", "last_conv", pick), atol=1e-4)
        assert cam.kind == "boxes" and words in cam.target and cam.class_index == (-1 if index is None else index)
        np.testing.assert_allclose(cam.probabilities, ins.predict_box(model, image, "box"), rtol=1e-5)
        sal = ins.saliency(model, image, index, head="box")
        np.testing.assert_allclose(sal, _ref_saliency(model, image, "box", pick), atol=1e-4)
    # the two heads look at different things: their maps differ
    a = ins.grad_cam(model, image, layer_name="last_conv", head="classes")
    b = ins.grad_cam(model, image, layer_name="last_conv", head="box")
    assert not np.allclose(a, b)
    with pytest.raises(ins.InspectError, match="box coordinate must be between 0 and 3"):
        ins.grad_cam(model, image, class_index=4, head="box")


def test_feature_maps_of_a_two_head_model_are_those_of_its_layers(trained):
    model, image = trained
    maps = dict(ins.feature_maps(model, image))
    ref = keras.Model(model.inputs, model.get_layer("last_conv").output)(image[None]).numpy()[0]
    np.testing.assert_allclose(maps["last_conv"], ref, rtol=1e-5, atol=1e-6)


def test_list_outputs_and_a_nested_two_head_model_no_longer_fail(trained):
    """The user's bug: Grad-CAM on a model with two outputs raised AttributeError ('list' has no 'shape')."""
    model, image = trained
    as_list = keras.Model(model.inputs, [model.output["box"], model.output["classes"]])
    names = [h.name for h in ins.output_heads(as_list)]
    assert len(names) == 2 and ins.default_head(as_list) == names[1]
    np.testing.assert_allclose(ins.grad_cam(as_list, image, layer_name="last_conv"),
                               ins.grad_cam(model, image, layer_name="last_conv", head="classes"), atol=1e-5)
    nested = keras.Sequential([keras.Input((SIZE, SIZE, 3)), model])
    heads = ins.output_heads(nested)
    assert [h.name for h in heads] == ["classes", "box"]
    cam = ins.grad_cam_details(nested, image, head="box")
    assert cam.layer_name.endswith("last_conv") and cam.heatmap.shape == (SIZE, SIZE)
    np.testing.assert_allclose(cam.coarse, ins.grad_cam_details(model, image, head="box", layer_name="last_conv").coarse,
                               atol=1e-5)
    np.testing.assert_allclose(ins.saliency(nested, image, 1), ins.saliency(model, image, 1), atol=1e-5)
    assert len(ins.feature_maps(nested, image)) == len(ins.feature_maps(model, image))
