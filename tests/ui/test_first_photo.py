"""The first minute: a photo opened with no model is classified by MobileNetV2 with ImageNet weights.

The weights host is a local HTTP server on 127.0.0.1 serving a MobileNetV2 weights file made here
(random weights, saved the way Keras publishes them, under Keras's own file name).
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from PySide6.QtCore import QSettings  # noqa: E402

from convexplorer.core import zoo  # noqa: E402
from convexplorer.ui.panels.inspect import InspectPanel  # noqa: E402
from convexplorer.ui.panels.inspect.first_photo import (  # noqa: E402
    ASK,
    NO,
    SETTING_KEY,
    YES,
    default_classifier_choice,
)
from convexplorer.ui.state import AppState  # noqa: E402

TIMEOUT = 120_000
NAME = zoo.DEFAULT_CLASSIFIER


class _Counting(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args):  # noqa: D401
        pass

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """The default classifier's weights (seeded random) under Keras's file name, and the model."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    folder = tmp_path_factory.mktemp("served")
    keras.utils.set_random_seed(11)
    model = getattr(keras.applications, NAME)(weights=None)
    # Freshly initialized, the features vanish and all 1000 scores tie: distinct classifier biases
    # give a top 5 with distinct probabilities.
    dense = model.layers[-1]
    kernel, _bias = dense.get_weights()
    dense.set_weights([kernel, np.random.default_rng(11).normal(0.0, 2.0, kernel.shape[1]).astype("float32")])
    path = folder / zoo.weights_file_name(NAME)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path, model


@pytest.fixture()
def server(weights_file):
    handler = functools.partial(_Counting, directory=str(weights_file[0].parent))
    _Counting.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(zoo.WEIGHTS_DIR_ENV, raising=False)
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", _dead_url())
    return home


def _panel(qtbot, tmp_path, tf_ready=True, choice=None):
    state = AppState()
    state.settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    if choice is not None:
        state.settings.setValue(SETTING_KEY, choice)
    if tf_ready:
        state.mark_tensorflow_ready()
    p = InspectPanel(state)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    return p


def _photo(tmp_path):
    from PIL import Image
    from skimage import data

    path = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()).save(path)
    return path


def _wait(qtbot, panel, kind):
    return qtbot.waitSignal(panel.updated, timeout=TIMEOUT, check_params_cb=lambda k: k == kind)


def _reference_top5(model, image):
    """Keras's own preprocessing, prediction and decode_predictions (with the class index the app ships)."""
    from keras.src.applications import imagenet_utils, mobilenet_v2

    x = mobilenet_v2.preprocess_input(np.array(image, np.float32)[None] * 255.0)
    preds = model.predict(x, verbose=0)
    saved = imagenet_utils.CLASS_INDEX
    get_file = imagenet_utils.file_utils.get_file
    imagenet_utils.CLASS_INDEX = None
    imagenet_utils.file_utils.get_file = lambda *a, **k: str(zoo.shipped_class_index())
    try:
        decoded = imagenet_utils.decode_predictions(preds, top=5)[0]
    finally:
        imagenet_utils.CLASS_INDEX = saved
        imagenet_utils.file_utils.get_file = get_file
    return [(name.replace("_", " "), float(p)) for _wnid, name, p in decoded]


def test_asks_once_downloads_with_progress_and_shows_keras_own_top5(qtbot, tmp_path, keras_home, server,
                                                                    weights_file, monkeypatch):
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", server)
    panel = _panel(qtbot, tmp_path)
    assert default_classifier_choice(panel.state.settings) == ASK
    assert panel.open_path(_photo(tmp_path))
    offer = panel.side.offer
    assert offer.isVisible() and NAME in offer.text.text() and f"{zoo.DEFAULT_CLASSIFIER_MB} MB" in offer.text.text()
    assert _Counting.requests == [] and not panel.has_model()  # nothing downloaded before the answer

    messages = []
    panel.model_box.busy.connect(messages.append)
    with _wait(qtbot, panel, "analysis"):
        offer.download_button.click()
    assert not offer.isVisible()
    assert default_classifier_choice(panel.state.settings) == YES  # remembered
    assert _Counting.requests == ["/" + zoo.weights_file_name(NAME)]
    assert any("download" in m for m in messages)
    assert (keras_home / "models" / zoo.weights_file_name(NAME)).is_file()
    assert panel.model_label.text().startswith(f"{NAME} · ImageNet weights")

    shown = [(label, p) for _i, label, p in panel.topk_chart.predictions()]
    expected = _reference_top5(weights_file[1], panel._image)
    assert [n for n, _p in shown] == [n for n, _p in expected]
    np.testing.assert_allclose([p for _n, p in shown], [p for _n, p in expected], rtol=1e-4, atol=1e-6)

    # Grad-CAM and the feature maps are one click away.
    assert panel.side.why_row.isVisible()
    panel.side.cam_link.click()
    assert panel.tabs.currentWidget() is panel.cam_tab
    panel.side.maps_link.click()
    assert panel.tabs.currentWidget() is panel.maps_tab
    # The weights are cached now: the Weights choice defaults to ImageNet for this network.
    assert panel.weights_combo.currentIndex() == 1
    panel.app_combo.setCurrentText("VGG16")
    assert panel.weights_combo.currentIndex() == 0
    panel.app_combo.setCurrentText(NAME)
    assert panel.weights_combo.currentIndex() == 1
    panel.shutdown()


