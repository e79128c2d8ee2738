"""convexplorer.core.attribution against independent references written here.

Integrated Gradients against its completeness axiom (at two step counts) and a plain
GradientTape loop; occlusion against a brute-force patch loop; SmoothGrad against the
mean of GradientTape saliency maps with the same seeded noise; Grad-CAM++ against the
paper's closed form with the second and third derivatives of exp(score) taken by nested
tapes; Score-CAM against a per-channel loop. A tiny convnet trained (seeded) to tell a
horizontal bar from a vertical one checks that every method points at the bar, and the
randomization check (Adebayo et al. 2018) on it.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from convexplorer.core import attribution as at  # noqa: E402
from convexplorer.core import inspect as ins  # noqa: E402
from convexplorer.core.errors import Cancelled, ShapeError  # noqa: E402

RNG = np.random.default_rng(0)
S = 20  # bar images are S x S x 1


def _img(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def _bars(n, seed):
    """Dark noisy images with a bright 2x6 bar: class 0 horizontal, class 1 vertical; and the bar's mask."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.15, (n, S, S, 1)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.int32)
    masks = np.zeros((n, S, S), bool)
    for i in range(n):
        r, c = rng.integers(1, S - 7, 2)
        if y[i] == 0:
            masks[i, r + 2 : r + 4, c : c + 6] = True
        else:
            masks[i, r : r + 6, c + 2 : c + 4] = True
    x[masks] = 1.0
    return x, y, masks


@pytest.fixture(scope="module")
def bars_model():
    """A tiny convnet trained a few seeded epochs on the bars (100 % on held-out images)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((S, S, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="c1"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="last_conv"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(2, activation="softmax", name="out"),
    ])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, _m = _bars(256, 0)
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    xt, yt, mt = _bars(16, 1)
    assert (np.argmax(model(xt).numpy(), 1) == yt).mean() == 1.0
    return model, xt, yt, mt


def _logits_model(model):
    """The model's pre-softmax scores, written out: everything up to the softmax Dense, then x @ W + b."""
    dense = model.layers[-1]
    sub = keras.Model(model.inputs[0], model.layers[-2].output)
    return lambda xt: tf.matmul(sub(xt, training=False), dense.kernel) + dense.bias


# --- Integrated Gradients ------------------------------------------------------------------


def test_integrated_gradients_completeness_shrinks_with_steps(bars_model):
    model, xt, _y, _m = bars_model
    x = xt[3]
    gaps = {}
    for steps in (4, 64):
        res = at.integrated_gradients(model, x, steps=steps)
        assert res.delta == pytest.approx(res.score - res.baseline_score)
        gaps[steps] = res.gap
        np.testing.assert_allclose(ins.attribution(model, x, "integrated_gradients", steps=steps, normalize=False), res.raw)
    delta = abs(at.integrated_gradients(model, x).delta)
    assert delta > 0.2, delta  # a clear score difference to be complete about
    # the tolerance shrinks with the steps: 2 |delta| / steps (a ReLU net's kinks make the gap jump about)
    for steps, gap in gaps.items():
        assert gap < 2 * delta / steps, (steps, gap, delta)
    assert gaps[64] < gaps[4] / 10


