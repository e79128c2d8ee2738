"""A status-bar label with the compute devices TensorFlow sees: "CPU · 1 GPU (24 GB)".

Until TensorFlow is ready it says so; then it lists the devices on a worker
(after applying the stored compute settings once, so memory growth and the
device choice come before anything starts the GPUs). Its tooltip lists every
device, the precision policy and the training strategy; a click emits
``clicked`` (the main window opens Settings ▸ Compute).
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from convexplorer.ui.state import AppState
from convexplorer.ui.workers import Worker, run_in_thread


def _describe() -> dict[str, Any]:
    """Devices, dtype policy and strategy choice (runs on a worker: imports TF)."""
    import keras

    from convexplorer.ui.settings_dialog import compute_settings, list_devices_applied

    found = list_devices_applied()
    values = compute_settings()
    return {
        "devices": found,
        "policy": keras.mixed_precision.global_policy().name,
        "strategy": values["strategy"],
        "device": values["device"],
    }


class DeviceLabel(QLabel):
    """Shows the devices TensorFlow sees, once it is ready; click to open the compute settings."""

    clicked = Signal()
    #: Emitted with the device list after each refresh.
    devices_changed = Signal(object)

    def __init__(self, state: AppState, parent: Optional[QWidget] = None) -> None:
        super().__init__("Devices: loading TensorFlow…", parent)
        self.state = state
        self.devices: list[Any] = []
        self._worker: Optional[Worker] = None
        self._shut_down = False
        self.setObjectName("deviceLabel")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("The compute devices TensorFlow sees. Click for Settings ▸ Compute.")
        self.setContentsMargins(6, 0, 6, 0)
        if state.tf_ready:
            self.refresh()
        else:
            state.tensorflow_ready.connect(self.refresh)

    def refresh(self) -> Optional[Worker]:
        """Ask TensorFlow (on a worker) for its devices and show them; None once shut down."""
        if self._shut_down:
            return None
        if self._worker is not None and self._worker.is_running():
            return self._worker
        self._worker = run_in_thread(_describe)
        self._worker.result.connect(self._show)
        self._worker.error.connect(self._show_error)
        return self._worker

    def _show(self, info: dict[str, Any]) -> None:
        from convexplorer.core.devices import summary_text
        from convexplorer.core.distribute import STRATEGY_LABELS

        self.devices = list(info["devices"])
        self.setText(summary_text(self.devices))
        lines = ["<b>Devices TensorFlow sees</b>"] + [f"• {d.label}" for d in self.devices]
        device = info.get("device", "all")
        lines.append("Compute on: " + {"all": "all GPUs (CPU when there is none)", "cpu": "CPU only"}.get(device, device))
        lines.append(f"Precision: {info['policy']}")
        lines.append(f"Training: {STRATEGY_LABELS.get(info['strategy'], info['strategy'])}")
        lines.append("<i>Click for Settings ▸ Compute.</i>")
        self.setToolTip("<br>".join(lines))
        self.devices_changed.emit(self.devices)

    def _show_error(self, message: str, details: str) -> None:
        self.setText("Devices: unknown")
        self.setToolTip(f"TensorFlow could not list its devices: {message}")
        self.state.error.emit(f"Could not list the compute devices: {message}", details)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        """A left click emits ``clicked``."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def shutdown(self) -> None:
        """Refuse new queries and wait for a running one (window closing, test teardown)."""
        self._shut_down = True
        if self._worker is not None:
            self._worker.wait(10.0)
