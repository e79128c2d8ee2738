"""The Data panel's catalog offscreen: find tf_flowers, see its facts, download it (from 127.0.0.1), browse, train, export."""

from __future__ import annotations

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from convexplorer.core.datasets import CatalogDataset, ShapesDataset, is_prepared, scan_folder  # noqa: E402
from convexplorer.ui.panels.data.sources import CATALOG  # noqa: E402
from tests.core import catalog_builders  # noqa: E402
from tests.windows import shown_data_panel  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with shown_data_panel(qtbot, (1280, 900)) as p:
        yield p


@pytest.fixture
def flowers(monkeypatch):
    with catalog_builders.serve_flowers(monkeypatch) as served:
        yield served


def _choose_flowers(panel, qtbot):
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(CATALOG))
    assert panel.catalog.isVisible() and not panel.load_button.isVisible()
    qtbot.keyClicks(panel.catalog.search_edit, "flowers")
    panel.catalog.select("tf_flowers")
    assert panel.catalog.selected_name() == "tf_flowers"


def test_pick_tf_flowers_see_its_size_download_browse_and_export(panel, qtbot, flowers, tmp_path):
    _url, _archive, files = flowers
    _choose_flowers(panel, qtbot)
    details = panel.catalog.details_label.text()
    assert "3,670 images" in details and "5 classes" in details and "download 228.8 MB" in details
    assert "dandelion" in details and "Licence" in details and "@ONLINE" in details
    assert panel.catalog.open_button.text() == "Download and prepare (228.8 MB)"
    assert "snapshot of" in panel.catalog.snapshot_label.text()
    assert str(tmp_path / "tfds") in panel.catalog.cache_label.text()
    progress = []
    panel.loader.progress.connect(lambda d, t, m: progress.append((d, t, m)))
    with qtbot.waitSignal(panel.loader.loaded, timeout=120_000):
        panel.catalog.open_button.click()
    ds = panel.source
    assert isinstance(ds, CatalogDataset) and len(ds) == len(files) and ds.class_names == catalog_builders.FLOWER_CLASSES
    assert progress and any(t > 0 for _d, t, _m in progress)
    qtbot.waitUntil(lambda: panel._load_worker is None, timeout=30_000)
    assert "tfds splits train" in panel.message_label.text() and "validation is cut from train" in panel.message_label.text()
    # it is now marked prepared and opens offline
    assert is_prepared("tf_flowers") and panel.catalog.open_button.text() == "Open (prepared)"
    assert "prepared" in panel.catalog.entry_list.currentItem().text()
    # thumbnails, class counts and the configured set handed to the other panels
    model = panel.grid.thumb_model
    qtbot.waitUntil(lambda: model.cached_count() >= min(8, len(files)), timeout=20_000)
    assert panel.class_combo.count() == 6
    shared = panel.state.dataset
    assert shared.image_shape == (panel.height_spin.value(), panel.width_spin.value(), 3)
    assert sum(len(shared.subset_indices(s)) for s in ("train", "validation", "test")) == len(files)
    # training takes it through tf.data: one epoch of a tiny convnet
    import keras

    small = shared.with_options((32, 32))
    net = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5, activation="softmax")])
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = net.fit(small.to_tf_dataset("train", batch_size=4), epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
    # export as class folders, read back as a folder
    out = tmp_path / "export"
    out.mkdir()
    assert panel.export_to(out) is not None
    qtbot.waitUntil(lambda: panel.export_worker is None, timeout=60_000)
    assert "Exported" in panel.message_label.text(), panel.message_label.text()
    back = scan_folder(out, image_size=(32, 32))
    assert len(back) == len(ds) and sorted(back.class_names) == sorted(ds.class_names)


def test_cancel_during_download_keeps_the_data_in_use(panel, qtbot, monkeypatch, tmp_path):
    import threading

    gate = threading.Event()  # the archive's body waits until Cancel was pressed: the cancel lands mid-download
    with catalog_builders.serve_flowers(monkeypatch, gate):
        _cancel_mid_download(panel, qtbot, gate, tmp_path)
    # trying again works: nothing of the cancelled download (tfds keeps its progress bars) cancels the next one
    with catalog_builders.serve_flowers(monkeypatch) as (_url, _archive, files):
        with qtbot.waitSignal(panel.loader.finished, timeout=120_000):
            panel.catalog.open_button.click()
    assert isinstance(panel.source, CatalogDataset), panel.message_label.text()
    assert len(panel.source) == len(files) and is_prepared("tf_flowers")


def _cancel_mid_download(panel, qtbot, gate, tmp_path):
    _choose_flowers(panel, qtbot)
    before = panel.source
    started = []
    press_cancel = lambda d, t, m: (started.append(m), panel.cancel_button.click(), gate.set())  # noqa: E731
    panel.loader.progress.connect(press_cancel)
    with qtbot.waitSignal(panel.loader.finished, timeout=120_000):
        panel.catalog.open_button.click()
    panel.loader.progress.disconnect(press_cancel)
    assert started and panel.source is before
    assert "Cancelled" in panel.message_label.text() and "nothing half-written" in panel.message_label.text()
    assert not is_prepared("tf_flowers")
    assert [p for p in (tmp_path / "tfds").rglob("*") if "incomplete" in p.name] == []


def test_errors_are_messages_and_the_panel_stays_usable(panel, qtbot, monkeypatch):
    from convexplorer.core.datasets import catalog

    monkeypatch.setattr(catalog, "_free_bytes", lambda folder: 1000)
    panel.source_combo.setCurrentIndex(panel.source_combo.findData(CATALOG))
    panel.catalog.select("food101")
    with qtbot.waitSignal(panel.loader.finished, timeout=30_000):
        panel.catalog.open_button.click()
    assert "not enough free disk space" in panel.message_label.text()
    assert panel.message_label.property("role") == "error" and isinstance(panel.source, ShapesDataset)
    assert panel.catalog.open_button.isEnabled()


def test_the_catalog_column_is_never_cut_off_at_the_right(panel, qtbot):
    panel.resize(1280, 640)  # short enough for the column to scroll
    _choose_flowers(panel, qtbot)
    controls = panel.catalog.parentWidget()
    scroll = controls.parentWidget().parentWidget()
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().isVisible(), timeout=5_000)
    # The controls get the whole width they need beside the scroll bar: nothing hides under it.
    qtbot.waitUntil(lambda: controls.width() <= scroll.viewport().width(), timeout=5_000)
    assert controls.width() >= controls.minimumSizeHint().width()
    assert panel.catalog.geometry().right() < scroll.viewport().width()


def test_the_catalog_screenshot_state_finds_tf_flowers_offline(panel, qtbot):
    from PySide6.QtCore import QSettings

    from convexplorer.ui.screenshots import panel_variants

    before = QSettings().value("data/catalog_search")
    step = dict(panel_variants(panel))["catalog-flowers"]
    step()
    assert panel.catalog.isVisible() and panel.catalog.search_edit.text() == "flowers"
    assert panel.catalog.selected_name() == "tf_flowers" and "3,670 images" in panel.catalog.details_label.text()
    assert panel._load_worker is None and isinstance(panel.source, ShapesDataset)  # nothing opened or downloaded
    assert QSettings().value("data/catalog_search") == before  # the user's settings are left alone
