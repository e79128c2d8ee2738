"""The training controls: what will train, the settings form, probes, start/pause/stop/continue, progress."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from convexplorer.core.training import BatchEvent, EpochEvent
from convexplorer.ui.panels.training.form import SettingsForm
from convexplorer.ui.panels.training.formatting import fmt_time, fmt_value
from convexplorer.ui.style import set_role

START_TIP = "Train a new model from the current design on the current data set"
#: The style role of each kind of message (resources/styles/convexplorer.qss).
MESSAGE_ROLES = {"info": "plain", "ok": "ok", "warn": "warning", "error": "error"}


class TrainingControls(QWidget):
    """The top of the panel's left column: inputs summary, settings, probes, run buttons and progress."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lv = QVBoxLayout(self)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.setSpacing(6)

        self.inputs_label = QLabel()
        self.inputs_label.setWordWrap(True)
        self.inputs_label.setTextFormat(Qt.TextFormat.RichText)
        self.inputs_label.setStyleSheet("background:#f4f6f8;border:1px solid #dde;padding:4px;")
        lv.addWidget(self.inputs_label)

        self.form = SettingsForm()
        lv.addWidget(self.form)

        from convexplorer.ui.widgets.timeline_view import ProbePicker

        timeline_box = QGroupBox("Learning timeline (replayed in Inspect ▸ Timeline)")
        tlv = QVBoxLayout(timeline_box)
        tlv.setContentsMargins(6, 4, 6, 4)
        self.probe_picker = ProbePicker()
        self.probe_picker.list.setMaximumHeight(64)  # a strip of thumbnails: the column stays short
        self.probe_picker.patterns_check.setText("filter patterns")
        self.probe_picker.patterns_check.setToolTip("Also record filter patterns (slower)")
        tlv.addWidget(self.probe_picker)
        lv.addWidget(timeline_box)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip(START_TIP)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current batch; the model and history are kept")
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        lv.addLayout(buttons)
        cont = QHBoxLayout()
        self.continue_button = QPushButton("Continue for")
        self.continue_button.setToolTip("Train the same model for more epochs, keeping its history")
        self.continue_spin = QSpinBox()
        self.continue_spin.setRange(1, 10000)
        self.continue_spin.setValue(5)
        self.continue_spin.setSuffix(" more epochs")
        cont.addWidget(self.continue_button)
        cont.addWidget(self.continue_spin, 1)
        lv.addLayout(cont)

        self.epoch_label = QLabel("Epoch –")
        self.epoch_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("epoch progress %p%")
        self.speed_label = QLabel("– samples/s · ETA –")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for w in (self.epoch_label, self.progress_bar, self.speed_label, self.message_label):
            lv.addWidget(w)

    # --- inputs and buttons ---------------------------------------------------------------
    def show_inputs(self, dataset: Any, spec: Any, model: Any = None, run: str = "") -> None:
        """Say which data set and model (a model object before the design) a run would use, and this run."""
        ds = dataset
        if ds is not None:
            try:
                n_tr = len(ds.subset_indices("train"))
                n_va = len(ds.subset_indices("validation"))
                n_te = len(ds.subset_indices("test"))
                h, w, c = ds.image_shape
                d = (f"<b>Data:</b> {ds.name}, {len(ds)} images {w}x{h}x{c}, {len(ds.class_names)} classes "
                     f"(train {n_tr} · validation {n_va} · test {n_te})")
                if getattr(ds, "augmentation", None) is not None:
                    d += ", training images augmented (Data panel)"
            except Exception as exc:  # noqa: BLE001 - a broken data set must not break the panel
                d = f"<b>Data:</b> cannot read the data set: {exc}"
        else:
            d = "<b>Data:</b> <span style='color:#a33'>none yet: choose a data set in the Data panel</span>"
        if model is not None:
            from convexplorer.core.targets import model_output_names

            m = f"<b>Model:</b> {model.name} ({model.count_params():,} parameters)"
            names = model_output_names(model)
            if names:
                m += f", {len(names)} heads: {', '.join(names)}"
        elif spec is not None:
            shape = "x".join(str(v) for v in getattr(spec, "input_shape", ()))
            m = f"<b>Model:</b> design “{getattr(spec, 'name', 'model')}”, input {shape}, {getattr(spec, 'num_classes', '?')} classes"
            heads = list(getattr(spec, "heads", None) or [])
            if len(heads) > 1:
                m += ", heads: " + ", ".join(f"{h.name} ({getattr(h, 'target', 'labels')})" for h in heads)
        else:
            m = "<b>Model:</b> <span style='color:#a33'>none yet: design one in the Builder (or pick a preset)</span>"
        self.inputs_label.setText(d + "<br>" + m + (f"<br><b>This run:</b> {run}" if run else ""))

    def set_state(self, busy: bool, evaluating: bool, reason: str, has_session: bool) -> None:
        """Enable what can be done now: ``reason`` says why Start cannot ("" when it can)."""
        self.start_button.setEnabled(not busy and not evaluating and not reason)
        self.start_button.setToolTip(reason or START_TIP)
        self.pause_button.setEnabled(busy)
        self.stop_button.setEnabled(busy)
        self.continue_button.setEnabled(not busy and not evaluating and has_session)
        self.continue_spin.setEnabled(has_session)
        self.form.set_busy(busy)

    def show_paused(self, paused: bool) -> None:
        """The pause button reads "Resume" while paused."""
        self.pause_button.setText("Resume" if paused else "Pause")

    def show_message(self, text: str, kind: str = "info") -> None:
        """A message under the progress, coloured by ``kind`` (info, ok, warn, error)."""
        set_role(self.message_label, MESSAGE_ROLES[kind])
        self.message_label.setText(text)

    # --- progress -------------------------------------------------------------------------
    def reset_progress(self) -> None:
        """No epoch, no speed: a new run starts."""
        self.progress_bar.setValue(0)
        self.epoch_label.setText("Epoch –")
        self.speed_label.setText("– samples/s · ETA –")

    def show_batch(self, e: BatchEvent) -> None:
        """Where the run is within its epoch, its speed and time left."""
        spe = e.steps_per_epoch
        self.epoch_label.setText(
            f"Epoch {e.epoch + 1}/{e.epochs} · batch {e.batch}/{spe if spe else '?'} · step {e.step}"
        )
        if spe:
            self.progress_bar.setValue(int(1000 * min(1.0, e.batch / spe)))
        self.speed_label.setText(f"{e.samples_per_s:,.0f} samples/s · ETA {fmt_time(e.eta_s)}")

    def show_epoch(self, event: EpochEvent) -> None:
        """An epoch ended: its first metrics."""
        bits = [f"{k} {fmt_value(v)}" for k, v in event.logs.items()]
        self.epoch_label.setText(f"Epoch {event.epoch + 1}/{event.epochs} done · " + ", ".join(bits[:4]))

    def show_completed(self) -> None:
        """The run went through all its epochs: a full bar."""
        self.progress_bar.setValue(1000)
