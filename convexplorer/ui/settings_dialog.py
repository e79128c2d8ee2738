"""The Settings dialog, with its Compute page: devices, memory growth, mixed precision, strategy.

Values live in QSettings under ``compute/...``; :func:`compute_settings` reads
them (with defaults) for any code that needs them, e.g. training::

    from convexplorer.core import distribute
    strategy = distribute.make_strategy(compute_settings()["strategy"])
    model = distribute.build_in_scope(strategy, build_model, spec)
    batch = distribute.scaled_batch_size(per_device_batch, strategy)

:func:`apply_compute_settings` applies the device choice, GPU memory growth
and mixed precision; it must run right after TensorFlow is imported and before
anything starts the devices (the device label and this dialog call it first
too, once). Device and memory settings changed later take effect at the next
start; mixed precision and the strategy take effect for the next model.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convexplorer.ui.state import AppState
from convexplorer.ui.style import set_role
from convexplorer.ui.workers import Worker, run_in_thread

log = logging.getLogger(__name__)

PREFIX = "compute/"
#: Every compute setting and its default.
DEFAULTS: dict[str, Any] = {
    "device": "all",  # "all", "cpu" or "GPU:<n>"
    "memory_growth": True,
    "mixed_precision": False,
    "strategy": "default",  # "default" or "mirrored" in the app; "multiworker" is for the exported script
}
#: Strategies the app itself can use (several machines need the exported script).
APP_STRATEGIES = ("default", "mirrored")

_applied_lock = threading.Lock()
_applied: Optional[list[str]] = None


def _as_bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if value is None:
        return default
    return bool(value)


def compute_settings(settings: Optional[QSettings] = None) -> dict[str, Any]:
    """The compute settings from QSettings, with defaults for missing or unreadable values."""
    s = settings or QSettings()
    device = str(s.value(PREFIX + "device", DEFAULTS["device"]) or DEFAULTS["device"])
    if device.lower() not in ("all", "cpu") and not (device.upper().startswith("GPU:") and device[4:].isdigit()):
        device = DEFAULTS["device"]
    strategy = str(s.value(PREFIX + "strategy", DEFAULTS["strategy"]) or DEFAULTS["strategy"]).lower()
    if strategy not in APP_STRATEGIES:
        strategy = DEFAULTS["strategy"]
    return {
        "device": device.lower() if device.lower() in ("all", "cpu") else device.upper(),
        "memory_growth": _as_bool(s.value(PREFIX + "memory_growth"), DEFAULTS["memory_growth"]),
        "mixed_precision": _as_bool(s.value(PREFIX + "mixed_precision"), DEFAULTS["mixed_precision"]),
        "strategy": strategy,
    }


def save_compute_settings(values: dict[str, Any], settings: Optional[QSettings] = None) -> None:
    """Store compute settings (only the known keys) in QSettings."""
    s = settings or QSettings()
    for key in DEFAULTS:
        if key in values:
            s.setValue(PREFIX + key, values[key])
    s.sync()


def apply_compute_settings(values: Optional[dict[str, Any]] = None) -> list[str]:
    """Apply device choice, memory growth and mixed precision (imports TF); returns messages for the log.

    Call it right after importing TensorFlow, before the devices start; later
    calls re-apply what still can change (mixed precision) and say what waits
    for a restart. Never raises: problems come back as messages.
    """
    global _applied
    from convexplorer.core import devices
    from convexplorer.core.errors import ConvExplorerError

    values = values or compute_settings()
    messages: list[str] = []
    try:
        messages += devices.apply_device_settings(values["memory_growth"], values["device"])
    except ConvExplorerError as exc:
        messages.append(str(exc))
    try:
        policy = devices.set_mixed_precision(bool(values["mixed_precision"]))
        messages.append(f"Keras dtype policy: {policy}")
    except ConvExplorerError as exc:
        devices.set_mixed_precision(False)
        messages.append(str(exc))
    for m in messages:
        log.info("compute settings: %s", m)
    with _applied_lock:
        _applied = messages
    return messages


def ensure_compute_settings_applied() -> list[str]:
    """Apply the stored compute settings once per process (later calls return the first messages)."""
    with _applied_lock:
        done = _applied
    return done if done is not None else apply_compute_settings()


def list_devices_applied() -> list[Any]:
    """The devices TF sees, after the stored compute settings were applied (for workers)."""
    ensure_compute_settings_applied()
    from convexplorer.core import devices

    return devices.list_devices()


class ComputePage(QWidget):
    """Settings ▸ Compute: the devices TensorFlow sees and how training uses them."""

    #: Emitted with the device list once it is known.
    devices_listed = Signal(object)

    def __init__(self, values: dict[str, Any], parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._devices: list[Any] = []
        layout = QVBoxLayout(self)

        devices_box = QGroupBox("Devices TensorFlow sees")
        box_layout = QVBoxLayout(devices_box)
        self.devices_table = QTableWidget(0, 4)
        self.devices_table.setHorizontalHeaderLabels(["Device", "Type", "Name", "Memory"])
        self.devices_table.verticalHeader().setVisible(False)
        self.devices_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.devices_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.devices_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.devices_table.setMinimumHeight(110)
        box_layout.addWidget(self.devices_table)
        self.devices_status = QLabel("Loading TensorFlow… the device list appears when it is ready.")
        self.devices_status.setWordWrap(True)
        box_layout.addWidget(self.devices_status)
        layout.addWidget(devices_box)

        use_box = QGroupBox("How ConvExplorer uses them")
        form = QFormLayout(use_box)
        self.device_combo = QComboBox()
        self.device_combo.addItem("All GPUs (CPU when there is none)", "all")
        self.device_combo.addItem("CPU only", "cpu")
        self.device_combo.setToolTip("Which device TensorFlow computes on. Takes effect at the next start.")
        form.addRow("Compute on:", self.device_combo)
        self.memory_growth_check = QCheckBox("Allocate GPU memory as needed (memory growth)")
        self.memory_growth_check.setToolTip(
            "Without it TensorFlow reserves nearly all GPU memory at once. Takes effect at the next start."
        )
        form.addRow("GPU memory:", self.memory_growth_check)
        self.mixed_precision_check = QCheckBox("Mixed precision (float16 compute, float32 weights and output layer)")
        self.mixed_precision_check.setToolTip(
            "mixed_float16: faster training on GPUs with tensor cores; the last layer stays float32. Needs a GPU."
        )
        form.addRow("Precision:", self.mixed_precision_check)
        self.strategy_combo = QComboBox()
        from convexplorer.core.distribute import STRATEGY_LABELS

        for name in APP_STRATEGIES:
            self.strategy_combo.addItem(STRATEGY_LABELS[name], name)
        self.strategy_combo.setToolTip(
            "Mirrored copies the model to every local GPU (or logical CPU device) and splits each batch between "
            "them; the batch size is multiplied by the number of copies."
        )
        form.addRow("Training strategy:", self.strategy_combo)
        layout.addWidget(use_box)

        self.note_label = QLabel(
            "Device and GPU-memory changes take effect the next time ConvExplorer starts; precision and "
            "strategy apply to the next model you build or train.\n"
            "Several machines: export the training script from the Builder and start it on each machine with "
            "--strategy multiworker and a TF_CONFIG (see the README)."
        )
        self.note_label.setWordWrap(True)
        set_role(self.note_label, "hint")
        layout.addWidget(self.note_label)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        set_role(self.message_label, "error")
        self.message_label.hide()
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        self.set_values(values)

    # --- values ---------------------------------------------------------------
    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` (a :func:`compute_settings` dict) in the controls."""
        self._wanted_device = values.get("device", DEFAULTS["device"])
        self._select_device(self._wanted_device)
        self.memory_growth_check.setChecked(bool(values.get("memory_growth", DEFAULTS["memory_growth"])))
        self.mixed_precision_check.setChecked(bool(values.get("mixed_precision", DEFAULTS["mixed_precision"])))
        i = self.strategy_combo.findData(values.get("strategy", DEFAULTS["strategy"]))
        self.strategy_combo.setCurrentIndex(max(i, 0))

    def values(self) -> dict[str, Any]:
        """The settings as the controls show them."""
        return {
            "device": self.device_combo.currentData(),
            "memory_growth": self.memory_growth_check.isChecked(),
            "mixed_precision": self.mixed_precision_check.isChecked(),
            "strategy": self.strategy_combo.currentData(),
        }

    def _select_device(self, device: str) -> None:
        i = self.device_combo.findData(device)
        if i < 0 and str(device).upper().startswith("GPU:"):
            # a GPU not (yet) listed: keep the choice visible rather than silently dropping it
            self.device_combo.addItem(f"{device} (not found)", device)
            i = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(max(i, 0))

    # --- devices ----------------------------------------------------------------
    def show_devices(self, found: list[Any]) -> None:
        """Fill the table and the device choices from a :func:`core.devices.list_devices` list."""
        from convexplorer.core.devices import mixed_precision_note, summary_text

        self._devices = list(found)
        self.devices_table.setRowCount(len(found))
        for row, d in enumerate(found):
            cells = [d.short_name, d.kind, d.description or ("host processor" if d.kind == "CPU" else "GPU"),
                     d.memory_text or "—"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.devices_table.setItem(row, col, item)
        gpus = [d for d in found if d.kind == "GPU"]
        wanted = self.device_combo.currentData()
        while self.device_combo.count() > 2:
            self.device_combo.removeItem(2)
        for d in gpus:
            self.device_combo.addItem(f"Only {d.label}", d.short_name)
        self._select_device(wanted)
        self.mixed_precision_check.setEnabled(bool(gpus))
        if not gpus:
            if self.mixed_precision_check.isChecked():
                self.mixed_precision_check.setChecked(False)
        n_cpu = sum(1 for d in found if d.kind == "CPU")
        if gpus:
            text = f"{summary_text(found)}: {len(gpus)} GPU{'s' if len(gpus) != 1 else ''} and {n_cpu} CPU."
        else:
            text = (f"{n_cpu} CPU, no GPU: training runs on the CPU, and mirrored training splits each batch over "
                    "the logical CPU devices.")
        note = mixed_precision_note(found)
        if gpus and note:
            text += " " + note
        self.mixed_precision_check.setToolTip(note or "mixed_float16: float16 compute, float32 weights; "
                                              "the last layer stays float32.")
        self.devices_status.setText(text)
        self.devices_listed.emit(found)

    def show_error(self, message: str) -> None:
        """Show a problem under the controls (never a traceback)."""
        self.message_label.setText(message)
        self.message_label.setVisible(bool(message))


class InspectPage(QWidget):
    """Settings ▸ Inspect: what happens to a photo opened while no model is loaded."""

    def __init__(self, choice: str, parent: Optional[QWidget] = None) -> None:
        from convexplorer.core.zoo import DEFAULT_CLASSIFIER, DEFAULT_CLASSIFIER_MB
        from convexplorer.ui.panels.inspect.first_photo import ASK, NO, YES

        super().__init__(parent)
        layout = QVBoxLayout(self)
        box = QGroupBox("A photo opened while no model is loaded")
        form = QFormLayout(box)
        self.photo_combo = QComboBox()
        self.photo_combo.addItem("Ask before downloading anything", ASK)
        self.photo_combo.addItem(f"Classify it with {DEFAULT_CLASSIFIER} (ImageNet weights, "
                                 f"{DEFAULT_CLASSIFIER_MB} MB, downloaded once)", YES)
        self.photo_combo.addItem("Leave it unclassified until I load a model", NO)
        form.addRow("Then:", self.photo_combo)
        layout.addWidget(box)
        note = QLabel(f"Once {DEFAULT_CLASSIFIER}'s weights are on this machine (Keras's cache, or a release "
                      "built with its weights), photos are classified at once, offline.")
        note.setWordWrap(True)
        set_role(note, "hint")
        layout.addWidget(note)
        layout.addStretch(1)
        self.set_choice(choice)

    def set_choice(self, choice: str) -> None:
        """Show the remembered answer ("ask", "yes" or "no")."""
        index = self.photo_combo.findData(choice)
        self.photo_combo.setCurrentIndex(max(index, 0))

    def choice(self) -> str:
        """The answer the combo shows."""
        return str(self.photo_combo.currentData())


class SettingsDialog(QDialog):
    """Settings: one page per area, chosen on the left; Compute is the first."""

    def __init__(self, state: Optional[AppState] = None, settings: Optional[QSettings] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.state = state
        self.settings = settings or QSettings()
        self._worker: Optional[Worker] = None
        self.resize(760, 540)

        self.pages_list = QListWidget()
        self.pages_list.setFixedWidth(140)
        self.pages = QStackedWidget()
        self.compute_page = ComputePage(compute_settings(self.settings))
        self.add_page("Compute", self.compute_page)
        from convexplorer.ui.panels.inspect.first_photo import default_classifier_choice

        self.inspect_page = InspectPage(default_classifier_choice(self.settings))
        self.add_page("Inspect", self.inspect_page)
        self.pages_list.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.pages_list.setCurrentRow(0)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._restore_defaults)

        top = QHBoxLayout()
        top.addWidget(self.pages_list)
        top.addWidget(self.pages, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(top, 1)
        outer.addWidget(self.buttons)

        if state is None or state.tf_ready:
            self.refresh_devices()
        else:
            state.tensorflow_ready.connect(self.refresh_devices)

    def add_page(self, title: str, page: QWidget) -> None:
        """Add a settings page (other areas may add theirs)."""
        self.pages_list.addItem(title)
        self.pages.addWidget(page)

    def refresh_devices(self) -> Worker:
        """List the devices on a worker (after applying the stored settings once)."""
        if self._worker is not None and self._worker.is_running():
            return self._worker
        self.compute_page.devices_status.setText("Asking TensorFlow for its devices…")
        self._worker = run_in_thread(list_devices_applied)
        self._worker.result.connect(self.compute_page.show_devices)
        self._worker.error.connect(lambda msg, _details: self.compute_page.show_error(f"Could not list devices: {msg}"))
        return self._worker

    def _restore_defaults(self) -> None:
        from convexplorer.ui.panels.inspect.first_photo import ASK

        self.compute_page.set_values(DEFAULTS)
        self.inspect_page.set_choice(ASK)

    def accept(self) -> None:
        """Store the values; apply mixed precision now when TensorFlow is loaded."""
        from convexplorer.ui.panels.inspect.first_photo import set_default_classifier_choice

        set_default_classifier_choice(self.inspect_page.choice(), self.settings)
        values = self.compute_page.values()
        old = compute_settings(self.settings)
        save_compute_settings(values, self.settings)
        messages = []
        if (self.state is None or self.state.tf_ready) and values["mixed_precision"] != old["mixed_precision"]:
            from convexplorer.core import devices
            from convexplorer.core.errors import ConvExplorerError

            try:
                messages.append(f"precision: {devices.set_mixed_precision(values['mixed_precision'])}")
            except ConvExplorerError as exc:
                self.compute_page.show_error(str(exc))
                return
        if values["device"] != old["device"] or values["memory_growth"] != old["memory_growth"]:
            messages.append("device settings take effect at the next start")
        if self.state is not None:
            self.state.status.emit("Compute settings saved" + (f" ({'; '.join(messages)})" if messages else ""))
        super().accept()

    def shutdown(self) -> None:
        """Wait for the device-listing worker (dialog closing, test teardown)."""
        if self._worker is not None:
            self._worker.wait(10.0)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        self.shutdown()
        super().done(result)


def main() -> int:
    """Show the dialog alone, for development: ``python -m convexplorer.ui.settings_dialog``."""
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    dialog = SettingsDialog()
    dialog.show()
    code = app.exec()
    dialog.shutdown()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
