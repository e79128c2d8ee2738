"""The stride-1 matrix-product engine against the per-tap engine it replaces, TensorFlow and itself on two threads."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convexplorer.core import conv, conv_engine
from convexplorer.core.arithmetic import conv_geometry
from convexplorer.core.errors import ShapeError

tf = pytest.importorskip("tensorflow")

RTOL = 1e-5
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def per_tap(x, k, padding, dilation):
    """The same convolution through the per-tap engine (the path before the matrix-product engine)."""
    saved = conv._GEMM_ENABLED
    conv._GEMM_ENABLED = False
    try:
        return conv.conv2d(x, k, stride=1, padding=padding, dilation=dilation)
    finally:
        conv._GEMM_ENABLED = saved


def tolerance(ref: np.ndarray) -> float:
    """Absolute tolerance for float32 sums of up to 121 x 3 terms in another order."""
    return 2e-6 * max(1.0, float(np.abs(ref).max())) * 10


@st.composite
def stride1_case(draw):
    """An image, a kernel up to 11x11 (2-D per channel, or kh x kw x C x F), padding and dilation that fit."""
    h, w, c = draw(st.integers(1, 30)), draw(st.integers(1, 30)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 11)), draw(st.integers(1, 11))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.tuples(st.tuples(st.integers(0, 6), st.integers(0, 6)), st.tuples(st.integers(0, 6), st.integers(0, 6))),
        )
    )
    try:
        geo = conv_geometry((h, w), (kh, kw), 1, padding, dilation)
    except ShapeError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal((h, w, c)).astype(np.float32)
    full = draw(st.booleans())
    f = draw(st.integers(1, 3))
    k = rng.standard_normal((kh, kw, c, f) if full else (kh, kw)).astype(np.float32)
    return x, k, padding, dilation, geo


@SETTINGS
@given(stride1_case())
def test_matrix_engine_equals_per_tap_engine_and_tf(case):
    x, k, padding, dilation, geo = case
    fast = conv.conv2d(x, k, stride=1, padding=padding, dilation=dilation)
    slow = per_tap(x, k, padding, dilation)
    assert fast.dtype == np.float32 and fast.shape == slow.shape
    np.testing.assert_allclose(fast, slow, rtol=RTOL, atol=tolerance(slow))
    k4 = k if k.ndim == 4 else None
    if k4 is not None:
        (t, b), (l, r) = geo.padding
        ref = tf.nn.conv2d(x[None], k4, 1, [[0, 0], [t, b], [l, r], [0, 0]], dilations=list(dilation)).numpy()[0]
        np.testing.assert_allclose(fast, ref, rtol=RTOL, atol=tolerance(ref))


@SETTINGS
@given(stride1_case())
def test_engine_on_two_threads_equals_one(case):
    x, k, _, dilation, geo = case
    per_channel = k.ndim == 2
    one = conv_engine.correlate(x, k, geo.padding, dilation, per_channel, workers=1)
    saved = conv_engine._PARALLEL_MIN_MACS
    conv_engine._PARALLEL_MIN_MACS = 0  # small cases too: the split itself is what is tested
    try:
        two = conv_engine.correlate(x, k, geo.padding, dilation, per_channel, workers=2)
    finally:
        conv_engine._PARALLEL_MIN_MACS = saved
    assert (one is None) == (two is None)
    if one is not None:
        np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("size", [3, 5, 7, 9, 11])
def test_playground_sized_image_each_kernel_size(size):
    """512x512x3, every odd kernel size up to 11x11, 'same' padding: the engine (on two threads) equals TF."""
    rng = np.random.default_rng(size)
    x = rng.random((512, 512, 3), dtype=np.float32)
    k = rng.standard_normal((size, size)).astype(np.float32)
    ours = conv.conv2d(x, k, padding="same")
    planes = np.transpose(x, (2, 0, 1))[..., None]
    ref = tf.nn.conv2d(planes, k[:, :, None, None], 1, "SAME").numpy()[..., 0].transpose(1, 2, 0)
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=tolerance(ref))
    summed = conv.conv2d(x, np.repeat(k[:, :, None, None], 3, axis=2), padding="same")
    np.testing.assert_allclose(summed[..., 0], ref.sum(axis=2), rtol=RTOL, atol=3 * tolerance(ref))


def test_blas_products_stay_under_openblas_threading_threshold():
    """Every matrix product is small enough that OpenBLAS keeps it on the calling thread."""
    x = np.zeros((64, 512, 3), np.float32)
    for kh, kw, dy, dx in [(11, 11, 1, 1), (3, 3, 1, 1), (11, 11, 3, 3), (1, 11, 1, 2)]:
        k = np.ones((kh, kw, 1, 1), np.float32)
        padded = np.zeros((1, 80, 512 * 3), np.float32)
        plan = conv_engine._Plan(padded, k, conv_engine._block_rows(kh, dy), dy, dx * 3, (512 - dx * (kw - 1)) * 3)
        m, kk = plan.t.shape[2], plan.t.shape[3]
        assert plan.chunk >= conv_engine._MIN_CHUNK
        assert m * kk * (plan.chunk + plan.halo) <= conv_engine._BLAS_SINGLE_THREAD_MNK
    assert conv.conv2d(x, np.ones((3, 3))).shape == (62, 510, 3)


def test_error_on_the_second_thread_reaches_the_caller():
    ran = []

    def boom():
        raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        conv_engine._two_threads(lambda: ran.append(1), boom)
    assert ran == [1]
