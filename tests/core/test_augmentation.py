"""core.datasets.augmentation: the spec, the Keras layers it builds, preview == training."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core.datasets import AugmentationSpec, ShapesDataset, augment_preview, build_augmentation
from convexplorer.core.errors import DatasetError


def _image(h=16, w=12):
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 0.8, (h, w, 3)).astype(np.float32)


def test_textbook_defaults():
    t = AugmentationSpec.textbook()
    assert (t.rotation, t.width_shift, t.height_shift, t.shear, t.zoom) == (40, 0.2, 0.2, 0.2, 0.2)
    assert t.horizontal_flip and not t.vertical_flip and t.fill_mode == "nearest"
    assert not t.is_identity() and AugmentationSpec().is_identity()
    assert AugmentationSpec.from_dict(t.to_dict()) == t
    assert "rotation ±40°" in t.describe() and t.describe().endswith("fill nearest")


def test_layers_carry_the_settings():
    import keras

    model = build_augmentation(AugmentationSpec.textbook(), seed=1)
    by_name = {layer.name: layer for layer in model.layers}
    assert isinstance(by_name["rotation"], keras.layers.RandomRotation)
    cfg = by_name["rotation"].get_config()
    assert cfg["factor"] in (40 / 360, (-40 / 360, 40 / 360), [-40 / 360, 40 / 360]) or np.allclose(np.abs(cfg["factor"]), 40 / 360)
    assert cfg["fill_mode"] == "nearest"
    shift = by_name["shift"].get_config()
    assert np.allclose(np.abs(shift["height_factor"]), 0.2) and np.allclose(np.abs(shift["width_factor"]), 0.2)
    assert isinstance(by_name["shear"], keras.layers.RandomShear)
    assert isinstance(by_name["zoom"], keras.layers.RandomZoom)
    assert by_name["flip"].get_config()["mode"] == "horizontal"
    assert "brightness" not in by_name
    assert build_augmentation(AugmentationSpec()) is None


def test_flip_preview_is_original_or_mirror():
    img = _image()
    out = augment_preview(img, AugmentationSpec(horizontal_flip=True), n=16, seed=0)
    assert out.shape == (16, 16, 12, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], img)
    mirrored = 0
    for v in out[1:]:
        if np.allclose(v, img[:, ::-1], atol=1e-6):
            mirrored += 1
        else:
            np.testing.assert_allclose(v, img, atol=1e-6)
    assert 0 < mirrored < 15


def test_brightness_adds_one_offset_per_variant():
    img = _image()
    out = augment_preview(img, AugmentationSpec(brightness=0.2), n=6, seed=3)
    offsets = []
    for v in out[1:]:
        diff = v - img
        assert np.ptp(diff) < 1e-5  # uniform shift (nothing clipped: image is in 0.2..0.8)
        assert abs(diff.mean()) <= 0.2 + 1e-6
        offsets.append(diff.mean())
    assert len(set(np.round(offsets, 4))) > 1


def test_rotation_variants_differ_and_keep_range():
    img = ShapesDataset(n=1, size=32, seed=0).image(0)
    out = augment_preview(img, AugmentationSpec(rotation=40, fill_mode="reflect"), n=5, seed=0)
    assert out.min() >= 0 and out.max() <= 1
    assert all(not np.allclose(out[k], img) for k in range(1, 5))
    assert not np.allclose(out[1], out[2])


def test_constant_fill_uses_fill_value():
    img = np.full((16, 16, 1), 0.5, np.float32)
    out = augment_preview(img, AugmentationSpec(width_shift=0.45, fill_mode="constant", fill_value=1.0), n=8, seed=0)
    # Shifted variants show the white fill somewhere, and only 0.5 or 1.0 (or a blend) anywhere.
    assert any(np.isclose(v, 1.0).any() for v in out[1:])
    assert out.min() >= 0.5 - 1e-6


def test_training_pipeline_applies_the_same_layers():
    ds = ShapesDataset(n=24, size=16, seed=0).with_split(0.0, 0.0)
    idx = ds.subset_indices("train")
    plain = np.stack([ds.image(i) for i in idx])
    aug = ds.to_tf_dataset("train", batch_size=24, shuffle=False, augmentation=AugmentationSpec(vertical_flip=True), seed=2)
    x = next(iter(aug))[0].numpy()
    flipped = 0
    for a, p in zip(x, plain):
        if np.allclose(a, p[::-1], atol=1e-6) and not np.allclose(a, p, atol=1e-6):
            flipped += 1
        else:
            np.testing.assert_allclose(a, p, atol=1e-6)
    assert 0 < flipped < 24
    # Textbook augmentation keeps shapes, dtype and range.
    x = next(iter(ds.to_tf_dataset("train", batch_size=8, augmentation=AugmentationSpec.textbook())))[0].numpy()
    assert x.shape == (8, 16, 16, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1


def test_validation_messages():
    with pytest.raises(DatasetError, match="rotation must be 0 to 180 degrees, received 270"):
        AugmentationSpec(rotation=270).validate()
    with pytest.raises(DatasetError, match="zoom must be between 0 and 1, received 1.5"):
        build_augmentation(AugmentationSpec(zoom=1.5))
    with pytest.raises(DatasetError, match="fill mode must be one of"):
        AugmentationSpec(fill_mode="mirror").validate()
    with pytest.raises(DatasetError, match="expected one image"):
        augment_preview(np.zeros((2, 4, 4, 3)), AugmentationSpec.textbook())


def test_dataset_carries_its_augmentation_to_the_train_subset_only():
    base = ShapesDataset(n=16, size=16, seed=0).with_split(0.5, 0.0)
    ds = base.with_augmentation(AugmentationSpec(vertical_flip=True))
    assert base.augmentation is None and ds.augmentation == AugmentationSpec(vertical_flip=True)
    assert ds.with_augmentation(AugmentationSpec()).augmentation is None
    tr = ds.subset_indices("train")
    plain = np.stack([ds.image(i) for i in tr])
    x = next(iter(ds.to_tf_dataset("train", batch_size=16, shuffle=False, seed=1)))[0].numpy()
    changed = sum(not np.allclose(a, p, atol=1e-6) for a, p in zip(x, plain))
    assert changed > 0
    off = next(iter(ds.to_tf_dataset("train", batch_size=16, shuffle=False, augmentation=False)))[0].numpy()
    np.testing.assert_allclose(off, plain, atol=1e-6)
    va = ds.subset_indices("validation")
    xv = next(iter(ds.to_tf_dataset("validation", batch_size=16, shuffle=False)))[0].numpy()
    np.testing.assert_allclose(xv, np.stack([ds.image(i) for i in va]), atol=1e-6)
