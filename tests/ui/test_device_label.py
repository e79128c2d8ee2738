"""The status-bar device label against tf.config's device list."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from convexplorer.core.devices import DeviceInfo
from convexplorer.ui.state import AppState
from convexplorer.ui.widgets.device_label import DeviceLabel

tf = pytest.importorskip("tensorflow")


def test_loading_then_devices(qtbot):
    state = AppState()
    label = DeviceLabel(state)
    qtbot.addWidget(label)
    assert "loading TensorFlow" in label.text()
    with qtbot.waitSignal(label.devices_changed, timeout=30000) as blocker:
        state.mark_tensorflow_ready()
    label.shutdown()
    gpus = tf.config.list_physical_devices("GPU")
    names = [d.name for d in blocker.args[0]]
    assert names == [d.name for d in tf.config.list_physical_devices("CPU")] + [d.name for d in gpus]
    if not gpus:
        assert label.text() == "CPU"
    else:
        assert label.text().startswith(f"CPU · {len(gpus)} GPU")
    tip = label.toolTip()
    assert "CPU 0" in tip and "Precision: " in tip and "Training: " in tip and "Compute on: " in tip


def test_gpu_summary_and_click(qtbot):
    state = AppState()
    label = DeviceLabel(state)
    qtbot.addWidget(label)
    label._show({
        "devices": [DeviceInfo("/physical_device:CPU:0", "CPU", 0),
                    DeviceInfo("/physical_device:GPU:0", "GPU", 0, "Test GPU", 24 * 1024**3)],
        "policy": "mixed_float16",
        "strategy": "mirrored",
    })
    assert label.text() == "CPU · 1 GPU (24 GB)"
    assert "GPU 0 · Test GPU · 24 GB" in label.toolTip() and "Mirrored" in label.toolTip()
    with qtbot.waitSignal(label.clicked, timeout=1000):
        qtbot.mouseClick(label, Qt.MouseButton.LeftButton)


def test_error_is_shown_not_raised(qtbot):
    state = AppState()
    label = DeviceLabel(state)
    qtbot.addWidget(label)
    with qtbot.waitSignal(state.error, timeout=1000) as blocker:
        label._show_error("RuntimeError: no driver", "traceback...")
    assert label.text() == "Devices: unknown"
    assert "no driver" in blocker.args[0] and "no driver" in label.toolTip()
