"""Settings ▸ Compute: the device table against tf.config, values stored in QSettings under compute/."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox

from convexplorer.core.devices import DeviceInfo
from convexplorer.ui import settings_dialog as sd
from convexplorer.ui.state import AppState

tf = pytest.importorskip("tensorflow")
GB = 1024**3


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def ready_state():
    state = AppState()
    state.mark_tensorflow_ready()
    return state


def _dialog(qtbot, state, settings):
    dialog = sd.SettingsDialog(state, settings)
    qtbot.addWidget(dialog)
    return dialog


def _wait_listed(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog.compute_page.devices_table.rowCount() > 0, timeout=30000)
    qtbot.waitUntil(lambda: not dialog._worker.is_running(), timeout=10000)


def test_defaults_and_bad_values_fall_back(settings):
    assert sd.compute_settings(settings) == sd.DEFAULTS
    settings.setValue("compute/strategy", "ring-allreduce")
    settings.setValue("compute/device", "TPU:0")
    settings.setValue("compute/memory_growth", "false")  # INI files store strings
    settings.setValue("compute/mixed_precision", "true")
    values = sd.compute_settings(settings)
    assert values == {"device": "all", "memory_growth": False, "mixed_precision": True, "strategy": "default"}


def test_save_and_read_back(settings):
    sd.save_compute_settings({"device": "GPU:1", "strategy": "mirrored", "memory_growth": False, "junk": 1}, settings)
    assert settings.value("compute/strategy") == "mirrored"
    assert settings.value("junk") is None and settings.value("compute/junk") is None
    again = QSettings(settings.fileName(), QSettings.Format.IniFormat)  # what the next start reads
    assert sd.compute_settings(again) == {"device": "GPU:1", "memory_growth": False, "mixed_precision": False,
                                          "strategy": "mirrored"}


def test_device_table_lists_what_tensorflow_sees(qtbot, ready_state, settings):
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    page = dialog.compute_page
    expected = [d.name.split("device:")[-1] for d in tf.config.list_physical_devices()]
    table = page.devices_table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == expected
    assert table.item(0, 1).text() == "CPU"
    if not tf.config.list_physical_devices("GPU"):
        assert not page.mixed_precision_check.isEnabled()
        assert "no GPU" in page.devices_status.text()
        assert page.device_combo.count() == 2  # all / CPU only: no GPU to choose


def test_ok_stores_choices_and_cancel_does_not(qtbot, ready_state, settings):
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    page = dialog.compute_page
    page.strategy_combo.setCurrentIndex(page.strategy_combo.findData("mirrored"))
    page.memory_growth_check.setChecked(False)
    page.device_combo.setCurrentIndex(page.device_combo.findData("cpu"))
    with qtbot.waitSignal(ready_state.status, timeout=3000) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert "Compute settings saved" in blocker.args[0] and "next start" in blocker.args[0]
    assert sd.compute_settings(settings) == {"device": "cpu", "memory_growth": False, "mixed_precision": False,
                                             "strategy": "mirrored"}

    second = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, second)
    assert second.compute_page.values() == sd.compute_settings(settings)  # shows what was stored
    second.compute_page.strategy_combo.setCurrentIndex(0)
    second.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert sd.compute_settings(settings)["strategy"] == "mirrored"


def test_restore_defaults(qtbot, ready_state, settings):
    sd.save_compute_settings({"strategy": "mirrored", "memory_growth": False}, settings)
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    assert dialog.compute_page.values()["strategy"] == "mirrored"
    dialog.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).click()
    assert dialog.compute_page.values() == sd.DEFAULTS


def test_gpus_offer_device_choice_and_mixed_precision(qtbot, ready_state, settings):
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    page = dialog.compute_page
    found = [
        DeviceInfo("/physical_device:CPU:0", "CPU", 0),
        DeviceInfo("/physical_device:GPU:0", "GPU", 0, "Test GPU", 24 * GB),
        DeviceInfo("/physical_device:GPU:1", "GPU", 1, "Test GPU", 16 * GB),
    ]
    with qtbot.waitSignal(page.devices_listed, timeout=1000):
        page.show_devices(found)
    assert page.devices_table.rowCount() == 3
    assert page.devices_table.item(1, 3).text() == "24 GB"
    assert page.device_combo.findData("GPU:1") >= 0
    assert page.mixed_precision_check.isEnabled()
    assert page.devices_status.text().startswith("CPU · 2 GPUs (40 GB)")
    page.device_combo.setCurrentIndex(page.device_combo.findData("GPU:1"))
    assert page.values()["device"] == "GPU:1"


def test_a_stored_gpu_that_is_gone_stays_visible(qtbot, ready_state, settings):
    sd.save_compute_settings({"device": "GPU:3"}, settings)
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    combo = dialog.compute_page.device_combo
    assert combo.currentData() == "GPU:3" and "not found" in combo.currentText()


def test_waits_for_tensorflow(qtbot, settings):
    state = AppState()
    dialog = _dialog(qtbot, state, settings)
    assert "Loading TensorFlow" in dialog.compute_page.devices_status.text()
    assert dialog._worker is None
    state.mark_tensorflow_ready()
    _wait_listed(qtbot, dialog)


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="the CPU-only message")
def test_apply_compute_settings_without_gpu_explains_and_keeps_float32():
    import keras

    messages = sd.apply_compute_settings({"device": "all", "memory_growth": True, "mixed_precision": True,
                                          "strategy": "mirrored"})
    assert any("needs a GPU" in m for m in messages)
    assert "visible GPUs: none (CPU only)" in messages
    assert keras.mixed_precision.global_policy().name == "float32"
    assert sd.ensure_compute_settings_applied() == messages  # applied once, remembered


def test_old_gpu_gets_a_mixed_precision_note(qtbot, ready_state, settings):
    dialog = _dialog(qtbot, ready_state, settings)
    _wait_listed(qtbot, dialog)
    page = dialog.compute_page
    page.show_devices([DeviceInfo("/physical_device:CPU:0", "CPU", 0),
                       DeviceInfo("/physical_device:GPU:0", "GPU", 0, "GTX 1080", 8 * GB, (6, 1))])
    assert "GPU 0 has 6.1" in page.devices_status.text()
    assert "GPU 0 has 6.1" in page.mixed_precision_check.toolTip()
    assert page.mixed_precision_check.isEnabled()  # allowed, just advised against
