"""convexplorer.core.zoo against keras.applications itself, with a local HTTP server for downloads."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from convexplorer.core import zoo  # noqa: E402
from convexplorer.core.errors import ConvExplorerError, DownloadError, ModelFileError, ShapeError  # noqa: E402

MNV2_NOTOP_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401
        pass


@pytest.fixture()
def server(tmp_path):
    """A 127.0.0.1 HTTP server serving tmp_path/'served'; yields (root, base_url, stop)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stopped = []

    def stop():
        if not stopped:
            httpd.shutdown()
            httpd.server_close()
            thread.join(5)
            stopped.append(True)

    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/", stop
    stop()


@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(zoo.WEIGHTS_DIR_ENV, raising=False)
    monkeypatch.setattr(zoo, "HASH_OVERRIDES", {})
    return home


@pytest.fixture()
def no_shipped_index(tmp_path, monkeypatch):
    """As if the app shipped no class index: names come from the (served) download."""
    monkeypatch.setattr(zoo, "shipped_class_index", lambda: tmp_path / "not-shipped.json")


def _dead_url() -> str:
    """An address on 127.0.0.1 where nothing listens: any download fails at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _legacy_h5(model, path: Path) -> None:
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def test_catalogue_lists_every_keras_application():
    exported = {n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n))}
    assert set(zoo.APPLICATIONS) == exported
    for name, info in zoo.APPLICATIONS.items():
        module = __import__(info.keras_module, fromlist=["preprocess_input"])
        assert callable(module.preprocess_input) and callable(module.decode_predictions), name
        assert info.min_size <= info.default_size


def test_weights_metadata_from_keras_constants():
    from keras.src.applications import resnet, vgg16

    vgg = zoo.application_info("VGG16")
    assert vgg.weights_url == vgg16.WEIGHTS_PATH and vgg.weights_url_notop == vgg16.WEIGHTS_PATH_NO_TOP
    assert zoo.application_info("ResNet50").weights_hash_notop == resnet.WEIGHTS_HASHES["resnet50"][1]
    with pytest.raises(ConvExplorerError, match="unknown pretrained model 'VGG17'"):
        zoo.application_info("VGG17")


def test_random_weights_match_keras_and_are_labelled():
    model = zoo.build_application("MobileNetV2", weights=None, input_shape=(32, 32, 3), alpha=0.35)
    ref = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    assert model.count_params() == ref.count_params()
    assert model.output_shape == ref.output_shape
    assert zoo.weights_label(model) == "random weights"


def test_input_shape_errors_say_what_was_expected():
    with pytest.raises(ShapeError, match="3 channels, received 1"):
        zoo.build_application("VGG16", input_shape=(64, 64, 1))
    with pytest.raises(ShapeError, match="at least 75x75, received 40x40"):
        zoo.build_application("InceptionV3", input_shape=(40, 40, 3))
    with pytest.raises(ShapeError, match="needs 224x224 inputs, received 96x96"):
        zoo.build_application("VGG16", "imagenet", include_top=True, input_shape=(96, 96, 3))


def test_imagenet_download_with_progress_then_offline_cache(server, keras_home, monkeypatch):
    root, base, stop = server
    source = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    _legacy_h5(source, root / MNV2_NOTOP_96)
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", base)
    calls = []
    model = zoo.build_application(
        "MobileNetV2", "imagenet", input_shape=(96, 96, 3), alpha=0.35, progress=lambda d, t, m: calls.append((d, t, m))
    )
    cached = keras_home / "models" / MNV2_NOTOP_96
    assert cached.is_file() and cached.read_bytes() == (root / MNV2_NOTOP_96).read_bytes()
    assert any("downloading" in m for _d, _t, m in calls)
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert zoo.weights_label(model) == "ImageNet weights"

    stop()  # offline now: the cached file is used
    again = zoo.build_application("MobileNetV2", "imagenet", input_shape=(96, 96, 3), alpha=0.35)
    np.testing.assert_array_equal(again.get_weights()[0], source.get_weights()[0])

    cached.unlink()
    with pytest.raises(DownloadError, match="offline"):
        zoo.build_application("MobileNetV2", "imagenet", input_shape=(96, 96, 3), alpha=0.35)


def test_imagenet_download_bad_checksum(server, keras_home, no_shipped_index, monkeypatch):
    root, base, _stop = server
    (root / zoo.CLASS_INDEX_FILE).write_text("{}")
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", base)
    with pytest.raises(DownloadError, match="checksum mismatch.*MD5"):
        zoo.imagenet_class_names()
    assert not (keras_home / "models" / zoo.CLASS_INDEX_FILE).exists()


def test_decode_with_served_class_index(server, keras_home, no_shipped_index, monkeypatch):
    root, base, _stop = server
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    data = json.dumps(index).encode()
    (root / zoo.CLASS_INDEX_FILE).write_bytes(data)
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", base)
    monkeypatch.setitem(zoo.HASH_OVERRIDES, zoo.CLASS_INDEX_FILE, hashlib.md5(data).hexdigest())
    preds = np.full((2, 1000), 1e-4)
    preds[0, [7, 3, 999]] = [0.5, 0.3, 0.1]
    preds[1, 42] = 0.9
    out = zoo.decode("VGG16", preds, top=3)
    assert [(i, n) for i, n, _p in out[0]] == [(7, "class 7"), (3, "class 3"), (999, "class 999")]
    assert out[0][0][2] == pytest.approx(0.5)
    assert out[1][0][:2] == (42, "class 42")
    with pytest.raises(ShapeError, match="1000 classes"):
        zoo.decode("VGG16", np.zeros((1, 10)))


def test_weights_from_file_and_wrong_architecture(tmp_path):
    src = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    path = tmp_path / "mine.weights.h5"
    src.save_weights(path)
    model = zoo.build_application("MobileNetV2", weights=str(path), input_shape=(32, 32, 3), alpha=0.35)
    np.testing.assert_array_equal(model.get_weights()[5], src.get_weights()[5])
    assert zoo.weights_label(model) == "weights from mine.weights.h5"
    other = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    _legacy_h5(other, tmp_path / "other.h5")
    with pytest.raises(ModelFileError, match="other.h5 does not fit MobileNetV2.*another architecture"):
        zoo.build_application("MobileNetV2", weights=str(tmp_path / "other.h5"), input_shape=(32, 32, 3), alpha=0.35)
    with pytest.raises(ModelFileError, match="not found"):
        zoo.build_application("VGG16", weights=str(tmp_path / "missing.h5"), input_shape=(32, 32, 3))


@pytest.mark.parametrize("name", ["VGG16", "MobileNetV2", "EfficientNetB0"])
def test_preprocess_matches_keras_and_leaves_input_alone(name):
    rng = np.random.default_rng(0)
    img = rng.random((2, 8, 8, 3), dtype=np.float32)
    before = img.copy()
    module = __import__(zoo.APPLICATIONS[name].keras_module, fromlist=["preprocess_input"])
    expected = np.asarray(module.preprocess_input(img.copy() * 255.0))
    np.testing.assert_allclose(zoo.preprocess(name, img), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(img, before)
    with pytest.raises(ShapeError, match="H x W x 3"):
        zoo.preprocess(name, np.zeros((8, 8, 1)))


# --- the shipped class index, weights file names, bundled weights -------------------------------


def test_shipped_class_index_is_imagenets_and_needs_no_network(keras_home, monkeypatch):
    """1000 classes in ImageNet's order (WordNet ids ascending), read with no download at all."""
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", _dead_url())
    index = json.loads(zoo.shipped_class_index().read_text(encoding="utf-8"))
    wnids = [index[str(i)][0] for i in range(1000)]
    assert len(index) == 1000 and wnids == sorted(wnids) and len(set(wnids)) == 1000
    assert all(w.startswith("n") and len(w) == 9 for w in wnids)
    names = zoo.imagenet_class_names()
    assert names[0] == "tench" and names[1] == "goldfish" and names[999] == "toilet tissue"
    assert not (keras_home / "models" / zoo.CLASS_INDEX_FILE).exists()  # nothing was fetched


