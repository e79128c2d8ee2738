"""DataPanel offscreen: default shapes, thumbnails, options, filter, folders, downloads, augmentation preview."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from convexplorer.core.datasets import AugmentationSpec, FolderDataset, ShapesDataset, standard
from convexplorer.core.images import to_uint8
from convexplorer.ui.screenshots import prepare_panel
from convexplorer.ui.widgets.thumbnail_grid import INDEX_ROLE, ThumbnailGrid
from tests.windows import qimage_to_array, shown_data_panel


@pytest.fixture
def panel(qtbot):
    with shown_data_panel(qtbot) as p:
        yield p


def test_default_shapes_are_loaded_and_shared(panel, qtbot):
    ds = panel.state.dataset
    assert isinstance(ds, ShapesDataset.__mro__[1]) and len(ds) == 2000
    assert ds.image_shape == (64, 64, 3) and ds.class_names == ["circle", "square", "triangle", "cross"]
    assert "2000 images in 4 classes" in panel.message_label.text()
    assert panel.class_combo.count() == 5 and panel.class_combo.itemText(1) == "circle (500)"
    assert "train 1400 · validation 400 · test 200" in panel.split_label.text()
    # Stacked bars: train + validation + test per class add up to the class counts.
    total = sum(np.asarray(item.opts["height"]) for item in panel.count_bars.values())
    np.testing.assert_array_equal(total, ds.class_counts())


def test_thumbnails_load_lazily_and_show_the_images(panel, qtbot):
    model = panel.grid.thumb_model
    qtbot.waitUntil(lambda: model.cached_count() >= 16, timeout=10_000)
    # Only what is on screen is loaded, not the 2000 samples.
    assert model.cached_count() < 400
    row = 0
    i = model.index(row).data(INDEX_ROLE)
    qtbot.waitUntil(lambda: i in model._cache, timeout=10_000)
    pix = model.index(row).data(Qt.ItemDataRole.DecorationRole)
    got = qimage_to_array(pix.toImage())
    # Shapes come with a box each: the thumbnail is the image with its box outlined (core.overlays).
    from convexplorer.core.overlays import annotated_thumbnail

    np.testing.assert_array_equal(got, annotated_thumbnail(panel.source, i, 64))
    panel.browser.annotations_check.setChecked(False)  # plain images on request
    qtbot.waitUntil(lambda: i in model._cache, timeout=10_000)
    got = qimage_to_array(model.index(row).data(Qt.ItemDataRole.DecorationRole).toImage())
    np.testing.assert_array_equal(got, to_uint8(panel.source.image(i)))


def test_options_make_a_new_dataset(panel, qtbot):
    with qtbot.waitSignal(panel.state.dataset_changed, timeout=5000):
        panel.val_spin.setValue(30)
        panel.test_spin.setValue(0)
    ds = panel.state.dataset
    assert (len(ds.subset_indices("train")), len(ds.subset_indices("validation")), len(ds.subset_indices("test"))) == (1400, 600, 0)
    with qtbot.waitSignal(panel.state.dataset_changed, timeout=5000):
        panel.native_size_check.setChecked(False)
        panel.height_spin.setValue(32)
        panel.width_spin.setValue(40)
        panel.color_combo.setCurrentIndex(panel.color_combo.findData("grayscale"))
    ds = panel.state.dataset
    assert ds.image_shape == (32, 40, 1) and ds.image(0).shape == (32, 40, 1)
    assert "models get 32x40x1" in panel.split_label.text()
    # Impossible fractions: a message, and the last good data set stays.
    panel.val_spin.setValue(60)
    panel.test_spin.setValue(50)
    panel._apply_options()
    assert "must leave something to train on" in panel.split_label.text()
    assert panel.state.dataset is ds


def test_class_and_subset_filter(panel, qtbot):
    panel.class_combo.setCurrentIndex(panel.class_combo.findData(2))
    model = panel.grid.thumb_model
    labels = panel.source.labels()[model.indices()]
    assert model.rowCount() == 500 and set(labels.tolist()) == {2}
    panel.subset_combo.setCurrentIndex(panel.subset_combo.findData("test"))
    idx = model.indices()
    assert len(idx) == 50 and set(idx.tolist()) <= set(panel.dataset.subset_indices("test").tolist())
    assert panel.count_label.text() == "50 shown"


def test_click_shows_sample_and_double_click_sends_to_inspect(panel, qtbot):
    grid = panel.grid
    qtbot.waitUntil(lambda: grid.thumb_model.cached_count() > 0, timeout=10_000)
    index = grid.model().index(5)
    i = index.data(INDEX_ROLE)
    rect = grid.visualRect(index)
    name = panel.source.class_names[panel.source.label(i)]
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: f"#{i} ·" in panel.image_info.text(), timeout=5000)
    assert name in panel.image_info.text() and "64x64" in panel.image_info.text()
    assert not panel.image_label.pixmap().isNull()
    with qtbot.waitSignal(panel.state.image_array_opened, timeout=3000) as sig:
        qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    array, label = sig.args
    np.testing.assert_array_equal(array, panel.dataset.image(i))
    assert label.startswith(f"{name} #{i}")


def _png(path: Path, colour, size=(20, 14)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_open_folder_lists_then_verifies_and_reports_skips(panel, qtbot, tmp_path):
    root = tmp_path / "pets"
    for k in range(4):
        _png(root / "cat" / f"{k}.png", (200, 0, 0))
        _png(root / "dog" / f"{k}.png", (0, 0, 200))
    (root / "cat" / "zero.png").write_bytes(b"")
    (root / "dog" / "junk.png").write_bytes(b"not an image")
    (root / "dog" / "notes.txt").write_text("x")
    assert panel.open_path(root) is True
    qtbot.waitUntil(lambda: isinstance(panel.source, FolderDataset) and panel.source.verified, timeout=15_000)
    qtbot.waitUntil(lambda: panel._load_worker is None, timeout=5000)
    ds = panel.state.dataset
    assert isinstance(ds, FolderDataset) and ds.class_names == ["cat", "dog"] and len(ds) == 8
    assert ds.image_shape == (150, 150, 3)
    assert panel.skipped_button.isVisible()
    assert panel.skipped_button.text().startswith("3 files skipped")
    panel.skipped_button.click()
    assert panel.skipped_list.isVisible()
    items = [panel.skipped_list.item(k).text() for k in range(panel.skipped_list.count())]
    assert any("zero.png: is empty (0 bytes)" in t for t in items)
    assert any("junk.png" in t and "not an image" in t for t in items)
    assert any("notes.txt" in t for t in items)
    # Image size applies to folders.
    with qtbot.waitSignal(panel.state.dataset_changed, timeout=5000):
        panel.height_spin.setValue(48)
    assert panel.state.dataset.image_shape == (48, 150, 3)
    assert panel.open_path(root / "cat" / "0.png") is False


def test_bad_folder_shows_message_and_panel_stays_usable(panel, qtbot, tmp_path):
    (tmp_path / "empty").mkdir()
    before = panel.state.dataset
    w = panel.load_folder(tmp_path / "empty")
    with qtbot.waitSignal(w.finished, timeout=5000):
        pass
    assert "is empty: expected one sub-folder per class" in panel.message_label.text()
    assert panel.message_label.property("role") == "error"  # drawn in the style sheet's error colour
    assert panel.state.dataset is before and panel.load_button.isEnabled()


class _Npz(http.server.BaseHTTPRequestHandler):
    body = b""
    stall = threading.Event()
    stalling = False

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.stalling:
            self.wfile.write(self.body[:100])
            self.wfile.flush()
            self.stall.wait(10)
            return
        self.wfile.write(self.body)


@pytest.fixture
def mnist_server(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), y_train=(np.arange(30) % 10).astype(np.uint8),
                  x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8), y_test=np.arange(10, dtype=np.uint8))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _Npz.body = buf.getvalue() + b""
    _Npz.stalling = False
    _Npz.stall = threading.Event()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Npz)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/mnist.npz"
    sets = dict(standard.STANDARD_SETS)
    old = sets["mnist"]
    sets["mnist"] = standard.StandardSet("mnist", "MNIST", (standard.RemoteFile("mnist.npz", url, sha256=hashlib.sha256(_Npz.body).hexdigest(), size=len(_Npz.body)),),
                                         "datasets", old.class_names, old.parse)
    monkeypatch.setattr(standard, "STANDARD_SETS", sets)
    import convexplorer.ui.panels.data.sources as data_mod

    monkeypatch.setattr(data_mod, "STANDARD_SETS", sets)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    yield arrays, sets
    _Npz.stall.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_download_mnist_with_progress(panel, qtbot, mnist_server, tmp_path):
    arrays, _sets = mnist_server
    panel.source_combo.setCurrentIndex(panel.source_combo.findData("mnist"))
    assert panel.load_button.text().startswith("Download")
    progress = []
    panel.load_button.click()
    panel._load_worker.progress.connect(lambda d, t, m: progress.append(m))
    qtbot.waitUntil(lambda: panel.source is not None and panel.source.name == "MNIST" and panel._load_worker is None, timeout=15_000)
    ds = panel.state.dataset
    assert len(ds) == 40 and ds.image_shape == (28, 28, 1)
    np.testing.assert_array_equal(ds.subset_indices("test"), np.arange(30, 40))
    np.testing.assert_allclose(ds.image(31)[..., 0], arrays["x_test"][1] / 255.0, atol=1e-7)
    assert (tmp_path / "keras" / "datasets" / "mnist.npz").is_file()
    assert panel.load_button.text() == "Load"  # cached now
    assert "test from the source" in panel.split_label.text()


def test_download_cancel_and_offline_messages(panel, qtbot, mnist_server, monkeypatch, tmp_path):
    _arrays, sets = mnist_server
    _Npz.stalling = True
    w = panel.load_source("mnist")
    qtbot.waitUntil(lambda: panel.cancel_button.isVisible(), timeout=3000)
    with qtbot.waitSignal(w.finished, timeout=10_000):
        panel.cancel_button.click()
        _Npz.stall.set()
    assert panel.message_label.text().startswith("Cancelled")
    assert not panel.cancel_button.isVisible()
    # Offline: a port nobody listens on.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    old = sets["mnist"]
    sets["mnist"] = standard.StandardSet("mnist", "MNIST", (standard.RemoteFile("mnist.npz", f"http://127.0.0.1:{port}/mnist.npz", sha256="0" * 64),),
                                         "datasets", old.class_names, old.parse)
    (tmp_path / "keras" / "datasets" / "mnist.npz.part").unlink(missing_ok=True)
    w = panel.load_source("mnist")
    with qtbot.waitSignal(w.finished, timeout=10_000):
        pass
    assert panel.message_label.text().startswith("you appear to be offline: could not reach 127.0.0.1")
    assert isinstance(panel.state.dataset, ShapesDataset.__mro__[1])


def test_augmentation_controls_banner_and_preview(panel, qtbot):
    from convexplorer.ui.tfloader import load_tensorflow_now

    assert panel.aug_banner.isVisible() and not panel.state.tf_ready
    with qtbot.waitSignal(panel.state.dataset_changed, timeout=5000):
        panel.textbook_button.click()
    assert panel.rotation_spin.value() == 40 and panel.zoom_spin.value() == pytest.approx(0.2)
    assert panel.hflip_check.isChecked() and panel.fill_combo.currentData() == "nearest"
    assert panel.state.dataset.augmentation == AugmentationSpec.textbook()
    load_tensorflow_now(panel.state)
    assert not panel.aug_banner.isVisible()
    qtbot.waitUntil(lambda: panel.aug_preview.pixmap() is not None and not panel.aug_preview.pixmap().isNull(), timeout=20_000)
    assert "top-left: the original" in panel.aug_caption.text()
    with qtbot.waitSignal(panel.state.dataset_changed, timeout=5000):
        panel.no_aug_button.click()
    assert panel.state.dataset.augmentation is None


def test_prepare_screenshot(panel, qtbot):
    from convexplorer.ui.tfloader import load_tensorflow_now

    load_tensorflow_now(panel.state)
    prepare_panel(panel)
    assert panel.grid.thumb_model.cached_count() >= 100
    assert not panel.aug_preview.pixmap().isNull()
    assert "square" in panel.image_info.text() or "#3" in panel.image_info.text()
    assert panel.augmentation == AugmentationSpec.textbook()


def test_thumbnail_grid_marks_broken_files(qtbot, tmp_path):
    from convexplorer.core.datasets import scan_folder

    for k in range(3):
        _png(tmp_path / "a" / f"{k}.png", (k, 0, 0))
        _png(tmp_path / "b" / f"{k}.png", (0, k, 0))
    (tmp_path / "b" / "bad.png").write_bytes(b"garbage")
    ds = scan_folder(tmp_path)
    grid = ThumbnailGrid(32)
    qtbot.addWidget(grid)
    grid.resize(400, 300)
    grid.show()
    failures = []
    grid.thumb_model.thumbnail_failed.connect(lambda i, r: failures.append((i, r)))
    grid.set_dataset(ds)
    qtbot.waitUntil(lambda: grid.thumb_model.cached_count() == 6 and bool(failures), timeout=10_000)
    bad = ds.paths.index(str(tmp_path / "b" / "bad.png"))
    assert failures[0][0] == bad and "not an image" in failures[0][1]
    assert "not an image" in grid.model().index(bad).data(Qt.ItemDataRole.ToolTipRole)
    grid.shutdown()


def test_thumbnail_cache_is_bounded(qtbot, monkeypatch):
    import convexplorer.ui.widgets.thumbnail_grid as tg

    monkeypatch.setattr(tg, "CACHE_LIMIT", 40)
    ds = ShapesDataset(n=300, size=16, seed=0)
    grid = ThumbnailGrid(16)
    qtbot.addWidget(grid)
    model = grid.thumb_model
    model.set_dataset(ds)
    for start in (0, 100, 200):
        model.request_rows(start, start + 29)
        wanted = list(range(start, start + 30))
        qtbot.waitUntil(lambda w=wanted: all(i in model._cache for i in w), timeout=10_000)
    assert model.cached_count() == 40
    # The most recent stay; the oldest were evicted.
    assert all(i in model._cache for i in range(200, 230)) and 0 not in model._cache
    grid.shutdown()
