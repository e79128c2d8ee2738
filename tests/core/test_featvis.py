"""convexplorer.core.featvis against references written here: numpy FFTs, hand-set filters, plain ascent."""

from __future__ import annotations

import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from convexplorer.core import featvis as fv
from convexplorer.core import inspect as ins
from convexplorer.core.errors import Cancelled, ShapeError
from convexplorer.core.inspect import InspectError

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)  # responds to change along x


# --- parameterizations -------------------------------------------------------------------------


@pytest.mark.parametrize("h,w", [(8, 8), (10, 7), (6, 9)])
def test_fourier_scale_is_one_over_frequency_with_a_floor(h, w):
    scale = fv.fourier_scale(h, w)
    assert scale.shape == (h, w // 2 + 1)
    for ky in range(h):
        fy = (ky if ky <= (h - 1) // 2 else ky - h) / h  # signed frequency of row ky, cycles per pixel
        for kx in range(w // 2 + 1):
            f = np.hypot(fy, kx / w)
            assert scale[ky, kx] == pytest.approx(1.0 / max(f, 1.0 / max(h, w)))
    assert scale[0, 0] == max(h, w)  # the constant term sits on the floor 1/size
    assert np.allclose(fv.fourier_scale(h, w, decay_power=2.0), scale**2)


@pytest.mark.parametrize("h,w", [(8, 8), (10, 7)])
def test_fourier_image_is_the_inverse_real_fft_of_the_scaled_spectrum(h, w):
    rng = np.random.default_rng(0)
    spec = rng.normal(size=(2, 3, h, w // 2 + 1, 2)).astype(np.float32)
    # Make the spectrum one of a real image (the DC and Nyquist terms real, as rfft2 makes them),
    # so that no convention about discarded imaginary parts is being tested.
    spec = np.fft.rfft2(rng.normal(size=(2, 3, h, w)))
    spec = np.stack([spec.real, spec.imag], -1).astype(np.float32)
    got = np.asarray(fv.fourier_image(spec, h, w))
    assert got.shape == (2, h, w, 3)
    scale = fv.fourier_scale(h, w) * np.sqrt(h * w)
    want = np.fft.irfft2((spec[..., 0] + 1j * spec[..., 1]) * scale, s=(h, w)).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_colour_decorrelation_round_trip_and_grayscale_identity():
    m = fv.color_decorrelation_matrix(3)
    np.testing.assert_allclose(m @ np.linalg.inv(m), np.eye(3), atol=1e-12)
    assert np.linalg.norm(m, axis=0).max() == pytest.approx(1.0)  # no direction amplified
    np.testing.assert_allclose(m, fv.COLOR_CORRELATION_SQRT / np.linalg.norm(fv.COLOR_CORRELATION_SQRT, axis=0).max())
    x = np.random.default_rng(1).normal(size=(2, 5, 4, 3)).astype(np.float32)
    rgb = fv.decorrelated_to_rgb(x)
    np.testing.assert_allclose(rgb, np.einsum("ij,bhwj->bhwi", m, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fv.rgb_to_decorrelated(rgb), x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fv.decorrelated_to_rgb(tf.constant(x))), rgb, rtol=1e-5, atol=1e-6)
    assert np.array_equal(fv.color_decorrelation_matrix(1), np.eye(1))
    g = x[..., :1]
    np.testing.assert_array_equal(fv.decorrelated_to_rgb(g), g)


def test_transformations_keep_shape_are_seeded_and_shift_by_whole_pixels():
    imgs = np.random.default_rng(2).random((3, 20, 20, 3), dtype=np.float32)
    kw = {"jitter": 3, "scale": (0.9, 1.0, 1.1), "rotate": 10.0}
    a = fv.transform_matrices(np.random.default_rng(5), 3, 20, 20, **kw)
    b = fv.transform_matrices(np.random.default_rng(5), 3, 20, 20, **kw)
    c = fv.transform_matrices(np.random.default_rng(6), 3, 20, 20, **kw)
    assert a.shape == (3, 8) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    out_a, out_b = np.asarray(fv.apply_transforms(imgs, a)), np.asarray(fv.apply_transforms(imgs, b))
    assert out_a.shape == imgs.shape and np.array_equal(out_a, out_b)
    # Traced, the static shape survives too (objectives read the centre and crop borders from it).
    traced = tf.function(fv.apply_transforms).get_concrete_function(
        tf.TensorSpec((None, 20, 20, 3), tf.float32), tf.TensorSpec((None, 8), tf.float32))
    assert tuple(traced.structured_outputs.shape) == (None, 20, 20, 3)
    assert not np.allclose(out_a, imgs)
    # No transformation at all is the identity.
    ident = fv.transform_matrices(np.random.default_rng(0), 3, 20, 20)
    np.testing.assert_allclose(np.asarray(fv.apply_transforms(imgs, ident)), imgs, atol=1e-6)
    # A pure jitter moves the image by whole pixels: output (y, x) = input (y - dy, x - dx).
    rng = np.random.default_rng(7)
    mats = fv.transform_matrices(rng, 3, 20, 20, jitter=4)
    out = np.asarray(fv.apply_transforms(imgs, mats))
    for k in range(3):
        dx, dy = -mats[k, 2], -mats[k, 5]
        assert dx == int(dx) and dy == int(dy) and np.allclose(mats[k, [0, 1, 3, 4]], [1, 0, 0, 1])
        dx, dy = int(dx), int(dy)
        src = imgs[k, max(0, -dy) : 20 - max(0, dy), max(0, -dx) : 20 - max(0, dx)]
        dst = out[k, max(0, dy) : 20 - max(0, -dy), max(0, dx) : 20 - max(0, -dx)]
        np.testing.assert_allclose(dst, src, atol=1e-6)


# --- presets -----------------------------------------------------------------------------------


def _small_rgb(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((24, 24, 3)),
            keras.layers.Conv2D(8, 3, activation="relu", name="c1"),
            keras.layers.Conv2D(8, 3, activation="relu", name="c2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, activation="softmax", name="out"),
        ]
    )


def test_presets_and_settings_checks():
    assert fv.FeatureVisSettings() == fv.PRESETS["distill"] == fv.FeatureVisSettings.preset("distill")
    none = fv.FeatureVisSettings.preset("none")
    assert (none.parameterization, none.optimizer, none.constrain, none.transforms) == ("pixels", "ascent", False, False)
    assert fv.FeatureVisSettings.preset("none", steps=3).steps == 3
    assert fv.PRESETS["distill"].jitter_for(128) == 8 and fv.PRESETS["distill"].transforms
    with pytest.raises(InspectError, match="presets are: none, distill"):
        fv.FeatureVisSettings.preset("lucid")
    model = _small_rgb()
    for bad, words in [({"parameterization": "wavelets"}, "fourier"), ({"steps": 0}, "steps"),
                       ({"size": 4}, "at least 8"), ({"diversity": -1.0}, "diversity")]:
        with pytest.raises((InspectError, ShapeError), match=words):
            fv.feature_visualization(model, fv.Objective.filter("c1", 0), fv.FeatureVisSettings(**bad))
    with pytest.raises(InspectError, match="filters 0 to 7"):
        fv.feature_visualization(model, fv.Objective.filter("c2", 8), "none")
    with pytest.raises(InspectError, match="share"):
        fv.feature_visualization(model, [fv.Objective.filter("c1", 0), fv.Objective.filter("c2", 0)], "none")
    with pytest.raises(InspectError, match="neuron"):
        fv.Objective.filter("c1", 0, where="everywhere")


def test_none_preset_is_filter_patterns_computation():
    model = _small_rgb(1)
    filters = [0, 3, 5]
    ref = ins.filter_patterns(model, "c2", filters, steps=8, size=20, seed=4, batch_size=3)
    res = fv.feature_visualization(model, fv.Objective.filters("c2", filters),
                                   fv.FeatureVisSettings.preset("none", steps=8, size=20, seed=4))
    np.testing.assert_allclose(res.images, ref, atol=1e-5)
    assert res.values.shape == (3, 8) and res.images.shape == (3, 20, 20, 3)
    assert res.layer == "c2" and [o.index for o in res.objectives] == filters


def test_distill_is_seeded_and_reports_every_step():
    model = _small_rgb(2)
    s = fv.FeatureVisSettings.preset("distill", steps=4, size=16, seed=9)
    calls = []
    a = fv.feature_visualization(model, fv.Objective.filters("c2", 3), s, batch_size=2,
                                 progress=lambda d, t, m: calls.append((d, t)))
    b = fv.feature_visualization(model, fv.Objective.filters("c2", 3), s, batch_size=2)
    np.testing.assert_allclose(a.images, b.images, atol=1e-6)
    assert a.images.dtype == np.float32 and a.images.min() >= 0.0 and a.images.max() <= 1.0
    assert calls[-1] == (12, 12) and len(calls) == 8  # 2 batches x 4 steps, counted in image-steps
    c = fv.feature_visualization(model, fv.Objective.filters("c2", 3), fv.FeatureVisSettings.preset("distill", steps=4, size=16, seed=10))
    assert not np.allclose(a.images, c.images)


# --- what the images do ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge_model():
    """One ReLU conv layer whose filters are hand-set: 0 responds to change along x, 1 along y."""
    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(2, 3, activation="relu", use_bias=False, name="edges")])
    k = np.stack([SOBEL_X, SOBEL_X.T], -1)[:, :, None, :]
    model.get_layer("edges").set_weights([k])
    return model


def _axis_energy(img):
    """Spectral energy of a grey image along x-dominant vs y-dominant frequencies (the DC term removed)."""
    g = img[..., 0] - img[..., 0].mean()
    power = np.abs(np.fft.fft2(g)) ** 2
    fy = np.abs(np.fft.fftfreq(g.shape[0]))[:, None]
    fx = np.abs(np.fft.fftfreq(g.shape[1]))[None, :]
    return float(power[fx > fy].sum()), float(power[fy > fx].sum())


@pytest.mark.parametrize("where", ["channel", "neuron"])
def test_edge_detector_image_excites_it_with_the_right_orientation(edge_model, where):
    s = fv.FeatureVisSettings.preset("distill", steps=60, seed=0, learning_rate=0.1)
    res = fv.feature_visualization(edge_model, fv.Objective.filters("edges", 2, where), s)
    assert res.images.shape == (2, 32, 32, 1)
    rand = np.random.default_rng(0).random((32, 32, 1), dtype=np.float32)
    (_n, maps), = ins.feature_maps(edge_model, rand, ["edges"])
    for f in range(2):
        (_n, opt), = ins.feature_maps(edge_model, res.images[f], ["edges"])
        if where == "channel":
            got, base = opt[2:-2, 2:-2, f].mean(), maps[2:-2, 2:-2, f].mean()
        else:
            got, base = opt[15, 15, f], maps[:, :, f].mean()  # the centre vs a random image's typical response
        assert got == pytest.approx(res.final[f], rel=1e-3, abs=1e-3)  # what the result reports is the truth
        assert got > 2 * base, (f, got, base)
        assert res.values[f, -1] > res.values[f, 0]
    if where == "channel":  # a whole-channel image is a grating across the image: its orientation shows
        ex, ey = _axis_energy(res.images[0])
        assert ex > 3 * ey, (ex, ey)
        ex, ey = _axis_energy(res.images[1])
        assert ey > 3 * ex, (ex, ey)


def _gram_similarity(model, layer, images):
    """Mean pairwise cosine similarity of the images' Gram matrices at ``layer`` (written out here)."""
    grams = []
    for img in images:
        (_n, a), = ins.feature_maps(model, img, [layer])
        flat = a.reshape(-1, a.shape[-1]).astype(np.float64)
        g = (flat.T @ flat).ravel()
        grams.append(g / max(np.linalg.norm(g), 1e-12))
    grams = np.array(grams)
    sims = grams @ grams.T
    n = len(images)
    return (sims.sum() - np.trace(sims)) / (n * (n - 1))


def _pixel_correlation(images):
    x = images.reshape(len(images), -1).astype(np.float64)
    c = np.corrcoef(x)
    n = len(images)
    return (c.sum() - np.trace(c)) / (n * (n - 1))


def test_diversity_makes_the_images_of_one_filter_less_alike():
    model = _small_rgb(3)
    base = fv.FeatureVisSettings.preset("distill", steps=40, size=24, seed=1, learning_rate=0.1)
    same = fv.feature_visualization(model, fv.Objective.filter("c2", 1), base, images_per_objective=4)
    apart = fv.feature_visualization(model, fv.Objective.filter("c2", 1), fv.FeatureVisSettings.preset(
        "distill", steps=40, size=24, seed=1, learning_rate=0.1, diversity=1.0), images_per_objective=4)
    assert len(apart.objectives) == 4 and all(o == fv.Objective.filter("c2", 1) for o in apart.objectives)
    g0, g1 = _gram_similarity(model, "c2", same.images), _gram_similarity(model, "c2", apart.images)
    p0, p1 = _pixel_correlation(same.images), _pixel_correlation(apart.images)
    assert g1 < g0 - 0.05, (g0, g1)
    assert p1 < p0 - 0.05, (p0, p1)
    assert apart.final.mean() > 0  # still excites the filter


def test_logit_objective_raises_the_pre_softmax_score():
    model = _small_rgb(4)
    res = fv.feature_visualization(model, [fv.Objective.logit(2), fv.Objective.logit(0)],
                                   fv.FeatureVisSettings.preset("distill", steps=30, seed=0, learning_rate=0.1))
    assert res.images.shape == (2, 24, 24, 3) and res.layer == "out"
    # The pre-softmax score computed here: the Dense layer's input times its kernel plus bias.
    feats = keras.Model(model.inputs[0], model.layers[-2].output)
    w, b = model.get_layer("out").get_weights()
    grey = np.full((1, 24, 24, 3), 0.5, np.float32)
    for k, cls in enumerate([2, 0]):
        z = feats(res.images[k : k + 1]).numpy() @ w + b
        start = (feats(grey).numpy() @ w + b)[0, cls]
        assert z[0, cls] == pytest.approx(res.final[k], rel=1e-3, abs=1e-4)
        assert z[0, cls] > start + 0.05 and res.values[k, -1] > res.values[k, 0]
    with pytest.raises(ShapeError, match="own input size"):
        fv.feature_visualization(model, fv.Objective.logit(0), fv.FeatureVisSettings.preset("none", size=32))
    with pytest.raises(InspectError, match="between 0 and 3"):
        fv.feature_visualization(model, fv.Objective.logit(4), "none")


def test_cancel_stops_promptly():
    model = _small_rgb(5)
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append(done)
        if done >= 2:
            cancel.set()

    with pytest.raises(Cancelled):
        fv.feature_visualization(model, fv.Objective.filters("c1", 2), fv.FeatureVisSettings.preset("distill", steps=50, size=16),
                                 progress=progress, cancel=cancel)
    assert seen == [2]  # stopped before the second step


def test_nested_and_multi_output_models():
    keras.utils.set_random_seed(6)
    inner_in = keras.Input((20, 20, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="ic1")(inner_in)
    inner = keras.Model(inner_in, keras.layers.Conv2D(5, 3, activation="relu", name="ic2")(x), name="base")
    nested = keras.Sequential([keras.Input((20, 20, 3)), inner, keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(3, activation="softmax", name="out")])
    quick = fv.FeatureVisSettings.preset("distill", steps=3)
    res = fv.feature_visualization(nested, fv.Objective.filters("base/ic2", [1, 4]), quick)
    assert res.layer == "base/ic2" and res.images.shape == (2, 20, 20, 3)
    assert fv.feature_visualization(nested, fv.Objective.logit(1), quick).images.shape == (1, 20, 20, 3)

    inp = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="shared")(inp)
    h = keras.layers.GlobalAveragePooling2D()(h)
    two = keras.Model(inp, {"kind": keras.layers.Dense(3, activation="softmax", name="kind")(h),
                            "box": keras.layers.Dense(4, activation="sigmoid", name="box")(h)})
    res = fv.feature_visualization(two, fv.Objective.logit(2, head="kind"), quick)
    assert res.layer == "kind" and res.images.shape == (1, 16, 16, 3)
    assert fv.feature_visualization(two, fv.Objective.filter("shared", 3), quick).images.shape == (1, 16, 16, 3)
    with pytest.raises(InspectError, match="does not predict classes"):
        fv.feature_visualization(two, fv.Objective.logit(0, head="box"), quick)
