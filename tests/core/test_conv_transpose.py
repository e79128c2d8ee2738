"""Transposed convolution and upsampling in convexplorer.core.conv against TensorFlow and Keras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convexplorer.core import conv
from convexplorer.core.arithmetic import conv_transpose_geometry, conv_transpose_output_length
from convexplorer.core.errors import ShapeError

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

RTOL = 1e-5
ATOL = 1e-5
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

output_paddings = st.one_of(st.none(), st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))


@st.composite
def transpose_case(draw, max_side: int = 9):
    """Input, a (kh, kw, out, in) kernel, stride 1-3, valid/same and an output padding smaller than the stride."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(st.sampled_from(["valid", "same"]))
    op = draw(output_paddings)
    pair = (op, op) if isinstance(op, int) else op
    assume(pair is None or (pair[0] < stride[0] and pair[1] < stride[1]))
    try:
        geo = conv_transpose_geometry((h, w), (kh, kw), stride, padding, op)
    except ShapeError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    k = rng.standard_normal((kh, kw, f, c)).astype(np.float32)
    return x, k, stride, padding, op, geo


def tf_transpose(x, k, stride, padding, geo):
    """tf.nn.conv2d_transpose on one H x W x C image, with Keras's output size."""
    shape = [1, geo.output_hw[0], geo.output_hw[1], k.shape[2]]
    return tf.nn.conv2d_transpose(x[None], k, shape, [1, stride[0], stride[1], 1], padding.upper()).numpy()[0]


# --- against TensorFlow and Keras ---------------------------------------------------------------
@SETTINGS
@given(transpose_case())
def test_conv2d_transpose_equals_tf_both_ways(case):
    x, k, stride, padding, op, geo = case
    if geo.tf_refuses:
        with pytest.raises(Exception):  # noqa: B017 - TF's error type depends on its build (oneDNN or not)
            tf_transpose(x, k, stride, padding, geo)
        ours = conv.conv2d_transpose(x, k, stride, padding, op)
        assert ours.shape == geo.output_hw + (k.shape[2],)  # computed by the definition all the same
        np.testing.assert_allclose(ours, conv.conv2d_transpose(x, k, stride, padding, op, method="scatter"), rtol=RTOL, atol=ATOL)
        return
    ref = tf_transpose(x, k, stride, padding, geo)
    for method in ("auto", "zeros", "scatter"):
        ours = conv.conv2d_transpose(x, k, stride, padding, op, method=method)
        assert ours.dtype == np.float32 and ours.shape == ref.shape == geo.output_hw + (k.shape[2],)
        np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=ATOL, err_msg=method)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transpose_case(max_side=6))
def test_conv2d_transpose_equals_keras_layer(case):
    """A Keras Conv2DTranspose holding the same kernel (stored as kh x kw x out x in) gives the same map."""
    x, k, stride, padding, op, geo = case
    assume(not geo.tf_refuses)
    layer = keras.layers.Conv2DTranspose(k.shape[2], k.shape[:2], strides=stride, padding=padding, output_padding=op, use_bias=False)
    layer.build((1,) + x.shape)
    assert tuple(layer.kernel.shape) == k.shape
    layer.kernel.assign(k)
    ref = np.asarray(layer(x[None]))[0]
    np.testing.assert_allclose(conv.conv2d_transpose(x, k, stride, padding, op), ref, rtol=RTOL, atol=ATOL)


@SETTINGS
@given(transpose_case(max_side=6))
def test_2d_kernel_applies_to_each_channel(case):
    x, k, stride, padding, op, geo = case
    k2 = k[:, :, 0, 0]
    ours = conv.conv2d_transpose(x, k2, stride, padding, op)
    assert ours.shape == geo.output_hw + (x.shape[2],)
    for ch in range(x.shape[2]):
        one = conv.conv2d_transpose(x[..., ch], k2[:, :, None, None], stride, padding, op)
        np.testing.assert_allclose(ours[..., ch], one[..., 0], rtol=RTOL, atol=ATOL)
    flat = conv.conv2d_transpose(x[..., 0], k2, stride, padding, op)
    assert flat.shape == geo.output_hw
    np.testing.assert_allclose(flat, ours[..., 0], rtol=RTOL, atol=ATOL)


