"""convexplorer.core.arithmetic against TensorFlow/Keras shapes and hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexplorer.core import arithmetic as ar
from convexplorer.core.errors import ShapeError

tf = pytest.importorskip("tensorflow")


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 20), st.integers(1, 20), st.integers(1, 6), st.integers(1, 6),
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
    st.sampled_from(["valid", "same"]),
)
def test_conv_geometry_output_shape_equals_tf(h, w, kh, kw, sy, sx, dy, dx, padding):
    try:
        geo = ar.conv_geometry((h, w), (kh, kw), (sy, sx), padding, (dy, dx))
    except ShapeError as exc:
        assert padding == "valid" and "kernel larger than padded input" in str(exc)
        assert dy * (kh - 1) + 1 > h or dx * (kw - 1) + 1 > w
        return
    y = tf.nn.conv2d(np.zeros((1, h, w, 1), np.float32), np.zeros((kh, kw, 1, 1), np.float32),
                     [1, sy, sx, 1], padding.upper(), dilations=[1, dy, dx, 1])
    assert geo.output_hw == tuple(y.shape[1:3])
    if padding == "same":
        assert geo.output_hw == (-(-h // sy), -(-w // sx))


def test_same_padding_puts_extra_pixel_after_like_tf():
    """Hand-checked against TF: a ramp convolved with a one-hot kernel shows where the padding went."""
    x = np.arange(1, 7, dtype=np.float32).reshape(1, 1, 6, 1)  # width 6, kernel 4, stride 1: total pad 3
    k = np.zeros((1, 4, 1, 1), np.float32)
    k[0, 0] = 1.0  # picks the window's first pixel
    y = tf.nn.conv2d(x, k, 1, "SAME").numpy().ravel()
    (_, _), (left, right) = ar.resolve_padding("same", (1, 6), (1, 4))
    assert (left, right) == (1, 2)
    assert y[0] == 0.0 and y[1] == 1.0  # one zero of padding on the left
    assert ar.same_padding(6, 4) == (1, 2)
    assert ar.same_padding(7, 3, stride=2) == (1, 1)
    assert ar.same_padding(6, 3, stride=2) == (0, 1)


def test_formula_text():
    geo = ar.conv_geometry((28, 28), (5, 5), stride=2, padding=1, dilation=1)
    assert geo.output_hw == (13, 13)
    assert geo.formula(0) == "out = floor((28 + 1 + 1 - 1*(5-1) - 1) / 2) + 1 = 13"
    assert geo.padded_hw == (30, 30)


def test_receptive_field_by_hand():
    # two 3x3 convs: 5; three: 7; a 2x2/2 pool then a 3x3 conv: 2 + 2*2 = 6, jump 2
    assert ar.receptive_field([(3, 1, 1), (3, 1, 1)]) == (5, 1)
    assert ar.receptive_field([(3, 1, 1)] * 3) == (7, 1)
    assert ar.receptive_field([(2, 2, 1), (3, 1, 1)]) == (6, 2)
    assert ar.receptive_field([(3, 1, 2)]) == (5, 1)


def test_params_equal_keras_count_params():
    keras = pytest.importorskip("keras")
    conv = keras.layers.Conv2D(16, (3, 5), use_bias=True)
    conv.build((None, 10, 10, 3))
    assert ar.conv_params((3, 5), 3, 16) == conv.count_params()
    dense = keras.layers.Dense(10, use_bias=False)
    dense.build((None, 64))
    assert ar.dense_params(64, 10, use_bias=False) == dense.count_params()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(input_hw=(5, 5), kernel_hw=(7, 7)), "kernel larger than padded input: 7x7 on 5x5"),
        (dict(input_hw=(5, 5), kernel_hw=(3, 3), dilation=3), "(dilated to 7x7) on 5x5"),
        (dict(input_hw=(5, 5), kernel_hw=(3, 3), stride=0), "stride must be at least 1, got 0x0"),
        (dict(input_hw=(5, 5), kernel_hw=(3, 3), stride=(1, -1)), "stride must be at least 1, got 1x-1"),
        (dict(input_hw=(0, 5), kernel_hw=(3, 3)), "at least 1x1"),
        (dict(input_hw=(5, 5), kernel_hw=(0, 3)), "kernel size must be at least 1"),
        (dict(input_hw=(5, 5), kernel_hw=(3, 3), stride="two"), "stride must be a whole number"),
        (dict(input_hw=(5, 5), kernel_hw=(3, 3), padding=((1, 2),)), "padding must be ((top, bottom), (left, right))"),
    ],
)
def test_bad_geometry_messages(kwargs, words):
    with pytest.raises(ShapeError) as info:
        ar.conv_geometry(**kwargs)
    assert words in str(info.value)


def test_explicit_padding_geometry_equals_tf():
    rng = np.random.default_rng(0)
    for _ in range(10):
        h, w = rng.integers(1, 12, 2)
        t, b, l, r = rng.integers(0, 4, 4)
        kh, kw = rng.integers(1, 5, 2)
        s = tuple(int(v) for v in rng.integers(1, 3, 2))
        pads = ((int(t), int(b)), (int(l), int(r)))
        try:
            geo = ar.conv_geometry((int(h), int(w)), (int(kh), int(kw)), s, pads)
        except ShapeError:
            assume_fail = h + t + b < kh or w + l + r < kw
            assert assume_fail
            continue
        y = tf.nn.conv2d(np.zeros((1, h, w, 1), np.float32), np.zeros((kh, kw, 1, 1), np.float32),
                         [1, s[0], s[1], 1], [[0, 0], [t, b], [l, r], [0, 0]])
        assert geo.output_hw == tuple(y.shape[1:3])
        assert geo.padding == pads
