"""Training panel: train the designed model on the chosen data set and watch it learn.

Training runs on a worker thread (``convexplorer.ui.workers``) through
:class:`convexplorer.core.training.TrainingSession`. Its events arrive on the
training thread: batch events go into a deque that a GUI timer drains
(~30 Hz) into the live charts, which redraw on their own throttled timers;
epoch, error and done events come as queued Qt signals. Nothing is drawn per
batch. When a run ends the model goes to Inspect, the run is saved in the
workspace, and the test subset is evaluated (confusion matrix, per-class
precision/recall, misclassified gallery).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from convexplorer.core.errors import ConvExplorerError
from convexplorer.core.training import (
    BatchEvent,
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    History,
    TrainingError,
    TrainingResult,
    TrainingSettings,
    batch_positions,
)
from convexplorer.ui.panels.base import Panel, control_column, preview
from convexplorer.ui.state import AppState
from convexplorer.ui.widgets.confusion_matrix import ConfusionMatrixView
from convexplorer.ui.widgets.live_chart import LiveChart
from convexplorer.ui.widgets.thumbnail_grid import array_to_pixmap

#: How often the GUI takes the training thread's latest batch events (ms).
DRAIN_MS = 33
#: Most misclassified examples shown in the gallery.
GALLERY_MAX = 120

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
COMPARE_COLORS = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
METRIC_TITLES = {"loss": "Loss", "accuracy": "Accuracy", "learning_rate": "Learning rate"}


# --------------------------------------------------------------------------- plumbing (no maths)
class TrainingBridge(QObject):
    """Carries a TrainingSession's events from the training thread to the GUI thread.

    Batch events are only queued (the GUI drains them on a timer); the rare
    epoch, error and done events are emitted as queued signals.
    """

    event = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.batches: deque[BatchEvent] = deque()

    def on_event(self, event: Any) -> None:
        """Called on the training thread for every event."""
        if isinstance(event, BatchEvent):
            self.batches.append(event)
        else:
            self.event.emit(event)

    def take_batches(self) -> list[BatchEvent]:
        """Every batch event queued so far (GUI thread)."""
        out = []
        while True:
            try:
                out.append(self.batches.popleft())
            except IndexError:
                return out


class TrainingControl:
    """Stop/pause requests that reach the session even if it does not exist yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.session: Any = None
        self.stop_requested = False
        self.pause_requested = False

    def attach(self, session: Any) -> None:
        """Called by the job once the session exists; applies pending requests."""
        with self._lock:
            self.session = session
            if self.pause_requested:
                session.pause()
            if self.stop_requested:
                session.stop()

    def reset(self) -> None:
        """Forget requests (a new run or a continuation starts)."""
        with self._lock:
            self.stop_requested = False
            self.pause_requested = False
            if self.session is not None:
                self.session.resume()

    def stop(self) -> None:
        """Ask the run to stop after the current batch."""
        with self._lock:
            self.stop_requested = True
            if self.session is not None:
                self.session.stop()

    def pause(self) -> None:
        """Ask the run to pause after the current batch."""
        with self._lock:
            self.pause_requested = True
            if self.session is not None:
                self.session.pause()

    def resume(self) -> None:
        """Let a paused run go on."""
        with self._lock:
            self.pause_requested = False
            if self.session is not None:
                self.session.resume()


@dataclass
class TrainingJob:
    """Everything a training worker needs (built on the GUI thread)."""

    dataset: Any
    settings: TrainingSettings
    bridge: TrainingBridge
    control: TrainingControl
    spec: Any = None
    model: Any = None
    label: str = ""
    use_validation: bool = True
    session: Any = None
    run_dir: Optional[Path] = None
    epochs: Optional[int] = None
    seed: int = 0
    #: Keras callbacks to add (the learning-timeline recorder).
    callbacks: tuple = ()
    #: tf.distribute strategy name from Settings ▸ Compute ("default", "mirrored").
    strategy: str = "default"


@dataclass
class JobOutcome:
    """What a training worker returns."""

    session: Any
    result: TrainingResult
    run: Any
    model: Any


def _check_fit(model: Any, dataset: Any) -> None:
    want = tuple(int(v) for v in dataset.image_shape)
    got = tuple(model.input_shape[1:]) if getattr(model, "input_shape", None) else None
    if got is not None and None not in got and tuple(int(v) for v in got) != want:
        raise TrainingError(
            f"the model expects {'x'.join(map(str, got))} images but the data set gives "
            f"{'x'.join(map(str, want))}: set the design's input shape to match the data set"
        )
    out = model.output_shape[-1] if getattr(model, "output_shape", None) else None
    k = len(dataset.class_names)
    if out is not None and not (out == k or (out == 1 and k == 2)):
        raise TrainingError(
            f"the model has {out} outputs but the data set has {k} classes: set the design's number of classes to {k}"
        )


def run_training_job(job: TrainingJob, progress: Any = None, cancel: threading.Event | None = None) -> JobOutcome:
    """Build the model, train (or continue), save the run; runs on a worker thread."""
    try:
        return _run_training_job(job, cancel)
    except BaseException:
        # Cancelled or failed before anything was trained: no empty run folder is left behind.
        if job.session is None and job.run_dir is not None:
            try:
                job.run_dir.rmdir()  # only if empty
            except OSError:
                pass
        raise