def test_cached_weights_classify_at_once_without_asking(qtbot, tmp_path, keras_home, weights_file):
    (keras_home / "models").mkdir(parents=True)
    (keras_home / "models" / weights_file[0].name).write_bytes(weights_file[0].read_bytes())
    panel = _panel(qtbot, tmp_path)  # the answer was never given: cached weights need no question
    assert panel.weights_combo.currentIndex() == 1
    with _wait(qtbot, panel, "analysis"):
        panel.open_path(_photo(tmp_path))
    assert not panel.side.offer.isVisible()
    assert len(panel.topk_chart.predictions()) == 5
    assert default_classifier_choice(panel.state.settings) == ASK
    panel.shutdown()


def test_a_photo_before_tensorflow_is_classified_when_it_is_ready(qtbot, tmp_path, keras_home, weights_file):
    (keras_home / "models").mkdir(parents=True)
    (keras_home / "models" / weights_file[0].name).write_bytes(weights_file[0].read_bytes())
    panel = _panel(qtbot, tmp_path, tf_ready=False)
    panel.open_path(_photo(tmp_path))
    assert "Loading TensorFlow" in panel.topk_chart.note_text()
    with _wait(qtbot, panel, "analysis"):
        panel.state.mark_tensorflow_ready()
    assert panel.model_label.text().startswith(NAME)
    panel.shutdown()


def test_not_now_is_remembered_and_nothing_is_downloaded(qtbot, tmp_path, keras_home, server, monkeypatch):
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", server)
    panel = _panel(qtbot, tmp_path)
    photo = _photo(tmp_path)
    panel.open_path(photo)
    panel.side.offer.not_now_button.click()
    assert default_classifier_choice(panel.state.settings) == NO
    panel.open_path(photo)  # asked once: not again
    assert not panel.side.offer.isVisible() and not panel.has_model()
    assert "No model yet" in panel.topk_chart.note_text()
    assert _Counting.requests == []
    panel.shutdown()


def test_offline_download_says_so_and_keeps_the_photo(qtbot, tmp_path, keras_home):
    panel = _panel(qtbot, tmp_path, choice=YES)
    with _wait(qtbot, panel, "error"):
        panel.open_path(_photo(tmp_path))
    text = panel.message.text()
    assert f"ImageNet weights for {NAME} are not available" in text and "offline" in text
    assert "Traceback" not in text
    assert panel.has_image() and not panel.has_model()
    assert "No model yet" in panel.topk_chart.note_text()
    panel.shutdown()


def test_a_loaded_model_is_used_not_the_default(qtbot, tmp_path, keras_home):
    from tests.models import small_convnet

    panel = _panel(qtbot, tmp_path, choice=YES)
    panel.state.set_model(small_convnet((32, 32, 3), 3), "mine")
    with _wait(qtbot, panel, "analysis"):
        panel.open_path(_photo(tmp_path))
    assert panel.model_label.text().startswith("mine")
    panel.shutdown()


def test_settings_dialog_shows_and_changes_the_answer(qtbot, tmp_path):
    from convexplorer.ui.settings_dialog import SettingsDialog

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue(SETTING_KEY, NO)
    dialog = SettingsDialog(None, settings)
    qtbot.addWidget(dialog)
    assert dialog.inspect_page.choice() == NO
    dialog.inspect_page.set_choice(YES)
    dialog.accept()
    assert default_classifier_choice(settings) == YES
    dialog.shutdown()
