"""Dataset examples per unit (core.examples) against a brute-force reference written here.

The reference calls a plain Keras extractor of the layer image by image, takes each
filter's maximum over positions (and the first position holding it), and sorts by
activation, then image index.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from convexplorer.core import examples as ex  # noqa: E402
from convexplorer.core import inspect as ins  # noqa: E402
from convexplorer.core.datasets.base import Dataset  # noqa: E402
from convexplorer.core.datasets.shapes import ShapesDataset  # noqa: E402
from convexplorer.core.errors import Cancelled, ShapeError  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_cache():
    ex.clear_examples_cache()
    yield
    ex.clear_examples_cache()


def _stack(channels=1, seed=0):
    """16x16 input: conv 3x3 valid (4) -> max-pool 2 -> conv 3x3 same (5) -> GAP -> softmax 3."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((16, 16, channels)),
            keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
            keras.layers.MaxPooling2D(2, name="p1"),
            keras.layers.Conv2D(5, 3, padding="same", name="c2"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )


@pytest.fixture(scope="module")
def stack():
    return _stack()


def _images(n, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def brute_force(extract, images, k):
    """Per filter: [(index, value, (y, x))] of the k best images, one image at a time."""
    vals, poss, width = [], [], None
    for img in images:
        a = np.asarray(extract(np.asarray(img, np.float32)[None], training=False))[0]
        if a.ndim == 1:
            a = a[None, None, :]
        width = a.shape[1]
        flat = a.reshape(-1, a.shape[-1])
        vals.append(flat.max(axis=0))
        poss.append(flat.argmax(axis=0))  # numpy: the first maximum
    V, P = np.array(vals), np.array(poss)
    out = []
    for f in range(V.shape[1]):
        order = sorted(range(len(V)), key=lambda i: (-V[i, f], i))[:k]
        out.append([(i, float(V[i, f]), (int(P[i, f] // width), int(P[i, f] % width))) for i in order])
    return out


def assert_matches(result, reference, model=None, layer=None, shape=None):
    assert result.num_filters == len(reference)
    for f, ref in enumerate(reference):
        got = result.examples(f)
        assert [e.index for e in got] == [r[0] for r in ref], f"filter {f}"
        np.testing.assert_allclose([e.activation for e in got], [r[1] for r in ref], rtol=1e-5, atol=1e-6)
        assert [result.position(f, j) for j in range(len(got))] == [r[2] for r in ref], f"filter {f}"
        if model is not None:
            for j, e in enumerate(got):
                assert e.box == ins.receptive_field(model, layer, *result.position(f, j), shape), (f, j)


# --- against the brute force --------------------------------------------------------------------


def test_array_matches_brute_force_and_the_public_path(stack):
    x = _images(40, seed=1)
    ref = brute_force(keras.Model(stack.inputs[0], stack.get_layer("c2").output), x, 5)
    result = ex.top_examples_for_layer(stack, "c2", x, k=5)
    assert_matches(result, ref, stack, "c2")
    assert (result.num_images, result.k, result.map_shape, result.input_shape) == (40, 5, (7, 7), (16, 16, 1))
    # The public path in core.inspect: filter 2's list, as (index, activation, box) tuples.
    top = ins.top_activating_examples(stack, "c2", 2, x, k=5)
    assert top == result.examples(2)
    idx, act, box = top[0]
    assert (idx, act) == (ref[2][0][0], pytest.approx(ref[2][0][1], rel=1e-5)) and len(box) == 4
    assert [e.index for e in result.best()] == [r[0][0] for r in ref]


def test_uint8_array_is_scaled_and_three_dims_get_a_channel(stack):
    raw = (np.random.default_rng(2).random((12, 16, 16)) * 255).astype(np.uint8)
    ref = brute_force(keras.Model(stack.inputs[0], stack.get_layer("c1").output), raw[..., None] / np.float32(255), 3)
    assert_matches(ex.top_examples_for_layer(stack, "c1", raw, k=3), ref)


def test_functional_model_with_two_heads():
    keras.utils.set_random_seed(4)
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="a")(inp)
    x = keras.layers.Conv2D(4, 3, name="b")(x)
    g = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, {"classes": keras.layers.Dense(3, activation="softmax", name="classes")(g),
                              "box": keras.layers.Dense(4, activation="sigmoid", name="box")(g)})
    imgs = _images(30, (12, 12, 3), seed=5)
    for layer in ("a", "b"):
        ref = brute_force(keras.Model(inp, model.get_layer(layer).output), imgs, 4)
        assert_matches(ex.top_examples_for_layer(model, layer, imgs, k=4), ref, model, layer)


def test_layer_inside_a_nested_base():
    keras.utils.set_random_seed(6)
    b_in = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="inner1")(b_in)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="inner2")(h)
    base = keras.Model(b_in, h, name="base")
    model = keras.Sequential([keras.Input((16, 16, 3)), base, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    imgs = _images(25, (16, 16, 3), seed=7)
    ref = brute_force(keras.Model(b_in, base.get_layer("inner2").output), imgs, 3)
    result = ex.top_examples_for_layer(model, "base/inner2", imgs, k=3)
    assert result.layer_name == "base/inner2"
    assert_matches(result, ref, model, "base/inner2")


def test_shapes_dataset_with_its_own_preparation():
    ds = ShapesDataset(n=36, size=16, seed=3)
    model = _stack(channels=3, seed=8)
    imgs = np.stack([ds.image(i) for i in range(len(ds))])
    ref = brute_force(keras.Model(model.inputs[0], model.get_layer("c2").output), imgs, 4)
    assert_matches(ex.top_examples_for_layer(model, "c2", ds, k=4), ref, model, "c2")
    # A subset: indices stay the data set's, only its samples are looked at.
    test = ds.subset_indices("test")
    sub = ex.top_examples_for_layer(model, "c2", ds, k=2, subset="test")
    ref_sub = brute_force(keras.Model(model.inputs[0], model.get_layer("c2").output), imgs[test], 2)
    expected = [[int(test[i]) for i, _v, _p in r] for r in ref_sub]
    assert [[e.index for e in sub.examples(f)] for f in range(5)] == expected


def test_dataset_fitted_to_the_model_like_the_inspect_panel(stack):
    ds = ShapesDataset(n=20, size=24, seed=9)  # 24x24 RGB into a 16x16x1 model
    fitted = np.stack([ins.prepare_image(ds.image(i), (16, 16, 1), keep_aspect=True) for i in range(len(ds))])
    ref = brute_force(keras.Model(stack.inputs[0], stack.get_layer("c2").output), fitted, 3)
    result = ex.top_examples_for_layer(stack, "c2", ds, k=3)
    assert result.input_shape == (16, 16, 1)
    assert_matches(result, ref)
    np.testing.assert_array_equal(ex.example_image(stack, ds, 5), fitted[5])


def test_dense_units_have_the_whole_image_as_box(stack):
    x = _images(10, seed=10)
    ref = brute_force(keras.Model(stack.inputs[0], stack.get_layer("out").output), x, 2)
    result = ex.top_examples_for_layer(stack, "out", x, k=2)
    assert_matches(result, ref)
    assert {e.box for f in range(3) for e in result.examples(f)} == {(0, 0, 16, 16)}


# --- ties, boxes, batching ----------------------------------------------------------------------


def test_ties_go_to_the_lower_index():
    """Integer kernels on 0/1 images: activations are exact, copies tie exactly."""
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 2, use_bias=False, name="c")])
    kernel = np.array([[1, 2], [3, 4]], np.float32)
    model.get_layer("c").set_weights([np.stack([kernel, -kernel], -1)[:, :, None, :]])
    distinct = (np.random.default_rng(11).random((3, 6, 6, 1)) > 0.5).astype(np.float32)
    imgs = distinct[[2, 0, 1, 0, 2, 1, 0, 2]]  # copies at 0/4/7 (image 2), 1/3/6 (image 0), 2/5 (image 1)
    for bs in (1, 3, 8):
        ex.clear_examples_cache()
        result = ex.top_examples_for_layer(model, "c", imgs, k=8, batch_size=bs)
        for f in range(2):
            got = result.examples(f)
            for a, b in zip(got, got[1:]):
                assert a.activation > b.activation or (a.activation == b.activation and a.index < b.index)
        assert_matches(result, brute_force(model, imgs, 8))  # positions tie too: the first in row-major order


def test_receptive_field_boxes_hand_computed(stack):
    """c1 (3x3 valid) -> p1 (2x2/2) -> c2 (3x3 same, pad 1): start -2, jump 2, size 8 on a 16x16 image."""
    trace = ins._get_trace(stack, (16, 16, 1))
    gy, gx = ex._geometry(trace, trace.index("c2"), (16, 16, 1))
    assert (gy.start, gy.jump, gy.size) == (gx.start, gx.jump, gx.size) == (-2, 2, 8)
    ys, xs = np.array([0, 3, 6, 1]), np.array([0, 4, 6, 5])
    boxes = ex._boxes((gy, gx), ys, xs, 16, 16)
    assert [tuple(b) for b in boxes] == [(0, 0, 6, 6), (4, 6, 12, 14), (10, 10, 16, 16), (0, 8, 8, 16)]
    for (y, x), b in zip(zip(ys, xs), boxes):
        assert tuple(b) == ins.receptive_field(stack, "c2", int(y), int(x))
    # Every box of a real pass: the hand formula at its position, clipped.
    result = ex.top_examples_for_layer(stack, "c2", _images(20, seed=12), k=4)
    for f in range(5):
        for j, e in enumerate(result.examples(f)):
            y, x = result.position(f, j)
            assert e.box == (max(0, 2 * y - 2), max(0, 2 * x - 2), min(16, 2 * y + 6), min(16, 2 * x + 6))


def test_crop_box():
    img = np.arange(16 * 16 * 3, dtype=np.float32).reshape(16, 16, 3)
    np.testing.assert_array_equal(ex.crop_box(img, (4, 6, 12, 14)), img[4:12, 6:14])
    assert ex.crop_box(img, (-3, 10, 40, 20)).shape == (16, 6, 3)
    assert ex.crop_box(img[..., 0], (0, 0, 2, 3)).shape == (2, 3)


def test_batching_invariance(stack):
    x = _images(70, seed=13)
    results = [ex.top_examples_for_layer(stack, "c2", x, k=6, batch_size=bs) for bs in (1, 7, 64)
               if ex.clear_examples_cache() is None]
    for other in results[1:]:
        np.testing.assert_array_equal(other.indices, results[0].indices)
        np.testing.assert_array_equal(other.positions, results[0].positions)
        np.testing.assert_array_equal(other.boxes, results[0].boxes)
        np.testing.assert_allclose(other.values, results[0].values, rtol=1e-5, atol=1e-6)


# --- progress, cancel, cache, memory ------------------------------------------------------------


def test_progress_per_batch_and_cancel_midway(stack):
    x = _images(50, seed=14)
    cancel = threading.Event()
    seen = []

    def progress(done, total, message):
        seen.append((done, total))
        if done >= 20:
            cancel.set()

    with pytest.raises(Cancelled):
        ex.top_examples_for_layer(stack, "c2", x, k=3, batch_size=10, progress=progress, cancel=cancel)
    assert seen[-1] == (20, 50)  # stopped before the third batch
    assert not ex._cache  # nothing partial kept
    seen.clear()
    result = ex.top_examples_for_layer(stack, "c2", x, k=3, batch_size=10, progress=progress)
    assert [d for d, _t in seen] == [0, 10, 20, 30, 40, 50] and result.num_images == 50


def test_cache_answers_another_filter_without_a_pass(monkeypatch):
    model = _stack(seed=15)
    x = _images(30, seed=16)
    passes = []
    real = ex._scan
    monkeypatch.setattr(ex, "_scan", lambda *a, **kw: passes.append(1) or real(*a, **kw))
    first = ins.top_activating_examples(model, "c2", 0, x, k=4)
    layer = ex.top_examples_for_layer(model, "c2", x, k=4)
    again = ins.top_activating_examples(model, "c2", 3, x, k=4)
    assert len(passes) == 1
    assert ex.top_examples_for_layer(model, "c2", x, k=4) is layer
    assert first == layer.examples(0) and again == layer.examples(3)
    assert all(a is b for a, b in zip(again, layer.examples(3)))  # the same Example objects
    assert ex.top_examples_for_layer(model, "c2", x, k=2).examples(1) == layer.examples(1)[:2]
    assert len(passes) == 1
    ex.top_examples_for_layer(model, "c2", x.copy(), k=4)  # equal content: the same key
    assert len(passes) == 1
    # Invalidation: other images, another layer, more examples, changed weights (training).
    ex.top_examples_for_layer(model, "c2", x[:29], k=4)
    ex.top_examples_for_layer(model, "c1", x, k=4)
    ex.top_examples_for_layer(model, "c2", x, k=5)
    assert len(passes) == 4
    w = model.get_layer("c1").get_weights()
    model.get_layer("c1").set_weights([w[0] * 1.5, w[1]])
    changed = ex.top_examples_for_layer(model, "c2", x, k=4)
    assert len(passes) == 5 and changed is not layer
    # Weights after the layer do not matter to it: still cached.
    wd = model.get_layer("out").get_weights()
    model.get_layer("out").set_weights([wd[0] + 1.0, wd[1]])
    assert ex.top_examples_for_layer(model, "c2", x, k=4) is changed and len(passes) == 5
    assert len(ex._cache) <= ex.CACHE_SIZE


def test_cache_is_per_model_object():
    x = _images(12, seed=17)
    a, b = _stack(seed=18), _stack(seed=18)  # same weights, different objects
    ra = ex.top_examples_for_layer(a, "c2", x, k=2)
    assert ex.top_examples_for_layer(b, "c2", x, k=2) is not ra


class _Stream(Dataset):
    """A data set drawn on demand from its index: nothing is kept, whatever its size."""

    def __init__(self, n: int) -> None:
        super().__init__(f"stream {n}", ["a", "b"], np.arange(n) % 2, (8, 8, 1))

    def _raw_image(self, i: int) -> np.ndarray:
        return np.random.default_rng([19, i]).random((8, 8, 1), dtype=np.float32)


def test_running_state_does_not_grow_with_the_data_set():
    keras.utils.set_random_seed(20)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, name="c")])
    small = ex.top_examples_for_layer(model, "c", _Stream(300), k=5, batch_size=256)
    big = ex.top_examples_for_layer(model, "c", _Stream(20_000), k=5, batch_size=256)
    assert big.num_images == 20_000
    assert small.peak_items == big.peak_items == 3 * 5
    assert big.values.shape == (3, 5)
    # The first 300 images of the stream are the small set: the big set's best can only be as good or better.
    assert np.all(big.values[:, 0] >= small.values[:, 0])


# --- errors -------------------------------------------------------------------------------------


def test_readable_errors(stack):
    x = _images(4, seed=21)
    with pytest.raises(ins.InspectError, match="filters 0 to 4"):
        ins.top_activating_examples(stack, "c2", 5, x)
    with pytest.raises(ins.InspectError, match="at least 1"):
        ex.top_examples_for_layer(stack, "c2", x, k=0)
    with pytest.raises(ins.InspectError, match="no layer named"):
        ex.top_examples_for_layer(stack, "nope", x)
    with pytest.raises(ins.InspectError, match="no images"):
        ex.top_examples_for_layer(stack, "c2", x[:0])
    with pytest.raises(ShapeError, match="N x H x W x C"):
        ex.top_examples_for_layer(stack, "c2", np.zeros((2, 3, 16, 16, 1), np.float32))
    assert len(ex.top_examples_for_layer(stack, "c2", x, k=9).examples(0)) == 4  # fewer images than k