def _run_training_job(job: TrainingJob, cancel: threading.Event | None) -> JobOutcome:
    from convexplorer.core.progress import check_cancel
    from convexplorer.core.runs import new_run_dir, save_run
    from convexplorer.core.training import TrainingSession

    ds = job.dataset
    session = job.session
    if session is None:
        model = job.model
        strategy = None
        if job.strategy not in ("", "default"):
            from convexplorer.core import distribute

            strategy = distribute.make_strategy(job.strategy)
        if model is None:
            if strategy is not None:
                from convexplorer.core.distribute import build_spec_in_scope

                model = build_spec_in_scope(job.spec, strategy)
            else:
                from convexplorer.core.builder import build_model

                model = build_model(job.spec, compile=True, cancel=cancel)
        elif strategy is not None:
            from convexplorer.core.distribute import rebuild_in_scope

            model = rebuild_in_scope(model, strategy)
        check_cancel(cancel)
        _check_fit(model, ds)
        n_train = len(ds.subset_indices("train"))
        if n_train == 0:
            raise TrainingError(f"the training subset of {ds.name} is empty: lower the validation/test fractions")
        bs = job.settings.batch_size
        if strategy is not None:  # the batch size set is per device
            from convexplorer.core.distribute import scaled_batch_size

            bs = scaled_batch_size(bs, strategy)
        train = ds.to_tf_dataset("train", batch_size=bs, shuffle=True, seed=job.seed)
        val = None
        if job.use_validation and len(ds.subset_indices("validation")) > 0:
            val = ds.to_tf_dataset("validation", batch_size=bs, shuffle=False)
        run_dir = job.run_dir or new_run_dir(job.label)
        session = TrainingSession(
            model, train, val, job.settings, on_event=job.bridge.on_event, checkpoint_dir=run_dir,
            num_samples=n_train, callbacks=job.callbacks,
        )
        session.run_dir = run_dir  # type: ignore[attr-defined]
    else:
        job.settings.validate()
        session.settings = job.settings  # a continued run takes the callbacks chosen now
    job.control.attach(session)
    result = session.run(epochs=job.epochs, cancel=cancel)
    spec = job.spec
    extra = {
        "dataset": getattr(ds, "name", ""),
        "class_names": list(getattr(ds, "class_names", [])),
        "image_shape": list(getattr(ds, "image_shape", [])),
        "model_name": getattr(session.model, "name", ""),
    }
    info = save_run(
        session.run_dir, result.history, job.settings, result, spec=spec, model=session.model, label=job.label, extra=extra
    )
    return JobOutcome(session, result, info, session.model)


def evaluate_job(model: Any, dataset: Any, subset: str, progress: Any = None, cancel: threading.Event | None = None) -> Any:
    """Evaluate ``model`` on a subset of ``dataset`` (worker thread)."""
    from convexplorer.core.evaluation import evaluate_model

    idx = dataset.subset_indices(subset)
    ds = dataset.to_tf_dataset(subset, batch_size=64, shuffle=False)
    return evaluate_model(model, ds, class_names=dataset.class_names, indices=idx, progress=progress, cancel=cancel)


def _load_model_job(run: Any, which: str, progress: Any = None, cancel: Any = None) -> Any:
    from convexplorer.core.runs import load_run_model

    return load_run_model(run, which)


def _export_tb_job(history: History, path: str, progress: Any = None, cancel: Any = None) -> str:
    from convexplorer.core.runs import export_tensorboard

    return str(export_tensorboard(history, path))


def _fmt_time(seconds: Optional[float]) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _fmt(v: float, pct: bool = False) -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.3f}"


