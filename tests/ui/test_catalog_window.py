"""tf_flowers from the catalog in the whole window, as a user goes: find it, download it (from 127.0.0.1), browse it,
train the Builder's design on it in the Training panel, and classify one of its images in Inspect."""

from __future__ import annotations

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")
keras = pytest.importorskip("keras")

from convexplorer.core.datasets import CatalogDataset  # noqa: E402
from convexplorer.ui.panels.data.sources import CATALOG  # noqa: E402
from tests.core import catalog_builders  # noqa: E402

#: The window does not write its settings (tests/ui/conftest.py: module_window).
KEEP_SETTINGS = False
SIZE = 32


@pytest.mark.allow_leaks  # the module-scoped window lives across the tests
def test_tf_flowers_from_the_catalog_to_a_trained_model_in_inspect(window, qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    qtbot.waitUntil(lambda: window.state.tf_ready, timeout=120_000)
    with catalog_builders.serve_flowers(monkeypatch) as (_url, _archive, files):
        data = window.panel("data")
        window.show_panel("data")
        data.source_combo.setCurrentIndex(data.source_combo.findData(CATALOG))
        qtbot.keyClicks(data.catalog.search_edit, "flowers")
        data.catalog.select("tf_flowers")
        assert "3,670 images" in data.catalog.details_label.text()  # the snapshot's figures, before any download
        with qtbot.waitSignal(data.loader.finished, timeout=120_000):
            data.catalog.open_button.click()
        qtbot.waitUntil(lambda: data._load_worker is None, timeout=30_000)
    source = data.source
    assert isinstance(source, CatalogDataset), data.message_label.text()
    assert len(source) == len(files)
    data.native_size_check.setChecked(False)
    data.height_spin.setValue(SIZE)
    data.width_spin.setValue(SIZE)
    qtbot.waitUntil(lambda: tuple(window.state.dataset.image_shape) == (SIZE, SIZE, 3), timeout=30_000)
    ds = window.state.dataset
    assert ds.class_names == catalog_builders.FLOWER_CLASSES

    builder = window.panel("builder")
    window.show_panel("builder")
    builder.follow_dataset_check.setChecked(True)
    builder.load_preset("MNIST convnet")
    qtbot.waitUntil(lambda: tuple(builder.spec.input_shape) == (SIZE, SIZE, 3) and builder.spec.num_classes == 5,
                    timeout=10_000)

    training = window.panel("training")
    window.show_panel("training")
    training.epochs_spin.setValue(2)
    training.batch_spin.setValue(4)
    with qtbot.waitSignal(training.training_finished, timeout=300_000):
        training.start_button.click()
    qtbot.waitUntil(lambda: not training.is_training() and not training.is_evaluating(), timeout=60_000)
    result = training.last_result
    assert result.reason == "completed", result.message
    assert len(result.history.epoch["loss"]) == 2 and np.all(np.isfinite(result.history.epoch["loss"]))
    n_train = len(ds.subset_indices("train"))
    assert result.history.epoch["batches"][-1] == -(-n_train // 4)  # every training image, through tf.data

    inspect = window.panel("inspect")
    window.show_panel("inspect")
    qtbot.waitUntil(lambda: inspect.subject.model is not None, timeout=60_000)
    i = int(ds.subset_indices("validation")[0])
    with qtbot.waitSignal(inspect.updated, timeout=60_000, check_params_cb=lambda k: k == "analysis"):
        data.send_to_inspect(i)
    probs = np.asarray(inspect.subject.model(ds.image(i)[None], training=False))[0]
    shown = inspect.topk_chart.predictions()
    assert [label for _k, label, _p in shown] == [ds.class_names[k] for k in np.argsort(-probs)][: len(shown)]
    np.testing.assert_allclose([p for _k, _l, p in shown], np.sort(probs)[::-1][: len(shown)], rtol=1e-5)