def test_large_image_takes_the_fast_engine_and_equals_tf():
    rng = np.random.default_rng(11)
    x = rng.random((96, 80, 3), dtype=np.float32)
    k = rng.standard_normal((11, 11, 2, 3)).astype(np.float32)
    for stride, padding, op in [(1, "same", None), (2, "valid", 1), ((2, 3), "same", (1, 2))]:
        geo = conv_transpose_geometry(x.shape[:2], k.shape[:2], stride, padding, op)
        s = geo.stride
        ref = tf_transpose(x, k, s, padding, geo)
        for method in ("zeros", "scatter"):
            np.testing.assert_allclose(conv.conv2d_transpose(x, k, stride, padding, op, method=method), ref, rtol=RTOL, atol=1e-4)


# --- the size formula ------------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 11), st.integers(1, 4), st.sampled_from(["valid", "same"]),
    st.one_of(st.none(), st.integers(0, 3)),
)
def test_output_length_equals_keras(n, k, stride, padding, op):
    assume(op is None or op < stride)
    expected = keras.layers.Conv2DTranspose(1, k, strides=stride, padding=padding, output_padding=op).compute_output_shape(
        (1, n, n + 1, 2)
    )
    length = conv_transpose_output_length(n, k, stride, padding, op)
    assert length == expected[1]
    assert conv_transpose_output_length(n + 1, k, stride, padding, op) == expected[2]
    if length >= 1:
        geo = conv_transpose_geometry((n, n + 1), (k, k), stride, padding, op)
        assert geo.output_hw == tuple(expected[1:3])
        # the formula's own terms give the same number
        assert (n - 1) * stride - 2 * geo.pad[0] + k + geo.formula_output_padding[0] == length
        # and the zero-inserted, padded grid is exactly one kernel larger than the output
        assert geo.grid_hw[0] - k + 1 == length


def test_formula_text_by_hand():
    geo = conv_transpose_geometry((28, 20), (3, 4), 2, "same", 1)
    assert geo.output_hw == (56, 39)
    assert geo.formula(0) == "out = (28 − 1)·2 − 2·1 + 3 + 1 = 56"
    assert geo.formula(1) == "out = (20 − 1)·2 − 2·2 + 4 + 1 = 39"
    valid = conv_transpose_geometry((5, 5), (3, 3), 2, "valid")
    assert valid.formula(0) == "out = (5 − 1)·2 − 2·0 + 3 + 0 = 11"  # Keras's default: (n - 1)s + max(k, s)
    wide = conv_transpose_geometry((5, 5), (1, 1), 3, "valid")
    assert wide.formula(0) == "out = (5 − 1)·3 − 2·0 + 1 + 2 = 15"  # the stride's gap, filled
    assert conv_transpose_geometry((5, 5), (3, 3), 2, "same").formula(0) == "out = (5 − 1)·2 − 2·1 + 3 + 1 = 10"


# --- zero insertion, by hand -----------------------------------------------------------------------------------
def test_zero_insertion_by_hand():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    geo = conv_transpose_geometry((2, 2), (3, 3), 2, "valid")
    assert geo.grid_padding == ((2, 2), (2, 2))  # kernel - 1 zeros around
    grid = conv.zero_insert(x, geo)
    expected = np.zeros((7, 7), np.float32)
    expected[2, 2], expected[2, 4], expected[4, 2], expected[4, 4] = 1, 2, 3, 4
    np.testing.assert_array_equal(grid, expected)
    # a kernel with a single 1 in its corner copies the input into the output, stride apart
    k = np.zeros((3, 3), np.float32)
    k[0, 0] = 1.0
    out = conv.conv2d_transpose(x, k, 2, "valid")
    np.testing.assert_array_equal(out[::2, ::2][:2, :2], x)
    np.testing.assert_array_equal(conv.flip_kernel(k)[2, 2], 1.0)


