"""convexplorer.core.inspect against straightforward TensorFlow/Keras references written here."""

from __future__ import annotations

import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from convexplorer.core import inspect as ins  # noqa: E402
from convexplorer.core.errors import Cancelled, ShapeError  # noqa: E402

RNG = np.random.default_rng(0)


def _seq_no_input():
    """A Sequential without an Input: it has no inputs/outputs until called (keras-io #1903)."""
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
            keras.layers.MaxPooling2D(2, name="p1"),
            keras.layers.Conv2D(6, 3, activation="relu", padding="same", name="last_conv"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )


def _functional():
    keras.utils.set_random_seed(2)
    inp = keras.Input((16, 16, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1")(inp)
    x = keras.layers.Conv2D(5, 3, activation="relu", padding="same", name="c2")(x)
    x = keras.layers.Flatten(name="flat")(x)
    out = keras.layers.Dense(4, activation="softmax", name="out")(x)
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def nested():
    """A MobileNetV2 base (weights=None) inside a Sequential, as in transfer learning."""
    keras.utils.set_random_seed(3)
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4, activation="softmax")]
    )
    return model, base


def _img(shape):
    return RNG.random(shape, dtype=np.float32)


def _ref_grad_cam(conv_and_logits, x, cls):
    """Grad-CAM written out plainly: d logit / d A, GAP weights, weighted sum, ReLU, /max."""
    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        conv, logits = conv_and_logits(xt)
        tape.watch(conv)
        score = logits[0, cls]
    grads = tape.gradient(score, conv).numpy()[0]
    conv = conv.numpy()[0]
    alpha = grads.mean(axis=(0, 1))
    cam = np.maximum((conv * alpha).sum(-1), 0)
    return cam / cam.max() if cam.max() > 0 else cam


def test_predict_topk_sequential_without_input_matches_direct_call():
    model = _seq_no_input()
    x = _img((12, 12, 2))
    top = ins.predict_topk(model, x, k=3, labels=["a", "b", "c"])
    ref = model(x[None], training=False).numpy()[0]
    assert [i for i, _l, _p in top] == list(np.argsort(-ref))
    for i, label, p in top:
        assert label == "abc"[i] and p == pytest.approx(ref[i], rel=1e-5)


def test_feature_maps_sequential_match_layer_by_layer_eager():
    model = _seq_no_input()
    x = _img((12, 12, 2))
    maps = dict(ins.feature_maps(model, x))
    assert list(maps) == ["c1", "p1", "last_conv"]  # only spatial outputs by default
    h = x[None]
    for layer in model.layers[:3]:
        h = layer(h).numpy()
        np.testing.assert_allclose(maps[layer.name], h[0], rtol=1e-5, atol=1e-6)
    (name, dense), = ins.feature_maps(model, x, layers=["out"])
    assert name == "out" and dense.shape == (1, 1, 3)


def test_functional_feature_maps_and_extractor_is_cached():
    model = _functional()
    x = _img((16, 16, 1))
    ref = keras.Model(model.inputs[0], model.get_layer("c2").output)(x[None]).numpy()[0]
    for _ in range(3):
        (name, got), = ins.feature_maps(model, x, layers=["c2"])
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    trace = ins._traces[model][((16, 16, 1), None)]
    fn = next(f for k, f in trace.fns.items() if k[0] == "maps")
    assert fn.experimental_get_tracing_count() == 1
    assert len(ins._traces[model]) == 1


def _small_base():
    """A functional base with a residual branch, like the applications but tiny."""
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inp)
    y = keras.layers.Conv2D(4, 3, padding="same", name="branch")(x)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.Conv2D(5, 3, strides=2, activation="relu", name="top_conv")(x)
    return keras.Model(inp, x, name="base")


