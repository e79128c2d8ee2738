"""core.compare: layer matching, two checkpoints on one image, confusion-matrix differences, cell Grad-CAMs."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import compare as C
from convexplorer.core.errors import ModelFileError
from tests.models import small_convnet



# --------------------------------------------------------------------------- layer matching (hand-computed)
def test_match_by_depth_hand_computed():
    a = [f"a{i}" for i in range(5)]
    b = ["b0", "b1", "b2"]
    # n = 3 pairs at t = 0, 0.5, 1 -> a: 0, 2, 4; b: 0, 1, 2
    assert C.match_by_depth(a, b) == [("a0", "b0"), ("a2", "b1"), ("a4", "b2")]
    seven = [f"a{i}" for i in range(7)]
    four = [f"b{i}" for i in range(4)]
    # n = 4 at t = 0, 1/3, 2/3, 1 -> a: round(0, 2, 4, 6); b: 0, 1, 2, 3
    assert C.match_by_depth(seven, four) == [("a0", "b0"), ("a2", "b1"), ("a4", "b2"), ("a6", "b3")]
    assert C.match_by_depth(["x", "y"], ["p", "q"]) == [("x", "p"), ("y", "q")]
    assert C.match_by_depth(["x", "y", "z"], ["p"]) == [("z", "p")]  # one pair: the deepest layers
    assert C.match_by_depth([], ["p"]) == []
    # max_pairs caps; ends still match ends
    assert C.match_by_depth(seven, seven, max_pairs=2) == [("a0", "a0"), ("a6", "a6")]


# --------------------------------------------------------------------------- confusion matrices (hand-computed)
def test_confusion_difference_hand_computed():
    a = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 4]])
    b = np.array([[6, 0, 0], [1, 4, 1], [0, 2, 2]])
    d = C.confusion_difference(a, b, ["cat", "dog", "fox"], ["cat", "dog", "fox"])
    np.testing.assert_array_equal(d.diff, [[1, -1, 0], [-1, 1, 0], [0, 2, -2]])
    # largest |change| first, then by row and column
    assert d.changed == [(2, 1, 2), (2, 2, -2), (0, 0, 1), (0, 1, -1), (1, 0, -1), (1, 1, 1)]
    assert d.accuracy_a == pytest.approx(12 / 16)
    assert d.accuracy_b == pytest.approx(12 / 16)
    # rates: row 2 of A is [0, 0, 1], of B [0, .5, .5]
    np.testing.assert_allclose(d.rate_diff[2], [0.0, 0.5, -0.5])
    np.testing.assert_allclose(d.rate_diff[0], [1 / 6, -1 / 6, 0.0])
    assert d.describe(2) == "fox→dog +2, fox→fox −2"
    same = C.confusion_difference(a, a)
    assert same.changed == [] and same.describe() == "the two confusion matrices are identical"
    assert same.class_names == ["0", "1", "2"]


def test_confusion_difference_refuses_what_cannot_be_compared():
    with pytest.raises(C.CompareError, match="different numbers of classes: 2x2 and 3x3"):
        C.confusion_difference(np.eye(2), np.eye(3))
    with pytest.raises(C.CompareError, match="different classes"):
        C.confusion_difference(np.eye(2), np.eye(2), ["a", "b"], ["a", "c"])
    with pytest.raises(C.CompareError, match="square"):
        C.confusion_difference(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(C.CompareError, match="counts"):
        C.confusion_difference(-np.eye(2), np.eye(2))


def test_cell_members_hand_computed():
    y_true = [0, 1, 1, 2, 1, 0]
    y_pred = [0, 2, 1, 2, 2, 1]
    assert C.cell_members(y_true, y_pred, 1, 2).tolist() == [1, 4]
    assert C.cell_members(y_true, y_pred, 1, 2, indices=[10, 11, 12, 13, 14, 15]).tolist() == [11, 14]
    assert C.cell_members(y_true, y_pred, 2, 0).tolist() == []
    with pytest.raises(C.CompareError, match="as many predictions as labels"):
        C.cell_members([0, 1], [0], 0, 0)


# --------------------------------------------------------------------------- real models
def _data(n=64, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, size, size, 3)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > x[..., 2].mean(axis=(1, 2))).astype(np.int32)
    return x, y


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A tiny convnet trained 2 epochs with a checkpoint after each (as a run folder keeps them)."""
    import keras

    run = tmp_path_factory.mktemp("run")
    x, y = _data()
    model = small_convnet((16, 16, 3), 2, learning_rate=1e-2, seed=1)
    cb = keras.callbacks.ModelCheckpoint(str(run / "epoch_{epoch:03d}.keras"), save_best_only=False, verbose=0)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    model.save(str(run / "model.keras"))
    return run, model, x, y


def test_list_checkpoints_of_a_run(checkpoints, tmp_path):
    run = checkpoints[0]
    assert [label for label, _p in C.list_checkpoints(run)] == ["epoch 1", "epoch 2", "final model"]
    with pytest.raises(C.CompareError, match="not a run folder"):
        C.list_checkpoints(tmp_path / "nothing")


