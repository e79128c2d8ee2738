"""convexplorer.core.kernels against scikit-image, scipy and hand-worked values."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexplorer.core import kernels
from convexplorer.core.conv import conv2d
from convexplorer.core.errors import Cancelled, ShapeError


def centre_crop(a: np.ndarray, h: int, w: int) -> np.ndarray:
    assert a.shape[0] >= h and a.shape[1] >= w and (a.shape[0] - h) % 2 == 0
    y0, x0 = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
    return a[y0 : y0 + h, x0 : x0 + w]


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6).map(lambda r: 2 * r + 1),
    st.floats(0.02, 0.5),
    st.floats(0.0, math.pi),
    st.floats(0.8, 5.0),
    st.floats(0.5, 2.0),
    st.floats(-math.pi, math.pi),
)
def test_gabor_equals_skimage(size, frequency, theta, sigma, gamma, phase):
    from skimage.filters import gabor_kernel

    ours = kernels.gabor(size, frequency, theta, sigma, phase=phase, gamma=gamma)
    n_stds = (size + 2) / min(sigma, sigma / gamma)  # skimage's kernel is then at least as big as ours
    ref = gabor_kernel(frequency, theta=theta, sigma_x=sigma, sigma_y=sigma / gamma, n_stds=n_stds, offset=phase)
    ref = centre_crop(np.real(ref), size, size)
    assert ours.shape == (size, size)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_gabor_zero_mean():
    g = kernels.gabor(9, 0.1, 0.3, 2.0)
    z = kernels.gabor(9, 0.1, 0.3, 2.0, zero_mean=True)
    assert abs(float(z.sum())) < 1e-6 < abs(float(g.sum()))
    np.testing.assert_allclose(z, g - g.mean(), atol=1e-7)
    flat = np.full((12, 12), 0.7, np.float32)
    assert np.abs(conv2d(flat, z)).max() < 1e-6


def test_gabor_orientation_responds_to_matching_stripes():
    """theta = 0 answers vertical stripes (intensity varies along x) far more than horizontal ones."""
    f = 0.2
    x = np.arange(64)
    vertical = np.tile(np.cos(2 * np.pi * f * x), (64, 1)).astype(np.float32)
    g0 = kernels.gabor(11, f, 0.0, 2.5)
    resp_v = np.abs(conv2d(vertical, g0)).mean()
    resp_h = np.abs(conv2d(vertical.T.copy(), g0)).mean()
    assert resp_v > 20 * resp_h


def test_gabor_bank_shape_and_members():
    freqs, thetas = [0.1, 0.25], kernels.orientations(4)
    bank = kernels.gabor_bank(9, freqs, thetas, sigma=2.0)
    assert bank.shape == (2, 4, 9, 9)
    np.testing.assert_array_equal(bank[1, 2], kernels.gabor(9, 0.25, thetas[2], 2.0))
    zm = kernels.gabor_bank(9, freqs, thetas, sigma=2.0, zero_mean=True)
    np.testing.assert_allclose(zm.sum(axis=(2, 3)), 0.0, atol=1e-6)
    assert thetas == pytest.approx([0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])


def test_apply_bank_equals_single_convs_and_reports_progress():
    img = np.random.default_rng(0).random((20, 24)).astype(np.float32)
    bank = kernels.gabor_bank(5, [0.2, 0.3], kernels.orientations(3), sigma=1.5)
    calls = []
    maps = kernels.apply_bank(img[..., None], bank, progress=lambda d, t, m: calls.append((d, t)))
    assert maps.shape == (2, 3, 20, 24)
    np.testing.assert_allclose(maps[1, 0], conv2d(img, bank[1, 0], padding="same"), rtol=1e-6)
    assert calls[-1] == (6, 6) and len(calls) == 6
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        kernels.apply_bank(img, bank, cancel=stop)


def test_mosaic_layout():
    maps = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    m = kernels.mosaic(maps, gap=1)
    assert m.shape == (2 * 2 + 1, 3 * 2 + 2)
    np.testing.assert_array_equal(m[3:5, 6:8], maps[1, 2])
    assert np.isnan(m[2, 0]) and np.isnan(m[0, 2])


def test_gaussian_equals_scipy_impulse_response():
    from scipy.ndimage import gaussian_filter

    delta = np.zeros((5, 5))
    delta[2, 2] = 1.0
    ref = gaussian_filter(delta, sigma=1.0, mode="constant", radius=2)
    np.testing.assert_allclose(kernels.gaussian(5, 1.0), ref / ref.sum(), rtol=1e-5)
    assert kernels.preset("Gaussian blur 5x5").sum() == pytest.approx(1.0)


def test_sobel_equals_scipy_sobel():
    """scipy.ndimage.sobel (convolution, axis=1) equals our correlation kernel on an image."""
    from scipy.ndimage import sobel

    img = np.random.default_rng(2).random((12, 13))
    ours = conv2d(img, kernels.sobel("x"), padding="same")
    ref = sobel(img, axis=1, mode="constant")
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv2d(img, kernels.sobel("y"), padding="same"), sobel(img, axis=0, mode="constant"), rtol=1e-5, atol=1e-6)


def test_presets_by_hand():
    for name in kernels.PRESETS:
        k = kernels.preset(name)
        assert k.dtype == np.float32 and k.ndim == 2, name
        assert name in kernels.PRESET_NOTES
    # textbook sums: detectors sum to 0, blurs to 1, sharpen and emboss to 1
    for name in ["Horizontal line", "Vertical line", "Diagonal line \\", "Diagonal line /", "Horizontal edge",
                 "Vertical edge", "Diagonal edge", "Sobel x", "Sobel y", "Laplacian", "Laplacian (8 neighbours)",
                 "Vertical edge [1, -1]"]:
        assert kernels.preset(name).sum() == 0.0, name
    for name in ["Box blur 3x3", "Box blur 5x5", "Sharpen", "Emboss", "Identity"]:
        assert kernels.preset(name).sum() == pytest.approx(1.0), name
    np.testing.assert_array_equal(kernels.preset("Vertical line"), kernels.preset("Horizontal line").T)
    # the horizontal line detector fires on a one-pixel horizontal line: 2*3 - 0 = 6 at the line
    img = np.zeros((7, 7), np.float32)
    img[3] = 1.0
    out = conv2d(img, kernels.preset("Horizontal line"))
    np.testing.assert_array_equal(out[2], np.full(5, 6.0))
    np.testing.assert_array_equal(out[1], np.full(5, -3.0))
    with pytest.raises(ShapeError, match='unknown kernel preset "Blur"'):
        kernels.preset("Blur")


def test_parse_cell_and_kernel():
    assert kernels.parse_cell(" 2 ") == 2.0
    assert kernels.parse_cell("-0.5") == -0.5
    assert kernels.parse_cell("1/9") == pytest.approx(1 / 9)
    assert kernels.parse_cell("\u22121") == -1.0
    assert kernels.parse_cell("1e-2") == 0.01
    for bad, reason in [("", "empty"), ("abc", "not a number"), ("1/0", "division by zero"), ("inf", "not finite"), ("nan", "not finite")]:
        with pytest.raises(ValueError, match=reason):
            kernels.parse_cell(bad)
    k = kernels.parse_kernel([["1", "0", "-1"], ["2", "0", "-2"]])
    np.testing.assert_array_equal(k, [[1, 0, -1], [2, 0, -2]])
    with pytest.raises(ShapeError) as info:
        kernels.parse_kernel([["1", "x"], ["", "2"]])
    msg = str(info.value)
    assert 'row 1, column 2: "x" is not a number' in msg and "row 2, column 1: is empty" in msg
    with pytest.raises(ShapeError, match="at most 11x11"):
        kernels.parse_kernel([["0"] * 12])
    with pytest.raises(ShapeError, match="empty"):
        kernels.parse_kernel([])


def test_format_cell():
    assert kernels.format_cell(2.0) == "2"
    assert kernels.format_cell(-1.0) == "-1"
    assert kernels.format_cell(1 / 9) == "0.1111"
    assert kernels.parse_cell(kernels.format_cell(0.0625)) == 0.0625


def test_to_grayscale_matches_pillow():
    from PIL import Image

    rgb = (np.random.default_rng(4).random((8, 9, 3)) * 255).round().astype(np.uint8)
    ref = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)
    ours = kernels.to_grayscale(rgb.astype(np.float32))
    np.testing.assert_allclose(ours, ref, atol=1.0)  # Pillow rounds to integers
