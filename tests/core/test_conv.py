"""convexplorer.core.conv against TensorFlow's own ops and a by-definition loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexplorer.core import conv
from convexplorer.core.arithmetic import conv_geometry
from convexplorer.core.errors import ShapeError

tf = pytest.importorskip("tensorflow")

RTOL = 1e-5
ATOL = 1e-5  # float32 sums in a different order; values are O(1)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- independent references --------------------------------------------------------------
def naive_conv(x3: np.ndarray, k4: np.ndarray, stride, pads, dilation) -> np.ndarray:
    """out[i,j,f] = sum xpad[i*sy + a*dy, j*sx + b*dx, c] * k[a,b,c,f], by explicit loops (float64)."""
    (t, b), (l, r) = pads
    xp = np.pad(x3.astype(np.float64), ((t, b), (l, r), (0, 0)))
    kh, kw, c, f = k4.shape
    sy, sx = stride
    dy, dx = dilation
    oh = (xp.shape[0] - (dy * (kh - 1) + 1)) // sy + 1
    ow = (xp.shape[1] - (dx * (kw - 1) + 1)) // sx + 1
    out = np.zeros((oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for bb in range(kw):
                    out[i, j] += xp[i * sy + a * dy, j * sx + bb * dx] @ k4[a, bb]
    return out


def tf_padding(padding):
    """Our padding spec in the form tf.nn.conv2d takes."""
    if isinstance(padding, str):
        return padding.upper()
    if isinstance(padding, int):
        padding = ((padding, padding), (padding, padding))
    (t, b), (l, r) = padding
    return [[0, 0], [t, b], [l, r], [0, 0]]


def tf_conv(x3, k4, stride, padding, dilation):
    """tf.nn.conv2d on one H x W x C image."""
    y = tf.nn.conv2d(
        x3[None].astype(np.float32),
        k4.astype(np.float32),
        strides=[1, stride[0], stride[1], 1],
        padding=tf_padding(padding),
        dilations=[1, dilation[0], dilation[1], 1],
    )
    return y.numpy()[0]


# --- strategies ----------------------------------------------------------------------------
paddings = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 3),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))),
)


@st.composite
def conv_case(draw, full_kernel: bool):
    """A random image, kernel, stride, padding and dilation whose output is not empty."""
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    c = draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(paddings)
    try:
        geo = conv_geometry((h, w), (kh, kw), stride, padding, dilation)
    except ShapeError:
        from hypothesis import assume

        assume(False)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    f = draw(st.integers(1, 3))
    k = rng.standard_normal((kh, kw, c, f) if full_kernel else (kh, kw)).astype(np.float32)
    return x, k, stride, padding, dilation, geo


# --- conv2d against tf.nn.conv2d ---------------------------------------------------------------
@SETTINGS
@given(conv_case(full_kernel=True))
def test_conv2d_full_kernel_equals_tf(case):
    x, k, stride, padding, dilation, geo = case
    ours = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    ref = tf_conv(x, k, stride, padding, dilation)
    assert ours.dtype == np.float32
    assert ours.shape == ref.shape == geo.output_hw + (k.shape[3],)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)


@SETTINGS
@given(conv_case(full_kernel=False))
def test_conv2d_2d_kernel_per_channel_equals_tf(case):
    x, k, stride, padding, dilation, geo = case
    ours = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    assert ours.shape == geo.output_hw + (x.shape[2],)
    for ch in range(x.shape[2]):
        ref = tf_conv(x[..., ch : ch + 1], k[:, :, None, None], stride, padding, dilation)[..., 0]
        np.testing.assert_allclose(ours[..., ch], ref, rtol=RTOL, atol=ATOL)
    # a 2-D image with a 2-D kernel gives a 2-D map
    flat = conv.conv2d(x[..., 0], k, stride=stride, padding=padding, dilation=dilation)
    assert flat.shape == geo.output_hw
    np.testing.assert_allclose(flat, ours[..., 0], rtol=RTOL, atol=ATOL)


@SETTINGS
@given(conv_case(full_kernel=True))
def test_conv2d_equals_definition(case):
    """Also the reference for what a Keras Conv2D refuses (stride > 1 with dilation > 1)."""
    x, k, stride, padding, dilation, geo = case
    ours = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    ref = naive_conv(x, k, stride, geo.padding, dilation)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(3, 12), st.integers(3, 12), st.integers(3, 7), st.integers(3, 7),
    st.integers(1, 2), st.integers(1, 2), st.sampled_from(["valid", "same"]), st.integers(0, 2**31 - 1),
)
def test_separable_fast_path_equals_tf(h, w, kh, kw, s, d, padding, seed):
    """Low-rank kernels (Sobel, Gaussian, box) take the separable path: still equal to TF."""
    rng = np.random.default_rng(seed)
    x = rng.random((h + 10, w + 10, 2), dtype=np.float32)
    k = np.outer(rng.standard_normal(kh), rng.standard_normal(kw)).astype(np.float32)
    k += np.outer(rng.standard_normal(kh), rng.standard_normal(kw)).astype(np.float32) * (kh > 4 and kw > 4)
    assert conv._separable_terms(k) is not None
    ours = conv.conv2d(x, k, stride=s, padding=padding, dilation=d)
    for ch in range(2):
        ref = tf_conv(x[..., ch : ch + 1], k[:, :, None, None], (s, s), padding, (d, d))[..., 0]
        np.testing.assert_allclose(ours[..., ch], ref, rtol=RTOL, atol=1e-4)


def test_sobel_on_bright_square_by_hand():
    """Hand-computed: Sobel-x on a step edge gives 4 on the edge columns, 0 elsewhere."""
    x = np.zeros((5, 6), np.float32)
    x[:, 3:] = 1.0
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    out = conv.conv2d(x, sobel_x)
    expected = np.zeros((3, 4), np.float32)
    expected[:, 1:3] = 4.0
    np.testing.assert_array_equal(out, expected)


def test_keras_refuses_matches_keras():
    keras = pytest.importorskip("keras")
    for stride, dilation in [(1, 1), (2, 1), (1, 2), (2, 2), ((1, 2), (2, 1)), ((2, 1), (1, 1))]:
        try:
            keras.layers.Conv2D(1, 3, strides=stride, dilation_rate=dilation)(np.zeros((1, 12, 12, 1), np.float32))
            refused = False
        except ValueError:
            refused = True
        assert conv.keras_refuses(stride, dilation) is refused, (stride, dilation)


# --- pooling against tf.nn.max_pool2d / avg_pool2d -------------------------------------------------
def naive_pool(x3, size, stride, pads, mode):
    """Pooling by loops over the real (unpadded) cells of each window."""
    (t, b), (l, r) = pads
    h, w, _ = x3.shape
    oh = (h + t + b - size[0]) // stride[0] + 1
    ow = (w + l + r - size[1]) // stride[1] + 1
    out = np.zeros((oh, ow, x3.shape[2]))
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * stride[0] - t, j * stride[1] - l
            win = x3[max(0, y0) : y0 + size[0], max(0, x0) : x0 + size[1]]
            out[i, j] = win.max(axis=(0, 1)) if mode == "max" else win.mean(axis=(0, 1))
    return out


@st.composite
def pool_case(draw):
    h, w, c = draw(st.integers(1, 13)), draw(st.integers(1, 13)), draw(st.integers(1, 3))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = draw(st.sampled_from(["valid", "same"]))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    return x, size, stride, padding


@SETTINGS
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pool2d_equals_tf(case, mode):
    x, size, stride, padding = case
    try:
        ours = conv.pool2d(x, size, stride=stride, padding=padding, mode=mode)
    except ShapeError:
        # only when the window does not fit: TF must refuse (or give an empty output) too
        assert padding == "valid" and (size[0] > x.shape[0] or size[1] > x.shape[1])
        return
    s = size if stride is None else stride
    op = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    ref = op(x[None], ksize=list(size), strides=list(s), padding=padding.upper()).numpy()[0]
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)


@SETTINGS
@given(pool_case(), st.sampled_from(["max", "avg"]), st.integers(0, 3), st.integers(0, 3))
def test_pool2d_explicit_padding_ignores_padded_cells(case, mode, pt, pl):
    x, size, stride, _ = case
    pads = ((min(pt, size[0] - 1), 0), (min(pl, size[1] - 1), min(pl, size[1] - 1)))
    s = size if stride is None else stride
    try:
        ours = conv.pool2d(x, size, stride=stride, padding=pads, mode=mode)
    except ShapeError:
        return
    np.testing.assert_allclose(ours, naive_pool(x, size, s, pads, mode), rtol=RTOL, atol=ATOL)
    if mode == "max":  # TF's max_pool2d takes explicit padding too
        ref = tf.nn.max_pool2d(x[None], list(size), list(s), tf_padding(pads)).numpy()[0]
        np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL)


def test_pool2d_2d_input_and_default_stride():
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(conv.pool2d(x, 2), [[5, 7], [13, 15]])
    np.testing.assert_array_equal(conv.pool2d(x, 2, mode="avg"), [[2.5, 4.5], [10.5, 12.5]])


def test_global_pool_matches_keras_layers():
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(1).standard_normal((6, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(
        conv.global_pool(x, "avg"), keras.layers.GlobalAveragePooling2D()(x[None]).numpy()[0], rtol=RTOL
    )
    np.testing.assert_allclose(conv.global_pool(x, "max"), keras.layers.GlobalMaxPooling2D()(x[None]).numpy()[0], rtol=RTOL)
    assert conv.global_pool(x[..., 0], "max").shape == ()


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((7, 7))), "kernel larger than padded input: 7x7 on 5x5"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=0), "stride must be at least 1"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((3, 3)), stride=-2), "stride must be at least 1"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding="full"), "padding must be"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((3, 3)), padding=-1), "cannot be negative"),
        (lambda: conv.conv2d(np.zeros((1, 1)), np.ones((3, 3))), "3x3 on 1x1"),
        (lambda: conv.conv2d(np.zeros((5, 5, 3)), np.ones((3, 3, 2, 4))), "expects 2 input channel"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.array([[1.0, np.nan]])), "not a finite number"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.array([["a", "b"]])), "must contain numbers"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((0, 3))), "kernel is empty"),
        (lambda: conv.conv2d(np.zeros((5,)), np.ones((3, 3))), "H x W or H x W x C"),
        (lambda: conv.conv2d(np.zeros((5, 5)), np.ones((3, 3, 3))), "kh x kw x C x F"),
        (lambda: conv.pool2d(np.zeros((5, 5)), 2, mode="median"), 'mode must be "max" or "avg"'),
        (lambda: conv.pool2d(np.zeros((5, 5)), 2, padding=2), "smaller than the pool size"),
        (lambda: conv.pool2d(np.zeros((1, 1)), 2), "pool window larger than its input: 2x2 on 1x1"),
        (lambda: conv.conv_step(np.zeros((5, 5)), np.ones((3, 3)), (3, 0)), "outside the 3x3 output"),
    ],
)
def test_bad_input_gives_readable_error(call, words):
    with pytest.raises(ShapeError) as info:
        call()
    assert words in str(info.value)


def test_one_pixel_image_with_same_padding_works():
    out = conv.conv2d(np.full((1, 1), 2.0), np.full((3, 3), 0.5), padding="same")
    np.testing.assert_array_equal(out, [[1.0]])  # only the centre tap sees the pixel


# --- sliding-window step-through -------------------------------------------------------------------
@SETTINGS
@given(conv_case(full_kernel=False), st.data())
def test_conv_step_reproduces_each_output_pixel(case, data):
    x, k, stride, padding, dilation, geo = case
    ours = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    i = data.draw(st.integers(0, geo.output_hw[0] - 1))
    j = data.draw(st.integers(0, geo.output_hw[1] - 1))
    ch = data.draw(st.integers(0, x.shape[2] - 1))
    step = conv.conv_step(x, k, (i, j), stride=stride, padding=padding, dilation=dilation, bias=0.25, channel=ch)
    assert step.value == pytest.approx(float(ours[i, j, ch]) + 0.25, rel=1e-5, abs=1e-5)
    # window coordinates on the padded input, by the formula
    assert step.rows == tuple(i * stride[0] + a * dilation[0] for a in range(k.shape[0]))
    assert step.cols == tuple(j * stride[1] + b * dilation[1] for b in range(k.shape[1]))
    (t, _), (l, _) = geo.padding
    xp = np.pad(x[..., ch], geo.padding)
    np.testing.assert_array_equal(step.inputs, xp[np.ix_(step.rows, step.cols)])
    # taps in the padding are flagged and read 0
    for a, r in enumerate(step.rows):
        for b, c in enumerate(step.cols):
            outside = not (t <= r < t + x.shape[0] and l <= c < l + x.shape[1])
            assert step.in_padding[a, b] == outside
            if outside:
                assert step.inputs[a, b] == 0.0


def test_conv_step_full_kernel_spans_channels():
    rng = np.random.default_rng(3)
    x = rng.random((6, 6, 3), dtype=np.float32)
    k = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    ref = tf_conv(x, k, (2, 2), "same", (1, 1))
    step = conv.conv_step(x, k, (1, 2), stride=2, padding="same", channel=1)
    assert step.inputs.shape == (3, 3, 3)
    assert step.value == pytest.approx(float(ref[1, 2, 1]), rel=1e-5)


def test_conv_step_expression_by_hand():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    k = np.array([[1.0, 0.0], [-1.0, 0.5]], np.float32)
    step = conv.conv_step(x, k, (0, 0), bias=1.0)
    # 1*1 + (-1)*3 + 0.5*4 + 1 = 1 ; the zero weight is left out
    assert step.value == pytest.approx(1.0)
    assert step.expression() == "1.00×1.00 + (-1.00)×3.00 + 0.50×4.00 + 1.00 = 1.000"
    assert step.top_left == (0, 0) and step.extent == (2, 2)
    long = conv.conv_step(np.ones((11, 11)), np.ones((11, 11)), (0, 0)).expression(max_terms=6)
    assert "(115 more)" in long and long.endswith("= 121.000")


@settings(max_examples=15, deadline=None)
@given(conv_case(full_kernel=False))
def test_numpy_fallback_engine_equals_blas_engine(case):
    """Without scipy the engine falls back to numpy multiply-adds: same numbers."""
    x, k, stride, padding, dilation, geo = case
    fast = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    saved = conv._SAXPY
    conv._SAXPY = None
    try:
        slow = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
    finally:
        conv._SAXPY = saved
    np.testing.assert_allclose(slow, fast, rtol=RTOL, atol=ATOL)


def test_zero_kernel_and_large_image_shapes():
    x = np.random.default_rng(5).random((300, 257, 3), dtype=np.float32)
    assert not np.any(conv.conv2d(x, np.zeros((3, 3))))
    k = np.random.default_rng(6).standard_normal((5, 5, 3, 1)).astype(np.float32)
    out = conv.conv2d(x, k, stride=(2, 3), padding="same", dilation=1)
    ref = tf_conv(x, k, (2, 3), "same", (1, 1))
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-4)


def test_many_channels_and_filters_take_the_matrix_path():
    """C x F > 16 uses one tensordot per tap instead of per-plane correlations: same numbers as TF."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((13, 11, 4)).astype(np.float32)
    k = rng.standard_normal((3, 2, 4, 5)).astype(np.float32)
    for stride, padding, dilation in [((1, 1), "same", (1, 1)), ((2, 1), ((1, 0), (2, 1)), (1, 2)), ((2, 2), "valid", (2, 2))]:
        ours = conv.conv2d(x, k, stride=stride, padding=padding, dilation=dilation)
        np.testing.assert_allclose(ours, tf_conv(x, k, stride, padding, dilation), rtol=RTOL, atol=ATOL)