def test_integrated_gradients_matches_a_plain_tape_loop_with_a_baseline():
    keras.utils.set_random_seed(4)
    inp = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(3, 3, activation="tanh", name="c")(inp)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inp, out)
    logits = _logits_model(model)
    x, base = _img((8, 8, 2), 1), np.full((8, 8, 2), 0.25, np.float32)
    steps, cls = 10, 2
    grads = []
    for k in range(steps):
        xt = tf.constant((base + (k + 0.5) / steps * (x - base))[None])
        with tf.GradientTape() as tape:
            tape.watch(xt)
            score = logits(xt)[0, cls]
        grads.append(tape.gradient(score, xt).numpy()[0])
    ref = ((x - base) * np.mean(grads, axis=0)).sum(-1)
    res = at.integrated_gradients(model, x, class_index=cls, baseline=0.25, steps=steps, batch_size=3)
    np.testing.assert_allclose(res.raw, ref, rtol=1e-4, atol=1e-6)
    same = ins.attribution(model, x, "integrated_gradients", cls, baseline=base, steps=steps, normalize=False)
    np.testing.assert_allclose(same, ref, rtol=1e-4, atol=1e-6)
    f = logits(tf.constant(np.stack([x, base]))).numpy()[:, cls]
    assert res.score == pytest.approx(f[0], rel=1e-5) and res.baseline_score == pytest.approx(f[1], rel=1e-5)
    heat = ins.attribution(model, x, "integrated_gradients", cls, baseline=0.25, steps=steps, sign="absolute")
    np.testing.assert_allclose(heat, np.abs(ref) / np.abs(ref).max(), atol=1e-5)
    with pytest.raises(ShapeError, match="baseline must be a number or an image of the input's shape 8x8x2"):
        at.integrated_gradients(model, x, baseline=np.zeros((4, 4, 2)))


# --- occlusion -----------------------------------------------------------------------------


def _brute_occlusion(logits, x, cls, ph, pw, sh, sw, value):
    h, w = x.shape[:2]
    base = float(logits(tf.constant(x[None])).numpy()[0, cls])
    total, count = np.zeros((h, w)), np.zeros((h, w))
    ys = list(range(0, h - ph + 1, sh))
    xs = list(range(0, w - pw + 1, sw))
    ys += [h - ph] if ys[-1] != h - ph else []
    xs += [w - pw] if xs[-1] != w - pw else []
    for y in ys:
        for xx in xs:
            occ = x.copy()
            occ[y : y + ph, xx : xx + pw, :] = value
            drop = base - float(logits(tf.constant(occ[None])).numpy()[0, cls])
            total[y : y + ph, xx : xx + pw] += drop
            count[y : y + ph, xx : xx + pw] += 1
    return total / count


def test_occlusion_matches_a_brute_force_loop(bars_model):
    model, xt, _y, _m = bars_model
    logits = _logits_model(model)
    x = xt[0]
    cls = int(np.argmax(model(x[None]).numpy()[0]))
    ref = _brute_occlusion(logits, x, cls, 4, 4, 3, 3, 0.0)  # corners 0, 3, ..., 15 and 16 (flush)
    got = ins.attribution(model, x, "occlusion", patch=4, stride=3, normalize=False, batch_size=7)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    heat = ins.attribution(model, x, "occlusion", patch=4, stride=3)
    np.testing.assert_allclose(heat, np.maximum(ref, 0) / ref.max(), atol=1e-4)
    ref2 = _brute_occlusion(logits, x, 1 - cls, 3, 5, 2, 4, x.mean(axis=(0, 1)))
    got2 = at.occlusion(model, x, 1 - cls, patch=(3, 5), stride=(2, 4), fill="mean", normalize=False)
    np.testing.assert_allclose(got2, ref2, rtol=1e-4, atol=1e-4)


# --- SmoothGrad ----------------------------------------------------------------------------


def test_smoothgrad_is_the_mean_of_tape_saliency_maps_with_the_same_noise():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    x = _img((10, 10, 3), 2)
    model(x[None])
    sub = keras.Sequential(model.layers[:-1])
    dense = model.layers[-1]
    samples, noise, seed = 7, 0.2, 11
    eps = np.random.default_rng(seed).normal(0.0, noise * (x.max() - x.min()), (samples, *x.shape)).astype(np.float32)
    maps = []
    for e in eps:
        xt = tf.constant((x + e)[None])
        with tf.GradientTape() as tape:
            tape.watch(xt)
            score = (tf.matmul(sub(xt), dense.kernel) + dense.bias)[0, 1]
        maps.append(np.abs(tape.gradient(score, xt).numpy()[0]).max(-1))
    ref = np.mean(maps, axis=0)
    got = ins.attribution(model, x, "smoothgrad", 1, samples=samples, noise=noise, seed=seed, batch_size=3, normalize=False)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-7)
    got = ins.attribution(model, x, "smoothgrad", 1, samples=samples, noise=noise, seed=seed)
    np.testing.assert_allclose(got, ref / ref.max(), atol=1e-5)
    # no noise, one sample: plain saliency
    np.testing.assert_allclose(at.smoothgrad(model, x, 1, samples=1, noise=0.0), ins.saliency(model, x, 1), atol=1e-5)