# --- bad input --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 2, "valid", 2), "output padding must be smaller than the stride"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 1, "valid", 1), "vertical output padding 1 with stride 1"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 2, "same", (0, -1)), "cannot be negative"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 2, "same", "x"), "whole number or a pair"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 2, "full"), 'must be "valid" or "same"'),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 2, 1), 'must be "valid" or "same"'),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), 0), "stride must be at least 1"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4, 3)), np.ones((3, 3, 1, 2))), "expects 2 input channel"),
        (lambda: conv.conv2d_transpose(np.zeros((1, 1)), np.ones((2, 2)), 1, "same", 0), "output would be empty"),
        (lambda: conv.conv2d_transpose(np.zeros((4, 4)), np.ones((3, 3)), method="fft"), 'method must be "auto"'),
        (lambda: conv.conv2d_transpose(np.zeros((4,)), np.ones((3, 3))), "H x W or H x W x C"),
        (lambda: conv.conv_transpose_step(np.zeros((4, 4)), np.ones((3, 3)), (6, 0)), "outside the 6x6 output"),
        (lambda: conv.conv_transpose_step(np.zeros((4, 4)), np.ones((3, 3, 2, 1)), (0, 0), channel=2), "filter 2 does not exist"),
        (lambda: conv.upsample2d(np.zeros((4, 4)), 2, "bicubic"), 'interpolation must be "nearest" or "bilinear"'),
        (lambda: conv.upsample2d(np.zeros((4, 4)), 0), "upsampling size must be at least 1"),
    ],
)
def test_bad_input_gives_readable_error(call, words):
    with pytest.raises(ShapeError) as info:
        call()
    assert words in str(info.value)


def test_refused_combination_is_explained():
    geo = conv_transpose_geometry((5, 5), (4, 4), 2, "same", 0)
    assert geo.tf_refuses and geo.output_hw == (8, 8)
    assert "refuses an even kernel with 'same' padding" in conv.transpose_refusal(geo)
    assert conv.transpose_refusal(conv_transpose_geometry((5, 5), (4, 4), 2, "same", 1)) == ""
    assert conv.transpose_refusal(conv_transpose_geometry((5, 5), (4, 4), 2, "same")) == ""


# --- step-through ------------------------------------------------------------------------------------------------
@SETTINGS
@given(transpose_case(max_side=7), st.data())
def test_transpose_step_reproduces_each_output_pixel(case, data):
    x, k, stride, padding, op, geo = case
    full = conv.conv2d_transpose(x, k, stride, padding, op)
    i = data.draw(st.integers(0, geo.output_hw[0] - 1))
    j = data.draw(st.integers(0, geo.output_hw[1] - 1))
    f = data.draw(st.integers(0, k.shape[2] - 1))
    step = conv.conv_transpose_step(x, k, (i, j), stride, padding, op, bias=-0.5, channel=f)
    assert step.value == pytest.approx(float(full[i, j, f]) - 0.5, rel=1e-5, abs=1e-5)
    assert step.rows == tuple(range(i, i + k.shape[0])) and step.cols == tuple(range(j, j + k.shape[1]))
    grid = conv.zero_insert(x, geo)
    np.testing.assert_array_equal(step.inputs, grid[i : i + k.shape[0], j : j + k.shape[1]].reshape(step.inputs.shape))
    np.testing.assert_array_equal(step.weights, conv.flip_kernel(k)[..., f].reshape(step.weights.shape))
    # each tap is padding, an inserted zero, or a real input pixel: never two of them
    pad2, ins2 = step.in_padding.reshape(k.shape[:2] + (-1,))[..., 0], step.inserted.reshape(k.shape[:2] + (-1,))[..., 0]
    assert not np.any(pad2 & ins2)
    assert len(step.sources) == int(np.sum(~pad2 & ~ins2))
    for a, b, si, sj in step.sources:
        np.testing.assert_array_equal(step.inputs.reshape(k.shape[:2] + (-1,))[a, b], x[si, sj])
    # the output pixel is the sum over the input pixels it was made of
    by_sources = sum(float(x[si, sj] @ k[k.shape[0] - 1 - a, k.shape[1] - 1 - b, f]) for a, b, si, sj in step.sources)
    assert by_sources - 0.5 == pytest.approx(step.value, rel=1e-5, abs=1e-5)
    assert step.input_pixels == [(si, sj) for _, _, si, sj in step.sources]


