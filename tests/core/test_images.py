"""Opening images: every bad file gets a clear message, every odd mode the right conversion."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convexplorer.core import images
from convexplorer.core.errors import ImageError
from tests.corpus import awkward_images, bad_images, photo

EXPECTED_MESSAGES = {
    "zero_bytes.png": "is empty (0 bytes)",
    "truncated.png": "damaged or truncated",
    "truncated.jpg": "damaged or truncated",
    "corrupted.png": "",
    "text_named.png": "not in a format Pillow can read",
    "bomb.png": "image too large",
    "garbage.jpg": "not in a format Pillow can read",
    "folder_named.jpg": "is a folder",
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return bad_images(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    return awkward_images(tmp_path_factory.mktemp("awkward"))


@pytest.mark.parametrize("name", sorted(EXPECTED_MESSAGES))
def test_bad_files_are_refused_with_a_clear_message(bad, name):
    with pytest.raises(ImageError) as info:
        images.load_image(bad[name])
    message = str(info.value)
    assert name in message or "image too large" in message
    assert EXPECTED_MESSAGES[name] in message
    assert "Traceback" not in message


def test_missing_file():
    with pytest.raises(ImageError, match="file not found"):
        images.load_image("/no/such/picture.png")


def test_rgb_values_match_pillow(tmp_path):
    p = tmp_path / "photo.png"
    photo().save(p)
    arr = images.load_image(p)
    ref = np.asarray(Image.open(p), np.float32) / 255
    assert arr.dtype == np.float32 and arr.shape == (48, 48, 3)
    np.testing.assert_allclose(arr, ref)


def test_sixteen_bit_is_rescaled_to_its_full_range(awkward):
    arr = images.load_image(awkward["sixteen_bit.png"], mode="grayscale")
    assert arr.shape == (48, 48, 1)
    assert arr.min() == 0.0 and arr.max() == 1.0
    # Monotonic like the source ramp.
    flat = arr.ravel()
    assert np.all(np.diff(flat) >= 0)


def test_alpha_is_composited_on_white(awkward):
    arr = images.load_image(awkward["alpha.png"])
    np.testing.assert_allclose(arr[:, :24], 1.0)  # fully transparent -> white
    ref = np.asarray(photo(), np.float32) / 255
    np.testing.assert_allclose(arr[:, 24:], ref[:, 24:], atol=1 / 255)


@pytest.mark.parametrize("name", ["palette.png", "cmyk.jpg", "one_pixel.png", "grey.png", "la.png"])
def test_odd_modes_become_rgb(awkward, name):
    arr = images.load_image(awkward[name])
    assert arr.ndim == 3 and arr.shape[-1] == 3
    assert arr.dtype == np.float32
    assert 0.0 <= arr.min() and arr.max() <= 1.0


def test_cmyk_colours_survive(awkward):
    arr = images.load_image(awkward["cmyk.jpg"])
    ref = np.asarray(photo(), np.float32) / 255
    assert np.abs(arr - ref).mean() < 0.05


def test_exif_orientation_is_applied(tmp_path):
    img = photo()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    p = tmp_path / "rotated.jpg"
    img.crop((0, 0, 48, 24)).save(p, exif=exif, quality=95)
    arr = images.load_image(p)
    assert arr.shape[:2] == (48, 24)


def test_resize_stretch_and_letterbox():
    img = np.ones((10, 20, 3), np.float32) * 0.5
    assert images.resize(img, (8, 8)).shape == (8, 8, 3)
    boxed = images.resize(np.pad(img, ((0, 0), (0, 0), (0, 0))), (20, 20), keep_aspect=True)
    assert boxed.shape == (20, 20, 3)
    np.testing.assert_allclose(boxed, 0.5, atol=1e-6)
    with pytest.raises(ImageError):
        images.resize(img, (0, 5))


def test_save_is_atomic_and_round_trips(tmp_path):
    img = np.random.default_rng(0).random((12, 9, 3)).astype(np.float32)
    p = tmp_path / "out.png"
    images.save_image(img, p)
    back = images.load_image(p)
    np.testing.assert_allclose(back, images.to_uint8(img) / 255, atol=1e-6)
    assert not list(tmp_path.glob("*.part"))