# --- Grad-CAM++ ----------------------------------------------------------------------------


def test_gradcam_plus_plus_matches_the_papers_closed_form_with_tape_derivatives():
    """Chattopadhay et al. eq. 19: alpha = d2Y / (2 d2Y + sum_ab A_ab d3Y), Y = exp(score), derivatives by tapes."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((4, 4, 2))
    a_t = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="last_conv")(inp)
    h = keras.layers.Flatten()(a_t)
    h = keras.layers.Dense(6, activation="relu")(h)  # the score is piecewise linear in A (ReLU network)
    out = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inp, out)
    x = _img((4, 4, 2), 3) + 0.5
    cls = 1
    body = keras.Model(inp, a_t)
    top_dense = model.get_layer("out")
    mid = keras.Model(a_t, model.layers[-2].output)
    a = body(x[None])
    n = int(np.prod(a.shape))

    def y_of(aa):
        return tf.exp((tf.matmul(mid(aa), top_dense.kernel) + top_dense.bias)[0, cls])

    with tf.GradientTape(persistent=True) as t3:
        t3.watch(a)
        with tf.GradientTape(persistent=True) as t2:
            t2.watch(a)
            with tf.GradientTape() as t1:
                t1.watch(a)
                y = y_of(a)
            d1 = tf.reshape(t1.gradient(y, a), [n])
        d2 = tf.linalg.diag_part(tf.reshape(t2.jacobian(d1, a, experimental_use_pfor=False), [n, n]))
    d3 = tf.linalg.diag_part(tf.reshape(t3.jacobian(d2, a, experimental_use_pfor=False), [n, n]))
    shape = a.shape[1:]
    d1, d2, d3 = (np.reshape(v.numpy(), shape).astype(np.float64) for v in (d1, d2, d3))
    av = a.numpy()[0].astype(np.float64)
    denom = 2 * d2 + av.sum(axis=(0, 1)) * d3
    alpha = np.where(d2 != 0, d2 / np.where(denom != 0, denom, 1), 0)
    w = (alpha * np.maximum(d1, 0)).sum(axis=(0, 1))
    cam = np.maximum((av * w).sum(-1), 0)
    assert cam.max() > 0
    got = ins.attribution(model, x, "gradcam++", cls, layer_name="last_conv")
    np.testing.assert_allclose(got, cam / cam.max(), atol=1e-4)
    # and it is not plain Grad-CAM on this model
    assert np.abs(got - ins.attribution(model, x, "gradcam", cls, layer_name="last_conv")).max() > 1e-3


# --- Score-CAM -----------------------------------------------------------------------------


def test_scorecam_matches_a_per_channel_loop(bars_model):
    model, xt, _y, _m = bars_model
    logits = _logits_model(model)
    x = xt[2]
    conv = keras.Model(model.inputs[0], model.get_layer("last_conv").output)
    acts = conv(x[None]).numpy()[0]  # 10 x 10 x 8
    cls = int(np.argmax(model(x[None]).numpy()[0]))
    scores = []
    for k in range(acts.shape[-1]):
        up = tf.image.resize(acts[None, :, :, k : k + 1], (S, S), method="bilinear").numpy()[0]
        span = up.max() - up.min()
        mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
        scores.append(float(logits(tf.constant((x * mask)[None])).numpy()[0, cls]))
    e = np.exp(np.array(scores) - max(scores))
    cam = np.maximum((acts * (e / e.sum())).sum(-1), 0)
    ref = tf.image.resize(cam[None, ..., None], (S, S), method="bilinear").numpy()[0, ..., 0]
    got = ins.attribution(model, x, "scorecam", batch_size=3, normalize=False)
    np.testing.assert_allclose(got, ref, rtol=0.02, atol=0.02 * ref.max())
    # Fewer channels: the ones whose activations vary most.
    var = acts.reshape(-1, 8).var(0)
    keep = np.sort(np.argsort(-var)[:3])
    e3 = np.exp(np.array(scores)[keep] - max(np.array(scores)[keep]))
    cam3 = np.maximum((acts[..., keep] * (e3 / e3.sum())).sum(-1), 0)
    got3 = at.scorecam(model, x, channels=3, normalize=False)
    np.testing.assert_allclose(got3, ins._resize_map(cam3.astype(np.float32), (S, S)), rtol=1e-4, atol=1e-5)


# --- what the maps show --------------------------------------------------------------------


@pytest.mark.parametrize("method", at.METHODS)
def test_every_method_points_at_the_bar(bars_model, method):
    model, xt, _yt, masks = bars_model
    opts = {"sign": "absolute"} if method == "integrated_gradients" else {}
    ratio = 1.25 if method == "smoothgrad" else 2.0  # the noise spreads SmoothGrad's map by design
    for i in range(4):  # two horizontal, two vertical bars
        heat = ins.attribution(model, xt[i], method, **opts)
        assert heat.shape == (S, S) and heat.dtype == np.float32
        assert 0.0 <= heat.min() and 0.5 < heat.max() <= 1.0  # upsampling a coarse map may lower its peak
        inside, outside = heat[masks[i]].mean(), heat[~masks[i]].mean()
        assert inside > ratio * outside, (method, i, inside, outside)


# --- the randomization check ---------------------------------------------------------------


def test_randomization_check_cascading_on_a_trained_model(bars_model):
    model, xt, _y, _m = bars_model
    before = [w.copy() for w in model.get_weights()]
    x = xt[0]
    assert at.weighted_layers(model) == ["out", "last_conv", "c1"]
    calls = []
    for method, opts in (("saliency", {}), ("smoothgrad", {"samples": 8}), ("integrated_gradients", {"steps": 16})):
        steps = ins.randomization_check(model, x, method, progress=lambda d, t, m: calls.append((d, t)), **opts)
        assert [s.layer for s in steps] == ["", "out", "last_conv", "c1"]
        assert [s.randomized for s in steps] == [(), ("out",), ("out", "last_conv"), ("out", "last_conv", "c1")]
        assert steps[0].correlation > 0.999
        np.testing.assert_allclose(steps[0].heatmap, ins.attribution(model, x, method, **opts), atol=1e-5)
        # once the top conv is random too, the map no longer ranks pixels as before
        assert steps[2].correlation < 0.5 and steps[3].correlation < 0.5, (method, [s.correlation for s in steps])
        assert all(s.heatmap.shape == (S, S) for s in steps)
    again = ins.randomization_check(model, x, "saliency")
    assert [s.correlation for s in again] == pytest.approx([s.correlation for s in ins.randomization_check(model, x, "saliency")])
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)  # the model itself is untouched
    assert calls[-5:] == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_randomization_check_independent_and_chosen_layers(bars_model):
    model, xt, _y, _m = bars_model
    steps = ins.randomization_check(model, xt[1], "gradcam", layers=["last_conv", "out"], cascading=False, seed=3)
    assert [s.randomized for s in steps] == [(), ("last_conv",), ("out",)]
    top = ins.randomization_check(model, xt[1], "gradcam", layers=1, seed=3)
    assert [s.layer for s in top] == ["", "out"]
    with pytest.raises(at.AttributionError, match="'pool' has no weights"):
        ins.randomization_check(model, xt[1], "saliency", layers=["pool"])


def _nested_model():
    keras.utils.set_random_seed(6)
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inp)
    y = keras.layers.Conv2D(4, 3, padding="same", name="branch")(x)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Conv2D(5, 3, strides=2, activation="relu", name="top_conv")(x)
    base = keras.Model(inp, x, name="base")
    return keras.Sequential([base, keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(3, activation="softmax", name="head")])


def test_randomization_check_on_a_nested_model():
    model = _nested_model()
    x = _img((12, 12, 3), 4)
    before = [w.copy() for w in model.get_weights()]
    assert at.weighted_layers(model, x.shape) == ["head", "base/top_conv", "base/bn", "base/branch", "base/stem"]
    steps = ins.randomization_check(model, x, "saliency", seed=1)
    assert [s.layer for s in steps] == ["", "head", "base/top_conv", "base/bn", "base/branch", "base/stem"]
    assert steps[0].correlation > 0.999
    assert min(s.correlation for s in steps[2:]) < 0.8
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)


# --- models, heads, options ----------------------------------------------------------------


def _two_heads():
    keras.utils.set_random_seed(8)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    h = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="c2")(h)
    g = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inp, {"classes": keras.layers.Dense(3, activation="softmax", name="classes")(g),
                             "box": keras.layers.Dense(4, activation="sigmoid", name="box")(g)})


def _seq_no_input():
    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.MaxPooling2D(2, name="p1"),
        keras.layers.Conv2D(6, 3, activation="relu", padding="same", name="last_conv"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])


@pytest.mark.parametrize("kind", ["sequential", "nested", "two_heads"])
def test_every_method_on_sequential_nested_and_two_head_models(kind):
    model = {"sequential": _seq_no_input, "nested": _nested_model, "two_heads": _two_heads}[kind]()
    x = _img((12, 12, 3), 5)
    heads = [None, "box"] if kind == "two_heads" else [None]
    for head in heads:
        for method in at.METHODS:
            opts = {"samples": 4} if method == "smoothgrad" else {"steps": 8} if method == "integrated_gradients" else {}
            heat = ins.attribution(model, x, method, head=head, **opts)
            assert heat.shape == (12, 12) and heat.dtype == np.float32, (kind, method)
            assert 0.0 <= heat.min() and heat.max() <= 1.0
    np.testing.assert_allclose(ins.attribution(model, x, "gradcam", 2), ins.grad_cam(model, x, 2), atol=1e-6)
    np.testing.assert_allclose(ins.attribution(model, x, "saliency"), ins.saliency(model, x), atol=1e-6)
    if kind == "two_heads":
        # box head, coordinate 1 vs the sum of the four: IG is complete for either
        for coord in (None, 1):
            res = at.integrated_gradients(model, x, coord, head="box", steps=64)
            assert res.gap < 0.02 * abs(res.delta) + 1e-4
        assert res.class_index == 1


def test_errors_progress_and_cancel(bars_model):
    model, xt, _y, _m = bars_model
    x = xt[0]
    with pytest.raises(at.AttributionError, match="unknown attribution method 'lime'; choose one of: saliency"):
        ins.attribution(model, x, "lime")
    with pytest.raises(at.AttributionError, match="occlusion takes no option 'steps'; its options are: head"):
        ins.attribution(model, x, "occlusion", steps=3)
    with pytest.raises(at.AttributionError, match="saliency maps come normalised"):
        ins.attribution(model, x, "saliency", normalize=False)
    with pytest.raises(ins.InspectError, match="class index must be between 0 and 1, received 5"):
        ins.attribution(model, x, "scorecam", 5)
    with pytest.raises(at.AttributionError, match="patch 30x30 is larger than the image 20x20"):
        ins.attribution(model, x, "occlusion", patch=30)
    seen = []
    ins.attribution(model, x, "occlusion", patch=5, stride=5, batch_size=4, progress=lambda d, t, m: seen.append((d, t, m)))
    assert [d for d, _t, _m in seen] == [4, 8, 12, 16] and seen[-1][2] == "Occlusion: 16 of 16 patches"
    seen.clear()
    ins.attribution(model, x, "gradcam", progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(1, 1)]
    for method in at.METHODS:
        stop = threading.Event()
        stop.set()
        with pytest.raises(Cancelled):
            ins.attribution(model, x, method, cancel=stop)
    stop = threading.Event()
    with pytest.raises(Cancelled):
        ins.randomization_check(model, x, "saliency", progress=lambda d, t, m: stop.set() if d == 2 else None, cancel=stop)
