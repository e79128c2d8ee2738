"""core.datasets.catalog and export: the shipped snapshot, preparing with tfds (no network), reading, errors, export."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

tfds = pytest.importorskip("tensorflow_datasets")

from convexplorer.core import datasets as D  # noqa: E402
from convexplorer.core.datasets import catalog  # noqa: E402
from convexplorer.core.datasets.base import TEST, VALIDATION  # noqa: E402
from convexplorer.core.datasets.export import export_class_folders  # noqa: E402
from convexplorer.core.errors import Cancelled, DatasetError, DownloadError  # noqa: E402
from tests.core import catalog_builders  # noqa: E402,F401 - registers the tiny builders with tfds

COURSE_SETS = ("tf_flowers", "svhn_cropped", "cats_vs_dogs", "cifar100", "rock_paper_scissors", "oxford_iiit_pet",
               "eurosat", "food101", "beans", "mnist", "fashion_mnist", "cifar10")


# --- the snapshot ------------------------------------------------------------------------
def test_snapshot_lists_the_course_sets_with_their_facts():
    entries = {e.name: e for e in D.catalog_entries()}
    assert set(COURSE_SETS) <= set(entries)
    assert len(entries) >= 60  # every image-classification builder of tfds, not only the course's
    flowers = entries["tf_flowers"]
    assert flowers.num_examples == 3670 and flowers.splits == {"train": 3670}
    assert flowers.num_classes == 5 and flowers.download_size == 228_813_984
    assert flowers.image_shape[:2] == (None, None) and flowers.size_text() == "varies (RGB)"
    assert "flowers" in flowers.description.lower() and flowers.citation and flowers.homepage
    assert entries["mnist"].image_shape == (28, 28, 1) and entries["mnist"].splits == {"train": 60000, "test": 10000}
    assert entries["beans"].splits == {"train": 1034, "validation": 133, "test": 128}
    assert entries["eurosat"].config == "rgb" and entries["eurosat"].builder_name == "eurosat/rgb"
    # Class names agree with tfds' own builder code (the independent reference).
    for name in ("tf_flowers", "cifar100", "beans"):
        assert list(entries[name].class_names) == list(tfds.builder(name).info.features["label"].names)
    snap = catalog.load_snapshot()
    assert snap.tfds_version and "dataset_info" in snap.source
    assert "snapshot of" in snap.age_text() and snap.age_days() >= 0
    assert [e.name for e in catalog.search_catalog("images of flowers")][:1] == ["tf_flowers"]
    assert {e.name for e in catalog.search_catalog("sunflowers")} >= {"tf_flowers"}


def test_listing_is_offline_and_imports_neither_tensorflow_nor_tfds():
    code = ("import sys, convexplorer, convexplorer.core.datasets as d; n = len(d.catalog_entries()); "
            "print(n, 'tensorflow' in sys.modules, 'tensorflow_datasets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2], check=True).stdout.split()
    assert int(out[0]) >= 60 and out[1:] == ["False", "False"]


# --- preparing and reading a tiny set ---------------------------------------------------------
def _tfds_reference(folder: Path, split: str, j: int) -> tuple[np.ndarray, int]:
    """Sample ``j`` of ``split`` decoded by tfds itself."""
    ex = tfds.builder_from_directory(str(folder)).as_data_source(split=split)[j]
    return np.asarray(ex["image"]), int(ex["label"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    messages: list[tuple[int, int, str]] = []
    ds = D.open_catalog_dataset("tiny_colours", data_dir, progress=lambda d, t, m: messages.append((d, t, m)))
    return ds, data_dir, messages


def test_a_prepared_set_has_its_own_splits_labels_and_pixels(tiny):
    ds, data_dir, messages = tiny
    assert any("Generating" in m for _d, _t, m in messages) and any(t > 0 for _d, t, _m in messages)
    assert len(ds) == 39 and ds.split_names == ["train", "test"] and ds.class_names == catalog_builders.TINY_CLASSES
    assert any("extra" in n for n in ds.notes) and any("validation is cut from train" in n for n in ds.notes)
    assert D.is_prepared("tiny_colours", data_dir)
    test = ds.subset_indices("test")
    assert len(test) == 9 and ds.has_fixed("test") and not ds.has_fixed("validation")
    assert len(ds.subset_indices("validation")) == 6 and len(ds.subset_indices("train")) == 24
    assert np.bincount(ds.labels(), minlength=3).tolist() == ds.class_counts().tolist() == [13, 13, 13]
    # Every sample equals what tfds decodes for the same record (PNG: exact).
    for i in (0, 7, 29, 30, 38):
        split, j = ("train", i) if i < 30 else ("test", i - 30)
        ref, ref_label = _tfds_reference(ds.folder, split, j)
        np.testing.assert_array_equal(np.round(ds.native_image(i) * 255).astype(np.uint8), ref)
        assert ds.label(i) == ref_label
        # and it is one of the images the builder wrote, with the colour of its class
        assert int(np.argmax(ref.reshape(-1, 3).mean(0))) == ds.label(i)
    thumb = ds.thumbnail(3, size=16)
    assert thumb.dtype == np.uint8 and max(thumb.shape[:2]) <= 16 and thumb.shape[2] == 3
    assert ds.image(0).shape == (150, 150, 3)  # varying sizes: delivered at the folder default until chosen
    small = ds.with_options((24, 20), "grayscale")
    assert small.image(0).shape == (24, 20, 1) and ds.image(0).shape == (150, 150, 3)
    assert ds.describe(31).startswith("test #1 · ")


def test_it_streams_through_tf_data(tiny):
    ds = tiny[0].with_options((20, 20))
    idx = ds.subset_indices("test")
    batches = list(ds.to_tf_dataset("test", batch_size=4, shuffle=False).as_numpy_iterator())
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.shape == (9, 20, 20, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(y, ds.labels()[idx])
    for k in (0, 5):  # TF's bilinear resize against Pillow's on the same pixels: close, not identical
        assert np.abs(x[k] - ds.image(int(idx[k]))).mean() < 0.06
    assert "Prefetch" in type(ds.to_tf_dataset("train", batch_size=4)).__name__


def test_a_prepared_set_opens_offline_without_preparing_again(tiny, monkeypatch):
    ds, data_dir, _m = tiny

    def refuse(*_a, **_k):
        raise AssertionError("tried to prepare again")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", refuse)
    again = D.open_catalog_dataset("tiny_colours", data_dir)
    np.testing.assert_array_equal(again.labels(), ds.labels())
    assert (Path(ds.folder) / "convexplorer-labels-train.npy").is_file()  # labels cached beside the records


def test_cancel_stops_promptly_and_leaves_nothing_half_written(tmp_path):
    cancel = threading.Event()
    seen: list[str] = []

    def progress(done, total, message):
        seen.append(message)
        if "Generating" in message and "examples" in message:
            cancel.set()

    with pytest.raises(Cancelled):
        D.open_catalog_dataset("tiny_colours", tmp_path, progress=progress, cancel=cancel)
    assert not D.is_prepared("tiny_colours", tmp_path)
    leftovers = [p for p in tmp_path.rglob("*") if "incomplete" in p.name or p.name.endswith(".tmp")]
    assert leftovers == [] and not (tmp_path / "tiny_colours" / "1.0.0").exists()
    ds = D.open_catalog_dataset("tiny_colours", tmp_path)  # and a second try completes
    assert len(ds) == 39


# --- tf_flowers, the real builder, served from 127.0.0.1 -------------------------------------------
FLOWER_CLASSES = catalog_builders.FLOWER_CLASSES


@pytest.fixture
def flower_server(monkeypatch):
    with catalog_builders.serve_flowers(monkeypatch) as served:
        yield served


def test_tf_flowers_downloads_with_progress_and_matches_the_archive(flower_server, tmp_path):
    url, archive, files = flower_server
    messages: list[str] = []
    ds = D.open_catalog_dataset("tf_flowers", tmp_path, progress=lambda d, t, m: messages.append(m))
    assert any("download" in m.lower() or "Dl" in m for m in messages)
    assert ds.name == "tf flowers" and ds.class_names == FLOWER_CLASSES and len(ds) == len(files)
    expected = np.bincount([FLOWER_CLASSES.index(p.split("/")[1]) for p in files], minlength=5)
    np.testing.assert_array_equal(ds.class_counts(), expected)
    # The stored JPEG bytes are the archive's files, decoded by Pillow the same way.
    originals = set(files.values())
    for i in range(len(ds)):
        data = ds.encoded_image(i)
        assert data in originals
        ref = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32) / 255
        np.testing.assert_allclose(ds.native_image(i), ref, atol=1e-6)
    assert (tmp_path / "downloads").is_dir() and D.is_prepared("tf_flowers", tmp_path)


def test_checksum_mismatch_is_a_clear_message_and_keeps_nothing(flower_server, tmp_path, monkeypatch):
    url, archive, _files = flower_server
    builder_cls = tfds.builder_cls("tf_flowers")
    bad = tfds.core.download.checksums.UrlInfo(size=len(archive), checksum="0" * 64, filename="flower_photos.tgz")
    monkeypatch.setattr(builder_cls, "url_infos", {url: bad})
    with pytest.raises(DownloadError, match="checksum") as info:
        D.open_catalog_dataset("tf_flowers", tmp_path)
    assert "pip install -U tensorflow-datasets" in str(info.value) and "Traceback" not in str(info.value)
    assert not D.is_prepared("tf_flowers", tmp_path)
    assert [p for p in tmp_path.rglob("*") if "incomplete" in p.name] == []


def test_unreachable_address_says_what_to_do(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    module = sys.modules[tfds.builder_cls("tf_flowers").__module__]
    monkeypatch.setattr(module, "_URL", f"http://127.0.0.1:{port}/flower_photos.tgz")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with pytest.raises(DownloadError, match="could not download tf_flowers") as info:
        D.open_catalog_dataset("tf_flowers", tmp_path)
    assert "downloads/manual" in str(info.value).replace("\\", "/")


# --- errors before or instead of a download ---------------------------------------------------------
def test_manual_download_sets_name_the_manual_folder(tmp_path):
    with pytest.raises(DatasetError, match="downloaded by hand") as info:
        D.open_catalog_dataset("manual_only", tmp_path)
    assert str(tmp_path / "downloads" / "manual") in str(info.value)


def test_beam_builders_are_refused_with_the_command_to_build_them(tmp_path):
    beam = [e for e in D.catalog_entries() if e.needs_beam]
    assert beam, "the snapshot marks the Apache Beam builders"
    with pytest.raises(DatasetError, match="Apache Beam") as info:
        D.open_catalog_dataset(beam[0].name, tmp_path)
    assert f"tfds build {beam[0].name}" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_free_disk_space_is_checked_before_downloading(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "_free_bytes", lambda folder: 50_000_000)
    with pytest.raises(DatasetError, match="not enough free disk space for food101") as info:
        D.open_catalog_dataset("food101", tmp_path)
    assert "TFDS_DATA_DIR" in str(info.value) and "5.0 GB" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_data_dir_follows_tfds_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "cache"))
    assert D.tfds_data_dir() == tmp_path / "cache"
    monkeypatch.delenv("TFDS_DATA_DIR")
    assert D.tfds_data_dir() == Path.home() / "tensorflow_datasets"


# --- export -----------------------------------------------------------------------------------------
def _read_back(folder: Path, size: tuple[int, int]):
    back = D.scan_folder(folder, image_size=size)
    by_subset = {}
    for s in ("train", "validation", "test"):
        idx = back.subset_indices(s)
        by_subset[s] = sorted(back.class_names[back.label(i)] for i in idx)
    return back, by_subset


def test_export_round_trips_shapes_with_their_split(tmp_path):
    ds = D.ShapesDataset(n=40, size=32, seed=2).with_split(0.25, 0.25, seed=1)
    out = export_class_folders(ds, tmp_path / "shapes")
    back, by_subset = _read_back(out, (32, 32))
    for s in ("train", "validation", "test"):
        assert by_subset[s] == sorted(ds.class_names[ds.label(i)] for i in ds.subset_indices(s))
    for i in ds.subset_indices("validation")[:3]:
        path = out / "validation" / ds.class_names[ds.label(i)] / f"{int(i):06d}.png"
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.round(ds.native_image(int(i)) * 255))
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_export_of_a_catalog_set_keeps_its_bytes_and_splits(tiny, tmp_path):
    ds = tiny[0]
    out = export_class_folders(ds, tmp_path / "tiny")
    back, by_subset = _read_back(out, (22, 22))
    assert back.layout == "split folders" and len(back) == len(ds)
    assert by_subset["test"] == sorted(ds.class_names[ds.label(i)] for i in ds.subset_indices("test"))
    i = int(ds.subset_indices("test")[0])
    assert (out / "test" / ds.class_names[ds.label(i)] / f"{i:06d}.png").read_bytes() == ds.encoded_image(i)
    assert back.has_fixed("test") and back.has_fixed("validation")


def test_export_refuses_a_non_empty_folder_and_cancel_leaves_nothing(tmp_path):
    ds = D.ShapesDataset(n=60, size=16, seed=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty"):
        export_class_folders(ds, tmp_path / "full")
    cancel = threading.Event()

    def progress(done, total, message):
        if done >= 20:
            cancel.set()

    with pytest.raises(Cancelled):
        export_class_folders(ds, tmp_path / "out", progress=progress, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_codes_of_catalog_splits(tiny):
    ds = tiny[0]
    assert set(np.unique(ds._fixed[30:])) == {TEST} and VALIDATION not in set(ds._fixed)
