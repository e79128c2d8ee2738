"""core.datasets: shapes, splits, options, tf.data pipelines, folders and standard downloads."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convexplorer.core import datasets as D
from convexplorer.core.datasets import standard
from convexplorer.core.errors import DatasetError, DownloadError


# --- shapes -----------------------------------------------------------------------------
def test_shapes_reproducible_and_well_formed():
    a = D.ShapesDataset(n=40, size=32, seed=3)
    b = D.ShapesDataset(n=40, size=32, seed=3)
    c = D.ShapesDataset(n=40, size=32, seed=4)
    assert len(a) == 40 and a.image_shape == (32, 32, 3)
    assert a.class_names == ["circle", "square", "triangle", "cross"]
    img = a.image(5)
    assert img.dtype == np.float32 and img.shape == (32, 32, 3)
    assert 0.0 <= img.min() and img.max() <= 1.0
    np.testing.assert_array_equal(a.image(5), b.image(5))
    np.testing.assert_array_equal(a.labels(), b.labels())
    assert not np.array_equal(a.image(5), c.image(5))
    # Balanced classes: 40 samples over 4 classes.
    assert a.class_counts().tolist() == [10, 10, 10, 10]
    assert a.labels().dtype == np.int32 and a.label(5) == a.labels()[5]
    # Materialized arrays equal the lazily drawn ones.
    lazy = [a.image(i) for i in range(3)]
    a.materialize()
    for i in range(3):
        np.testing.assert_array_equal(a.image(i), lazy[i])


def test_shape_boxes_enclose_the_object():
    ds = D.ShapesDataset(n=24, size=64, seed=1, noise=0.0)
    for i in range(len(ds)):
        img = ds.image(i)
        fg = ds._params["fg"][i]
        # Pixels of the shape's own colour (independent of how it was drawn).
        mask = np.all(np.abs(img - fg[None, None, :]) < 0.02, axis=-1)
        ys, xs = np.nonzero(mask)
        assert len(xs) > 10, i
        x0, y0, x1, y1 = ds.boxes(i)
        assert xs.min() >= x0 - 1 and xs.max() <= x1 + 1, (i, xs.min(), xs.max(), x0, x1)
        assert ys.min() >= y0 - 1 and ys.max() <= y1 + 1, (i, ys.min(), ys.max(), y0, y1)
        # And the box is tight: the object spans most of it.
        assert (xs.max() - xs.min() + 1) >= 0.8 * (x1 - x0) and (ys.max() - ys.min() + 1) >= 0.8 * (y1 - y0)
    # Boxes scale with the delivered image size.
    big = ds.with_options(image_size=(128, 96))
    np.testing.assert_allclose(big.boxes(3), ds.boxes(3) * np.array([1.5, 2, 1.5, 2]), rtol=1e-5)


def test_shapes_bad_arguments():
    with pytest.raises(DatasetError, match="at least 1 sample"):
        D.ShapesDataset(n=0)
    with pytest.raises(DatasetError, match="received \\['circle'\\]"):
        D.ShapesDataset(n=4, classes=["circle"])
    with pytest.raises(DatasetError, match="out of range"):
        D.ShapesDataset(n=4).image(4)


# --- splits and options -------------------------------------------------------------------
def test_split_fractions_disjoint_stratified_and_seeded():
    ds = D.ShapesDataset(n=200, size=16, seed=0).with_split(validation=0.2, test=0.1, seed=7)
    tr, va, te = (ds.subset_indices(s) for s in D.SUBSETS)
    assert (len(tr), len(va), len(te)) == (140, 40, 20)
    allidx = np.concatenate([tr, va, te])
    assert sorted(allidx.tolist()) == list(range(200))
    # Stratified: each class contributes the same share to validation.
    assert np.bincount(ds.labels()[va], minlength=4).tolist() == [10, 10, 10, 10]
    other = ds.with_split(validation=0.2, test=0.1, seed=8)
    assert not np.array_equal(other.subset_indices("validation"), va)
    np.testing.assert_array_equal(ds.with_split(0.2, 0.1, 7).subset_indices("validation"), va)
    with pytest.raises(DatasetError, match="received 0.6 \\+ 0.5"):
        ds.with_split(validation=0.6, test=0.5)
    with pytest.raises(DatasetError, match="subset must be one of"):
        ds.subset_indices("holdout")


def test_options_size_and_grayscale_match_references():
    import tensorflow as tf

    ds = D.ShapesDataset(n=8, size=32, seed=2)
    rgb = ds.image(1)
    gray = ds.with_options(color_mode="grayscale")
    assert gray.image_shape == (32, 32, 1)
    ref = tf.image.rgb_to_grayscale(rgb).numpy()
    np.testing.assert_allclose(gray.image(1), ref, atol=2e-4)  # TF weighs 0.2989/0.587/0.114
    big = ds.with_options(image_size=(48, 40))
    assert big.image_shape == (48, 40, 3) and big.image(1).shape == (48, 40, 3)
    ref = tf.image.resize(rgb, (48, 40), method="bilinear", antialias=False).numpy()
    assert np.abs(big.image(1) - ref).mean() < 0.03
    # The original is untouched (copies, not mutation).
    assert ds.image_shape == (32, 32, 3)
    with pytest.raises(DatasetError, match="colour mode"):
        ds.with_options(color_mode="cmyk")


def test_to_tf_dataset_matches_image_and_labels():
    ds = D.ShapesDataset(n=60, size=16, seed=5).with_split(0.2, 0.2, 1)
    idx = ds.subset_indices("validation")
    batches = list(ds.to_tf_dataset("validation", batch_size=5, shuffle=False))
    x = np.concatenate([b[0].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    assert batches[0][0].dtype.name == "float32" and batches[0][1].dtype.name == "int32"
    assert x.shape == (len(idx), 16, 16, 3)
    np.testing.assert_array_equal(y, ds.labels()[idx])
    np.testing.assert_allclose(x, np.stack([ds.image(i) for i in idx]), atol=1e-6)
    # Shuffled: same samples, another order.
    sh = list(ds.to_tf_dataset("validation", batch_size=100, shuffle=True, seed=3))[0]
    assert sorted(sh[1].numpy().tolist()) == sorted(y.tolist())
    # Grayscale + resize in the pipeline agree with image() (TF vs Pillow resize).
    g = ds.with_options(image_size=(24, 24), color_mode="grayscale")
    xg = next(iter(g.to_tf_dataset("validation", batch_size=4, shuffle=False)))[0].numpy()
    assert xg.shape == (4, 24, 24, 1)
    assert np.abs(xg - np.stack([g.image(i) for i in idx[:4]])).mean() < 0.03


@pytest.mark.slow  # ~10 s on an idle 2-core CPU (12 epochs); the learnability promise of the shapes set
def test_a_small_convnet_learns_shapes_quickly():
    import keras

    keras.utils.set_random_seed(0)
    ds = D.ShapesDataset(n=2000, size=32, seed=0).with_split(validation=0.2, test=0.0, seed=0)
    model = keras.Sequential([
        keras.Input(ds.image_shape),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(len(ds.class_names), activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    # A quick version of the 64x64 default; stop as soon as it is learnt (its speed: benchmarks/data.py).
    done = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda _e, logs: setattr(model, "stop_training", logs["val_accuracy"] >= 0.92))
    hist = model.fit(ds.to_tf_dataset("train", 32), validation_data=ds.to_tf_dataset("validation", 64, shuffle=False),
                     epochs=14, verbose=0, callbacks=[done])
    assert max(hist.history["val_accuracy"]) >= 0.9, hist.history["val_accuracy"]


# --- folders -------------------------------------------------------------------------------
def _png(path: Path, colour, size=(20, 14), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def _bomb_png(path: Path):
    """A valid tiny PNG whose header claims 30000 x 30000 pixels."""
    buf = io.BytesIO()
    Image.new("L", (4, 4), 0).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.find(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = (30000).to_bytes(4, "big") * 2
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = crc.to_bytes(4, "big")
    path.write_bytes(bytes(data))


@pytest.fixture
def animals(tmp_path):
    root = tmp_path / "animals"
    for k in range(5):
        _png(root / "cats" / f"c{k}.png", (200, 10 * k, 0))
        _png(root / "dogs" / f"d{k}.jpg", (0, 10 * k, 200), size=(30, 40))
    _png(root / "dogs" / "nested" / "d_deep.png", (0, 0, 100))
    (root / "cats" / "empty.png").write_bytes(b"")
    (root / "cats" / "notes.txt").write_text("hello")
    (root / "cats" / "fake.png").write_bytes(b"this is not a png at all")
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, "PNG")
    (root / "dogs" / "truncated.png").write_bytes(good.getvalue()[:60])
    _bomb_png(root / "dogs" / "bomb.png")
    (root / "birds").mkdir()
    (root / "readme.md").write_text("top-level file")
    return root


def test_scan_class_folders_skips_and_notes(animals):
    ds = D.scan_folder(animals, image_size=(16, 16))
    assert ds.class_names == ["cats", "dogs"]
    assert ds.layout == "class folders"
    names = {os.path.basename(p) for p in ds.paths}
    # Cheap listing (names only): a wrong file type is skipped now; content problems later.
    assert "notes.txt" not in names
    assert {"empty.png", "fake.png", "truncated.png", "bomb.png", "d_deep.png"} <= names
    reasons = {os.path.basename(s.path): s.reason for s in ds.skipped}
    assert list(reasons) == ["notes.txt"]
    assert reasons["notes.txt"].startswith("is not an image file type (.txt)")
    assert any("'birds' has no images" in n for n in ds.notes)
    assert any("1 files directly in" in n for n in ds.notes)
    checked = ds.verify(deep=True)
    kept = {os.path.basename(p) for p in checked.paths}
    assert kept == {f"c{k}.png" for k in range(5)} | {f"d{k}.jpg" for k in range(5)} | {"d_deep.png"}
    reasons = {os.path.basename(s.path): s.reason for s in checked.skipped}
    assert reasons["empty.png"] == "is empty (0 bytes)"
    assert "not an image" in reasons["fake.png"]
    assert "truncated" in reasons["truncated.png"] or "damaged" in reasons["truncated.png"]
    assert "too large" in reasons["bomb.png"] or "bomb" in reasons["bomb.png"]
    assert len(checked.skipped) == 5  # notes.txt + the four above
    assert checked.class_counts().tolist() == [5, 6]
    # The header-only check also catches the non-image and the bomb (not the truncation).
    quick = {os.path.basename(s.path) for s in ds.verify(deep=False).skipped}
    assert {"empty.png", "fake.png", "bomb.png"} <= quick and "truncated.png" not in quick


def test_folder_images_match_pillow_reference(animals):
    ds = D.scan_folder(animals, image_size=(12, 10)).verify()
    i = next(k for k, p in enumerate(ds.paths) if p.endswith("d2.jpg"))
    ref = np.asarray(Image.open(ds.paths[i]).convert("RGB").resize((10, 12), Image.BILINEAR), np.float32) / 255
    np.testing.assert_allclose(ds.image(i), ref, atol=1e-6)
    assert ds.label(i) == 1
    assert ds.native_image(i).shape == (40, 30, 3)
    assert ds.thumbnail(i, 16).shape[:2] == (16, 12) and ds.thumbnail(i, 16).dtype == np.uint8
    gray = ds.with_options(color_mode="grayscale")
    refg = np.asarray(Image.open(ds.paths[i]).convert("L").resize((10, 12), Image.BILINEAR), np.float32) / 255
    np.testing.assert_allclose(gray.image(i)[..., 0], refg, atol=1e-6)
    # The pipeline delivers the same pixels, and drops unreadable files instead of failing.
    everything = D.scan_folder(animals, image_size=(12, 10)).with_split(0.0, 0.0)
    out = list(everything.to_tf_dataset("train", batch_size=64, shuffle=False))
    x = np.concatenate([b[0].numpy() for b in out])
    assert x.shape == (11, 12, 10, 3)
    ok = [k for k, p in enumerate(everything.paths) if not p.endswith(("empty.png", "fake.png", "truncated.png", "bomb.png"))]
    np.testing.assert_allclose(x, np.stack([everything.image(k) for k in ok]), atol=1e-6)


def test_split_folder_layout(tmp_path):
    root = tmp_path / "cd"
    for split, n in (("train", 4), ("validation", 2), ("test", 3)):
        for cls in ("cat", "dog"):
            for k in range(n):
                _png(root / split / cls / f"{k}.png", (k, 0, 0))
    ds = D.scan_folder(root).with_split(validation=0.4, test=0.5)  # fixed folders win
    assert ds.layout == "split folders" and ds.class_names == ["cat", "dog"]
    for subset, n in (("train", 4), ("validation", 2), ("test", 3)):
        idx = ds.subset_indices(subset)
        assert len(idx) == 2 * n
        assert all(f"{os.sep}{subset}{os.sep}" in ds.paths[i] for i in idx)


def test_train_test_only_cuts_validation_from_train(tmp_path):
    root = tmp_path / "tt"
    for split, n in (("train", 10), ("test", 2)):
        for cls in ("a", "b"):
            for k in range(n):
                _png(root / split / cls / f"{k}.png", (k, 0, 0))
    ds = D.scan_folder(root).with_split(validation=0.2, test=0.3)
    assert len(ds.subset_indices("test")) == 4
    va = ds.subset_indices("validation")
    assert len(va) == 4 and all(f"{os.sep}train{os.sep}" in ds.paths[i] for i in va)


def test_folder_error_messages(tmp_path):
    with pytest.raises(DatasetError, match="folder not found"):
        D.scan_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="is empty: expected one sub-folder per class"):
        D.scan_folder(tmp_path / "empty")
    _png(tmp_path / "flat" / "a.png", (1, 1, 1))
    with pytest.raises(DatasetError, match="holds 1 images but no class sub-folders"):
        D.scan_folder(tmp_path / "flat")
    _png(tmp_path / "one" / "cats" / "a.png", (1, 1, 1))
    (tmp_path / "one" / "dogs").mkdir()
    with pytest.raises(DatasetError, match=r"only one class found .*\(cats\).*empty class folders: dogs"):
        D.scan_folder(tmp_path / "one")
    with pytest.raises(DatasetError, match="received a file"):
        D.scan_folder(tmp_path / "flat" / "a.png")
    (tmp_path / "noimg" / "x").mkdir(parents=True)
    (tmp_path / "noimg" / "x" / "a.txt").write_text("x")
    (tmp_path / "noimg" / "y").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        D.scan_folder(tmp_path / "noimg")


def test_symlink_loop_and_non_utf8_names(tmp_path):
    root = tmp_path / "links"
    _png(root / "a" / "1.png", (1, 2, 3))
    _png(root / "b" / "1.png", (4, 5, 6))
    os.symlink(root / "a", root / "a" / "loop")  # a/loop -> a
    raw = os.fsencode(root / "b") + b"/caf\xe9.png"
    Image.new("RGB", (5, 5), (9, 9, 9)).save(os.fsdecode(raw), format="PNG")
    ds = D.scan_folder(root)
    assert len(ds) == 3
    assert any("symbolic link loop" in n for n in ds.notes)
    assert any("not valid UTF-8" in n for n in ds.notes)
    k = next(i for i, p in enumerate(ds.paths) if "caf" in p)
    assert "\N{REPLACEMENT CHARACTER}" in ds.describe(k)
    assert ds.image(k).shape == (150, 150, 3)
    np.testing.assert_allclose(ds.image(k)[0, 0], np.array([9, 9, 9]) / 255, atol=1e-6)


def test_pipes_broken_links_and_unreadable_files(tmp_path, monkeypatch):
    root = tmp_path / "odd"
    _png(root / "a" / "1.png", (1, 2, 3))
    _png(root / "a" / "2.png", (4, 5, 6))
    _png(root / "b" / "1.png", (7, 8, 9))
    os.mkfifo(root / "b" / "pipe.png")  # opening it would block for ever
    os.symlink(root / "gone.png", root / "b" / "gone.png")  # a link to nothing
    ds = D.scan_folder(root)
    assert sorted(os.path.basename(p) for p in ds.paths) == ["1.png", "1.png", "2.png"]
    assert [s.reason for s in ds.skipped if "gone" in s.path] == ["is a broken link"]
    # Root reads every file whatever its mode, so the permission error is injected.
    from PIL import Image as PILImage

    from convexplorer.core.datasets.folder import check_image_file
    from convexplorer.core.errors import ImageError

    real_open = PILImage.open
    locked = str(root / "a" / "2.png")

    def guarded_open(fp, *args, **kwargs):
        if str(fp) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(PILImage, "open", guarded_open)
    k = ds.paths.index(locked)
    with pytest.raises(ImageError, match="no permission"):
        ds.image(k)
    assert check_image_file(locked) == "cannot be read: you have no permission to read it"
    assert ds.image(ds.paths.index(str(root / "a" / "1.png"))).shape == (150, 150, 3)  # the others still load


def test_scan_reports_progress_and_cancels(animals):
    import threading as th

    from convexplorer.core.errors import Cancelled

    calls = []
    D.scan_folder(animals, progress=lambda d, t, m: calls.append(m))
    assert calls and calls[-1].startswith("found 15 images in 2 classes")  # listed; verify() drops 4
    ev = th.Event()
    ev.set()
    with pytest.raises(Cancelled):
        D.scan_folder(animals, cancel=ev)


# --- standard sets over a local server ---------------------------------------------------------
class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_sets(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    files: dict[str, bytes] = {}
    # MNIST: an npz like Keras's.
    mn = {k: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for k, n in (("x_train", 12), ("x_test", 5))}
    mn["y_train"] = rng.integers(0, 10, 12).astype(np.uint8)
    mn["y_test"] = rng.integers(0, 10, 5).astype(np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **mn)
    files["/mnist.npz"] = buf.getvalue()
    # Fashion-MNIST: gzip IDX files.
    fx = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    fy = np.arange(6, dtype=np.uint8)
    files["/tl.gz"] = gzip.compress(b"\0" * 8 + fy.tobytes())
    files["/ti.gz"] = gzip.compress(b"\0" * 16 + fx.tobytes())
    files["/el.gz"] = gzip.compress(b"\0" * 8 + fy[:2].tobytes())
    files["/ei.gz"] = gzip.compress(b"\0" * 16 + fx[:2].tobytes())
    # CIFAR-10: a tar.gz of pickled batches (data as N x 3072 rows, channels first).
    cx = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            j = 5 if name == "test_batch" else int(name[-1]) - 1
            rows = cx[j : j + 1].transpose(0, 3, 1, 2).reshape(1, -1)
            data = pickle.dumps({b"data": rows, b"labels": [j]}, protocol=4)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    files["/cifar.tar.gz"] = tar_buf.getvalue()

    _Files.files = files
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    md5 = lambda b: hashlib.md5(b).hexdigest()  # noqa: E731
    S = standard.STANDARD_SETS
    patched = {
        "mnist": standard.StandardSet("mnist", "MNIST", (standard.RemoteFile("mnist.npz", base + "/mnist.npz", sha256=sha(files["/mnist.npz"])),),
                                      "datasets", S["mnist"].class_names, S["mnist"].parse),
        "fashion_mnist": standard.StandardSet(
            "fashion_mnist", "Fashion-MNIST",
            tuple(standard.RemoteFile(n, base + p, md5=md5(files[p])) for n, p in (
                ("train-labels-idx1-ubyte.gz", "/tl.gz"), ("train-images-idx3-ubyte.gz", "/ti.gz"),
                ("t10k-labels-idx1-ubyte.gz", "/el.gz"), ("t10k-images-idx3-ubyte.gz", "/ei.gz"))),
            "datasets/fashion-mnist", S["fashion_mnist"].class_names, S["fashion_mnist"].parse),
        "cifar10": standard.StandardSet("cifar10", "CIFAR-10", (standard.RemoteFile("cifar-10-python.tar.gz", base + "/cifar.tar.gz", sha256=sha(files["/cifar.tar.gz"])),),
                                        "datasets", S["cifar10"].class_names, S["cifar10"].parse),
    }
    monkeypatch.setattr(standard, "STANDARD_SETS", patched)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    yield dict(mnist=mn, fx=fx, fy=fy, cx=cx, srv=srv, files=files)
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_standard_sets_download_parse_and_cache(fake_sets, tmp_path):
    mn = fake_sets["mnist"]
    msgs = []
    ds = D.load_standard("mnist", split=D.SplitSpec(validation=0.25, test=0.5, seed=0), progress=lambda d, t, m: msgs.append(m))
    assert (tmp_path / "keras" / "datasets" / "mnist.npz").is_file()
    assert len(ds) == 17 and ds.image_shape == (28, 28, 1) and ds.class_names[3] == "3"
    np.testing.assert_allclose(ds.image(13), mn["x_test"][1][..., None] / 255.0, atol=1e-7)
    # The official test images are the test subset; validation is cut from the training images.
    np.testing.assert_array_equal(ds.subset_indices("test"), np.arange(12, 17))
    assert set(ds.subset_indices("validation")) <= set(range(12))
    assert any("MNIST" in m for m in msgs)

    fa = D.load_standard("fashion_mnist")
    assert fa.class_names[9] == "Ankle boot" and len(fa) == 8
    np.testing.assert_allclose(fa.image(2)[..., 0], fake_sets["fx"][2] / 255.0, atol=1e-7)
    assert fa.label(7) == 1
    assert (tmp_path / "keras" / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()

    ci = D.load_standard("cifar10")
    assert ci.image_shape == (32, 32, 3) and len(ci) == 6
    for j in range(6):
        np.testing.assert_allclose(ci.image(j), fake_sets["cx"][j] / 255.0, atol=1e-7)
        assert ci.label(j) == j

    # Offline afterwards: stop the server, everything still loads from the cache.
    fake_sets["srv"].shutdown()
    fake_sets["srv"].server_close()
    for key in ("mnist", "fashion_mnist", "cifar10"):
        assert D.is_cached(key)
        assert len(D.load_standard(key)) > 0


def test_standard_md5_mismatch_and_offline_message(fake_sets, tmp_path, monkeypatch):
    S = standard.STANDARD_SETS
    bad = standard.StandardSet("fashion_mnist", "Fashion-MNIST",
                               tuple(standard.RemoteFile(f.name, f.url, md5="0" * 32) for f in S["fashion_mnist"].files),
                               "datasets/fashion-mnist", S["fashion_mnist"].class_names, S["fashion_mnist"].parse)
    monkeypatch.setitem(S, "fashion_mnist", bad)
    with pytest.raises(DownloadError, match="expected MD5 0{32}"):
        D.load_standard("fashion_mnist")
    assert not (tmp_path / "keras" / "datasets" / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    fake_sets["srv"].shutdown()
    fake_sets["srv"].server_close()
    with pytest.raises(DownloadError, match="you appear to be offline.*put the file at .*mnist.npz"):
        D.load_standard("mnist")


def test_catalogue_matches_keras_sources():
    import inspect

    from keras.src.datasets import cifar10, fashion_mnist, mnist

    src = inspect.getsource(mnist)
    f = standard.STANDARD_SETS["mnist"].files[0]
    assert f.sha256 in src and "tf-keras-datasets/" in src and f.url.endswith("tf-keras-datasets/mnist.npz")
    src = inspect.getsource(cifar10)
    f = standard.STANDARD_SETS["cifar10"].files[0]
    assert f.sha256 in src and f.url in src
    src = inspect.getsource(fashion_mnist)
    for f in standard.STANDARD_SETS["fashion_mnist"].files:
        assert f'"{f.name}"' in src and f.url.startswith("https://storage.googleapis.com/tensorflow/tf-keras-datasets/")


def test_unknown_standard_set():
    with pytest.raises(DatasetError, match="unknown data set 'imagenet'"):
        D.load_standard("imagenet")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(n=st.integers(4, 300), k=st.integers(2, 5), val=st.floats(0, 0.45), test=st.floats(0, 0.45), seed=st.integers(0, 10**6))
def test_split_is_a_partition_with_per_class_rounding(n, k, val, test, seed):
    labels = np.arange(n) % k
    ds = D.ArrayDataset("t", [str(c) for c in range(k)], np.zeros((n, 2, 2, 1), np.uint8), labels).with_split(val, test, seed)
    parts = [ds.subset_indices(s) for s in D.SUBSETS]
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    for cls in range(k):
        m = int((labels == cls).sum())
        assert int((labels[parts[1]] == cls).sum()) == round(m * val)
        assert int((labels[parts[2]] == cls).sum()) == min(round(m * test), m - round(m * val))