def test_transpose_step_by_hand():
    """2x2 input, 3x3 kernel, stride 2, valid: output pixel (2, 2) sits on input pixel (0, 0) and its zeros."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    k = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    step = conv.conv_transpose_step(x, k, (2, 2), stride=2)
    assert step.rows == (2, 3, 4) and step.cols == (2, 3, 4)
    assert step.input_pixels == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert step.inserted.tolist() == [[False, True, False], [True, True, True], [False, True, False]]
    assert not step.in_padding.any()
    # flipped kernel corners 9, 7, 3, 1 meet the pixels 1, 2, 3, 4
    assert step.value == pytest.approx(9 * 1 + 7 * 2 + 3 * 3 + 1 * 4)
    assert step.expression() == "9.00×1.00 + 7.00×2.00 + 3.00×3.00 + 1.00×4.00 = 36.000"  # the zeros add nothing
    corner = conv.conv_transpose_step(x, k, (0, 0), stride=2)
    assert corner.input_pixels == [(0, 0)] and int(corner.in_padding.sum()) == 8  # the 2 rows and columns of padding


# --- upsampling ------------------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
    st.sampled_from(["nearest", "bilinear"]), st.integers(0, 2**31 - 1),
)
def test_upsample2d_equals_keras(h, w, c, sy, sx, interpolation, seed):
    x = np.random.default_rng(seed).standard_normal((h, w, c)).astype(np.float32)
    ref = np.asarray(keras.layers.UpSampling2D((sy, sx), interpolation=interpolation)(x[None]))[0]
    ours = conv.upsample2d(x, (sy, sx), interpolation)
    assert ours.dtype == np.float32 and ours.shape == ref.shape == (h * sy, w * sx, c)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-6)
    flat = conv.upsample2d(x[..., 0], (sy, sx), interpolation)
    np.testing.assert_array_equal(flat, ours[..., 0])


def test_bilinear_by_hand_uses_half_pixel_centres():
    x = np.array([[0.0, 1.0]], np.float32)
    out = conv.upsample2d(x, (1, 2), "bilinear")
    # output pixel i samples the input at (i + 0.5) / 2 - 0.5: -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    np.testing.assert_allclose(out, [[0.0, 0.25, 0.75, 1.0]])
    np.testing.assert_array_equal(conv.upsample2d(x, (1, 2), "nearest"), [[0.0, 0.0, 1.0, 1.0]])
    lo, hi, wt = conv.bilinear_taps(2, 2)
    assert lo.tolist() == [0, 0, 0, 1] and hi.tolist() == [0, 1, 1, 1]
    np.testing.assert_allclose(wt, [0.75, 0.25, 0.75, 0.25])


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4), st.sampled_from(["nearest", "bilinear"]), st.data())
def test_upsample_sources_rebuild_each_output_pixel(h, w, sy, sx, interpolation, data):
    x = np.random.default_rng(h * 31 + w).standard_normal((h, w)).astype(np.float32)
    out = conv.upsample2d(x, (sy, sx), interpolation)
    i, j = data.draw(st.integers(0, h * sy - 1)), data.draw(st.integers(0, w * sx - 1))
    sources = conv.upsample_sources((h, w), (sy, sx), (i, j), interpolation)
    assert sum(wt for _, _, wt in sources) == pytest.approx(1.0)
    assert len(sources) <= (1 if interpolation == "nearest" else 4)
    assert sum(wt * float(x[r, c]) for r, c, wt in sources) == pytest.approx(float(out[i, j]), rel=1e-5, abs=1e-5)
    with pytest.raises(ShapeError, match="outside"):
        conv.upsample_sources((h, w), (sy, sx), (h * sy, 0), interpolation)