def test_nested_base_inside_sequential():
    keras.utils.set_random_seed(6)
    base = _small_base()
    model = keras.Sequential([base, keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(3, activation="softmax")])
    x = _img((12, 12, 3))
    names = [i.name for i in ins.layers(model, x.shape)]
    assert names[:5] == ["base/stem", "base/branch", "base/add", "base/top_conv", "base"]
    assert ins.default_conv_layer(model, x.shape) == "base/top_conv"
    maps = dict(ins.feature_maps(model, x, layers=["base/add", "top_conv"]))  # a unique short name works too
    ref = keras.Model(base.inputs[0], [base.get_layer("add").output, base.get_layer("top_conv").output])(x[None])
    np.testing.assert_allclose(maps["base/add"], ref[0].numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps["base/top_conv"], ref[1].numpy()[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ins.predict(model, x), model(x[None], training=False).numpy()[0], rtol=1e-5, atol=1e-6)


def test_grad_cam_functional_matches_plain_implementation():
    model = _functional()
    x = _img((16, 16, 1))
    sub = keras.Model(model.inputs[0], [model.get_layer("c2").output, model.get_layer("flat").output])
    dense = model.get_layer("out")

    def conv_and_logits(xt):
        conv, flat = sub(xt, training=False)
        return conv, tf.matmul(flat, dense.kernel) + dense.bias

    for cls in (None, 2):
        res = ins.grad_cam_details(model, x, class_index=cls, layer_name="c2")
        probs = model(x[None]).numpy()[0]
        want_cls = int(np.argmax(probs)) if cls is None else cls
        assert res.class_index == want_cls
        np.testing.assert_allclose(res.coarse, _ref_grad_cam(conv_and_logits, x, want_cls), atol=1e-5)
        assert res.heatmap.shape == (16, 16) and 0 <= res.heatmap.min() and res.heatmap.max() <= 1


def test_grad_cam_nested_matches_plain_implementation(nested):
    model, base = nested
    x = _img((32, 32, 3))
    # At 32x32, Conv_1 is 1x1: the default is the last conv with a larger map, block_13_expand (2x2).
    sub = keras.Model(base.inputs[0], [base.get_layer("block_13_expand").output, base.output])
    gap, dense = model.layers[1], model.layers[2]

    def conv_and_logits(xt):
        conv, feats = sub(xt, training=False)
        return conv, tf.matmul(gap(feats), dense.kernel) + dense.bias

    assert ins.default_conv_layer(model) == f"{base.name}/block_13_expand"
    np.testing.assert_allclose(ins.predict(model, x), model(x[None], training=False).numpy()[0], rtol=1e-5, atol=1e-6)
    res = ins.grad_cam_details(model, x, class_index=1)
    assert res.layer_name == f"{base.name}/block_13_expand" and res.coarse.shape == (2, 2)
    np.testing.assert_allclose(res.coarse, _ref_grad_cam(conv_and_logits, x, 1), atol=1e-4)
    # Upsampling to the image: same as TensorFlow's bilinear resize of the coarse map.
    up = tf.image.resize(res.coarse[None, ..., None], (32, 32), method="bilinear").numpy()[0, ..., 0]
    np.testing.assert_allclose(res.heatmap, np.clip(up, 0, 1), atol=0.02)


def test_grad_cam_on_layer_without_spatial_output_is_refused():
    model = _functional()
    with pytest.raises(ShapeError, match="spatial.*'flat' outputs shape"):
        ins.grad_cam(model, _img((16, 16, 1)), layer_name="flat")
    with pytest.raises(ins.InspectError, match="no layer named 'nope'"):
        ins.grad_cam(model, _img((16, 16, 1)), layer_name="nope")
    with pytest.raises(ShapeError, match="expects images of 16x16x1, received 20x20x1"):
        ins.predict(model, _img((20, 20, 1)))


def test_saliency_matches_gradient_tape():
    model = _functional()
    x = _img((16, 16, 1))
    dense = model.get_layer("out")
    sub = keras.Model(model.inputs[0], model.get_layer("flat").output)
    xt = tf.constant(x[None])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logits = tf.matmul(sub(xt), dense.kernel) + dense.bias
        cls = int(tf.argmax(logits[0]))
        score = logits[0, cls]
    g = np.abs(tape.gradient(score, xt).numpy()[0]).max(-1)
    np.testing.assert_allclose(ins.saliency(model, x), g / g.max(), atol=1e-5)


def test_first_layer_kernels_are_the_weights():
    model = _functional()
    name, k = ins.first_layer_kernels(model)
    assert name == "c1"
    np.testing.assert_array_equal(k, model.get_layer("c1").kernel.numpy())


def test_filter_patterns_batched_equals_one_at_a_time_and_excite_their_filter():
    model = _functional()
    calls = []
    batched = ins.filter_patterns(model, "c1", [0, 1, 2, 3], steps=15, batch_size=4, progress=lambda d, t, m: calls.append((d, t)))
    single = ins.filter_patterns(model, "c1", [0, 1, 2, 3], steps=15, batch_size=1)
    assert batched.shape == (4, 16, 16, 1) and batched.min() >= 0 and batched.max() <= 1
    np.testing.assert_allclose(batched, single, atol=1e-4)
    assert calls[-1] == (60, 60) and all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))