# --------------------------------------------------------------------------- the panel
class TrainingPanel(Panel):
    """Train with live charts, stop/pause/continue, evaluation and kept runs."""

    title = "Training"
    key = "training"
    needs_tensorflow = True

    #: A run (or continuation) ended: payload is the TrainingResult.
    training_finished = Signal(object)
    #: An evaluation finished: payload is the EvaluationResult.
    evaluation_finished = Signal(object)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.bridge = TrainingBridge()
        self.bridge.event.connect(self._on_event)
        self.control = TrainingControl()
        self.session: Any = None
        self.run_info: Any = None
        self.last_result: Optional[TrainingResult] = None
        self.evaluation: Any = None
        self._eval_dataset: Any = None
        self._train_worker: Any = None
        self._eval_worker: Any = None
        self._model_override: Any = None  # screenshots without a design
        self._running = False
        self._last_batch: Optional[BatchEvent] = None
        self._compare: list[str] = []
        self.charts: dict[str, LiveChart] = {}
        self._build_ui()
        self._load_settings()
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_MS)
        self._drain_timer.timeout.connect(self._drain)
        state.dataset_changed.connect(lambda _d: self._update_inputs())
        state.dataset_changed.connect(self._probe_dataset)
        self._finished_runs = 0
        self._mark = 0
        self._compared = 0
        self._recorder: Any = None
        state.spec_changed.connect(lambda _s: self._update_inputs())
        self._update_inputs()
        self.refresh_runs()

    # --- UI ------------------------------------------------------------------------
    def _build_ui(self) -> None:
        root = QHBoxLayout(self.body)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        # left: inputs, settings, controls, progress, runs
        left = QWidget()
        left.setMinimumWidth(300)
        left.setMaximumWidth(340)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 4, 0)
        lv.setSpacing(6)
        self.inputs_label = QLabel()
        self.inputs_label.setWordWrap(True)
        self.inputs_label.setTextFormat(Qt.TextFormat.RichText)
        self.inputs_label.setStyleSheet("background:#f4f6f8;border:1px solid #dde;padding:4px;")
        lv.addWidget(self.inputs_label)

        settings_box = QGroupBox("Training")
        form = QFormLayout(settings_box)
        form.setContentsMargins(6, 2, 6, 2)
        form.setVerticalSpacing(3)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10000)
        self.epochs_spin.setValue(10)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setValue(32)
        row = QHBoxLayout()
        row.addWidget(self.epochs_spin, 1)
        row.addSpacing(6)
        row.addWidget(QLabel("Batch size"))
        row.addWidget(self.batch_spin, 1)
        form.addRow("Epochs", row)
        self.validation_combo = QComboBox()
        self.validation_combo.addItems(["validation subset", "none"])
        self.validation_combo.setToolTip("Validation data: the data set's validation subset (set its size in the Data panel)")
        form.addRow("Validation", self.validation_combo)
        self.early_check = QCheckBox("Early stopping")
        self.early_check.setToolTip("Stop when the validation loss has not improved for this many epochs (keeps the best weights)")
        self.early_patience = QSpinBox()
        self.early_patience.setRange(0, 1000)
        self.early_patience.setValue(3)
        self.early_patience.setPrefix("patience ")
        self.early_patience.setSuffix(" ep")
        form.addRow(self.early_check, self.early_patience)
        self.reduce_check = QCheckBox("Reduce LR")
        self.reduce_check.setToolTip("Multiply the learning rate by the factor when the validation loss stalls for this many epochs")
        self.reduce_patience = QSpinBox()
        self.reduce_patience.setRange(0, 1000)
        self.reduce_patience.setValue(2)
        self.reduce_patience.setPrefix("after ")
        self.reduce_patience.setSuffix(" ep")
        self.reduce_factor = QDoubleSpinBox()
        self.reduce_factor.setRange(0.01, 0.99)
        self.reduce_factor.setSingleStep(0.1)
        self.reduce_factor.setValue(0.5)
        self.reduce_factor.setPrefix("× ")
        row = QHBoxLayout()
        row.addWidget(self.reduce_patience, 1)
        row.addWidget(self.reduce_factor, 1)
        form.addRow(self.reduce_check, row)
        self.checkpoint_combo = QComboBox()
        self.checkpoint_combo.addItems(["best epoch", "every epoch", "none"])
        self.checkpoint_combo.setToolTip("Model checkpoints kept in the run folder")
        form.addRow("Checkpoint", self.checkpoint_combo)
        self.evaluate_check = QCheckBox("Evaluate on the test subset when training ends")
        self.evaluate_check.setChecked(True)
        form.addRow(self.evaluate_check)
        lv.addWidget(settings_box)

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
        self.start_button.setToolTip("Train a new model from the current design on the current data set")
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

        runs_box = QGroupBox("Runs (kept in your workspace)")
        rl = QVBoxLayout(runs_box)
        rl.setContentsMargins(6, 4, 6, 4)
        self.runs_list = QListWidget()
        self.runs_list.setMinimumHeight(90)
        self.runs_list.setWordWrap(True)
        self.runs_list.setToolTip("Tick runs to compare them on the charts; select one to show, export or inspect it")
        rl.addWidget(self.runs_list, 1)
        rb1 = QHBoxLayout()
        self.show_run_button = QPushButton("Show")
        self.compare_button = QPushButton("Compare ticked")
        self.inspect_run_button = QPushButton("To Inspect")
        for b in (self.show_run_button, self.compare_button, self.inspect_run_button):
            rb1.addWidget(b)
        rl.addLayout(rb1)
        rb2 = QHBoxLayout()
        self.csv_button = QPushButton("CSV…")
        self.tensorboard_button = QPushButton("TensorBoard…")
        self.delete_run_button = QPushButton("Delete")
        for b in (self.csv_button, self.tensorboard_button, self.delete_run_button):
            rb2.addWidget(b)
        rl.addLayout(rb2)
        lv.addWidget(runs_box, 1)

        root.addWidget(control_column(left, 318, 360, frame=False))

        # right: charts on top, results below
        split = QSplitter(Qt.Orientation.Vertical)
        charts_box = QWidget()
        cv = QVBoxLayout(charts_box)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.setSpacing(2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(80)
        self.smoothing_slider.setMaximumWidth(160)
        self.smoothing_slider.setToolTip("Exponential moving average: each point = factor x previous + (1 - factor) x new")
        self.smoothing_value = QLabel("0.80")
        self.smoothing_value.setMinimumWidth(30)
        bar.addWidget(self.smoothing_slider)
        bar.addWidget(self.smoothing_value)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setToolTip("Logarithmic y axis for the loss and learning-rate charts")
        self.batches_check = QCheckBox("Per-batch curves")
        self.batches_check.setChecked(True)
        bar.addSpacing(12)
        bar.addWidget(self.log_check)
        bar.addWidget(self.batches_check)
        bar.addStretch(1)
        self.legend_label = QLabel(
            f"<span style='color:{TRAIN_COLOR}'>■ training</span> &nbsp; "
            f"<span style='color:{VAL_COLOR}'>■ validation</span> &nbsp; thin: per batch · dots: per epoch"
        )
        bar.addWidget(self.legend_label)
        cv.addLayout(bar)
        self.charts_row = QHBoxLayout()
        self.charts_row.setSpacing(4)
        cv.addLayout(self.charts_row, 1)
        for m in ("loss", "accuracy", "learning_rate"):
            self._chart(m)
        split.addWidget(charts_box)

        results = QWidget()
        res_l = QVBoxLayout(results)
        res_l.setContentsMargins(0, 0, 0, 0)
        res_l.setSpacing(2)
        self.results_label = QLabel("Results: train a model; it is evaluated on the data set's test subset when training ends.")
        self.results_label.setWordWrap(True)
        self.results_label.setStyleSheet("font-weight:bold;")
        res_l.addWidget(self.results_label)
        rrow = QHBoxLayout()
        self.confusion_view = ConfusionMatrixView()
        rrow.addWidget(self.confusion_view, 3)
        self.class_table = QTableWidget(0, 5)
        self.class_table.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "support"])
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 5):
            self.class_table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.class_table.setMinimumWidth(250)
        rrow.addWidget(self.class_table, 3)
        gal = QVBoxLayout()
        self.gallery_label = QLabel("Misclassified examples (click one to inspect it)")
        gal.addWidget(self.gallery_label)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(56, 56))
        self.gallery.setGridSize(QSize(104, 96))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setWordWrap(True)
        gal.addWidget(self.gallery, 1)
        self.best_button = QPushButton("Best checkpoint to Inspect")
        self.best_button.setEnabled(False)
        gal.addWidget(self.best_button)
        rrow.addLayout(gal, 4)
        res_l.addLayout(rrow, 1)
        split.addWidget(results)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([430, 320])
        root.addWidget(split, 1)

        # connections
        self.start_button.clicked.connect(self._on_start)
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(self._on_continue)
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self.log_check.toggled.connect(self._on_log)
        self.batches_check.toggled.connect(self._on_show_batches)
        self.gallery.itemClicked.connect(self._on_gallery_clicked)
        self.confusion_view.cell_clicked.connect(self._on_cell_clicked)
        self.show_run_button.clicked.connect(self._on_show_run)
        self.compare_button.clicked.connect(self._on_compare)
        self.inspect_run_button.clicked.connect(self._on_run_to_inspect)
        self.csv_button.clicked.connect(self._on_export_csv)
        self.tensorboard_button.clicked.connect(self._on_export_tensorboard)
        self.delete_run_button.clicked.connect(self._on_delete_run)
        self.best_button.clicked.connect(self._on_best_to_inspect)
        self.runs_list.currentRowChanged.connect(lambda _r: self._update_buttons())
        self._update_buttons()

    def _chart(self, metric: str) -> LiveChart:
        chart = self.charts.get(metric)
        if chart is None:
            title = METRIC_TITLES.get(metric, metric.replace("_", " "))
            chart = LiveChart(title, x_label="epoch")
            chart.setObjectName(f"chart_{metric}")
            if metric == "learning_rate":
                chart.add_series("lr/batch", "learning rate", "#555555", kind="batch", in_legend=False, smooth=False)
                chart.set_zero_based(True)
                chart.setMaximumWidth(300)
            else:
                chart.add_series(f"{metric}/train/batch", "train (batch)", TRAIN_COLOR, kind="batch", width=1.0, in_legend=False)
                chart.add_series(f"{metric}/train/epoch", "train", TRAIN_COLOR, kind="epoch", in_legend=False, smooth=False)
                chart.add_series(f"{metric}/val/epoch", "validation", VAL_COLOR, kind="epoch", in_legend=False, smooth=False)
            chart.set_smoothing(self.smoothing_slider.value() / 100 if hasattr(self, "smoothing_slider") else 0.8)
            if metric != "accuracy" and hasattr(self, "log_check"):
                chart.set_log_y(self.log_check.isChecked())
            if hasattr(self, "batches_check"):
                chart.set_show_batches(self.batches_check.isChecked())
            self.charts[metric] = chart
            n = self.charts_row.count()
            # learning rate stays last
            if metric != "learning_rate" and "learning_rate" in self.charts and n > 0:
                self.charts_row.insertWidget(n - 1, chart, 3)
            else:
                self.charts_row.addWidget(chart, 2 if metric == "learning_rate" else 3)
        return chart

    # --- settings --------------------------------------------------------------------
    def current_settings(self) -> TrainingSettings:
        """The settings shown in the form."""
        cp = {0: "best", 1: "every_epoch", 2: "none"}[self.checkpoint_combo.currentIndex()]
        return TrainingSettings(
            epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(),
            early_stopping=self.early_check.isChecked(),
            early_stopping_patience=self.early_patience.value(),
            reduce_lr=self.reduce_check.isChecked(),
            reduce_lr_patience=self.reduce_patience.value(),
            reduce_lr_factor=self.reduce_factor.value(),
            checkpoint=cp,
        )

    def _load_settings(self) -> None:
        s = QSettings()
        self.epochs_spin.setValue(int(s.value("training/epochs", self.epochs_spin.value())))
        self.batch_spin.setValue(int(s.value("training/batch_size", self.batch_spin.value())))
        self.early_check.setChecked(str(s.value("training/early_stopping", "false")).lower() == "true")
        self.reduce_check.setChecked(str(s.value("training/reduce_lr", "false")).lower() == "true")

    def _save_settings(self) -> None:
        s = QSettings()
        s.setValue("training/epochs", self.epochs_spin.value())
        s.setValue("training/batch_size", self.batch_spin.value())
        s.setValue("training/early_stopping", self.early_check.isChecked())
        s.setValue("training/reduce_lr", self.reduce_check.isChecked())

    def _finish_timeline(self) -> None:
        rec = self._recorder
        if rec is None:
            return
        if getattr(rec, "error", None):
            self._message(f"The learning timeline stopped recording: {rec.error}", "warn")
        self.state.timeline_changed.emit(rec.timeline, False)

    def _probe_dataset(self, dataset: Any) -> None:
        try:
            self.probe_picker.set_dataset(dataset)
        except Exception as exc:  # noqa: BLE001 - probes are optional; say why and go on
            self._message(f"Probe images unavailable for this data set: {exc}", "warn")

    # --- read-outs for lessons and tests ------------------------------------------------
    def best_val_accuracy(self) -> float:
        """Best validation accuracy of the last finished run (0 when there is none)."""
        r = self.last_result
        if r is None:
            return 0.0
        values = [v for v in r.history.epoch.get("val_accuracy", []) if v == v]
        return max(values) if values else 0.0

    def mark(self) -> None:
        """Remember how many runs have finished (see :meth:`runs_since_mark`)."""
        self._mark = self._finished_runs

    def runs_since_mark(self) -> int:
        """Runs finished since the last :meth:`mark`."""
        return self._finished_runs - self._mark

    def compare_last_runs(self, n: int = 2) -> None:
        """Compare the ``n`` most recent kept runs on the charts."""
        from convexplorer.core.runs import list_runs

        runs = list_runs()[:n]
        self.compare_runs(runs)

    def runs_compared(self) -> int:
        """How many runs the charts compare now (0 when showing one run)."""
        return self._compared

    # --- inputs ----------------------------------------------------------------------
    def _update_inputs(self) -> None:
        ds, spec = self.state.dataset, self.state.spec
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
        shown = self._model_override
        if shown is not None:
            m = f"<b>Model:</b> {shown.name} ({shown.count_params():,} parameters)"
        elif spec is not None:
            shape = "x".join(str(v) for v in getattr(spec, "input_shape", ()))
            m = f"<b>Model:</b> design “{getattr(spec, 'name', 'model')}”, input {shape}, {getattr(spec, 'num_classes', '?')} classes"
        else:
            m = "<b>Model:</b> <span style='color:#a33'>none yet: design one in the Builder (or pick a preset)</span>"
        run = getattr(self, "_run_desc", "")
        self.inputs_label.setText(d + "<br>" + m + (f"<br><b>This run:</b> {run}" if run else ""))
        self._update_buttons()

    def _ready_reason(self) -> str:
        if not self.state.tf_ready:
            return "TensorFlow is still loading"
        if self.state.dataset is None:
            return "choose a data set in the Data panel first"
        if self.state.spec is None and self._model_override is None:
            return "design a model in the Builder first"
        return ""

    def _update_buttons(self) -> None:
        busy = self._running
        evaluating = self._eval_worker is not None and self._eval_worker.is_running()
        reason = self._ready_reason()
        self.start_button.setEnabled(not busy and not evaluating and not reason)
        self.start_button.setToolTip(reason or "Train a new model from the current design on the current data set")
        self.pause_button.setEnabled(busy)
        self.stop_button.setEnabled(busy)
        self.continue_button.setEnabled(not busy and not evaluating and self.session is not None)
        self.continue_spin.setEnabled(self.session is not None)
        for w in (self.epochs_spin, self.batch_spin, self.validation_combo, self.early_check, self.early_patience,
                  self.reduce_check, self.reduce_patience, self.reduce_factor, self.checkpoint_combo):
            w.setEnabled(not busy)
        has_run = self.runs_list.currentItem() is not None
        for b in (self.show_run_button, self.inspect_run_button, self.csv_button, self.tensorboard_button):
            b.setEnabled(has_run)
        self.delete_run_button.setEnabled(has_run and not busy)
        self.compare_button.setEnabled(self.runs_list.count() > 0)

    def on_tensorflow_ready(self) -> None:
        """TF is in: training can start."""
        self._update_buttons()

    # --- messages ----------------------------------------------------------------------
    def _message(self, text: str, kind: str = "info") -> None:
        color = {"info": "#222", "ok": "#1a7f37", "warn": "#9a6700", "error": "#b42318"}[kind]
        self.message_label.setStyleSheet(f"color:{color};")
        self.message_label.setText(text)
        if text:
            self.state.status.emit(text)

    # --- start / continue / stop / pause -------------------------------------------------
    def _on_start(self) -> None:
        self.start_training()

    def start_training(self, model: Any = None, epochs: int | None = None, dataset: Any = None) -> bool:
        """Start a new run (from the design, or ``model`` if given) on the current (or given) data set.

        Returns False, with a message, if it cannot start.
        """
        if self._running:
            return False
        if model is not None:
            self._model_override = model
        reason = self._ready_reason()
        if reason:
            self._message(f"Cannot start: {reason}.", "warn")
            return False
        settings = self.current_settings()
        if epochs is not None:
            settings.epochs = int(epochs)
        try:
            settings.validate()
        except ConvExplorerError as exc:
            self._message(str(exc), "error")
            return False
        self._save_settings()
        ds = dataset if dataset is not None else self.state.dataset
        spec = self.state.spec if self._model_override is None else None
        name = self._model_override.name if self._model_override is not None else getattr(spec, "name", "model")
        label = f"{name} on {ds.name}"
        self._reset_live()
        self.session = None
        self.run_info = None
        self.control = TrainingControl()
        from convexplorer.core.runs import new_run_dir
        from convexplorer.core.timeline import TIMELINE_FILE
        from convexplorer.ui.settings_dialog import compute_settings

        run_dir = new_run_dir(label)
        self._recorder = None
        try:
            self._recorder = self.probe_picker.make_recorder(list(ds.class_names), save_to=run_dir / TIMELINE_FILE)
        except Exception as exc:  # noqa: BLE001 - the timeline is optional: train without it, say why
            self._message(f"Training without a timeline: {exc}", "warn")
        job = TrainingJob(
            dataset=ds, settings=settings, bridge=self.bridge, control=self.control, spec=spec,
            model=self._model_override, label=label, use_validation=self.validation_combo.currentIndex() == 0,
            run_dir=run_dir, callbacks=(self._recorder,) if self._recorder is not None else (),
            strategy=str(compute_settings().get("strategy", "default")),
        )
        if self._recorder is not None:
            self.state.timeline_changed.emit(self._recorder.timeline, True)
        if self._model_override is not None:
            m = self._model_override
            self._run_desc = f"{m.name} ({m.count_params():,} parameters) on {label.split(' on ', 1)[1]}"
        else:
            self._run_desc = label
        h, w, c = ds.image_shape
        self._run_desc += f", {w}x{h}x{c}"
        self._run_desc += ", augmented" if getattr(ds, "augmentation", None) is not None else ", no augmentation"
        self._model_override = None  # a model object trains once; a new Start builds a fresh one
        self._update_inputs()
        self._launch(job, f"Training {label}…")
        return True

    def continue_training(self, epochs: int | None = None) -> bool:
        """Train the current model for more epochs, appending to its history and run."""
        if self._running or self.session is None:
            return False
        n = int(epochs or self.continue_spin.value())
        self.control.reset()
        # Early stopping, learning-rate reduction and checkpoints come from the form as it is now;
        # the batch size belongs to the run's input pipeline and stays.
        form = self.current_settings()
        settings = replace(
            self.session.settings,
            early_stopping=form.early_stopping, early_stopping_patience=form.early_stopping_patience,
            reduce_lr=form.reduce_lr, reduce_lr_patience=form.reduce_lr_patience,
            reduce_lr_factor=form.reduce_lr_factor, checkpoint=form.checkpoint,
        )
        job = TrainingJob(
            dataset=self._job_dataset, settings=settings, bridge=self.bridge,
            control=self.control, spec=getattr(self, "_run_spec", None), session=self.session,
            label=self.run_info.label if self.run_info else "", epochs=n,
        )
        kept = settings.batch_size
        note = f" (batch size stays {kept}, the run's)" if form.batch_size != kept else ""
        self._launch(job, f"Continuing for {n} more epoch(s){note}…")
        return True

    def _on_continue(self) -> None:
        self.continue_training()

    def _launch(self, job: TrainingJob, message: str) -> None:
        from convexplorer.ui.workers import run_in_thread

        self._job_dataset = job.dataset
        self._run_spec = job.spec
        self._running = True
        self.pause_button.setChecked(False)
        self._message(message)
        self._update_buttons()
        worker = run_in_thread(run_training_job, job)
        self._train_worker = self.track(worker)
        worker.result.connect(self._on_job_result)
        worker.error.connect(self._on_job_error)
        worker.finished.connect(self._on_job_finished)
        self._drain_timer.start()

    def stop(self) -> None:
        """Stop the current run after its current batch (model and history kept)."""
        if self._running:
            self.control.stop()
            self._message("Stopping after the current batch…")

    def pause(self) -> None:
        """Pause the current run after its current batch."""
        if self._running:
            self.pause_button.setChecked(True)

    def resume(self) -> None:
        """Resume a paused run."""
        self.pause_button.setChecked(False)

    def _on_pause_toggled(self, on: bool) -> None:
        if on:
            self.control.pause()
            self.pause_button.setText("Resume")
            if self._running:
                self._message("Paused: press Resume to go on, or Stop.")
        else:
            self.control.resume()
            self.pause_button.setText("Pause")
            if self._running:
                self._message("Training…")

    # --- live data ------------------------------------------------------------------------
    def _reset_live(self) -> None:
        self._last_batch = None
        self.bridge.take_batches()
        for metric, chart in list(self.charts.items()):
            for key in chart.series_keys():
                if "/cmp/" in key:
                    continue
                chart.set_series(key, np.zeros(0), np.zeros(0))
        self.progress_bar.setValue(0)
        self.epoch_label.setText("Epoch –")
        self.speed_label.setText("– samples/s · ETA –")
        self._clear_results()

    def _drain(self) -> None:
        batches = self.bridge.take_batches()
        if not batches:
            return
        for e in batches:
            x = e.epoch + e.batch / e.steps_per_epoch if e.steps_per_epoch else float(e.step)
            for k, v in e.logs.items():
                if k.startswith("val_"):
                    continue
                self._chart(k).append(f"{k}/train/batch", x, v)
            self._chart("learning_rate").append("lr/batch", x, e.learning_rate)
        e = batches[-1]
        self._last_batch = e
        spe = e.steps_per_epoch
        self.epoch_label.setText(
            f"Epoch {e.epoch + 1}/{e.epochs} · batch {e.batch}/{spe if spe else '?'} · step {e.step}"
        )
        if spe:
            self.progress_bar.setValue(int(1000 * min(1.0, e.batch / spe)))
        self.speed_label.setText(f"{e.samples_per_s:,.0f} samples/s · ETA {_fmt_time(e.eta_s)}")

    def _on_event(self, event: Any) -> None:
        if isinstance(event, EpochEvent):
            self._drain()
            x = event.epoch + 1.0
            for k, v in event.logs.items():
                if k.startswith("val_"):
                    self._chart(k[4:]).append(f"{k[4:]}/val/epoch", x, v)
                else:
                    self._chart(k).append(f"{k}/train/epoch", x, v)
            bits = [f"{k} {_fmt(v)}" for k, v in event.logs.items()]
            self.epoch_label.setText(f"Epoch {event.epoch + 1}/{event.epochs} done · " + ", ".join(bits[:4]))
        elif isinstance(event, ErrorEvent):
            self._message(f"Training stopped with an error: {event.message}. The history up to then is kept.", "error")
        elif isinstance(event, DoneEvent):
            self._drain()

    def _on_job_result(self, outcome: JobOutcome) -> None:
        self._finished_runs += 1
        self._finish_timeline()
        self.session = outcome.session
        self.run_info = outcome.run
        self.last_result = r = outcome.result
        kind = {"completed": "ok", "early_stopping": "ok", "stopped": "warn"}.get(r.reason, "error")
        text = r.message[:1].upper() + r.message[1:]
        if r.reason == "error":
            text = f"Training stopped with an error: {r.message}. The history up to then is kept."
        self._message(f"{text}. Run saved as “{outcome.run.label}”.", kind)
        self.progress_bar.setValue(1000 if r.reason == "completed" else self.progress_bar.value())
        self.best_button.setEnabled(bool(r.best_checkpoint))
        if r.steps_done > 0 and r.reason != "error":
            label = f"{outcome.run.label} ({r.epochs_done} epochs)"
            self.state.set_model(outcome.model, label)
        self.refresh_runs(select=outcome.run.id)
        self._update_inputs()
        self.training_finished.emit(r)
        if r.steps_done > 0 and r.reason in ("completed", "stopped", "early_stopping") and self.evaluate_check.isChecked():
            self.evaluate(outcome.model, self._job_dataset)

    def _on_job_error(self, message: str, details: str) -> None:
        self._finish_timeline()
        self._message(f"Training could not run: {message}", "error")
        self.training_finished.emit(None)

    def _on_job_finished(self) -> None:
        self._running = False
        self._drain_timer.stop()
        self._drain()
        self.pause_button.setChecked(False)
        self._update_buttons()

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, model: Any, dataset: Any) -> None:
        """Evaluate ``model`` on the data set's test subset (or validation if there is no test subset)."""
        from convexplorer.ui.workers import run_in_thread

        if dataset is None:
            return
        subset = "test" if len(dataset.subset_indices("test")) else "validation"
        if len(dataset.subset_indices(subset)) == 0:
            self.results_label.setText("Results: the data set has no test or validation images to evaluate on.")
            return
        self._eval_dataset = dataset
        self._eval_subset = subset
        self.results_label.setText(f"Results: evaluating on the {subset} subset…")
        worker = run_in_thread(evaluate_job, model, dataset, subset)
        self._eval_worker = self.track(worker)
        worker.result.connect(self._on_evaluated)
        worker.error.connect(lambda m, d: self.results_label.setText(f"Results: evaluation failed: {m}"))
        worker.finished.connect(self._update_buttons)
        self._update_buttons()

    def _clear_results(self) -> None:
        self.evaluation = None
        self.confusion_view.set_matrix(None)
        self.class_table.setRowCount(0)
        self.gallery.clear()
        self.best_button.setEnabled(False)
        self.results_label.setText("Results: train a model; it is evaluated on the data set's test subset when training ends.")

    def _on_evaluated(self, res: Any) -> None:
        self.evaluation = res
        subset = getattr(self, "_eval_subset", "test")
        loss = f" · loss {res.loss:.3f}" if math.isfinite(res.loss) else ""
        self.results_label.setText(
            f"Results on the {subset} subset ({res.y_true.size} images): accuracy {100 * res.accuracy:.1f}%{loss}"
            f" · {res.misclassified.size} misclassified"
        )
        self.confusion_view.set_matrix(res.confusion, res.class_names)
        self.class_table.setRowCount(len(res.class_names))
        for i, name in enumerate(res.class_names):
            vals = [name, _fmt(res.precision[i]), _fmt(res.recall[i]), _fmt(res.f1[i]), str(int(res.support[i]))]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.class_table.setItem(i, c, item)
        self._fill_gallery(None)
        if self.run_info is not None:
            try:
                from convexplorer.core.runs import update_evaluation

                d = res.to_dict()
                d["subset"] = subset
                update_evaluation(self.run_info, d)
            except ConvExplorerError as exc:
                self._message(f"Could not store the evaluation: {exc}", "warn")
        self.evaluation_finished.emit(res)

    def _fill_gallery(self, cell: tuple[int, int] | None) -> None:
        res, ds = self.evaluation, self._eval_dataset
        self.gallery.clear()
        if res is None or ds is None:
            return
        idx_all = res.misclassified
        pos = {int(i): k for k, i in enumerate(ds.subset_indices(getattr(self, "_eval_subset", "test")))}
        shown = 0
        for i in idx_all:
            k = pos.get(int(i))
            if k is None:
                continue
            t, p = int(res.y_true[k]), int(res.y_pred[k])
            if cell is not None and (t, p) != cell:
                continue
            try:
                thumb = ds.thumbnail(int(i), 64)
            except Exception:  # noqa: BLE001 - a broken image must not stop the gallery
                continue
            text = f"{res.class_names[t]}\n→ {res.class_names[p]} {100 * res.confidence[k]:.0f}%"
            item = QListWidgetItem(QIcon(array_to_pixmap(thumb, 56)), text)
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            item.setToolTip(f"#{int(i)}: true {res.class_names[t]}, predicted {res.class_names[p]} "
                            f"with {100 * res.confidence[k]:.1f}% confidence. Click to open it in Inspect.")
            self.gallery.addItem(item)
            shown += 1
            if shown >= GALLERY_MAX:
                break
        what = "all classes" if cell is None else f"true {res.class_names[cell[0]]}, predicted {res.class_names[cell[1]]}"
        self.gallery_label.setText(f"Misclassified ({shown}, {what}); click one to inspect it")

    def _on_cell_clicked(self, true: int, pred: int) -> None:
        self._fill_gallery(None if true == pred else (true, pred))

    def _on_gallery_clicked(self, item: QListWidgetItem) -> None:
        i = item.data(Qt.ItemDataRole.UserRole)
        ds = self._eval_dataset
        if i is None or ds is None:
            return
        res = self.evaluation
        k = {int(j): n for n, j in enumerate(ds.subset_indices(self._eval_subset))}[int(i)]
        label = (f"{ds.name} #{int(i)}: {res.class_names[int(res.y_true[k])]} "
                 f"(predicted {res.class_names[int(res.y_pred[k])]})")
        self.state.image_array_opened.emit(ds.image(int(i)), label)
        self.state.show_panel.emit("inspect")

    def _on_best_to_inspect(self) -> None:
        if self.run_info is not None and self.run_info.has_best:
            self._load_run_model(self.run_info, "best")

    # --- runs -----------------------------------------------------------------------------
    def refresh_runs(self, select: str | None = None) -> None:
        """Re-read the runs folder into the list."""
        from convexplorer.core.runs import list_runs

        ticked = {self.runs_list.item(i).data(Qt.ItemDataRole.UserRole).id
                  for i in range(self.runs_list.count())
                  if self.runs_list.item(i).checkState() == Qt.CheckState.Checked}
        self.runs_list.clear()
        try:
            runs = list_runs()
        except ConvExplorerError as exc:
            self._message(f"Cannot read the runs folder: {exc}", "warn")
            runs = []
        for run in runs:
            item = QListWidgetItem(run.title)
            item.setData(Qt.ItemDataRole.UserRole, run)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if run.id in ticked else Qt.CheckState.Unchecked)
            item.setToolTip(f"{run.path}\n{run.message}")
            self.runs_list.addItem(item)
            if run.id == select:
                self.runs_list.setCurrentItem(item)
        self._update_buttons()

    def _selected_run(self) -> Any:
        item = self.runs_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _on_show_run(self) -> None:
        run = self._selected_run()
        if run is not None and not self._running:
            self.show_run(run)

    def show_run(self, run: Any) -> None:
        """Draw a kept run's history on the charts and its stored evaluation summary."""
        from convexplorer.core.runs import load_history

        try:
            h = load_history(run)
        except ConvExplorerError as exc:
            self._message(str(exc), "error")
            return
        self._reset_live()
        self.draw_history(h)
        ev = run.evaluation
        if ev:
            import numpy as _np

            cm = _np.asarray(ev.get("confusion") or [], dtype=_np.int64)
            if cm.ndim == 2 and cm.size:
                self.confusion_view.set_matrix(cm, ev.get("class_names") or [])
            acc = ev.get("accuracy")
            self.results_label.setText(
                f"Results of “{run.label}” on its {ev.get('subset', 'test')} subset: accuracy "
                f"{_fmt(acc if acc is not None else math.nan, pct=True)} (kept run; the gallery needs the data set)"
            )
            names = ev.get("class_names") or []
            self.class_table.setRowCount(len(names))
            for i, name in enumerate(names):
                vals = [name] + [_fmt(ev[k][i] if ev.get(k) and ev[k][i] is not None else math.nan)
                                 for k in ("precision", "recall", "f1")] + [str((ev.get("support") or [0] * len(names))[i])]
                for c, v in enumerate(vals):
                    self.class_table.setItem(i, c, QTableWidgetItem(v))
        self._message(f"Showing kept run “{run.label}”: {run.message}")

    def draw_history(self, h: History) -> None:
        """Put a whole history on the charts (reopened runs)."""
        xb = batch_positions(h)
        for k, col in h.batch.items():
            if k in ("step", "epoch"):
                continue
            if k == "learning_rate":
                self._chart("learning_rate").set_series("lr/batch", xb, np.asarray(col))
            else:
                self._chart(k).set_series(f"{k}/train/batch", xb, np.asarray(col))
        xe = np.asarray(h.epoch.get("epoch", []), dtype=np.float64) + 1.0
        for k, col in h.epoch.items():
            if k in ("epoch", "time_s", "batches", "learning_rate"):
                continue
            if k.startswith("val_"):
                self._chart(k[4:]).set_series(f"{k[4:]}/val/epoch", xe, np.asarray(col))
            else:
                self._chart(k).set_series(f"{k}/train/epoch", xe, np.asarray(col))

    def _ticked_runs(self) -> list[Any]:
        return [self.runs_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.runs_list.count())
                if self.runs_list.item(i).checkState() == Qt.CheckState.Checked]

    def _on_compare(self) -> None:
        self.compare_runs(self._ticked_runs())

    def compare_runs(self, runs: list[Any]) -> None:
        """Overlay the per-epoch curves (validation if kept, else training) of ``runs`` on the charts."""
        from convexplorer.core.runs import load_history

        for chart in self.charts.values():
            for key in chart.series_keys():
                if "/cmp/" in key:
                    chart.remove_series(key)
        self._compared = len(runs)
        for n, run in enumerate(runs):
            try:
                h = load_history(run)
            except ConvExplorerError as exc:
                self._message(str(exc), "warn")
                continue
            color = COMPARE_COLORS[n % len(COMPARE_COLORS)]
            xe = np.asarray(h.epoch.get("epoch", []), dtype=np.float64) + 1.0
            for m in h.metric_names():
                col = h.epoch.get(f"val_{m}")
                which = "val"
                if col is None or not np.isfinite(np.asarray(col, dtype=float)).any():
                    col, which = h.epoch.get(m), "train"
                if col is None:
                    continue
                chart = self._chart(m)
                key = f"{m}/cmp/{run.id}"
                short = (run.label or run.id)[:28]
                chart.add_series(key, f"{short} ({which})", color, kind="epoch", width=1.6, smooth=False)
                chart.set_series(key, xe, np.asarray(col))
            lr = h.epoch.get("learning_rate")
            if lr is not None:
                key = f"lr/cmp/{run.id}"
                self._chart("learning_rate").add_series(key, (run.label or run.id)[:28], color, kind="epoch", width=1.6, smooth=False)
                self._chart("learning_rate").set_series(key, xe, np.asarray(lr))
        self._compare = [r.id for r in runs]
        if runs:
            self._message(f"Comparing {len(runs)} run(s) on the charts (coloured dots).")

    def _on_run_to_inspect(self) -> None:
        run = self._selected_run()
        if run is not None:
            self._load_run_model(run, "final")

    def _load_run_model(self, run: Any, which: str) -> None:
        from convexplorer.ui.workers import run_in_thread

        worker = self.track(run_in_thread(_load_model_job, run, which))
        label = f"{run.label or run.id} ({'best checkpoint' if which == 'best' else 'final'})"
        worker.result.connect(lambda model: (self.state.set_model(model, label), self.state.show_panel.emit("inspect")))
        worker.error.connect(lambda m, d: self._message(m, "error"))

    def export_csv(self, run: Any, path: str | Path, per: str = "epoch") -> Path:
        """Write a run's history as CSV."""
        from convexplorer.core.runs import export_csv, load_history

        return export_csv(load_history(run), path, per=per)

    def _on_export_csv(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export history as CSV", str(Path.home() / f"{run.id}.csv"), "CSV (*.csv)")
        if path:
            try:
                self.export_csv(run, path)
                self._message(f"Saved {path}", "ok")
            except ConvExplorerError as exc:
                self._message(str(exc), "error")

    def export_tensorboard(self, run: Any, folder: str | Path) -> Any:
        """Write a run's history as TensorBoard logs (on a worker); returns the worker."""
        from convexplorer.core.runs import load_history
        from convexplorer.ui.workers import run_in_thread

        h = load_history(run)
        worker = self.track(run_in_thread(_export_tb_job, h, str(folder)))
        worker.result.connect(lambda p: self._message(f"TensorBoard logs in {p}: run `tensorboard --logdir {p}`", "ok"))
        worker.error.connect(lambda m, d: self._message(m, "error"))
        return worker

    def _on_export_tensorboard(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder for the TensorBoard logs", str(run.path))
        if folder:
            try:
                self.export_tensorboard(run, Path(folder) / f"tensorboard-{run.id}")
            except ConvExplorerError as exc:
                self._message(str(exc), "error")

    def _on_delete_run(self) -> None:
        from convexplorer.core.runs import delete_run

        run = self._selected_run()
        if run is None or self._running:
            return
        if self.run_info is not None and run.id == self.run_info.id:
            self._message("This run is the current one: start a new run before deleting it.", "warn")
            return
        try:
            delete_run(run)
        except (ConvExplorerError, OSError) as exc:
            self._message(f"Could not delete the run: {exc}", "error")
        self.refresh_runs()

    # --- chart options ---------------------------------------------------------------------
    def _on_smoothing(self, value: int) -> None:
        f = value / 100.0
        self.smoothing_value.setText(f"{f:.2f}")
        for chart in self.charts.values():
            chart.set_smoothing(f)

    def _on_log(self, on: bool) -> None:
        for metric, chart in self.charts.items():
            if metric in ("loss", "learning_rate") or "loss" in metric:
                chart.set_log_y(on)

    def _on_show_batches(self, on: bool) -> None:
        for chart in self.charts.values():
            chart.set_show_batches(on)

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def live_session(self) -> Any:
        """The session training now (or last), as soon as the worker made it."""
        return self.control.session

    def is_training(self) -> bool:
        """True while a training worker runs."""
        return self._running

    def shutdown(self) -> None:
        """Stop training cleanly (window closing, tests): stop, wake a pause, join the workers."""
        self.control.stop()
        self._drain_timer.stop()
        super().shutdown()

    def _wait(self, condition: Any, timeout_s: float = 300.0) -> bool:
        """Process events until ``condition()`` (screenshots only: they may block)."""
        import time

        from PySide6.QtWidgets import QApplication

        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.01)
        QApplication.processEvents()
        return bool(condition())

    def _spec_fits(self, ds: Any) -> bool:
        spec = self.state.spec
        if spec is None:
            return False
        try:
            return tuple(spec.input_shape) == tuple(ds.image_shape) and int(spec.num_classes) == len(ds.class_names)
        except (AttributeError, TypeError, ValueError):
            return False

    def prepare_screenshot(self) -> None:
        """Train a tiny convnet for a few epochs on a small shapes set and evaluate it (blocks)."""
        if not self.state.tf_ready:
            from convexplorer.ui.tfloader import load_tensorflow_now

            load_tensorflow_now(self.state)
        model = None
        if self.state.dataset is None:
            from convexplorer.core.datasets.shapes import ShapesDataset

            self.state.set_dataset(ShapesDataset(n=1200, size=32, seed=0))
        ds = self.state.dataset
        if not self._spec_fits(ds):
            from convexplorer.core.training import tiny_convnet

            if ds.image_shape[0] > 32 and hasattr(ds, "with_options"):
                ds = ds.with_options(image_size=(32, 32))  # a tiny convnet learns these in seconds
            if getattr(ds, "augmentation", None) is not None and hasattr(ds, "with_augmentation"):
                ds = ds.with_augmentation(None)  # a few epochs are too few to learn through augmentation
            # width 32 at 1e-3 leaves the chance-level plateau sooner than the default (measured on shapes)
            model = tiny_convnet(ds.image_shape, len(ds.class_names), learning_rate=1e-3, width=32)
        self.epochs_spin.setValue(12 if len(ds.subset_indices("train")) < 1000 else 10)
        self.batch_spin.setValue(16)
        self.checkpoint_combo.setCurrentIndex(0)
        self.evaluate_check.setChecked(True)
        if not self.start_training(model=model, dataset=ds):
            return
        self._wait(lambda: not self._running and not (self._eval_worker is not None and self._eval_worker.is_running())
                   and (self.evaluation is not None or self.last_result is None or self._eval_worker is None))
        for chart in self.charts.values():
            chart.redraw_now()

    def screenshot_variants(self) -> list[tuple[str, Any]]:
        """Runs compared on the charts (log scale), and a run paused half-way through an epoch."""
        return [("compare", self._screenshot_compare), ("paused", self._screenshot_paused)]

    def _screenshot_compare(self) -> None:
        self.refresh_runs()
        for i in range(min(self.runs_list.count(), 4)):
            self.runs_list.item(i).setCheckState(Qt.CheckState.Checked)
        self.compare_runs(self._ticked_runs())
        self.log_check.setChecked(True)
        for chart in self.charts.values():
            chart.redraw_now()

    def _screenshot_paused(self) -> None:
        self.log_check.setChecked(False)
        self.compare_runs([])
        if self.session is None or self._running:
            return
        start = self.session.steps_done
        spe = self.session.steps_per_epoch or 10
        if not self.continue_training(4):
            return
        self._wait(lambda: self._last_batch is not None and self._last_batch.step >= start + spe + spe // 2, 120)
        self.pause()
        self._wait(lambda: self.live_session is not None and self.live_session.waiting, 60)
        self._drain()
        for chart in self.charts.values():
            chart.redraw_now()


if __name__ == "__main__":
    raise SystemExit(preview(TrainingPanel))