def test_decode_equals_keras_decode_predictions_with_the_shipped_index(monkeypatch):
    """Our top-5 equals keras.applications' decode_predictions fed the same class index."""
    from keras.src.applications import imagenet_utils
    from keras.src.utils import file_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", None)
    monkeypatch.setattr(file_utils, "get_file", lambda *a, **k: str(zoo.shipped_class_index()))
    preds = np.random.default_rng(3).dirichlet(np.ones(1000), size=4)
    ours = zoo.decode("MobileNetV2", preds, top=5)
    theirs = imagenet_utils.decode_predictions(preds, top=5)
    for row_ours, row_theirs in zip(ours, theirs):
        assert [n for _i, n, _p in row_ours] == [n.replace("_", " ") for _w, n, _p in row_theirs]
        np.testing.assert_allclose([p for *_x, p in row_ours], [p for *_x, p in row_theirs], rtol=1e-6)


# Representatives of every naming scheme: (name, include_top).
_NAMING_CASES = [
    ("MobileNetV2", True), ("MobileNetV2", False), ("MobileNetV3Small", True), ("MobileNetV3Large", False),
    ("EfficientNetB0", True), ("EfficientNetB0", False), ("EfficientNetV2B0", True), ("ResNet50", False),
    ("ResNet50V2", True), ("MobileNet", True), ("ConvNeXtTiny", False), ("VGG16", True),
    ("InceptionResNetV2", False),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,include_top", _NAMING_CASES)
def test_weights_file_name_is_the_one_keras_asks_for(name, include_top, monkeypatch):
    """Build the Keras model with weights="imagenet" and catch the file name it asks get_file for."""
    from keras.src.utils import file_utils

    asked = []

    class _Asked(Exception):
        pass

    def record(fname=None, origin=None, *args, **kwargs):
        asked.append(fname or Path(origin).name)
        raise _Asked()

    monkeypatch.setattr(file_utils, "get_file", record)
    with pytest.raises(_Asked):
        getattr(keras.applications, name)(weights="imagenet", include_top=include_top)
    assert asked == [zoo.weights_file_name(name, include_top)]


def test_no_file_name_where_keras_has_no_weights():
    assert zoo.weights_file_name("NASNetLarge") is not None  # URL constants
    assert all(zoo.weights_file_name(n) for n in zoo.APPLICATIONS)


def test_cached_weights_looks_in_the_cache_and_the_bundled_folders(tmp_path, keras_home, monkeypatch):
    fname = zoo.weights_file_name("MobileNetV2")
    assert zoo.cached_weights("MobileNetV2") is None
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / fname).write_bytes(b"weights")
    monkeypatch.setenv(zoo.WEIGHTS_DIR_ENV, str(bundled))
    assert zoo.cached_weights("MobileNetV2") == bundled / fname
    (keras_home / "models").mkdir(parents=True)
    (keras_home / "models" / fname).write_bytes(b"weights")
    assert zoo.cached_weights("MobileNetV2") == keras_home / "models" / fname  # Keras's cache first
    assert zoo.cached_weights("MobileNetV2", include_top=False) is None


def test_a_frozen_build_classifies_offline_with_the_weights_it_carries(tmp_path, keras_home, monkeypatch):
    """packaging/build.sh --with-weights puts weights/ beside the executable: used with no network."""
    import sys

    app = tmp_path / "convexplorer"
    (app / "weights").mkdir(parents=True)
    source = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3), alpha=0.35)
    _legacy_h5(source, app / "weights" / MNV2_NOTOP_96)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "convexplorer"))
    monkeypatch.setattr(zoo, "WEIGHTS_BASE_URL", _dead_url())
    assert zoo.bundled_weights_dirs() == [app / "weights"]
    model = zoo.build_application("MobileNetV2", "imagenet", input_shape=(96, 96, 3), alpha=0.35)
    for a, b in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (keras_home / "models" / MNV2_NOTOP_96).exists()  # read in place, not copied
