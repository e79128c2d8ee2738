"""core.devices against TensorFlow's own device list and Keras's dtype policies."""

from __future__ import annotations

import numpy as np
import pytest

from convexplorer.core import devices as dv
from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.summary import summarize

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
GB = 1024**3


def _gpu(i: int, mem: int | None) -> dv.DeviceInfo:
    return dv.DeviceInfo(f"/physical_device:GPU:{i}", "GPU", i, "Test GPU", mem, (8, 6))


def test_list_devices_matches_tensorflow():
    found = dv.list_devices()
    assert [d.name for d in found if d.kind == "CPU"] == [d.name for d in tf.config.list_physical_devices("CPU")]
    assert [d.name for d in found if d.kind == "GPU"] == [d.name for d in tf.config.list_physical_devices("GPU")]
    assert found[0].kind == "CPU" and found[0].short_name == "CPU:0"
    assert all(d.memory_bytes is None for d in found if d.kind == "CPU")


def test_summary_text_counts_gpus_and_memory():
    cpu = dv.DeviceInfo("/physical_device:CPU:0", "CPU", 0)
    assert dv.summary_text([cpu]) == "CPU"
    assert dv.summary_text([cpu, _gpu(0, 24 * GB)]) == "CPU · 1 GPU (24 GB)"
    assert dv.summary_text([cpu, _gpu(0, 24 * GB), _gpu(1, 24 * GB)]) == "CPU · 2 GPUs (48 GB)"
    # memory unknown for one GPU: no total rather than a wrong one
    assert dv.summary_text([cpu, _gpu(0, 24 * GB), _gpu(1, None)]) == "CPU · 2 GPUs"


def test_format_bytes_and_label():
    assert dv.format_bytes(None) == ""
    assert dv.format_bytes(512 * 1024**2) == "512 MB"
    assert dv.format_bytes(int(1.5 * GB)) == "1.5 GB"
    assert dv.format_bytes(8 * GB) == "8 GB"
    assert dv.format_bytes(int(79.6 * GB)) == "80 GB"
    assert _gpu(1, 40 * GB).label == "GPU 1 · Test GPU · 40 GB"
    assert dv.DeviceInfo("/physical_device:CPU:0", "CPU", 0).label == "CPU 0"


def test_visible_device_rejects_unknown_choices():
    with pytest.raises(dv.DeviceError, match="no device GPU:7"):
        dv.set_visible_device("GPU:7")
    with pytest.raises(dv.DeviceError, match="expected \"all\", \"cpu\""):
        dv.set_visible_device("tpu")
    assert issubclass(dv.DeviceError, ConvExplorerError)


@pytest.mark.skipif(HAS_GPU, reason="checks the CPU-only path")
def test_cpu_only_settings_are_harmless_and_say_so():
    assert dv.memory_growth_enabled() is None
    assert dv.enable_memory_growth(True) == []
    messages = dv.apply_device_settings(memory_growth=True, visible="all")
    assert messages == ["visible GPUs: none (CPU only)"]
    assert tf.config.get_visible_devices("GPU") == []


@pytest.mark.skipif(HAS_GPU, reason="checks the message shown without a GPU")
def test_mixed_precision_needs_a_gpu():
    before = keras.mixed_precision.global_policy().name
    with pytest.raises(dv.DeviceError, match="needs a GPU"):
        dv.set_mixed_precision(True)
    assert keras.mixed_precision.global_policy().name == before
    assert dv.set_mixed_precision(False) == "float32"
    assert not dv.mixed_precision_enabled()


