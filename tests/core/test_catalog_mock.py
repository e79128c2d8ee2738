"""Catalog sets opened through our public API under ``tfds.testing.mock_data``: real features, fake records, offline.

``tfds.testing.mock_data`` replaces ``DatasetBuilder.as_data_source`` (and ``download_and_prepare``) so that a
builder yields deterministic random examples of its *real* features without downloading anything. Our
``open_catalog_dataset`` first looks for a prepared folder (``name/version/dataset_info.json``) and opens it
with ``tfds.builder_from_directory``; so each test writes the metadata tfds' own builder code describes (features,
class names, one split of N examples, ArrayRecord format; no records) and points ``mock_data`` at that folder
(``MockPolicy.USE_FILES``). Everything from there on is our code: prepared-folder lookup, feature checks, label
reading, image decoding. The reference for every example is tfds itself, decoding the same mocked records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from tensorflow_datasets.testing import mocking  # noqa: E402

from convexplorer.core import datasets as D  # noqa: E402

N = 9


def _getitems_unbound(*args, generator, serialized: bool = False):
    """tfds 4.9.10's mock sets ``__getitems__`` as a plain attribute of a MagicMock, so it is called without
    ``self`` (``_getitems() missing ... 'record_keys'``); ``__getitem__`` is bound. This takes the keys either way."""
    assert not serialized, "our reader asks for deserialized records"
    return [generator[int(k)] for k in args[-1]]


@pytest.fixture
def mocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function: ``mocked(name)`` -> (the opened CatalogDataset, the tfds builder reading the same mock)."""
    monkeypatch.setattr(mocking, "_getitems", _getitems_unbound)
    stack = []

    def open_(name: str):
        builder = tfds.builder(name, data_dir=str(tmp_path), file_format="array_record")
        template = tfds.core.ShardedFileTemplate(data_dir=builder.data_dir, dataset_name=builder.name, split="train",
                                                 filetype_suffix="array_record")
        builder.info.set_splits(tfds.core.SplitDict([
            tfds.core.SplitInfo(name="train", shard_lengths=[N], num_bytes=0, filename_template=template)]))
        Path(builder.data_dir).mkdir(parents=True, exist_ok=True)
        builder.info.write_to_directory(builder.data_dir)
        ctx = tfds.testing.mock_data(num_examples=N, policy=tfds.testing.MockPolicy.USE_FILES,
                                     data_dir=builder.data_dir)
        ctx.__enter__()
        stack.append(ctx)
        assert D.is_prepared(name, tmp_path)  # our lookup finds the folder: nothing to download
        ds = D.open_catalog_dataset(name, tmp_path)
        return ds, tfds.builder_from_directory(builder.data_dir)

    yield open_
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


def test_tf_flowers_under_mock_data_follows_the_real_features(mocked):
    ds, reference = mocked("tf_flowers")
    source = reference.as_data_source(split="train")  # tfds decodes the same mocked records
    features = reference.info.features
    assert len(ds) == N and ds.split_names == ["train"]
    assert list(ds.class_names) == list(features["label"].names)
    assert ds.class_names[:2] == ["dandelion", "daisy"] and len(ds.class_names) == 5
    assert ds.variable_size  # tf_flowers' images have no fixed size
    assert any("validation is cut from train" in n for n in ds.notes)
    labels = [int(source[j]["label"]) for j in range(N)]
    assert list(ds.labels()) == labels and all(0 <= y < 5 for y in labels)
    assert len(set(labels)) > 1  # random labels, not a constant that would hide an offset mistake
    for j in range(N):
        expected = np.asarray(source[j]["image"])
        got = ds.native_image(j)
        assert got.shape == expected.shape and got.dtype == np.float32  # stored size, 3 channels
        assert got.min() >= 0.0 and got.max() <= 1.0
    assert ds.thumbnail(0, size=32).shape[2] == 3 and max(ds.thumbnail(0, size=32).shape[:2]) <= 32
    assert ds.describe(1).startswith("train #1 · ")


def test_mnist_under_mock_data_decodes_to_tfds_own_pixels(mocked):
    ds, reference = mocked("mnist")
    source = reference.as_data_source(split="train")
    assert len(ds) == N and list(ds.class_names) == [str(i) for i in range(10)]
    assert not ds.variable_size and ds.image_shape == (28, 28, 1)
    for j in range(N):
        expected = np.asarray(source[j]["image"], np.float32) / 255.0  # PNG: lossless, so exact
        np.testing.assert_array_equal(ds.native_image(j), expected)
        assert int(ds.labels()[j]) == int(source[j]["label"])