def test_two_checkpoints_give_different_maps(checkpoints):
    run, _model, x, _y = checkpoints
    (la, pa), (lb, pb) = C.list_checkpoints(run)[:2]
    a = C.load_source(C.ModelSource("file", label=la, path=str(pa)))
    b = C.load_source(C.ModelSource("file", label=lb, path=str(pb)))
    image = x[3]
    cmp = C.compare_on_image(a.model, b.model, image, k=2, labels_a=["red", "blue"], labels_b=["red", "blue"],
                             names=(a.label, b.label))
    assert cmp.a.name == "epoch 1" and cmp.b.name == "epoch 2"
    assert cmp.pairs == [("conv1", "conv1"), ("conv2", "conv2"), ("conv3", "conv3")]
    for (na, ma), (nb, mb) in zip(cmp.a.maps, cmp.b.maps):
        assert ma.shape == mb.shape
        assert np.abs(ma - mb).max() > 1e-3, f"{na} and {nb} should differ between checkpoints"
    assert np.abs(cmp.a.cam - cmp.b.cam).max() > 1e-3
    # against Keras: each checkpoint's own output on the image
    for view, m in ((cmp.a, a.model), (cmp.b, b.model)):
        ref = np.asarray(m(image[None], training=False))[0]
        assert view.topk[0][2] == pytest.approx(float(ref.max()), abs=1e-5)
        assert view.topk[0][0] == int(ref.argmax())
        assert view.topk[0][1] == ["red", "blue"][int(ref.argmax())]
    # and the same checkpoint twice gives the same maps exactly
    same = C.compare_on_image(a.model, a.model, image)
    for (_n1, m1), (_n2, m2) in zip(same.a.maps, same.b.maps):
        np.testing.assert_array_equal(m1, m2)
    assert np.abs(same.cam_difference()).max() == 0.0


def test_compare_models_of_different_shapes(checkpoints):
    """A 16x16 RGB model against a 28x28 grey one (two convs): the image is fitted to each, layers matched by depth."""
    from convexplorer.core.training import mnist_convnet

    _run, model, x, _y = checkpoints
    other = mnist_convnet((28, 28, 1), 10)
    cmp = C.compare_on_image(model, other, np.clip(x[0], 0, 1), k=3, max_channels=4)
    convs_b = [l.name for l in other.layers if type(l).__name__ == "Conv2D"]
    assert cmp.pairs == [("conv1", convs_b[0]), ("conv3", convs_b[1])]
    assert cmp.a.image.shape == (16, 16, 3) and cmp.b.image.shape == (28, 28, 1)
    assert cmp.a.cam.shape == (16, 16) and cmp.b.cam.shape == (28, 28)
    assert cmp.b.maps[0][1].shape == (26, 26, 4)  # 28 - 3 + 1, four channels kept of 32
    assert len(cmp.a.topk) == 2 and len(cmp.b.topk) == 3
    assert cmp.cam_difference().shape == (16, 16)


def _reference_cam(model, image, cls):
    """Grad-CAM by hand with TF: d logit / d conv3 (then global pooling and dense), channel weights = mean gradient, ReLU, /max, bilinear up."""
    import keras
    import tensorflow as tf
    from PIL import Image

    sub = keras.Model(model.inputs[0], [model.get_layer("conv3").output, model.layers[-2].output])  # global pooling
    dense = model.get_layer("classes")
    with tf.GradientTape() as tape:
        conv, pooled = sub(image[None], training=False)
        logits = tf.matmul(pooled, dense.kernel) + dense.bias
        score = logits[0, cls]
    g = tape.gradient(score, conv)
    w = tf.reduce_mean(g, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(conv * w[:, None, None, :], axis=-1))[0].numpy()
    cam = cam / cam.max() if cam.max() > 0 else cam
    up = Image.fromarray(cam.astype(np.float32), mode="F").resize(image.shape[1::-1], Image.BILINEAR)
    return np.clip(np.asarray(up), 0, 1)


def test_cell_cams_for_predicted_and_true_class(checkpoints):
    _run, model, x, y = checkpoints
    cams = C.cell_cams(model, [x[0], x[1]], true_class=0, pred_class=1)
    assert len(cams) == 2
    for cc, img in zip(cams, (x[0], x[1])):
        np.testing.assert_allclose(cc.cam_pred, _reference_cam(model, img, 1), atol=1e-4)
        np.testing.assert_allclose(cc.cam_true, _reference_cam(model, img, 0), atol=1e-4)
        probs = np.asarray(model(img[None], training=False))[0]
        assert cc.probability_pred == pytest.approx(float(probs[1]), abs=1e-5)
        assert cc.probability_true == pytest.approx(float(probs[0]), abs=1e-5)


def test_load_source_errors():
    with pytest.raises(C.CompareError, match="'model', 'file' or 'application'"):
        C.load_source(C.ModelSource("web"))
    with pytest.raises(C.CompareError, match="no current model"):
        C.load_source(C.ModelSource("model"))
    with pytest.raises(ModelFileError, match="not found"):
        C.load_source(C.ModelSource("file", path="/nonexistent/model.keras"))


def test_current_model_against_an_application_with_random_weights(checkpoints):
    _run, model, x, _y = checkpoints
    app = C.load_source(C.ModelSource("application", name="MobileNet", weights=None, input_shape=(32, 32, 3)))
    assert app.preprocess is not None and "random" in app.label
    cmp = C.compare_on_image(model, app.model, x[0], preprocess_b=app.preprocess, max_pairs=3)
    assert len(cmp.pairs) == 3 and cmp.pairs[0][0] == "conv1"
    assert cmp.b.image.shape == (32, 32, 3)
    assert cmp.b.probabilities.shape == (1000,) and cmp.b.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