@pytest.fixture
def mixed_policy():
    """Keras's mixed_float16 policy for one test (allowed on CPU, only slow), float32 afterwards."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_keep_output_float32_on_a_model(mixed_policy):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    assert model.output.dtype == "float16"  # the problem the helper solves
    fixed = dv.keep_output_float32(model)
    assert fixed.layers[-1].dtype_policy.name == "float32"
    assert fixed.layers[-2].dtype_policy.name == "mixed_float16"  # the rest stays mixed
    assert fixed.output.dtype == "float32"
    assert fixed.count_params() == model.count_params()
    # the same weights: the float32 output equals the float16 model's output up to float16 rounding
    x_in = np.random.default_rng(0).random((5, 6, 6, 1)).astype("float32")
    y16 = np.asarray(model(x_in, training=False), dtype="float32")
    y32 = np.asarray(fixed(x_in, training=False))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y16, atol=3e-3)
    np.testing.assert_allclose(y32.sum(axis=1), 1.0, atol=1e-6)  # a float32 softmax sums to 1 exactly
    # conv layer is the very same object (weights shared, not copied)
    assert fixed.layers[1] is model.layers[1]
    # already float32: returned unchanged
    assert dv.keep_output_float32(fixed) is fixed


def test_keep_output_float32_on_a_sequential_model(mixed_policy):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Activation("sigmoid")])
    fixed = dv.keep_output_float32(model)
    assert fixed.layers[-1].dtype_policy.name == "float32"
    assert fixed(np.ones((2, 4), "float32")).dtype == "float32"


def test_keep_output_float32_on_a_spec(mixed_policy):
    from convexplorer.core.builder import build_model

    from tests.models import tiny_spec

    spec = tiny_spec()
    new = dv.keep_output_float32(spec)
    assert [layer.kind for layer in new.layers] == ["Conv2D", "Flatten", "Dense", "Activation"]
    assert new.layers[2].get("activation") == "linear" and new.layers[3].get("activation") == "softmax"
    assert spec.layers[-1].get("activation") == "softmax"  # the user's design is untouched
    assert summarize(new).total == summarize(spec).total  # same parameters
    model = dv.keep_output_float32(build_model(new, compile=False))
    assert model.layers[-1].__class__.__name__ == "Activation"
    assert model.output.dtype == "float32"
    assert model.count_params() == summarize(spec).total


def test_keep_output_float32_rejects_other_things():
    with pytest.raises(dv.DeviceError, match="expected a keras.Model or a ModelSpec, received int"):
        dv.keep_output_float32(3)


def test_gpu_memory_mapping_follows_visible_devices(monkeypatch):
    """device_lib numbers the visible GPUs from 0; memory must land on the right physical GPU."""
    from types import SimpleNamespace

    from tensorflow.python.client import device_lib

    physical = [SimpleNamespace(name=f"/physical_device:GPU:{i}", device_type="GPU") for i in range(2)]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: physical if kind == "GPU" else [])
    monkeypatch.setattr(tf.config, "get_visible_devices", lambda kind=None: physical[1:])
    monkeypatch.setattr(tf.config.experimental, "get_memory_growth", lambda dev: True)
    seen = {}

    def fake_list(config):
        seen["growth"] = config.gpu_options.allow_growth
        seen["visible"] = config.gpu_options.visible_device_list
        return [SimpleNamespace(name="/device:CPU:0", device_type="CPU", memory_limit=1 << 28),
                SimpleNamespace(name="/device:GPU:0", device_type="GPU", memory_limit=8 * GB)]

    monkeypatch.setattr(device_lib, "list_local_devices", fake_list)
    assert dv._memory_by_gpu() == {1: 8 * GB}
    assert seen == {"growth": True, "visible": "1"}  # same choices as the eager context: no memory grab



def test_mixed_precision_note_by_compute_capability():
    cpu = dv.DeviceInfo("/physical_device:CPU:0", "CPU", 0)
    assert "needs a GPU" in dv.mixed_precision_note([cpu])
    assert dv.mixed_precision_note([cpu, _gpu(0, GB)]) == ""  # 8.6: tensor cores
    pascal = dv.DeviceInfo("/physical_device:GPU:1", "GPU", 1, "GTX 1080", GB, (6, 1))
    note = dv.mixed_precision_note([cpu, _gpu(0, GB), pascal])
    assert "GPU 1 has 6.1" in note and "GPU 0" not in note