def test_filter_patterns_of_a_linear_filter_follow_its_gradient():
    """For a linear conv the ascent direction is fixed: the kernel spread over the optimised positions."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(3, 3, use_bias=False, name="lin")])
    pats = ins.filter_patterns(model, "lin", 3, steps=40)
    k = model.get_layer("lin").kernel.numpy()[..., 0, :]  # 3 x 3 x filters
    for f in range(3):
        w_eff = np.zeros((16, 16))
        for i in range(2, 12):  # output 14x14, borders of 2 excluded
            for j in range(2, 12):
                w_eff[i : i + 3, j : j + 3] += k[..., f]
        corr = np.corrcoef(pats[f, ..., 0].ravel(), w_eff.ravel())[0, 1]
        assert corr > 0.95, (f, corr)


def test_filter_patterns_other_size_on_fixed_model_and_cancel():
    model = _functional()  # 16x16 input with a Dense head: only the layers up to c2 run
    out = ins.filter_patterns(model, "c2", 2, steps=2, size=24)
    assert out.shape == (2, 24, 24, 1)
    cancel = threading.Event()

    def progress(done, total, msg):
        cancel.set()

    with pytest.raises(Cancelled):
        ins.filter_patterns(model, "c2", 3, steps=10, progress=progress, cancel=cancel)
    with pytest.raises(ins.InspectError, match="filters 0 to 4, received 9"):
        ins.filter_patterns(model, "c2", [9], steps=1)


def _positive_rf_model():
    init = keras.initializers.RandomUniform(0.1, 1.0)
    kw = dict(kernel_initializer=init, use_bias=False)
    inp = keras.Input((23, 21, 1))
    x = keras.layers.ZeroPadding2D(((1, 0), (2, 1)))(inp)
    x = keras.layers.Conv2D(2, 3, name="a", **kw)(x)
    x = keras.layers.AveragePooling2D(2, name="pool")(x)
    b1 = keras.layers.Conv2D(2, 3, padding="same", dilation_rate=2, name="b1", **kw)(x)
    b2 = keras.layers.Conv2D(2, 1, name="b2", **kw)(x)
    x = keras.layers.Add(name="add")([b1, b2])
    x = keras.layers.Conv2D(2, 3, strides=2, padding="same", name="s2", **kw)(x)
    return keras.Model(inp, x)


@pytest.mark.parametrize("layer", ["a", "pool", "add", "s2"])
def test_receptive_field_matches_gradient_support(layer):
    keras.utils.set_random_seed(5)
    model = _positive_rf_model()
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    x = tf.constant(np.ones((1, 23, 21, 1), np.float32))
    oh, ow = sub.output.shape[1:3]
    for y, xx in [(0, 0), (oh // 2, ow // 2), (oh - 1, ow - 1), (0, ow - 1)]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            v = tf.reduce_sum(sub(x)[0, y, xx])
        g = np.abs(tape.gradient(v, x).numpy()[0, ..., 0]) > 0
        rows, cols = np.nonzero(g.any(1))[0], np.nonzero(g.any(0))[0]
        expected = (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
        assert ins.receptive_field(model, layer, y, xx) == expected, (layer, y, xx)


def test_receptive_field_through_nested_model(nested):
    model, base = nested
    top, left, bottom, right = ins.receptive_field(model, f"{base.name}/block_1_project", 3, 3)
    # By hand: Conv1 3x3/2 "same" on 32 (pad 0 before): size 3, jump 2, start 0; expanded_conv depthwise
    # 3x3/1 "same" (pad 1): size 7, start -2; block_1_pad (0 before), depthwise 3x3/2 valid: size 11,
    # jump 4, start -2. Location 3 -> rows -2 + 3*4 = 10 .. 21.
    assert (top, left, bottom, right) == (10, 10, 21, 21)


def test_prepare_image_conversions():
    gray = _img((5, 7, 1))
    rgb = ins.prepare_image(gray, (32, 32, 3))
    assert rgb.shape == (32, 32, 3) and np.allclose(rgb[..., 0], rgb[..., 2])
    rgba = np.zeros((4, 4, 4), np.float32)  # fully transparent: composited on white
    np.testing.assert_allclose(ins.prepare_image(rgba, (4, 4, 3)), 1.0)
    one = ins.prepare_image(np.full((1, 1, 3), 0.3, np.float32), (8, 8, 1))
    np.testing.assert_allclose(one, 0.3, atol=1e-5)
    with pytest.raises(ShapeError, match="2-channel images, received 3"):
        ins.prepare_image(_img((4, 4, 3)), (4, 4, 2))


def test_default_conv_layer_skips_a_1x1_conv_classifier():
    """MobileNet ends in GAP -> Reshape(1, 1, C) -> 1x1 Conv (conv_preds): Grad-CAM should not use that."""
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, name="features")(inp)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = keras.layers.Conv2D(3, 1, name="conv_preds")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inp, keras.layers.Activation("softmax")(x))
    assert ins.default_conv_layer(model) == "features"
    assert ins.grad_cam(model, _img((12, 12, 3))).shape == (12, 12)


def test_cached_extractors_go_away_with_the_model():
    import gc
    import weakref

    model = _functional()
    x = _img((16, 16, 1))
    ins.feature_maps(model, x)
    ins.grad_cam(model, x)
    assert model in ins._traces
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None  # the cache did not keep the model (or its traces) alive
